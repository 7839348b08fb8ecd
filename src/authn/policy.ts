// Password policy: the configurable rules (default: the original design; `nist` preset), an always-on blocklist, and expiry.
import { z } from "zod";
import { ConfigError } from "../errors/index.ts";
import { MAX_PASSWORD_INPUT } from "./password.ts";

/**
 * The rules a new password must meet. Lengths count Unicode code points after NFKC normalization
 * (NIST SP 800-63B rev 3 §5.1.1.2: "each Unicode code point SHALL be counted as a single character").
 * The common-password blocklist, the username check and the character checks are not rules here:
 * they always apply.
 */
export interface PasswordPolicy {
  /** Fewest code points. Default 12 (ASVS 4.0.3 2.1.1); `nist` 8. Never below 8 (NIST §5.1.1.2 SHALL). */
  readonly minLength: number;
  /** Most code points. Default 1024: long passphrases are welcome (NIST SHOULD permit ≥ 64; ASVS 6.2.9). */
  readonly maxLength: number;
  /** Needs an upper-case letter (see {@link checkPassword} for non-Latin scripts). Default true; `nist` false. */
  readonly requireUpper: boolean;
  /** Needs a lower-case letter. Default true; `nist` false. */
  readonly requireLower: boolean;
  /** Needs a decimal digit of any script. Default true; `nist` false. */
  readonly requireDigit: boolean;
  /** Needs a symbol: punctuation, a symbol (emoji included) or a space. Default true; `nist` false. */
  readonly requireSymbol: boolean;
  /** Days a password lasts before it must be changed, before anything else is allowed; 0 = never. Default 90; `nist` 0. */
  readonly maxAgeDays: number;
  /** How many recent passwords (the current one included) may not be reused; 0 = no history. Default 5; `nist` 0. */
  readonly historySize: number;
}

/**
 * The two presets.
 *
 * `default` is the product's original design: 12 code points, all four character classes, a
 * 90-day maximum age and no reuse of the last 5. Composition rules, periodic expiry and history
 * all go against NIST SP 800-63B (rev 3 §5.1.1.2 "SHOULD NOT", rev 4 "SHALL NOT") and ASVS 4.0.3
 * 2.1.9/2.1.10 (5.0: 6.2.5/6.2.10): they push users toward predictable patterns ("Summer2025!" →
 * "Autumn2025!"). They stay the default because the product asks for them; `nist` is the
 * standards-aligned choice.
 *
 * `nist` is length and blocklist only: minimum 8 because that is the floor NIST SP 800-63B sets
 * (rev 3 §5.1.1.2; rev 4 keeps 8 when the password is one factor of multi-factor authentication and
 * asks 15 when it is the only one) and ASVS 5.0 6.2.1 repeats. Where users log in with a password
 * alone, override `minLength: 15`. Maximum 1024, no classes, no expiry, no history.
 */
export const PASSWORD_POLICIES = Object.freeze({
  default: Object.freeze({ minLength: 12, maxLength: 1024, requireUpper: true, requireLower: true, requireDigit: true, requireSymbol: true, maxAgeDays: 90, historySize: 5 }),
  nist: Object.freeze({ minLength: 8, maxLength: 1024, requireUpper: false, requireLower: false, requireDigit: false, requireSymbol: false, maxAgeDays: 0, historySize: 0 }),
} satisfies Record<string, PasswordPolicy>);

/** A preset name: `default` or `nist`. */
export type PasswordPolicyName = keyof typeof PASSWORD_POLICIES;

/** Largest `maxLength` a configuration may set: 4096 code points (up to 16 KiB of UTF-8). */
export const MAX_POLICY_LENGTH = 4096;

const overrides = z.strictObject({
  /** The preset the other keys override. Default "default". */
  preset: z.enum(["default", "nist"], { error: 'expected a preset name: "default" or "nist"' }).optional(),
  minLength: z.number().int().min(8).max(MAX_POLICY_LENGTH).optional(),
  maxLength: z.number().int().min(64).max(MAX_POLICY_LENGTH).optional(),
  requireUpper: z.boolean().optional(),
  requireLower: z.boolean().optional(),
  requireDigit: z.boolean().optional(),
  requireSymbol: z.boolean().optional(),
  maxAgeDays: z.number().int().min(0).max(3650).optional(),
  historySize: z.number().int().min(0).max(24).optional(),
});

/**
 * The `auth.passwordPolicy` config section: a preset name (`"default"` or `"nist"`), or an object
 * of overrides on top of the default preset (or of `preset`, when it names one). Absent means
 * `"default"`. Bounds: `minLength` 8–4096, `maxLength` 64–4096 and not below `minLength`,
 * `maxAgeDays` 0–3650, `historySize` 0–24. Parses to a full, frozen {@link PasswordPolicy}.
 */
