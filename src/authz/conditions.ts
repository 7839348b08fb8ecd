// Argument-aware rules: conditions on a permitted call's arguments ("send mail only to example.com"), enforced or shadowed, failing open or closed.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Refusal } from "../errors/index.ts";
import type { Exchange, Stage } from "../pipeline/index.ts";
import type { Condition } from "../validate/config.ts";
import { normalizeForMatching } from "../validate/detectors/normalize.ts";
import { isPublicUrl } from "../validate/detectors/ssrf.ts";
import { globMatch } from "./index.ts";
import { argumentAt } from "../validate/pointer.ts";

/** How one rule judged one call: `undecided` when it could not tell (a value of the wrong type, a name that did not resolve). */
export type Verdict = { outcome: "allow" } | { outcome: "deny" | "undecided"; why: string };

const ALLOW: Verdict = { outcome: "allow" };

/** Every address of a list like `Ann <ann@example.com>, bob@example.com`; undefined when any part is not an address. */
export function emailAddresses(value: string): string[] | undefined {
  const addresses: string[] = [];
  for (const part of value.split(/[,;]/)) {
    const trimmed = part.trim();
    if (trimmed === "") continue;
    const angled = /^[^<>]*<([^<>]*)>$/.exec(trimmed);
    const address = angled?.[1] ?? trimmed;
    // No whitespace or control characters anywhere: they are how header injection adds a recipient.
    if (!/^[^\s@<>"]{1,64}@[^\s@<>"]{1,255}$/.test(address) || /\p{Cc}/u.test(value)) return undefined;
    addresses.push(address);
  }
  return addresses.length === 0 ? undefined : addresses;
}

/** The domain of an address as compared: NFKC, lower case, no trailing dot. */
const domainOf = (address: string): string => normalizeForMatching(address.slice(address.lastIndexOf("@") + 1)).toLowerCase().replace(/\.$/, "");

function domainAllowed(domain: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => {
    const d = a.toLowerCase();
    return d.startsWith("*.") ? domain.endsWith(d.slice(1)) && domain.length > d.length - 1 : domain === d;
  });
}

/**
 * The absolute path a value names, as an upstream would open it: percent-decoded (repeatedly, so
 * `%252e` is `.`), `file:` URLs converted, NFKC-normalized, `\` read as a separator, `.` and `..`
 * resolved. Undefined for a relative path (the upstream's working directory is not known here) or
 * one with a NUL byte.
 */
export function resolvedPath(value: string): string | undefined {
  let text = normalizeForMatching(value);
  for (let i = 0; i < 3 && /%[0-9a-f]{2}/i.test(text); i++) {
    try {
      text = decodeURIComponent(text);
    } catch {
      return undefined;
    }
  }
  if (/^file:/i.test(text)) {
    try {
      text = fileURLToPath(text);
    } catch {
      return undefined;
    }
  }
  text = normalizeForMatching(text).replace(/\\/g, "/");
  if (text.includes("\0") || !text.startsWith("/")) return undefined;
  return path.posix.resolve(text);
}

const under = (p: string, root: string): boolean => {
  const r = path.posix.resolve(root);
  return p === r || p.startsWith(r === "/" ? "/" : `${r}/`);
};

/** Judges one value (a string, or a number/boolean for `oneOf`) against every test of a rule. */
async function judgeValue(rule: Condition, value: unknown): Promise<Verdict> {
  if (rule.oneOf !== undefined && !rule.oneOf.some((v) => v === value)) return { outcome: "deny", why: "not one of the allowed values" };
  const needsString = rule.emailDomains ?? rule.pathUnder ?? rule.publicUrl ?? rule.match;
  if (needsString === undefined) return ALLOW;
  if (typeof value !== "string") return { outcome: "undecided", why: `a ${value === null ? "null" : typeof value} where a string was expected` };
  if (rule.match !== undefined && !rule.match.some((p) => globMatch(p, value))) return { outcome: "deny", why: "matches none of the allowed patterns" };
  if (rule.emailDomains !== undefined) {
    const addresses = emailAddresses(value);
    if (addresses === undefined) return { outcome: "undecided", why: "not a list of email addresses" };
    if (!addresses.every((a) => domainAllowed(domainOf(a), rule.emailDomains ?? []))) return { outcome: "deny", why: "an address outside the allowed domains" };
  }
  if (rule.pathUnder !== undefined) {
    const p = resolvedPath(value);
    if (p === undefined) return { outcome: "undecided", why: "not an absolute path" };
    if (!rule.pathUnder.some((root) => under(p, root))) return { outcome: "deny", why: "a path outside the allowed directories" };
  }
  if (rule.publicUrl !== undefined) {
    const verdict = await isPublicUrl(value, { schemes: rule.publicUrl.schemes });
    if (!verdict.ok) return { outcome: verdict.reason.includes("resolve") ? "undecided" : "deny", why: verdict.reason };
  }
  return ALLOW;
}

/** Judges a call's arguments against one rule: every value of every named argument must pass. */
export async function judge(rule: Condition, args: Record<string, unknown>): Promise<Verdict> {
  // An own `__proto__` key is data here, but an upstream that copies the arguments (Object.assign, spread into a setter) makes it their prototype, and `to` read there was never judged.
  if (Object.hasOwn(args, "__proto__")) return { outcome: "undecided", why: "a __proto__ key in the arguments" };
  for (const ref of rule.argument) {
    const found = argumentAt(args, ref);
    if (!found.present) continue;
    const values = Array.isArray(found.value) ? found.value : [found.value];
    for (const value of values) {
      const verdict = await judgeValue(rule, value);
      if (verdict.outcome !== "allow") return { ...verdict, why: `${ref}: ${verdict.why}` };
    }
  }
  return ALLOW;
}

function forbidden(ex: Exchange, rule: Condition, why: string): Refusal {
  return new Refusal("forbidden", { message: `Forbidden by policy rule ${rule.name}`, data: { reason: "forbidden", rule: rule.name }, reason: `rule ${rule.name}: ${why}` });
}

/**
 * The stage: each rule whose tool pattern matches a `tools/call` judges its arguments, in config
 * order. `enforce` refuses a denial with `-32011 forbidden` naming the rule; `shadow` only notes it
 * in the audit record. A rule that cannot decide denies when `onError: closed` and is noted when open.
 */
export function conditionsStage(rules: readonly Condition[]): Stage | undefined {
  if (rules.length === 0) return undefined;
  return async (ex) => {
    if (ex.message.method !== "tools/call") return;
    const name = ex.message.params?.["name"];
    const args = ex.message.params?.["arguments"];
    if (typeof name !== "string" || typeof args !== "object" || args === null || Array.isArray(args)) return;
    for (const rule of rules) {
      if (!rule.tool.some((t) => globMatch(t, name))) continue;
      const verdict = await judge(rule, args as Record<string, unknown>);
      if (verdict.outcome === "allow") continue;
      const denies = verdict.outcome === "deny" || rule.onError === "closed";
      if (denies && rule.mode === "enforce") throw forbidden(ex, rule, verdict.why);
      ex.notices.push({ check: rule.name, rule: denies ? "deny" : "undecided" });
    }
  };
}
