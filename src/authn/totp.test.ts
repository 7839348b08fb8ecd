// TOTP: the RFC 6238 Appendix B table through otpauth, then verifyTotp with an injected clock, URIs, and recovery codes.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { HOTP, Secret, TOTP, URI } from "otpauth";
import { describe, expect, it } from "vitest";
import { MAX_TOTP_WINDOW, hashRecoveryCode, newRecoveryCodes, newTotpSecret, otpauthUri, verifyTotp } from "./totp.ts";

interface Rfc6238 {
  title: string;
  t0: number;
  period: number;
  digits: number;
  seeds: Record<"SHA1" | "SHA256" | "SHA512", string>;
  vectors: { time: number; utc: string; T: string; totp: string; mode: "SHA1" | "SHA256" | "SHA512" }[];
}

const rfc = JSON.parse(readFileSync(new URL("../../test/vectors/rfc6238.json", import.meta.url), "utf8")) as Rfc6238;

describe("RFC 6238 Appendix B through otpauth", () => {
  it("has the whole table: six times × three modes, 8 digits, 30-second steps from 0", () => {
    expect(rfc.title).toMatch(/^RFC 6238/);
    expect(rfc.vectors.length).toBe(18);
    expect([rfc.t0, rfc.period, rfc.digits]).toEqual([0, 30, 8]);
    expect(new Set(rfc.vectors.map((v) => v.time))).toEqual(new Set([59, 1111111109, 1111111111, 1234567890, 2000000000, 20000000000]));
  });

  for (const v of rfc.vectors) {
    it(`${v.mode} at ${v.time} (${v.utc}) → ${v.totp}`, () => {
      const secret = Secret.fromLatin1(rfc.seeds[v.mode]);
      const timestamp = v.time * 1000;
      expect(new Date(timestamp).toISOString().replace("T", " ").slice(0, 19)).toBe(v.utc);
      expect(TOTP.counter({ period: rfc.period, timestamp })).toBe(Number.parseInt(v.T, 16));
      expect(TOTP.generate({ secret, algorithm: v.mode, digits: rfc.digits, period: rfc.period, timestamp })).toBe(v.totp);
      expect(TOTP.validate({ token: v.totp, secret, algorithm: v.mode, digits: rfc.digits, period: rfc.period, timestamp, window: 0 })).toBe(0);
    });
  }

  it("verifyTotp accepts the 6-digit form of every SHA-1 row at its time, returning T", () => {
    const secret = Secret.fromLatin1(rfc.seeds.SHA1).base32;
    expect(secret).toBe("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    for (const v of rfc.vectors.filter((x) => x.mode === "SHA1")) {
      expect(verifyTotp(secret, v.totp.slice(-6), v.time * 1000, 0), String(v.time)).toBe(Number.parseInt(v.T, 16));
      // The 8-digit code itself is not a 6-digit code.
      expect(verifyTotp(secret, v.totp, v.time * 1000, 0)).toBeUndefined();
    }
  });
});

