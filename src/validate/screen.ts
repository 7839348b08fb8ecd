// Detectors over a call's arguments: every string is checked, and each finding is blocked, repaired or noted as its detector is configured.
import { globMatch } from "../authz/index.ts";
import type { Notice } from "../pipeline/index.ts";
import type { ValidationConfig } from "./config.ts";
import type { DetectorName, Finding } from "./detectors/finding.ts";
import { promptInjectionDetector, secretsDetector, shellDetector, sqlDetector, traversalDetector, xssDetector } from "./detectors/index.ts";
import { ssrfDetector } from "./detectors/ssrf.ts";
import { pointerSegment } from "./pointer.ts";
import type { Violation } from "./index.ts";

/** A detector as the screen runs it: sync or async findings, and a repair where it has one. */
interface Runnable {
  name: DetectorName;
  action: "block" | "sanitize" | "log";
  applies: (tool: string) => boolean;
  detect(text: string): Finding[] | Promise<Finding[]>;
  sanitize?: ((text: string) => string) | undefined;
  /** Findings only noted, whatever the action (e.g. a host name the gateway's resolver does not know). */
  noteOnly: (finding: Finding) => boolean;
}

/** What screening a call's arguments came to. */
export interface Screening {
  /** Findings of detectors set to `block`: the call is refused with these. */
  blocked: Violation[];
  /** Findings of detectors set to `log`, and repairs made: noted in the audit record. */
  notices: Notice[];
  /** The arguments to forward: the same object when nothing was repaired, else a repaired copy. */
  args: Record<string, unknown>;
  /** Deepest nesting seen (the arguments object is 1). */
  depth: number;
  /** Set when the arguments hold more strings than are screened: the caller must refuse, since the rest went unread. */
  tooMany?: Violation;
}

/** Strings examined per call at most (the body-size limit bounds this already); a call with more is refused, never half-screened. */
const MAX_STRINGS = 10_000;
/**
 * Deepest level walked: one past the highest `maxDepth` a configuration may set, so a deeper value
 * is reported as too deep without walking all of it (a path is built per string found: depth × strings).
 */
const MAX_WALK_DEPTH = 1001;

/** Where a value sits: its key and its parent's place (a chain, so a child costs O(1), not a copy of the path). */
interface Place {
  key: string;
  parent: Place | undefined;
  depth: number;
}

/** The keys from the arguments object down to `place`. */
function keysOf(place: Place | undefined): string[] {
  const keys: string[] = [];
  for (let p = place; p !== undefined; p = p.parent) keys.push(p.key);
  return keys.reverse();
}

export class ArgumentScreen {
  private readonly detectors: Runnable[];
  private readonly byTool = new Map<string, Runnable[]>();

  constructor(config: ValidationConfig["detectors"]) {
    const { xss, sql, shell, traversal, ssrf, promptInjection, secrets } = config;
    const unresolvableNoted = ssrf.onUnresolvable === "log";
    const made: [settings: { action: Runnable["action"]; tools: string[]; except: string[] }, detector: Omit<Runnable, "action" | "applies" | "noteOnly"> & { noteOnly?: Runnable["noteOnly"] }][] = [
      [traversal, traversalDetector(traversal.roots === undefined ? {} : { roots: traversal.roots })],
      [ssrf, { ...ssrfDetector({ resolve: ssrf.resolve, allow: ssrf.allow, timeoutMs: ssrf.timeoutMs }), noteOnly: (f) => unresolvableNoted && f.rule === "unresolvable" }],
      [secrets, secretsDetector()],
      [xss, xssDetector()],
      [sql, sqlDetector()],
      [shell, shellDetector()],
      [promptInjection, promptInjectionDetector()],
    ];
    this.detectors = made.map(([settings, d]) => ({
      name: d.name,
      detect: (text) => d.detect(text),
      sanitize: d.sanitize?.bind(d),
      noteOnly: d.noteOnly ?? (() => false),
      action: settings.action,
      applies: (tool) => settings.tools.some((p) => globMatch(p, tool)) && !settings.except.some((p) => globMatch(p, tool)),
    }));
  }

  private forTool(tool: string): Runnable[] {
    let list = this.byTool.get(tool);
    if (list === undefined) {
      list = this.detectors.filter((d) => d.applies(tool));
      if (this.byTool.size > 10_000) this.byTool.clear();
      this.byTool.set(tool, list);
    }
    return list;
  }

  /**
   * Screens every string value of `args` (keys are names, not payloads, and are left to the schema).
   * Walks iteratively, so a deep value cannot overflow the stack; the depth found is reported for
   * the caller's limit. Repairs are made on a copy: the client's object is never changed in place.
   */
  async screen(tool: string, args: Record<string, unknown>): Promise<Screening> {
    const detectors = this.forTool(tool);
    const result: Screening = { blocked: [], notices: [], args, depth: 1 };
    const repairs: { path: string[]; value: string }[] = [];
    const stack: { value: unknown; place: Place | undefined }[] = [{ value: args, place: undefined }];
    let strings = 0;
    while (stack.length > 0) {
      const { value, place } = stack.pop() as { value: unknown; place: Place | undefined };
      const depth = place?.depth ?? 0;
      if (typeof value === "string") {
        if (++strings > MAX_STRINGS) {
          result.tooMany = { path: "", rule: "maxStrings", message: `arguments hold more than ${MAX_STRINGS} strings` };
          break;
        }
        const path = keysOf(place);
        const repaired = await this.screenString(detectors, value, path, result);
        if (repaired !== value) repairs.push({ path, value: repaired });
      } else if (typeof value === "object" && value !== null) {
        result.depth = Math.max(result.depth, depth + 1);
        if (depth + 1 >= MAX_WALK_DEPTH) continue;
        for (const [key, child] of Object.entries(value)) stack.push({ value: child, place: { key, parent: place, depth: depth + 1 } });
      }
    }
    if (repairs.length > 0 && result.blocked.length === 0) result.args = withRepairs(args, repairs);
    return result;
  }

  private async screenString(detectors: readonly Runnable[], text: string, path: string[], into: Screening): Promise<string> {
    const pointer = path.map(pointerSegment).map((s) => `/${s}`).join("");
    let current = text;
    for (const d of detectors) {
      const found = d.detect(current);
      const findings = Array.isArray(found) ? found : await found;
      if (findings.length === 0) continue;
      const note = (f: Finding): void => void into.notices.push({ check: `detector:${d.name}`, rule: f.rule, path: pointer });
      findings.filter(d.noteOnly).forEach(note);
      const acted = findings.filter((f) => !d.noteOnly(f));
      if (acted.length === 0) continue;
      if (d.action === "block") for (const f of acted) into.blocked.push({ path: pointer, rule: `${f.detector}:${f.rule}`, message: f.message });
      else if (d.action === "sanitize" && d.sanitize !== undefined) {
        current = d.sanitize(current);
        into.notices.push({ check: `detector:${d.name}`, rule: "sanitized", path: pointer });
      } else acted.forEach(note);
    }
    return current;
  }
}

/** A deep copy of `args` with the repaired strings in place (own properties only; `__proto__` keys stay data). */
function withRepairs(args: Record<string, unknown>, repairs: readonly { path: string[]; value: string }[]): Record<string, unknown> {
  const copy = structuredClone(args);
  for (const { path, value } of repairs) {
    let here: Record<string, unknown> = copy;
    for (const step of path.slice(0, -1)) here = here[step] as Record<string, unknown>;
    const last = path.at(-1);
    if (last !== undefined) Object.defineProperty(here, last, { value, writable: true, enumerable: true, configurable: true });
  }
  return copy;
}