export const passwordPolicySchema = z
  // A name is shorthand for { preset: name }: one object schema, so every problem gets its own path.
  .preprocess((value) => (value === undefined ? {} : typeof value === "string" ? { preset: value } : value), overrides)
  .transform((value): PasswordPolicy => {
    const { preset = "default", ...rest } = value;
    const merged: Record<string, number | boolean> = { ...PASSWORD_POLICIES[preset] };
    for (const [key, v] of Object.entries(rest)) if (v !== undefined) merged[key] = v;
    return Object.freeze(merged as unknown as PasswordPolicy);
  })
  .refine((p) => p.minLength <= p.maxLength, { message: "minLength must not exceed maxLength" });

/**
 * The policy a configuration value names: a {@link PasswordPolicy}, a preset name, an overrides
 * object, or undefined (the default preset).
 *
 * @throws ConfigError listing every problem, each prefixed `auth.passwordPolicy`.
 */
export function resolvePolicy(value: unknown): PasswordPolicy {
  const parsed = passwordPolicySchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ConfigError(parsed.error.issues.map((i) => `auth.passwordPolicy${i.path.map((p) => `.${String(p)}`).join("")}: ${i.message}`));
}

/** Which rule a refused password broke: a {@link PasswordPolicy} key, or one of the always-on checks. */
export type ViolationRule = "minLength" | "maxLength" | "requireUpper" | "requireLower" | "requireDigit" | "requireSymbol" | "historySize" | "characters" | "blocklist" | "username";

/** One reason a password was refused: a stable `rule` and a sentence the user can act on (never the password itself). */
export interface Violation {
  rule: ViolationRule;
  message: string;
}

/** What {@link checkPassword} needs to know besides the password. */
export interface PasswordContext {
  /** The account's name; the password may not be based on it. */
  username: string;
  /**
   * True when the candidate (passed as given) matches one of the account's last `historySize`
   * passwords, the current one included. Called only when `historySize` > 0 and every other rule
   * passed (it costs a password hash per remembered password).
   */
  previous: (candidate: string) => Promise<boolean>;
}

// Character classes, tested per code point after NFKC. Caseless letters (Lo: CJK, Arabic, Hebrew,
// Thai…; Lm: modifier letters) satisfy both case rules: the case rules exist to widen the alphabet
// an attacker must search, a caseless script's alphabet is already far wider than A–Z plus a–z, and
// refusing them would force every user of those scripts to add Latin letters.
const UPPER = /[\p{Lu}\p{Lt}\p{Lo}\p{Lm}]/u;
const LOWER = /[\p{Ll}\p{Lo}\p{Lm}]/u;
// Decimal digits of any script (Arabic-Indic ٣ counts; full-width ３ is already 3 after NFKC).
const DIGIT = /\p{Nd}/u;
// Punctuation, symbols (math, currency, emoji…) and spaces; OWASP's special-character list includes the space.
const SYMBOL = /[\p{P}\p{S}\p{Zs}]/u;
// Refused outright: control characters (C0, DEL, C1), line and paragraph separators, lone surrogates,
// and code points this runtime's Unicode does not assign (Cn): NIST asks for the "Normalization
// Process for Stabilized Strings" (UAX #15 §12.1), which is only stable for assigned code points.
const FORBIDDEN = /[\p{Cc}\p{Zl}\p{Zp}\p{Cn}\p{Cs}]/u;
const NOT_LETTERS_AT_ENDS = /^\P{L}+|\P{L}+$/gu;

// Context-specific words (NIST §5.1.1.2 names "the name of the service"): refused like the common list.
const SERVICE_WORDS = ["bastion", "mcpbastion", "mcp-bastion", "mcp_bastion", "mcp bastion", "mcpgateway", "mcp-gateway"];

let blocklist: Promise<ReadonlySet<string>> | undefined;

/**
 * The always-on blocklist: the 49,233 passwords of `@zxcvbn-ts/language-common`'s
 * `passwords-common` (lower-case ASCII, most common first, from breach corpora) plus the
 * service's own name. Loaded and built once, on first use: importing the package decompresses the list.
 */
function loadBlocklist(): Promise<ReadonlySet<string>> {
  blocklist ??= import("@zxcvbn-ts/language-common").then(
    ({ dictionary }) => new Set([...dictionary["passwords-common"], ...SERVICE_WORDS]),
    (err: unknown) => {
      // Fail closed (checkPassword rejects) but let the next call try again.
      blocklist = undefined;
      throw err;
    },
  );
  return blocklist;
}

const codePoints = (s: string): string[] => [...s];

/**
 * True when `folded` (NFKC, lower-cased) is a blocklisted password, or one with at most 6 digits,
 * symbols or spaces added before or after it ("Password123!", "!dragon2024"): attackers' rule sets
 * try exactly those. The core must be at least 4 code points and the additions at most 6, so a
 * long random run of digits and symbols around a common word is not caught ("blue83726419!@").
 */
function isBlocklisted(folded: string, list: ReadonlySet<string>): boolean {
  if (list.has(folded)) return true;
  const core = folded.replace(NOT_LETTERS_AT_ENDS, "");
  const coreLength = codePoints(core).length;
  return coreLength >= 4 && codePoints(folded).length - coreLength <= 6 && list.has(core);
}