describe("verifyTotp with an injected clock", () => {
  const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
  const key = Secret.fromBase32(secret);
  const now = Date.UTC(2031, 4, 17, 9, 30, 10); // 10 s into a step
  const step = TOTP.counter({ timestamp: now });
  const code = (counter: number) => HOTP.generate({ secret: key, counter });
  // The codes of the five steps around now differ (so a match says which step it was).
  it("has distinct codes around now (precondition)", () => {
    expect(new Set([-2, -1, 0, 1, 2].map((d) => code(step + d))).size).toBe(5);
  });

  it("accepts the current, previous and next step with window 1, returning each one's counter", () => {
    expect(verifyTotp(secret, code(step), now)).toBe(step);
    expect(verifyTotp(secret, code(step - 1), now)).toBe(step - 1);
    expect(verifyTotp(secret, code(step + 1), now)).toBe(step + 1);
  });

  it("refuses codes two steps off with window 1, accepts them with window 2", () => {
    expect(verifyTotp(secret, code(step - 2), now)).toBeUndefined();
    expect(verifyTotp(secret, code(step + 2), now)).toBeUndefined();
    expect(verifyTotp(secret, code(step - 2), now, 2)).toBe(step - 2);
    expect(verifyTotp(secret, code(step + 2), now, 2)).toBe(step + 2);
  });

  it("accepts only the current step with window 0", () => {
    expect(verifyTotp(secret, code(step), now, 0)).toBe(step);
    expect(verifyTotp(secret, code(step - 1), now, 0)).toBeUndefined();
    expect(verifyTotp(secret, code(step + 1), now, 0)).toBeUndefined();
  });

  it("changes step exactly on the 30-second boundary", () => {
    const boundary = (step + 1) * 30_000;
    expect(verifyTotp(secret, code(step + 1), boundary, 0)).toBe(step + 1);
    expect(verifyTotp(secret, code(step + 1), boundary - 1, 0)).toBeUndefined();
    expect(verifyTotp(secret, code(step), boundary - 1, 0)).toBe(step);
  });

  it("returns the same counter for the same code, so the caller can refuse a replay", () => {
    let lastAccepted = -1;
    const login = (c: string, at: number) => {
      const counter = verifyTotp(secret, c, at);
      if (counter === undefined || counter <= lastAccepted) return false;
      lastAccepted = counter;
      return true;
    };
    expect(login(code(step), now)).toBe(true);
    expect(login(code(step), now + 5_000)).toBe(false); // same code, same window
    expect(login(code(step - 1), now)).toBe(false); // an older step, still in the window
    expect(login(code(step + 1), now + 30_000)).toBe(true);
  });

  it("refuses anything but exactly six ASCII digits", () => {
    const good = code(step);
    for (const bad of [
      good.slice(0, 5),
      `${good}0`,
      `0${good}`,
      `${good.slice(0, 5)}a`,
      ` ${good}`,
      `${good} `,
      `${good.slice(0, 3)} ${good.slice(3)}`,
      `${good.slice(0, 3)}-${good.slice(3)}`,
      [...good].map((d) => String.fromCharCode(0xff10 + Number(d))).join(""), // full-width digits
      [...good].map((d) => String.fromCharCode(0x0660 + Number(d))).join(""), // Arabic-Indic digits
      `${good}\n`,
      "",
      "abcdef",
      "-12345",
      "1e5000",
    ]) {
      expect(verifyTotp(secret, bad, now), JSON.stringify(bad)).toBeUndefined();
    }
    for (const notString of [Number(good), null, undefined, [good]]) {
      expect(verifyTotp(secret, notString as unknown as string, now)).toBeUndefined();
    }
  });

  it("works at the epoch, where the previous step does not exist", () => {
    expect(verifyTotp(secret, code(0), 0)).toBe(0);
    expect(verifyTotp(secret, code(1), 0)).toBe(1);
  });

  it("throws on programming errors: bad secret, clock or window", () => {
    expect(() => verifyTotp("", "123456", now)).toThrow(RangeError);
    expect(() => verifyTotp("AAAAAAAA", "123456", now)).toThrow(RangeError); // 40 bits
    expect(() => verifyTotp("not base32!", "123456", now)).toThrow(TypeError);
    for (const w of [-1, 1.5, MAX_TOTP_WINDOW + 1, Number.NaN]) expect(() => verifyTotp(secret, "123456", now, w), String(w)).toThrow(RangeError);
    for (const t of [Number.NaN, Number.POSITIVE_INFINITY, -1]) expect(() => verifyTotp(secret, "123456", t), String(t)).toThrow(RangeError);
  });
});

