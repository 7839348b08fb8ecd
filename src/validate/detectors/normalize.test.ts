// The shared text forms: normalization, its memo, and the prefilter helpers detectors skip patterns with.
import { describe, expect, it } from "vitest";
import { decodePercent, decodedForms } from "./decode.ts";
import { StringMemo, invisibleCharacters, isAscii, lowerCased, normalizeForMatching } from "./normalize.ts";
import { hasAll, hasAny, hasWord } from "./prefilter.ts";

describe("isAscii", () => {
  it("is true exactly when no character is past U+007F", () => {
    for (const text of ["", "plain", "\x00\x7f", "a\tb\nc"]) expect(isAscii(text), JSON.stringify(text)).toBe(true);
    for (const text of ["\x80", "caf\u00e9", "soft\u00adhyphen", "\ud800", "\udc00x", "😀", "＜"]) expect(isAscii(text), JSON.stringify(text)).toBe(false);
  });
});

describe("normalizeForMatching", () => {
  it("gives the same forms however calls interleave (its memo is keyed by value)", () => {
    const texts = ["ﬁle", "plain", "ja\u200Bvascript:", "e\u034F\u0301", "e\u0301", "＜script＞", "plain"];
    const expected = ["file", "plain", "javascript:", "e\u0301", "\u00e9", "<script>", "plain"];
    for (let round = 0; round < 3; round++) expect(texts.map(normalizeForMatching)).toEqual(expected);
    // A normalized form that normalizes further (a removed CGJ lets NFKC compose) is its own entry.
    expect(normalizeForMatching(normalizeForMatching("e\u034F\u0301"))).toBe("\u00e9");
    expect(normalizeForMatching(`${"plai"}n`)).toBe("plain");
  });

  it("decodes the same in every order", () => {
    const a = decodedForms("%252e%252e%252f", [decodePercent]);
    expect(decodePercent("%2e")).toBe(".");
    expect(decodedForms("%252e%252e%252f", [decodePercent])).toEqual(a);
    expect(a).toEqual(["%252e%252e%252f", "%2e%2e%2f", "../"]);
  });

  it("finds no invisible character in ASCII, and every one elsewhere", () => {
    expect(invisibleCharacters("plain text")).toEqual([]);
    expect(invisibleCharacters("a\u00adb\u200bc")).toEqual(["U+00AD", "U+200B"]);
  });
});

describe("StringMemo", () => {
  it("computes each key once while it is kept, and keeps at most its size", () => {
    let calls = 0;
    const memo = new StringMemo(2);
    const upper = (s: string): string => {
      calls++;
      return s.toUpperCase();
    };
    expect([memo.get("a", upper), memo.get("b", upper), memo.get("a", upper), memo.get(["b"].join(""), upper)]).toEqual(["A", "B", "A", "B"]);
    expect(calls).toBe(2);
    memo.get("c", upper); // replaces "a", the older entry
    memo.get("a", upper);
    expect(calls).toBe(4);
  });

  it("does not keep a text longer than the limit", () => {
    let calls = 0;
    const memo = new StringMemo(2);
    const long = "x".repeat((1 << 20) + 1);
    const count = (s: string): string => (calls++, s);
    memo.get(long, count);
    memo.get(long, count);
    expect(calls).toBe(2);
  });
});

describe("prefilter helpers", () => {
  it("hasAny and hasAll test single characters", () => {
    expect(hasAny("a=b", "<=")).toBe(true);
    expect(hasAny("ab", "<=")).toBe(false);
    expect(hasAll("&{=", "=&{")).toBe(true);
    expect(hasAll("&=", "=&{")).toBe(false);
  });

  it("hasWord finds a word in any ASCII case, and never misses one a case-insensitive pattern would match", () => {
    expect(hasWord("UNION Select", "union")).toBe(true);
    expect(hasWord("uni on", "union")).toBe(false);
    // Lower-casing can only add ASCII letters (İ gives i, the Kelvin sign k): a needless pattern run, never a missed match.
    expect(lowerCased("\u0130\u212A")).toBe("i\u0307k");
    for (const text of ["IGNORE", "Ignore", "iGnOrE"]) expect(hasWord(text, "ignore") && /ignore/i.test(text)).toBe(true);
  });
});