/**
 * True when the password is based on the username: it contains it or its reverse (usernames of 4 or
 * more code points; for an e-mail address, its local part too), or for shorter names is the name
 * with only digits, symbols or spaces around it ("bob1984!"). Compared after NFKC and lower-casing.
 */
function isUsernameBased(folded: string, username: string): boolean {
  const name = username.normalize("NFKC").toLowerCase().trim();
  const at = name.lastIndexOf("@");
  const names = new Set([name, at > 0 ? name.slice(0, at) : name]);
  const core = folded.replace(NOT_LETTERS_AT_ENDS, "");
  for (const n of names) {
    const length = codePoints(n).length;
    if (length === 0) continue;
    if (folded === n || core === n) return true;
    if (length >= 4 && (folded.includes(n) || folded.includes(codePoints(n).reverse().join("")))) return true;
  }
  return false;
}

/**
 * Checks a new password against `policy` and the always-on rules, and returns every violation
 * (empty: accepted). Never echoes the password. Rules, in order:
 *
 * - `characters`: control characters, line breaks, unassigned code points and lone surrogates are refused.
 * - `minLength` / `maxLength`: code points after NFKC ("ﬁ" is two, "é" as e + U+0301 is one; each
 *   code point of an emoji sequence counts).
 * - `requireUpper` / `requireLower` / `requireDigit` / `requireSymbol`: when the policy asks. Upper
 *   is Lu/Lt, lower Ll, and caseless letters (Lo/Lm: CJK, Arabic, Hebrew…) count as both; digit is Nd;
 *   symbol is punctuation (P), symbols (S, emoji included) or a space (Zs). Marks count as nothing.
 * - `blocklist`: always; case-insensitive after NFKC, so "PASSWORD" and full-width "ｐａｓｓｗｏｒｄ"
 *   are caught, as are common passwords with ≤ 6 digits/symbols around them.
 * - `username`: always; see the username rules above.
 * - `historySize`: when > 0, and only if nothing above failed, `context.previous` is asked.
 */
export async function checkPassword(password: string, policy: PasswordPolicy, context: PasswordContext): Promise<Violation[]> {
  const violations: Violation[] = [];
  if (typeof password !== "string" || !password.isWellFormed() || FORBIDDEN.test(password)) {
    violations.push({ rule: "characters", message: "Remove control characters, line breaks and characters this server does not recognize." });
    if (typeof password !== "string" || !password.isWellFormed()) return violations;
  }
  // Bound the work before normalizing, at the same limit hashing has (65,536 UTF-16 code units).
  if (password.length > MAX_PASSWORD_INPUT) {
    violations.push({ rule: "maxLength", message: `Use at most ${policy.maxLength} characters.` });
    return violations;
  }
  const normalized = password.normalize("NFKC");
  const chars = codePoints(normalized);
  if (chars.length < policy.minLength) violations.push({ rule: "minLength", message: `Use at least ${policy.minLength} characters.` });
  if (chars.length > policy.maxLength) violations.push({ rule: "maxLength", message: `Use at most ${policy.maxLength} characters.` });
  const has = (re: RegExp) => chars.some((c) => re.test(c));
  if (policy.requireUpper && !has(UPPER)) violations.push({ rule: "requireUpper", message: "Add an upper-case letter." });
  if (policy.requireLower && !has(LOWER)) violations.push({ rule: "requireLower", message: "Add a lower-case letter." });
  if (policy.requireDigit && !has(DIGIT)) violations.push({ rule: "requireDigit", message: "Add a digit." });
  if (policy.requireSymbol && !has(SYMBOL)) violations.push({ rule: "requireSymbol", message: "Add a symbol, such as punctuation or a space." });
  const folded = normalized.toLowerCase();
  if (isBlocklisted(folded, await loadBlocklist())) {
    violations.push({ rule: "blocklist", message: "This password is too common or known from data breaches; choose one that is harder to guess." });
  }
  if (isUsernameBased(folded, context.username)) violations.push({ rule: "username", message: "Do not base the password on your username." });
  if (violations.length === 0 && policy.historySize > 0 && (await context.previous(password))) {
    violations.push({ rule: "historySize", message: `Choose a password you have not used for your last ${policy.historySize} passwords.` });
  }
  return violations;
}

const DAY_MS = 86_400_000;

/**
 * True when a password set at `passwordChangedAt` (milliseconds since the epoch; null when none was
 * ever set) has outlived `policy.maxAgeDays` at `now` (milliseconds). A password expires exactly
 * `maxAgeDays` × 24 h after it was set: at that instant it is already expired. Never true when
 * `maxAgeDays` is 0. An expired password must be changed before anything else is allowed.
 */
export function isExpired(passwordChangedAt: number | null, policy: PasswordPolicy, now: number): boolean {
  if (passwordChangedAt === null || policy.maxAgeDays <= 0) return false;
  return now >= passwordChangedAt + policy.maxAgeDays * DAY_MS;
}
