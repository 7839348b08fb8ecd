// Password hashing: round trip, refusals that never throw, bounded parameters, NFKC equivalence, same cost for unknown users.
import { scrypt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEFAULT_SCRYPT_PARAMS, MAX_PASSWORD_INPUT, SCRYPT_LIMITS, type ScryptParams, hashPassword, needsRehash, verifyPassword } from "./password.ts";

// N = 2^10: about 5 ms a hash, for every test that is not about the default cost itself.
const FAST: ScryptParams = { ln: 10, r: 8, p: 1 };
const PHC = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

describe("hashPassword / verifyPassword", () => {
  it("round-trips, and refuses a wrong password", async () => {
    const stored = await hashPassword("correct horse battery staple", FAST);
    expect(await verifyPassword("correct horse battery staple", stored, FAST)).toBe(true);
    for (const wrong of ["correct horse battery stapl", "Correct horse battery staple", "correct horse battery staple ", ""]) {
      expect(await verifyPassword(wrong, stored, FAST), JSON.stringify(wrong)).toBe(false);
    }
  });

  it("writes a self-describing string: 16-byte salt, 32-byte key, unpadded base64, fresh salt each time", async () => {
    const a = await hashPassword("same password", FAST);
    const b = await hashPassword("same password", FAST);
    const m = PHC.exec(a);
    expect(m?.slice(1, 4)).toEqual(["10", "8", "1"]);
    expect(Buffer.from(m?.[4] ?? "", "base64").length).toBe(16);
    expect(Buffer.from(m?.[5] ?? "", "base64").length).toBe(32);
    expect(`${m?.[4] ?? "="}${m?.[5] ?? "="}`).not.toContain("=");
    expect(a).not.toBe(b);
    expect(await verifyPassword("same password", b, FAST)).toBe(true);
  });

  it("hashes at the OWASP default N=2^17, r=8, p=1 (above Node's 32 MiB maxmem default) and verifies it", async () => {
    expect(DEFAULT_SCRYPT_PARAMS).toEqual({ ln: 17, r: 8, p: 1 });
    // Node's defaults refuse this cost outright: maxmem has to be set.
    expect(() => scrypt("x", "salt", 32, { N: 2 ** 17, r: 8, p: 1 }, () => undefined)).toThrow(/memory limit/);
    const stored = await hashPassword("Tr0ub4dor&3 but longer");
    expect(stored.startsWith("$scrypt$ln=17,r=8,p=1$")).toBe(true);
    expect(await verifyPassword("Tr0ub4dor&3 but longer", stored)).toBe(true);
    expect(needsRehash(stored)).toBe(false);
  });

  it("treats NFKC-equivalent passwords as the same (NIST 800-63B §5.1.1.2) and others as different", async () => {
    const pairs: [string, string][] = [
      ["\uFB01nancial-report-2031", "financial-report-2031"], // "ﬁ" ligature vs "fi"
      ["\uFF30\uFF41\uFF53\uFF53\uFF57\uFF4F\uFF52\uFF44\uFF01 long enough", "Password! long enough"], // full-width vs ASCII
      ["caf\u00E9 au lait forever", "cafe\u0301 au lait forever"], // precomposed é vs e + combining acute
      ["\u2460\u2461\u2462 circled digits", "123 circled digits"], // ①②③ vs 123
    ];
    for (const [hashed, typed] of pairs) {
      const stored = await hashPassword(hashed, FAST);
      expect(await verifyPassword(typed, stored, FAST), typed).toBe(true);
      expect(await verifyPassword(hashed, await hashPassword(typed, FAST), FAST), hashed).toBe(true);
    }
    // Normalization does not fold case or strip accents.
    const stored = await hashPassword("caf\u00E9 au lait forever", FAST);
    expect(await verifyPassword("cafe au lait forever", stored, FAST)).toBe(false);
    expect(await verifyPassword("CAF\u00C9 AU LAIT FOREVER", stored, FAST)).toBe(false);
  });

  it("round-trips long and non-Latin passwords: 1,000 characters, emoji, CJK, RTL", async () => {
    for (const pw of ["x".repeat(1000), "🔐🦊 ключ 密码 كلمة السر סיסמה", "\u{1F468}\u200D\u{1F469}\u200D\u{1F467} family"]) {
      const stored = await hashPassword(pw, FAST);
      expect(await verifyPassword(pw, stored, FAST)).toBe(true);
      expect(await verifyPassword(pw.slice(0, -1), stored, FAST)).toBe(false);
    }
  });

  it("refuses ill-formed strings and over-long input at hashing, and answers false at verification", async () => {
    const stored = await hashPassword("a\uFFFDb-well-formed", FAST);
    // A lone surrogate would be encoded as U+FFFD and match the password above.
    await expect(hashPassword("a\uD800b-well-formed", FAST)).rejects.toThrow(TypeError);
    expect(await verifyPassword("a\uD800b-well-formed", stored, FAST)).toBe(false);
    const huge = "y".repeat(MAX_PASSWORD_INPUT + 1);
    await expect(hashPassword(huge, FAST)).rejects.toThrow(RangeError);
    expect(await verifyPassword(huge, stored, FAST)).toBe(false);
    const atLimit = "z".repeat(MAX_PASSWORD_INPUT);
    expect(await verifyPassword(atLimit, await hashPassword(atLimit, FAST), FAST)).toBe(true);
    for (const notString of [undefined, null, 12345678, ["pw"], { toString: () => "pw" }]) {
      expect(await verifyPassword(notString as unknown as string, stored, FAST)).toBe(false);
    }
  });
});

