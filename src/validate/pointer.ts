// Naming a place in a call's arguments: a top-level name (`to`) or a JSON Pointer (`/message/to`, RFC 6901).

/** The value at `ref` in `args`, read through own properties only (a `__proto__` or `constructor` key is data, never the prototype). */
export function argumentAt(args: unknown, ref: string): { present: true; value: unknown } | { present: false } {
  const steps = ref.startsWith("/") ? ref.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~")) : [ref];
  let here: unknown = args;
  for (const step of steps) {
    if (typeof here !== "object" || here === null || !Object.hasOwn(here, step)) return { present: false };
    here = (here as Record<string, unknown>)[step];
  }
  return { present: true, value: here };
}

/** A JSON Pointer segment for `key` (RFC 6901: `~` → `~0`, `/` → `~1`). */
export const pointerSegment = (key: string | number): string => String(key).replace(/~/g, "~0").replace(/\//g, "~1");
