// Rules on what tools return: a size cap, the declared outputSchema, and redaction of secrets and personal data before a result reaches the model.
import type { Catalog } from "../catalog/index.ts";
import type { Logger } from "../log/index.ts";
import type { Exchange } from "../pipeline/index.ts";
import type { ValidationConfig } from "./config.ts";
import { secretsDetector } from "./detectors/index.ts";
import { SchemaValidators } from "./index.ts";

type Result = Record<string, unknown>;
type PiiKind = ValidationConfig["responses"]["redactPii"][number];

/** Luhn checksum: a 13–19 digit run is only a card number if it passes (so order ids and timestamps stay). */
function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/** Personal data patterns, each linear: bounded runs of disjoint classes. */
const PII: Record<PiiKind, { pattern: RegExp; keep?: (match: string) => boolean; label: string }> = {
  email: { pattern: /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}/g, label: "[EMAIL]" },
  // International or North American forms with separators; a bare run of digits is not taken for a phone.
  phone: { pattern: /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])\d{2,4}[ .-]\d{3,4}(?!\w)/g, label: "[PHONE]" },
  card: { pattern: /(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)/g, keep: (m) => !luhn(m.replace(/[ -]/g, "")), label: "[CARD]" },
};

/** Deepest result redacted; a deeper one is withheld rather than passed on partly unread. */
const MAX_RESULT_DEPTH = 256;
class TooDeep extends Error {}

/** Replaces every string of a JSON value for which `repair` returns something else; copies only what changes. */
function mapStrings(value: unknown, repair: (text: string) => string, depth = 0): unknown {
  if (typeof value === "string") return repair(value);
  if (typeof value !== "object" || value === null) return value;
  if (depth > MAX_RESULT_DEPTH) throw new TooDeep();
  let copy: Record<string, unknown> | unknown[] | undefined;
  for (const [key, child] of Object.entries(value)) {
    const next = mapStrings(child, repair, depth + 1);
    if (next === child) continue;
    copy ??= Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) };
    Object.defineProperty(copy, key, { value: next, writable: true, enumerable: true, configurable: true });
  }
  return copy ?? value;
}

/** A tool error result in place of one the gateway will not pass on. */
const replaced = (text: string): Result => ({ isError: true, content: [{ type: "text", text }] });

/**
 * Checks a `tools/call` result on its way back, in order: its size, its structuredContent against the
 * tool's outputSchema (an upstream that breaks its own contract may be compromised), then redaction.
 * What it changes is noted in the exchange's audit record.
 */
export function resultScreen(catalog: Catalog, config: ValidationConfig["responses"], log: Logger): (ex: Exchange, result: Result | undefined) => Result | undefined {
  const validators = new SchemaValidators(log);
  const secrets = secretsDetector();
  const pii = config.redactPii.map((kind) => PII[kind]);
  const redact = (text: string): string => {
    let out = config.redactSecrets && secrets.detect(text).length > 0 && secrets.sanitize !== undefined ? secrets.sanitize(text) : text;
    for (const { pattern, keep, label } of pii) out = out.replace(pattern, (m) => (keep?.(m) === true ? m : label));
    return out;
  };
  return (ex, result) => {
    if (ex.message.method !== "tools/call" || result === undefined) return result;
    const bytes = Buffer.byteLength(JSON.stringify(result));
    if (bytes > config.maxBytes) {
      ex.notices.push({ check: "responses", rule: "maxBytes" });
      return replaced(`The tool's result was ${bytes} bytes, over the gateway's limit of ${config.maxBytes}.`);
    }
    const name = ex.message.params?.["name"];
    const tool = typeof name === "string" ? catalog.tool(name) : undefined;
    if (config.outputSchema !== "off" && tool?.["outputSchema"] !== undefined && result["isError"] !== true) {
      const violations = "structuredContent" in result ? validators.check(`${String(name)} output`, tool["outputSchema"], result["structuredContent"]) : [{ path: "", rule: "required", message: "no structuredContent" }];
      if (violations.length > 0) {
        ex.notices.push({ check: "responses", rule: "outputSchema", path: violations[0]?.path ?? "" });
        if (config.outputSchema === "enforce") return replaced("The tool's result does not match its declared output schema; the gateway withheld it.");
      }
    }
    if (!config.redactSecrets && pii.length === 0) return result;
    let redacted: Result;
    try {
      redacted = mapStrings(result, redact) as Result;
    } catch (err) {
      if (!(err instanceof TooDeep)) throw err;
      ex.notices.push({ check: "responses", rule: "maxDepth" });
      return replaced(`The tool's result nests deeper than ${MAX_RESULT_DEPTH} levels; the gateway withheld it.`);
    }
    if (redacted !== result) ex.notices.push({ check: "responses", rule: "redacted" });
    return redacted;
  };
}