describe("stored hashes that are malformed or tampered", () => {
  it("answers false without throwing for every one", async () => {
    const good = await hashPassword("hunter2-but-longer", FAST);
    const [, , , , salt = "", key = ""] = PHC.exec(good) ?? [];
    const flippedKey = `${key.slice(0, -2)}${key.at(-2) === "A" ? "B" : "A"}${key.at(-1) ?? ""}`;
    const malformed = [
      "",
      "$scrypt$",
      good.slice(0, -1),
      `${good}=`,
      `${good}\n`,
      ` ${good}`,
      `${good}$extra`,
      good.replace("$scrypt$", "$2b$"),
      good.replace("$scrypt$", "$SCRYPT$"),
      `$scrypt$ln=10,r=8,p=1$${salt}$${flippedKey}`, // tampered key: parses, but no longer matches
      `$scrypt$ln=10,r=8,p=1$${salt}$${salt}`, // 16-byte key from another field
      `$scrypt$ln=10,r=8,p=1$${salt}==$${key}`, // padded base64
      `$scrypt$ln=10,r=8,p=1$${salt.slice(0, -1)}!$${key}`, // not base64
      `$scrypt$ln=10,r=8,p=1$${salt.slice(0, -1)}B$${key}`, // non-canonical base64 (unused low bits set)
      `$scrypt$ln=10,r=8,p=1$${salt.slice(0, 16)}$${key}`, // 12-byte salt
      `$scrypt$ln=10,r=8,p=1$${salt}$${key.slice(0, 16)}`, // 12-byte key
      `$scrypt$ln=10,r=8,p=1$${salt}$${key.slice(0, 40)}`, // 30-byte key: a true prefix of the right one, still refused
      `$scrypt$ln=10,r=8,p=1$${"A".repeat(90)}$${key}`, // 67-byte salt
      `$scrypt$ln=010,r=8,p=1$${salt}$${key}`, // leading zero
      `$scrypt$ln=10,r=8$${salt}$${key}`, // missing p
      `$scrypt$r=8,ln=10,p=1$${salt}$${key}`, // reordered
      `$scrypt$ln=0,r=8,p=1$${salt}$${key}`,
      `$scrypt$ln=10,r=0,p=1$${salt}$${key}`,
      `$scrypt$ln=10,r=8,p=0$${salt}$${key}`,
      `$scrypt$ln=10,r=-8,p=1$${salt}$${key}`,
      `$scrypt$ln=10.5,r=8,p=1$${salt}$${key}`,
      "x".repeat(100_000),
    ];
    for (const stored of malformed) {
      expect(await verifyPassword("hunter2-but-longer", stored, FAST), stored.slice(0, 80)).toBe(false);
      expect(needsRehash(stored), stored.slice(0, 80)).toBe(true);
    }
    for (const notString of [null, 42, {}, ["$scrypt$"]]) {
      expect(await verifyPassword("hunter2-but-longer", notString as unknown as string, FAST)).toBe(false);
    }
  }, 120_000); // each malformed hash still costs a dummy verification; generous on a loaded machine

  it("refuses parameters that would burn memory or CPU, before deriving anything with them", async () => {
    const good = await hashPassword("hunter2-but-longer", FAST);
    const [, , , , salt = "", key = ""] = PHC.exec(good) ?? [];
    const absurd = [
      "ln=21,r=8,p=1", // N beyond 2^20
      "ln=99,r=8,p=1",
      "ln=20,r=8,p=1", // 1 GiB
      "ln=18,r=16,p=1", // 512 MiB
      "ln=10,r=33,p=1", // r beyond 32
      "ln=10,r=8,p=17", // p beyond 16
      "ln=17,r=8,p=16", // 16× the default's work
      "ln=16,r=32,p=1", // 256 MiB of V plus B: over the memory bound by a hair
    ];
    for (const params of absurd) {
      const started = performance.now();
      expect(await verifyPassword("hunter2-but-longer", `$scrypt$${params}$${salt}$${key}`, FAST), params).toBe(false);
      // Only the cheap dummy ran (FAST, ~5 ms): far below what these parameters would cost.
      expect(performance.now() - started, params).toBeLessThan(500);
    }
    expect(SCRYPT_LIMITS.maxMemoryBytes).toBe(256 * 1024 * 1024);
  });

  it("refuses out-of-bounds parameters at hashing", async () => {
    for (const params of [
      { ln: 0, r: 8, p: 1 },
      { ln: 21, r: 8, p: 1 },
      { ln: 20, r: 8, p: 1 },
      { ln: 10, r: 0, p: 1 },
      { ln: 10, r: 8, p: 0 },
      { ln: 10.5, r: 8, p: 1 },
      { ln: 10, r: 8, p: Number.NaN },
    ]) {
      await expect(hashPassword("whatever-password", params), JSON.stringify(params)).rejects.toThrow(RangeError);
    }
    // The largest accepted memory cost: 2^17 · r 8 · p 1 is the default; 2^18 · 8 would be 256 MiB + B, refused.
    await expect(hashPassword("whatever-password", { ln: 18, r: 8, p: 1 })).rejects.toThrow(RangeError);
  });
});

