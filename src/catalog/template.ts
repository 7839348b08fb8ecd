// Matching a URI against an RFC 6570 URI template, to route `resources/read` of a templated resource to the upstream that declared it.

/**
 * One step of a compiled template: a literal character, any run of characters outside a set, or
 * the start of an optional part (`skip` is the index just past it).
 */
type Step = { char: string } | { anyBut: string } | { optional: number };

/**
 * What each RFC 6570 operator may expand to. `prefix` is the character that starts a non-empty
 * expansion, `anyBut` the characters its value cannot contain (they would be percent-encoded).
 * `{/a}` repeats `/segment`, which is exactly "`/`, then no `?` or `#`", so no operator needs a loop.
 */
const OPERATOR: Record<string, { prefix?: string; anyBut: string }> = {
  "": { anyBut: "/?#" },
  "+": { anyBut: "#" },
  "#": { prefix: "#", anyBut: "" },
  ".": { prefix: ".", anyBut: "/?#" },
  "/": { prefix: "/", anyBut: "?#" },
  ";": { prefix: ";", anyBut: "/?#" },
  "?": { prefix: "?", anyBut: "#" },
  "&": { prefix: "&", anyBut: "#" },
};

function compile(template: string): Step[] {
  const steps: Step[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{([+#./;?&]?)[^}]*\}/g)) {
    for (const char of template.slice(last, m.index)) steps.push({ char });
    const op = OPERATOR[m[1] ?? ""] ?? { anyBut: "/?#" };
    if (op.prefix === undefined) steps.push({ anyBut: op.anyBut });
    else {
      const at = steps.length;
      steps.push({ optional: 0 }, { char: op.prefix }, { anyBut: op.anyBut });
      steps[at] = { optional: steps.length };
    }
    last = m.index + m[0].length;
  }
  for (const char of template.slice(last)) steps.push({ char });
  return steps;
}

/**
 * A predicate telling whether a URI could have been produced by `template`. It simulates the
 * template as a small automaton, all positions at once, so matching costs O(URI length × template
 * length) whatever the input: a hostile URI cannot make it backtrack (a regular expression with two
 * adjacent expressions would be quadratic).
 */
export function compileTemplate(template: string): (uri: string) => boolean {
  const steps = compile(template);
  const end = steps.length;
  // Every step reachable from i without reading a character, computed once per template.
  const closures: number[][] = steps.map(() => []);
  closures.push([end]);
  for (let i = 0; i < steps.length; i++) {
    const seen = new Set<number>();
    const visit = (j: number): void => {
      if (seen.has(j)) return;
      seen.add(j);
      const step = steps[j];
      if (step === undefined) return;
      if ("anyBut" in step) visit(j + 1);
      else if ("optional" in step) {
        visit(j + 1);
        visit(step.optional);
      }
    };
    visit(i);
    closures[i] = [...seen];
  }
  return (uri) => {
    const stamp = new Int32Array(end + 1);
    let current: number[] = [];
    for (const j of closures[0] ?? []) current.push(j);
    let generation = 1;
    for (let k = 0; k < uri.length; k++) {
      const ch = uri[k] as string;
      generation++;
      const next: number[] = [];
      for (const i of current) {
        const step = steps[i];
        if (step === undefined) continue;
        let to: number;
        if ("char" in step) {
          if (step.char !== ch) continue;
          to = i + 1;
        } else if ("anyBut" in step && !step.anyBut.includes(ch)) to = i;
        else continue;
        for (const j of closures[to] ?? []) {
          if (stamp[j] === generation) continue;
          stamp[j] = generation;
          next.push(j);
        }
      }
      if (next.length === 0) return false;
      current = next;
    }
    return current.includes(end);
  };
}
