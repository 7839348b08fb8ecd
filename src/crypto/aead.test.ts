// AES-256-GCM: Wycheproof vectors prove the platform primitive; tampering, wrong keys and truncation prove seal/open.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { IV_BYTES, KEY_BYTES, SEAL_OVERHEAD, SEALED_VERSION, SealedDataError, TAG_BYTES, open, seal } from "./aead.ts";

interface AeadVector {
  tcId: number;
  comment: string;
  flags: string[];
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: "valid" | "invalid" | "acceptable";
}
interface AeadGroup {
  keySize: number;
  ivSize: number;
  tagSize: number;
  tests: AeadVector[];
}

// C2SP/wycheproof testvectors_v1/aes_gcm_test.json, Apache-2.0 (test/vectors/README.md).
const wycheproof = JSON.parse(readFileSync(new URL("../../test/vectors/wycheproof/aes_gcm_test.json", import.meta.url), "utf8")) as {
  algorithm: string;
  testGroups: AeadGroup[];
};
// Only the parameters seal/open use: 256-bit key, 96-bit IV, 128-bit tag.
const vectors = wycheproof.testGroups.filter((g) => g.keySize === 256 && g.ivSize === 96 && g.tagSize === 128).flatMap((g) => g.tests);
const hex = (s: string) => Buffer.from(s, "hex");

describe("Wycheproof AES-GCM through node:crypto (256-bit key, 96-bit IV, 128-bit tag)", () => {
  it("selects the expected vectors, valid and invalid", () => {
    expect(wycheproof.algorithm).toBe("AES-GCM");
    expect(vectors.length).toBe(66);
    expect(vectors.filter((v) => v.result === "valid").length).toBe(39);
    expect(vectors.filter((v) => v.result === "invalid").length).toBe(27);
    expect(vectors.some((v) => v.result === "acceptable")).toBe(false);
  });

  for (const v of vectors) {
    it(`tcId ${v.tcId} ${v.result} [${v.flags.join(",")}] ${v.comment}`, () => {
      const decipher = createDecipheriv("aes-256-gcm", hex(v.key), hex(v.iv), { authTagLength: 16 });
      decipher.setAAD(hex(v.aad));
      decipher.setAuthTag(hex(v.tag));
      const head = decipher.update(hex(v.ct));
      if (v.result === "valid") {
        expect(Buffer.concat([head, decipher.final()]).toString("hex")).toBe(v.msg);
        const cipher = createCipheriv("aes-256-gcm", hex(v.key), hex(v.iv), { authTagLength: 16 });
        cipher.setAAD(hex(v.aad));
        const ct = Buffer.concat([cipher.update(hex(v.msg)), cipher.final()]);
        expect(ct.toString("hex")).toBe(v.ct);
        expect(cipher.getAuthTag().toString("hex")).toBe(v.tag);
      } else {
        expect(() => decipher.final()).toThrow();
      }
    });
  }

  it("refuses a truncated tag once authTagLength is 16 (Node 20 accepts 4-byte tags without it)", () => {
    const v = vectors.find((t) => t.result === "valid" && t.flags.includes("Ktv"));
    if (v === undefined) throw new Error("no known-answer vector");
    const decipher = createDecipheriv("aes-256-gcm", hex(v.key), hex(v.iv), { authTagLength: 16 });
    expect(() => decipher.setAuthTag(hex(v.tag).subarray(0, 4))).toThrow();
  });
});

