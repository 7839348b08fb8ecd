// Text as detectors see it: one canonical form, so full-width letters, ligatures and invisible characters cannot hide a payload.

/**
 * Characters that render as nothing (or reorder what is shown) yet survive in text a model reads:
 * zero-width spaces and joiners, bidirectional controls, the soft hyphen, word joiner and invisible
 * operators, the BOM, variation selectors, and the Unicode tag block (U+E0000–E007F, "ASCII
 * smuggling"). A literal class of fixed code points: matching is linear.
 */
export const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\u{1D173}-\u{1D17A}\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]/gu;

/**
 * True when every character of `text` is ASCII. Such text is its own NFKC form and holds no
 * invisible character (the lowest, the soft hyphen, is U+00AD). One native pass: a character
 * past U+007F takes at least two bytes in UTF-8 (a lone surrogate three), so the byte count
 * equals the length exactly when none is there.
 */
export function isAscii(text: string): boolean {
  return Buffer.byteLength(text, "utf8") === text.length;
}

/**
 * A few recent results of a pure string function, so detectors run back to back on one argument
 * (as the screen runs them) share one computation instead of repeating it. Bounded: at most
 * `size` entries, each a string of at most MAX_CACHED_LENGTH characters (longer ones are computed
 * every time), replaced in turn. Keys compare by value, so a copy of a text hits too.
 */
export class StringMemo {
  private readonly keys: (string | undefined)[];
  private readonly values: string[];
  private next = 0;

  constructor(size: number) {
    this.keys = new Array<string | undefined>(size).fill(undefined);
    this.values = new Array<string>(size).fill("");
  }

  /**
   * `compute(key)`, or what it returned for an equal key of late. The newest entry is compared first:
   * a detector asks about the same string object over and over, which `===` settles without reading it.
   */
  get(key: string, compute: (key: string) => string): string {
    const size = this.keys.length;
    for (let n = 1; n <= size; n++) {
      const i = (this.next - n + size) % size;
      if (this.keys[i] === key) return this.values[i] ?? compute(key);
    }
    const value = compute(key);
    if (key.length <= MAX_CACHED_LENGTH) {
      this.keys[this.next] = key;
      this.values[this.next] = value;
      this.next = (this.next + 1) % this.keys.length;
    }
    return value;
  }
}

/** Longest text a StringMemo keeps: the default body limit (1 MiB) holds no longer string, so every argument fits. */
const MAX_CACHED_LENGTH = 1 << 20;

function normalize(text: string): string {
  return isAscii(text) ? text : text.normalize("NFKC").replace(INVISIBLE, "");
}

/** Four entries: the argument, its normalized form (normalized again by decodedForms) and a decoded form or two. */
const normalized = new StringMemo(4);

/**
 * The form every detector matches against: NFKC (so `＜script＞` is `<script>` and `ﬁle` is
 * `file`), with invisible characters removed (so `ja\u200Bvascript:` is `javascript:`). Case is
 * kept; detectors match case-insensitively where the target language is.
 */
export function normalizeForMatching(text: string): string {
  return normalized.get(text, normalize);
}

const lowered = new StringMemo(2);
const toLower = (text: string): string => text.toLowerCase();

/**
 * `text.toLowerCase()`, shared by the detectors that look for keywords in the same form. Keyword
 * prefilters of case-insensitive patterns read it: a pattern without the `u` flag matches an ASCII
 * letter only with an ASCII letter, which lower-casing maps to its lower case in place, so a keyword
 * the pattern matches is in the lower-cased text.
 */
export function lowerCased(text: string): string {
  return lowered.get(text, toLower);
}

/** The invisible characters in `text`, as `U+XXXX` strings in order of appearance (at most `limit`). */
export function invisibleCharacters(text: string, limit = 10): string[] {
  const found: string[] = [];
  if (isAscii(text)) return found;
  for (const m of text.matchAll(INVISIBLE)) {
    found.push(`U+${(m[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`);
    if (found.length >= limit) break;
  }
  return found;
}
