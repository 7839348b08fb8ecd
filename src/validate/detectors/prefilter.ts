// Cheap tests that let a detector skip a pattern: a pattern cannot match text lacking a character or word every match contains.
import { lowerCased } from "./normalize.ts";

/*
 * Each rule's prefilter is a condition every match of its pattern implies, checked on the very
 * string the pattern would run on (or, where noted, one that contains every character of it). A
 * prefilter that says "maybe" costs the pattern run it always cost; one that says "no" saves it.
 * `includes` is a native search, several times faster than a regular expression scan of the same
 * text, and none of these calls is more than linear.
 */

/** True when `text` contains at least one of the characters of `chars`. */
export function hasAny(text: string, chars: string): boolean {
  for (let i = 0; i < chars.length; i++) if (text.includes(chars.charAt(i))) return true;
  return false;
}

/** True when `text` contains every character of `chars`. */
export function hasAll(text: string, chars: string): boolean {
  for (let i = 0; i < chars.length; i++) if (!text.includes(chars.charAt(i))) return false;
  return true;
}

/**
 * True when `text` contains one of `words` (lower-case ASCII) in any case, as a case-insensitive
 * pattern without the `u` flag would match it (see lowerCased).
 */
export function hasWord(text: string, ...words: readonly string[]): boolean {
  const lower = lowerCased(text);
  return words.some((w) => lower.includes(w));
}
