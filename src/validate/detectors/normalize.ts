// Text as detectors see it: one canonical form, so full-width letters, ligatures and invisible characters cannot hide a payload.

/**
 * Characters that render as nothing (or reorder what is shown) yet survive in text a model reads:
 * zero-width spaces and joiners, bidirectional controls, the soft hyphen, word joiner and invisible
 * operators, the BOM, variation selectors, and the Unicode tag block (U+E0000–E007F, "ASCII
 * smuggling"). A literal class of fixed code points: matching is linear.
 */
export const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\u{1D173}-\u{1D17A}\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]/gu;

/**
 * The form every detector matches against: NFKC (so `＜script＞` is `<script>` and `ﬁle` is
 * `file`), with invisible characters removed (so `ja\u200Bvascript:` is `javascript:`). Case is
 * kept; detectors match case-insensitively where the target language is.
 */
export function normalizeForMatching(text: string): string {
  return text.normalize("NFKC").replace(INVISIBLE, "");
}

/** The invisible characters in `text`, as `U+XXXX` strings in order of appearance (at most `limit`). */
export function invisibleCharacters(text: string, limit = 10): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(INVISIBLE)) {
    found.push(`U+${(m[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`);
    if (found.length >= limit) break;
  }
  return found;
}