describe("needsRehash", () => {
  it("is true for other parameters and false for the current ones", async () => {
    const weak = await hashPassword("rotate-me-please", FAST);
    expect(needsRehash(weak)).toBe(true);
    expect(needsRehash(weak, FAST)).toBe(false);
    expect(needsRehash(weak, { ln: 10, r: 8, p: 2 })).toBe(true);
    expect(needsRehash(weak, { ln: 11, r: 8, p: 1 })).toBe(true);
  });
});

describe("an unknown user", () => {
  it("gets false, after work of the configured cost", async () => {
    expect(await verifyPassword("anything at all", undefined, FAST)).toBe(false);
    expect(await verifyPassword("", undefined, FAST)).toBe(false);
  });

  it("takes about as long as a known user with a wrong password, at the default cost", async () => {
    // A guard, not a benchmark: an unknown-user answer that skipped scrypt would be ~1000× faster.
    const stored = await hashPassword("the real password of a real user");
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 3; i++) {
      let t = performance.now();
      expect(await verifyPassword("a wrong guess", stored)).toBe(false);
      known.push(performance.now() - t);
      t = performance.now();
      expect(await verifyPassword("a wrong guess", undefined)).toBe(false);
      unknown.push(performance.now() - t);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1] ?? Number.NaN;
    const ratio = median(unknown) / median(known);
    expect(ratio).toBeGreaterThan(1 / 3);
    expect(ratio).toBeLessThan(3);
  });
});
