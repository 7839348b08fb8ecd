// The naming rule (README "Names"): valid `prefix.name` unchanged, anything else rewritten with a hash suffix, always within the spec's alphabet.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exposedName, isValidName, MAX_NAME_LENGTH } from "./names.ts";

const SPEC_NAME = /^[A-Za-z0-9._-]{1,128}$/;
const sha8 = (s: string): string => createHash("sha256").update(s, "utf8").digest("hex").slice(0, 8);

/** Upstream names as the config schema allows them (they become prefixes). */
const prefixes = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.constant(false as const));
/** Names an upstream may send: anything, including non-ASCII, control characters and very long strings. */
const anyName = fc.oneof(fc.string({ unit: "binary", maxLength: 300 }), fc.string({ maxLength: 200 }), fc.stringMatching(/^[A-Za-z0-9._-]{100,200}$/));

describe("exposedName", () => {
  it("leaves a name that is already valid unchanged (with and without prefix)", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9._-]{1,128}$/), (name) => {
        expect(exposedName(false, name)).toBe(name);
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.stringMatching(/^[A-Za-z0-9._-]{1,63}$/), (prefix, name) => {
        expect(exposedName(prefix, name)).toBe(`${prefix}.${name}`);
      }),
    );
  });

  it("always produces 1–128 characters of [A-Za-z0-9._-]", () => {
    fc.assert(
      fc.property(prefixes, anyName, (prefix, name) => {
        const exposed = exposedName(prefix, name);
        expect(exposed).toMatch(SPEC_NAME);
        expect(isValidName(exposed)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("is deterministic", () => {
    fc.assert(
      fc.property(prefixes, anyName, (prefix, name) => {
        expect(exposedName(prefix, name)).toBe(exposedName(prefix, name));
      }),
    );
  });

  it("rewrites an invalid name by the documented rule: `_` for other characters, cut to 119, `-` and 8 hex digits of SHA-256 of the original", () => {
    fc.assert(
      fc.property(prefixes, anyName, (prefix, name) => {
        const original = prefix === false ? name : `${prefix}.${name}`;
        fc.pre(!SPEC_NAME.test(original));
        const exposed = exposedName(prefix, name);
        expect(exposed).toBe(`${original.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 119)}-${sha8(original)}`);
        expect(exposed.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
      }),
      { numRuns: 1000 },
    );
  });

  it("examples", () => {
    expect(exposedName("fs", "read_file")).toBe("fs.read_file");
    expect(exposedName(false, "read_file")).toBe("read_file");
    expect(exposedName("fs", "read file")).toBe(`fs.read_file-${sha8("fs.read file")}`);
    expect(exposedName("fs", "lire/écrire")).toBe(`fs.lire__crire-${sha8("fs.lire/écrire")}`);
    expect(exposedName(false, "")).toBe(`-${sha8("")}`);
    // 128 characters exactly stays; one more gets cut and suffixed.
    const limit = "a".repeat(125);
    expect(exposedName("abc", limit.slice(1))).toBe(`abc.${limit.slice(1)}`);
    expect(exposedName("abc", limit.slice(1))).toHaveLength(128);
    const over = exposedName("abc", limit);
    expect(over).toHaveLength(128);
    expect(over).toBe(`abc.${"a".repeat(115)}-${sha8(`abc.${limit}`)}`);
  });

  it("gives different invalid originals different names (the suffix hashes the whole original, not the cut one)", () => {
    const long = "x".repeat(200);
    expect(exposedName("u", `${long}1`)).not.toBe(exposedName("u", `${long}2`));
    expect(exposedName("u", "a b")).not.toBe(exposedName("u", "a/b"));
    fc.assert(
      fc.property(prefixes, fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }), (prefix, a, b) => {
        fc.pre(a !== b);
        const ca = prefix === false ? a : `${prefix}.${a}`;
        const cb = prefix === false ? b : `${prefix}.${b}`;
        fc.pre(!SPEC_NAME.test(ca) && !SPEC_NAME.test(cb));
        expect(exposedName(prefix, a)).not.toBe(exposedName(prefix, b));
      }),
      { numRuns: 1000 },
    );
  });

  it("gives names that differ only in lone surrogates different names (JSON can carry them: \\ud800)", () => {
    // UTF-8 cannot encode a lone surrogate: Node hashes each as U+FFFD, so without care both become one name.
    expect(exposedName("u", "tool\ud800")).not.toBe(exposedName("u", "tool\udbff"));
  });
});
