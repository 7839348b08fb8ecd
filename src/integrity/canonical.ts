// Canonical JSON (RFC 8785 style) and SHA-256 of tool definitions and tool sets: one text, and one hash, for one meaning.
import { createHash } from "node:crypto";

/**
 * Deepest nesting a definition may have, in objects and arrays. Default 256 levels: real JSON Schemas
 * stay far below it, and a recursion this deep cannot exhaust the stack. Upstream messages are parsed
 * without a depth limit (V8's JSON.parse is iterative), so an upstream can send a million levels.
 */
export const MAX_CANONICAL_DEPTH = 256;

/** A value that has no canonical form: nested deeper than {@link MAX_CANONICAL_DEPTH}, or cyclic. */
export class CanonicalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CanonicalError";
  }
}

/**
 * The canonical JSON text of `value`: object members sorted by key (UTF-16 code units, as RFC 8785
 * §3.2.3 says), no whitespace, strings and numbers written by `JSON.stringify`. For finite numbers
 * that is RFC 8785's own rule (it adopts ECMAScript's Number-to-String), so the output is JCS for
 * every value JSON.parse can produce. Beyond JSON, it never throws for a value that is merely odd:
 * as in JSON, `undefined`, functions and symbols vanish from objects and become `null` in arrays (so
 * do holes), NaN and ±Infinity become `null`, `-0` is `0`; a bigint is written as its digits; every
 * other object counts by its own enumerable string keys (`toJSON` is not called: only data counts).
 * Keys such as `__proto__` are ordinary members here: the text is built by concatenation, never by
 * assigning into an object. Throws {@link CanonicalError} for cycles and excessive depth.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, parts, 0, new Set());
  return parts.join("");
}

function write(value: unknown, out: string[], depth: number, ancestors: Set<object>): void {
  switch (typeof value) {
    case "string":
      out.push(JSON.stringify(value));
      return;
    case "number":
      out.push(Number.isFinite(value) ? JSON.stringify(value) : "null");
      return;
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "bigint":
      out.push(value.toString());
      return;
    case "undefined":
    case "function":
    case "symbol":
      out.push("null"); // only reached inside arrays (and at the top): objects skip these members
      return;
  }
  if (value === null) {
    out.push("null");
    return;
  }
  const obj = value as object;
  if (depth >= MAX_CANONICAL_DEPTH) throw new CanonicalError(`nested deeper than ${MAX_CANONICAL_DEPTH} levels`);
  if (ancestors.has(obj)) throw new CanonicalError("cyclic value");
  ancestors.add(obj);
  if (Array.isArray(obj)) {
    out.push("[");
    for (let i = 0; i < obj.length; i++) {
      if (i > 0) out.push(",");
      write(obj[i] as unknown, out, depth + 1, ancestors);
    }
    out.push("]");
  } else {
    out.push("{");
    let first = true;
    const record = obj as Record<string, unknown>;
    // Default sort: UTF-16 code-unit order, RFC 8785's member order.
    for (const key of Object.keys(record).sort()) {
      const member = record[key];
      if (member === undefined || typeof member === "function" || typeof member === "symbol") continue;
      if (!first) out.push(",");
      first = false;
      out.push(JSON.stringify(key), ":");
      write(member, out, depth + 1, ancestors);
    }
    out.push("}");
  }
  ancestors.delete(obj);
}

/** SHA-256 of a text's UTF-8 bytes, in hex. Canonical text is well-formed (JSON.stringify escapes lone surrogates), so no two texts share bytes. */
export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** A tool's pinned form: its canonical JSON and that text's SHA-256. */
export interface CanonicalTool {
  definition: string;
  hash: string;
}

/**
 * The pinned form of one tool definition, exactly as the upstream listed it (its own name, not the
 * gateway's prefixed one). Every member counts, `_meta` included: whatever the gateway passes on to
 * clients is something an upstream could change to steer a model (MCP Apps put UI templates in
 * `_meta`), so nothing is left out. An upstream that writes volatile values there (a timestamp)
 * needs `pin: warn` or `off`.
 */
export function canonicalTool(tool: Readonly<Record<string, unknown>>): CanonicalTool {
  const definition = canonicalJson(tool);
  return { definition, hash: sha256(definition) };
}

/**
 * The hash of a whole tool set: SHA-256 of the canonical JSON of its `[name, hash]` pairs, sorted by
 * name. Derived from the per-tool hashes, so it cannot disagree with them; two sets have the same
 * hash exactly when they hold the same names with the same definitions.
 */
export function setHash(tools: Iterable<{ readonly name: string; readonly hash: string }>): string {
  const pairs = [...tools].map((t): [string, string] => [t.name, t.hash]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256(canonicalJson(pairs));
}