describe("newTotpSecret and otpauthUri", () => {
  it("makes 160-bit random base32 secrets", () => {
    const secrets = Array.from({ length: 50 }, () => newTotpSecret());
    for (const s of secrets) {
      expect(s).toMatch(/^[A-Z2-7]{32}$/);
      expect(Secret.fromBase32(s).bytes.length).toBe(20);
    }
    expect(new Set(secrets).size).toBe(50);
  });

  it("writes the key URI authenticator apps read, with issuer and account encoded", () => {
    const uri = otpauthUri({ secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", account: "alice@example.com", issuer: "MCP Bastion" });
    expect(uri).toBe("otpauth://totp/MCP%20Bastion:alice%40example.com?issuer=MCP%20Bastion&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30");
    const parsed = URI.parse(uri);
    expect(parsed).toBeInstanceOf(TOTP);
    expect(parsed.issuer).toBe("MCP Bastion");
    expect(parsed.label).toBe("alice@example.com");
    expect(parsed.secret.base32).toBe("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
  });

  it("gives a URI whose codes verifyTotp accepts (enrollment round trip)", () => {
    const secret = newTotpSecret();
    const app = URI.parse(otpauthUri({ secret, account: "bob", issuer: "mcp-bastion" }));
    const now = Date.UTC(2031, 0, 1);
    expect(verifyTotp(secret, app.generate({ timestamp: now }), now)).toBe(TOTP.counter({ timestamp: now }));
  });

  it("refuses an empty issuer or account, or one with a colon", () => {
    const secret = newTotpSecret();
    for (const [account, issuer] of [
      ["", "x"],
      ["x", ""],
      ["a:b", "x"],
      ["x", "Evil:Corp"],
    ] as const) {
      expect(() => otpauthUri({ secret, account, issuer }), `${account}|${issuer}`).toThrow(RangeError);
    }
  });
});

describe("recovery codes", () => {
  it("makes ten by default, 120 bits each, in groups of four base32 characters", () => {
    const codes = newRecoveryCodes();
    expect(codes.length).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){5}$/);
  });

  it("never repeats, within a set or across sets", () => {
    const all = Array.from({ length: 100 }, () => newRecoveryCodes(10)).flat();
    expect(new Set(all).size).toBe(1000);
    expect(newRecoveryCodes(1).length).toBe(1);
    expect(newRecoveryCodes(100).length).toBe(100);
    for (const n of [0, -1, 101, 2.5]) expect(() => newRecoveryCodes(n), String(n)).toThrow(RangeError);
  });

  it("hashes every formatting of a code alike: case, spaces, dashes, full width, look-alike digits", () => {
    const code = "obi2-wxyz-abcd-efgh-ijkl-mnop";
    const expected = createHash("sha256").update("OBI2WXYZABCDEFGHIJKLMNOP").digest("hex");
    expect(hashRecoveryCode(code)).toBe(expected);
    for (const variant of [
      "OBI2-WXYZ-ABCD-EFGH-IJKL-MNOP",
      "obi2wxyzabcdefghijklmnop",
      "obi2 wxyz abcd efgh ijkl mnop",
      "  obi2-wxyz-abcd-efgh-ijkl-mnop\n",
      "obi2\u2010wxyz\u2013abcd\u2212efgh-ijkl-mnop",
      "\uFF4F\uFF42\uFF49\uFF12-wxyz-abcd-efgh-ijkl-mnop",
      "081 2-wxyz-abcd-efgh-ijkl-mnop",
    ]) {
      expect(hashRecoveryCode(variant), JSON.stringify(variant)).toBe(expected);
    }
  });

  it("hashes different codes differently, as 64 hex characters", () => {
    const [a = "", b = ""] = newRecoveryCodes(2);
    expect(hashRecoveryCode(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRecoveryCode(a)).not.toBe(hashRecoveryCode(b));
    expect(hashRecoveryCode("obi2-wxyz-abcd-efgh-ijkl-mnop")).not.toBe(hashRecoveryCode("obi2-wxyz-abcd-efgh-ijkl-mnoq"));
  });
});
