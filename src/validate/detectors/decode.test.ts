// The decoders detectors share: each encoding payload lists use, undone exactly once per round.
import { describe, expect, it } from "vitest";
import { MAX_ROUNDS, decodeEntities, decodeJsEscapes, decodePercent, decodedForms } from "./decode.ts";

describe("decodePercent", () => {
  it("decodes %XX runs as UTF-8 and %uXXXX as code units", () => {
    expect(decodePercent("%2e%2e%2f")).toBe("../");
    expect(decodePercent("caf%C3%A9")).toBe("café");
    expect(decodePercent("%u002e%uFF0E")).toBe(".\uFF0E");
  });

  it("turns overlong UTF-8 into the ASCII it encodes, as old servers did", () => {
    expect(decodePercent("..%c0%af")).toBe("../");
    expect(decodePercent("..%c1%9c")).toBe("..\\");
    expect(decodePercent("%c0%ae%c0%ae")).toBe("..");
    expect(decodePercent("%c0%2e%c0%5c")).toBe(".\\");
    expect(decodePercent("%e0%80%ae")).toBe(".");
  });

  it("decodes one layer only, and leaves invalid escapes alone", () => {
    expect(decodePercent("%252e")).toBe("%2e");
    for (const s of ["100%", "50%off", "%zz", "%", "%4"]) expect(decodePercent(s)).toBe(s);
  });
});

describe("decodeEntities", () => {
  it("decodes numeric references with any leading zeros and an optional semicolon", () => {
    expect(decodeEntities("&#60;&#x3C;&#0000060&#x00003c")).toBe("<<<<");
  });

  it("decodes the common names, and lt/gt/amp/quot without a semicolon", () => {
    expect(decodeEntities("&lt;b&gt; &colon;&sol;&lpar;&rpar;&equals;")).toBe("<b> :/()=");
    expect(decodeEntities("&ltscript")).toBe("<script");
  });

  it("leaves text that only looks like a reference alone, and invalid code points replaced", () => {
    expect(decodeEntities("AT&T, R&D, &unknown;")).toBe("AT&T, R&D, &unknown;");
    expect(decodeEntities("&#0;&#99999999999;&#xD800;")).toBe("\uFFFD\uFFFD\uFFFD");
  });
});

describe("decodeJsEscapes", () => {
  it("decodes \\x, \\u and \\u{} escapes", () => {
    expect(decodeJsEscapes("\\x3csvg\\u003e\\u{3c}")).toBe("<svg><");
    expect(decodeJsEscapes("C:\\Users\\x")).toBe("C:\\Users\\x");
  });
});

describe("decodedForms", () => {
  it("lists the normalized text and each further decoded round, stopping when nothing changes", () => {
    expect(decodedForms("%252e%252e%252f", [decodePercent])).toEqual(["%252e%252e%252f", "%2e%2e%2f", "../"]);
    expect(decodedForms("plain text", [decodePercent, decodeEntities])).toEqual(["plain text"]);
  });

  it("normalizes every round, so encoded full-width and invisible characters are caught", () => {
    expect(decodedForms("%uff0e%uff0e/", [decodePercent]).at(-1)).toBe("../");
    expect(decodedForms("java%E2%80%8Bscript:", [decodePercent]).at(-1)).toBe("javascript:");
  });

  it("stops after MAX_ROUNDS rounds", () => {
    const deep = `%${"25".repeat(MAX_ROUNDS + 3)}2e`;
    expect(decodedForms(deep, [decodePercent])).toHaveLength(MAX_ROUNDS + 1);
  });
});
