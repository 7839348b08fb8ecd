// Secrets in arguments: credentials a model should never pass on to a tool (keys, tokens, passwords), found by their shape.
import { normalizeForMatching } from "./normalize.ts";
import type { Finding } from "./finding.ts";
import type { Detector } from "./index.ts";
import { hasAny, hasWord } from "./prefilter.ts";

interface Shape {
  readonly rule: string;
  /** Global; group `value`, when present, is the secret itself (the rest of the match is kept by sanitize). */
  readonly pattern: RegExp;
  readonly message: string;
  /** A further check on the secret that a regular expression would make slow or unreadable. */
  readonly accept?: (secret: string) => boolean;
  /** False only when the pattern cannot match the text: a literal every match holds is missing. */
  readonly may: (text: string) => boolean;
}

/**
 * Token shapes start only where a token can (`(?<![\w.-])`) and end where one does: a candidate is
 * scanned once, inside its own run of token characters, so matching is linear however the text repeats
 * a prefix ("eyJ-eyJ-eyJ…", "AKIAAKIA…"). Every quantifier is bounded.
 */
const START = String.raw`(?<![A-Za-z0-9_.-])`;
const END = String.raw`(?![A-Za-z0-9_-])`;

const hasDigitAndLetter = (s: string): boolean => /\d/.test(s) && /[a-z]/i.test(s);

