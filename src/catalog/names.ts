// How an upstream's tool and prompt names become the gateway's names: `prefix.name`, kept within the spec's alphabet and length.
import { createHash } from "node:crypto";

/** Longest name the gateway exposes (the MCP tool-name rule: 1–128 characters). */
export const MAX_NAME_LENGTH = 128;
const VALID = /^[A-Za-z0-9._-]{1,128}$/;
const INVALID_CHAR = /[^A-Za-z0-9._-]/g;

/** Whether `name` is already within the spec's alphabet `[A-Za-z0-9._-]` and length. */
export const isValidName = (name: string): boolean => VALID.test(name);

/**
 * The name a client sees for upstream name `name` under `prefix` (false: no prefix).
 *
 * The rule, deterministic and documented in README: take `prefix.name`; if it is 1–128 characters
 * of `[A-Za-z0-9._-]`, that is the name. Otherwise replace every other character with `_`, cut to
 * 119 characters and append `-` and the first 8 hex digits of SHA-256 of the untouched `prefix.name`
 * (its UTF-8 bytes; UTF-16 code units when it holds a lone surrogate).
 * Names that needed no change never carry a suffix, so two different originals can only meet if a
 * valid name happens to equal another's rewritten form; the catalog refuses the second of such a
 * pair (first in config order wins) and logs it, so the mapping stays one-to-one.
 */
export function exposedName(prefix: string | false, name: string): string {
  const candidate = prefix === false ? name : `${prefix}.${name}`;
  if (VALID.test(candidate)) return candidate;
  // UTF-8 would turn every lone surrogate into U+FFFD, so "a\ud800" and "a\udbff" would share a hash; UTF-16 units keep them apart.
  const bytes = candidate.isWellFormed() ? Buffer.from(candidate, "utf8") : Buffer.from(candidate, "utf16le");
  const digest = createHash("sha256").update(bytes).digest("hex").slice(0, 8);
  return `${candidate.replace(INVALID_CHAR, "_").slice(0, MAX_NAME_LENGTH - 9)}-${digest}`;
}