describe("seal / open", () => {
  const key = randomBytes(KEY_BYTES);
  const aad = Buffer.from("credential:github-token|vault:v3");
  const plaintext = Buffer.from("ghp_exampleSecretValue0123456789");

  const expectRefused = (f: () => unknown) => {
    let caught: unknown;
    try {
      f();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SealedDataError);
    // One generic error: same code and message whatever failed, and no cause to leak OpenSSL's reason.
    expect((caught as SealedDataError).code).toBe("sealed_data_invalid");
    expect((caught as SealedDataError).message).toBe("sealed data could not be opened");
    expect((caught as SealedDataError).cause).toBeUndefined();
  };

  it("round-trips, with the documented layout", () => {
    const sealed = seal(key, plaintext, aad);
    expect(sealed.length).toBe(plaintext.length + SEAL_OVERHEAD);
    expect(sealed[0]).toBe(SEALED_VERSION);
    expect(sealed.includes(plaintext)).toBe(false);
    expect(open(key, sealed, aad).equals(plaintext)).toBe(true);
  });

  it("round-trips an empty plaintext and an empty AAD", () => {
    const sealed = seal(key, Buffer.alloc(0), Buffer.alloc(0));
    expect(sealed.length).toBe(SEAL_OVERHEAD);
    expect(open(key, sealed, Buffer.alloc(0)).length).toBe(0);
  });

  it("gives different bytes when the same plaintext is sealed twice (fresh IV)", () => {
    const a = seal(key, plaintext, aad);
    const b = seal(key, plaintext, aad);
    expect(a.equals(b)).toBe(false);
    expect(a.subarray(1, 1 + IV_BYTES).equals(b.subarray(1, 1 + IV_BYTES))).toBe(false);
    expect(open(key, a, aad).equals(open(key, b, aad))).toBe(true);
  });

  it("decrypts a seal with node:crypto directly (the layout is plain GCM with the version byte prefixed to the AAD)", () => {
    const sealed = seal(key, plaintext, aad);
    const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(1, 1 + IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.concat([Buffer.of(SEALED_VERSION), aad]));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const out = Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    expect(out.equals(plaintext)).toBe(true);
  });

  it("refuses a flipped bit anywhere: version, IV, ciphertext and tag", () => {
    const sealed = seal(key, plaintext, aad);
    for (let i = 0; i < sealed.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const tampered = Buffer.from(sealed);
        tampered[i] = (tampered[i] ?? 0) ^ bit;
        expectRefused(() => open(key, tampered, aad));
      }
    }
  });

  it("refuses another version byte even with an otherwise valid body", () => {
    const sealed = seal(key, plaintext, aad);
    for (const version of [0, 2, 0xff]) {
      const other = Buffer.from(sealed);
      other[0] = version;
      expectRefused(() => open(key, other, aad));
    }
  });

  it("refuses a different AAD (an entry moved to another slot), including a prefix or extension of it", () => {
    const sealed = seal(key, plaintext, aad);
    for (const other of [Buffer.alloc(0), aad.subarray(0, aad.length - 1), Buffer.concat([aad, Buffer.of(0)]), Buffer.from("credential:other|vault:v3")]) {
      expectRefused(() => open(key, sealed, other));
    }
  });

  it("refuses a wrong key, including one differing in a single bit", () => {
    const sealed = seal(key, plaintext, aad);
    expectRefused(() => open(randomBytes(KEY_BYTES), sealed, aad));
    const nearKey = Buffer.from(key);
    nearKey[0] = (nearKey[0] ?? 0) ^ 1;
    expectRefused(() => open(nearKey, sealed, aad));
  });

  it("refuses truncated input at every length, and appended bytes", () => {
    const sealed = seal(key, plaintext, aad);
    for (let n = 0; n < sealed.length; n++) expectRefused(() => open(key, sealed.subarray(0, n), aad));
    expectRefused(() => open(key, Buffer.concat([sealed, Buffer.of(0)]), aad));
    // The tag alone moved: drop the last 4 tag bytes (Node 20 would accept a 12-byte tag without authTagLength).
    expectRefused(() => open(key, Buffer.concat([sealed.subarray(0, sealed.length - 4)]), aad));
  });

  it("refuses keys that are not exactly 32 bytes, on seal and open alike", () => {
    const sealed = seal(key, plaintext, aad);
    for (const n of [0, 16, 24, 31, 33, 64]) {
      const k = randomBytes(n);
      expect(() => seal(k, plaintext, aad), `seal ${n}`).toThrow(RangeError);
      expect(() => open(k, sealed, aad), `open ${n}`).toThrow(RangeError);
    }
    // A 33-byte key whose first 32 bytes are right is still refused, never truncated.
    expect(() => open(Buffer.concat([key, Buffer.of(0)]), sealed, aad)).toThrow(RangeError);
  });
});