/** Values that name a secret rather than being one: placeholders, templates, booleans, our own redaction. */
const PLACEHOLDER = /^(?:[$<{%[(*]|x{3,}$|\.{3}|null$|none$|nil$|undefined$|true$|false$|redacted|changeme$|example|your[_-]|secret$|password$|string$|required$|env$)/i;

/**
 * Setting names that hold a credential, with an optional prefix and suffix (`DB_PASSWORD`,
 * `client_secret`, `aws_secret_access_key`, `password_hash`). Not `pwd` (the working directory) and
 * not a bare `token` (`max_tokens=4096`).
 */
const KEY = String.raw`(?:[A-Za-z0-9]{1,20}[_.-]){0,3}(?:password|passwd|passphrase|secret|api[_-]?key|apikey|(?:access|auth|refresh|api|bearer|session)[_-]?token|private[_-]?key)(?:[_-][A-Za-z0-9]{1,20}){0,2}`;

const SHAPES: readonly Shape[] = [
  {
    rule: "private-key",
    pattern: /-----BEGIN (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY(?: BLOCK)?-----/g,
    message: "The text contains a PEM private key.",
    may: (t) => t.includes("-----BEGIN "),
  },
  {
    rule: "aws-access-key",
    pattern: new RegExp(`${START}(?<value>(?:AKIA|ASIA|AIDA|AROA)[0-9A-Z]{16})${END}`, "g"),
    message: "The text contains an AWS access key id.",
    may: (t) => t.includes("AKIA") || t.includes("ASIA") || t.includes("AIDA") || t.includes("AROA"),
  },
  {
    rule: "github-token",
    pattern: new RegExp(`${START}(?<value>gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,247})${END}`, "g"),
    message: "The text contains a GitHub token.",
    // `gh?_` and `github_pat_` both hold `_`.
    may: (t) => t.includes("_"),
  },
  {
    rule: "slack-token",
    pattern: new RegExp(`${START}(?<value>xox[baprs]-[A-Za-z0-9-]{10,250})${END}`, "g"),
    message: "The text contains a Slack token.",
    may: (t) => t.includes("xox"),
    accept: hasDigitAndLetter,
  },
  {
    rule: "stripe-key",
    pattern: new RegExp(`${START}(?<value>(?:sk|rk)_live_[A-Za-z0-9]{16,247})${END}`, "g"),
    message: "The text contains a live Stripe secret key.",
    may: (t) => t.includes("_live_"),
  },
  {
    rule: "google-api-key",
    pattern: new RegExp(`${START}(?<value>AIza[0-9A-Za-z_-]{35})${END}`, "g"),
    message: "The text contains a Google API key.",
    may: (t) => t.includes("AIza"),
  },
  {
    rule: "llm-api-key",
    // OpenAI (sk-…, sk-proj-…) and Anthropic (sk-ant-…) keys; hyphenated words ("sk-the-quick-brown-fox") have no digits.
    pattern: new RegExp(`${START}(?<value>sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,300})${END}`, "g"),
    message: "The text contains an OpenAI- or Anthropic-style API key.",
    // `-` first: a lone character is found fastest, and prose has fewer hyphens than s.
    may: (t) => t.includes("-") && t.includes("sk-"),
    accept: hasDigitAndLetter,
  },
  {
    rule: "jwt",
    pattern: new RegExp(`${START}(?<value>eyJ[A-Za-z0-9_-]{5,4096}\\.eyJ[A-Za-z0-9_-]{2,8192}\\.[A-Za-z0-9_-]{0,4096})${END}`, "g"),
    message: "The text contains a JSON Web Token.",
    may: (t) => t.includes("J") && t.includes("eyJ"),
  },
  {
    rule: "bastion-api-key",
    pattern: new RegExp(`${START}(?<value>mcpb_[0-9a-f]{16}_[A-Za-z0-9_-]{43})${END}`, "g"),
    message: "The text contains an mcp-bastion API key.",
    may: (t) => t.includes("_") && t.includes("mcpb_"),
  },
  {
    rule: "password-assignment",
    // key=value anywhere; key: value only as a YAML/env line or a quoted JSON key ("The secret: be kind" is prose).
    pattern: new RegExp(
      `${START}(?:${KEY}\\s{0,8}=|(?:(?<=^[ \\t]{0,32})|")${KEY}"?[ \\t]{0,8}:)[ \\t]{0,8}["']?(?<value>[^\\s"'<>,;&]{4,256})`,
      "gim",
    ),
    message: "The text assigns a value to a password, secret or API-key setting.",
    // `=` or `:`, and a KEY: every one spells pass(word|wd|phrase), secret, key or token.
    may: (t) => hasAny(t, "=:") && hasWord(t, "pass", "secret", "key", "token"),
    accept: (value) => !PLACEHOLDER.test(value) && !/^(.)\1*$/.test(value),
  },
];

interface Hit {
  readonly shape: Shape;
  readonly start: number;
  readonly end: number;
}

/** The secrets in `text` (already normalized), with the span sanitize replaces. */
function locate(text: string): Hit[] {
  const hits: Hit[] = [];
  const pem = new PemBlocks(text);
  for (const shape of SHAPES) {
    if (!shape.may(text)) continue;
    for (const m of text.matchAll(shape.pattern)) {
      const value = m.groups?.["value"];
      if (value !== undefined && shape.accept !== undefined && !shape.accept(value)) continue;
      const start = value === undefined ? m.index : m.index + m[0].length - value.length;
      hits.push({ shape, start, end: shape.rule === "private-key" ? pem.end(m.index + m[0].length) : start + (value ?? m[0]).length });
    }
  }
  return hits;
}

/** A PEM body without its END line: base64 lines up to the first blank line (at most 1024 lines of 256). */
const PEM_BODY = /\r?\n?[A-Za-z0-9+/=]{0,256}(?:\r?\n[A-Za-z0-9+/=]{1,256}){0,1024}/y;

/**
 * Where PEM blocks end. The next END line is searched for once and reused by every header before it,
 * so a text repeating BEGIN lines costs one pass, not one pass per header.
 */
class PemBlocks {
  private nextEnd = -1;
  /** Where the block ending at nextEnd stops: after the END line's closing dashes, or after `-----END ` alone. */
  private stop = -1;

  constructor(private readonly text: string) {}

  /** The end of the block whose header ends at `from`: after its END line, or after its body when the END line is missing or far away. */
  end(from: number): number {
    if (this.nextEnd !== Infinity && this.nextEnd < from) {
      const at = this.text.indexOf("-----END ", from);
      this.nextEnd = at < 0 ? Infinity : at;
      const close = at < 0 ? -1 : this.text.slice(at + 9, at + 80).indexOf("-----");
      this.stop = close < 0 ? at + 9 : at + 9 + close + 5;
    }
    if (this.nextEnd - from <= 262_144) return this.stop;
    PEM_BODY.lastIndex = from;
    return from + (PEM_BODY.exec(this.text)?.[0].length ?? 0);
  }
}

function detect(text: string): Finding[] {
  const rules = new Set(locate(normalizeForMatching(text)).map((h) => h.shape.rule));
  return SHAPES.filter((s) => rules.has(s.rule)).map((s) => ({ detector: "secrets", rule: s.rule, message: s.message }));
}

/** Each secret replaced by `[REDACTED]`, overlapping spans merged, working from the end so offsets stay valid. */
function redact(text: string): string {
  const spans = locate(text)
    .map((h) => [h.start, h.end] as const)
    .sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [start, end] of spans) {
    const last = merged[merged.length - 1];
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  let out = text;
  for (const [start, end] of merged.reverse()) out = `${out.slice(0, start)}[REDACTED]${out.slice(end)}`;
  return out;
}

/**
 * `[REDACTED]` in place of every secret. The original text is kept where that suffices; a secret
 * visible only after normalization (full-width letters, zero-width splits) is redacted in the
 * normalized text instead.
 */
function sanitize(text: string): string {
  const direct = redact(text);
  return detect(direct).length === 0 ? direct : redact(normalizeForMatching(direct));
}

/** The secrets detector; `sanitize` redacts. Messages name the kind of secret, never its value. */
export function secretsDetector(): Detector {
  return { name: "secrets", detect, sanitize };
}
