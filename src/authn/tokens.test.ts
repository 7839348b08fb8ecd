// TokenService with a frozen clock: the round trip, then every hostile token of RFC 8725 and the jose test suite as data, each refused with TokenInvalid.
import { createHash, createHmac, createPrivateKey, generateKeyPairSync, randomBytes, sign as cryptoSign, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, jwtVerify, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../errors/index.ts";
import { fileKey, newRefreshToken, secretKey, TokenInvalid, TokenService, type SigningKey } from "./tokens.ts";

/** The frozen clock: 2030-01-01T12:00:00Z, a whole second. */
const NOW_MS = Date.UTC(2030, 0, 1, 12, 0, 0);
const NOW = NOW_MS / 1000;
const ISSUER = "http://127.0.0.1:8443";
const AUDIENCE = `${ISSUER}/mcp`;
const TTL = 3600;
const LEEWAY = 30;

let dir: string;
let ed: SigningKey;
let es: SigningKey;
let hs: SigningKey;
const HS_SECRET = randomBytes(32).toString("base64url");

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "bastion-tokens-"));
  ed = await fileKey(path.join(dir, "keys/ed.key"), "EdDSA");
  es = await fileKey(path.join(dir, "keys/es.key"), "ES256");
  hs = secretKey(HS_SECRET);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function service(key: SigningKey, overrides: { leewaySeconds?: number; now?: () => number } = {}): TokenService {
  return new TokenService({ issuer: ISSUER, audience: AUDIENCE, ttlSeconds: TTL, leewaySeconds: overrides.leewaySeconds ?? LEEWAY, key, now: overrides.now ?? (() => NOW_MS) });
}

// ---- a forger: any header, any payload, any key (the attacker's tool, built on node:crypto) ------------------

type Alg = "EdDSA" | "ES256" | "RS256" | "HS256" | "HS384" | "HS512" | "none";

const b64 = (value: unknown): string => Buffer.from(typeof value === "string" ? value : JSON.stringify(value), "utf8").toString("base64url");

function signature(alg: Alg, input: Buffer, key: KeyObject | Buffer | undefined): Buffer {
  if (alg === "none") return Buffer.alloc(0);
  if (key === undefined) throw new Error("a key is needed");
  if (alg.startsWith("HS")) return createHmac(`sha${alg.slice(2)}`, key as Buffer).update(input).digest();
  if (alg === "EdDSA") return cryptoSign(null, input, key as KeyObject);
  if (alg === "ES256") return cryptoSign("sha256", input, { key: key as KeyObject, dsaEncoding: "ieee-p1363" });
  return cryptoSign("sha256", input, key as KeyObject);
}

/** A compact JWS of `header` and `payload` (an object, or raw text for malformed claim sets), signed by `alg` with `key`. */
function forge(header: Record<string, unknown>, payload: Record<string, unknown> | string, alg: Alg, key?: KeyObject | Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signature(alg, Buffer.from(input, "ascii"), key).toString("base64url")}`;
}

const privateOf = (key: SigningKey): KeyObject | Buffer => (key.alg === "HS256" ? key.secret.export() : key.privateKey);

/** The claims the gateway itself puts in a token, valid at the frozen clock. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = { iss: ISSUER, aud: AUDIENCE, sub: "user-1", iat: NOW, exp: NOW + TTL, jti: "jti-1", sid: "sid-1", name: "alice", roles: ["reader"] };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
}

const header = (key: SigningKey, overrides: Record<string, unknown> = {}): Record<string, unknown> => {
  const base: Record<string, unknown> = { alg: key.alg, typ: "at+jwt", ...(key.kid === undefined ? {} : { kid: key.kid }) };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
};

/** A token as the gateway would sign it, with some header or claim changed. */
const ours = (key: SigningKey, claimOverrides: Record<string, unknown> = {}, headerOverrides: Record<string, unknown> = {}): string =>
  forge(header(key, headerOverrides), claims(claimOverrides), key.alg, privateOf(key));

/** Verifies and returns the refusal; fails the test if the token was accepted or the error is not a TokenInvalid. */
async function refusal(svc: TokenService, token: string): Promise<TokenInvalid> {
  let caught: unknown;
  try {
    const accepted = await svc.verify(token);
    caught = new Error(`accepted: ${JSON.stringify(accepted)}`);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(TokenInvalid);
  const err = caught as TokenInvalid;
  // What a client could ever see says nothing; the reason is for the audit log, bounded, and never echoes the token.
  expect(err.message).toBe("invalid token");
  expect(err.reason.length).toBeGreaterThan(0);
  expect(err.reason.length).toBeLessThanOrEqual(200);
  if (token.length > 16) expect(err.reason).not.toContain(token.slice(-16));
  return err;
}

/** Where a jose error code exists, the reason starts with it. */
const JOSE = {
  alg: /^ERR_JOSE_ALG_NOT_ALLOWED: /,
  sig: /^ERR_JWS_SIGNATURE_VERIFICATION_FAILED: /,
  jws: /^ERR_JWS_INVALID: /,
  jwt: /^ERR_JWT_INVALID: /,
  claim: /^ERR_JWT_CLAIM_VALIDATION_FAILED: /,
  expired: /^ERR_JWT_EXPIRED: /,
  crit: /^ERR_JOSE_NOT_SUPPORTED: /,
} as const;

// ---- the round trip ------------------------------------------------------------------------------------------

describe("round trip", () => {
  for (const name of ["EdDSA", "ES256", "HS256"] as const) {
    it(`${name}: issue then verify gives back every claim, with typ at+jwt, the audience and the configured lifetime`, async () => {
      const key = name === "EdDSA" ? ed : name === "ES256" ? es : hs;
      const svc = service(key);
      expect(svc.algorithm).toBe(name);
      const issued = await svc.issue({ sub: "user-1", name: "alice", sid: "sid-1", roles: ["reader", "writer"], scope: "fixture.echo fixture.stats" });
      expect(issued.exp).toBe(NOW + TTL);
      const head = decodeProtectedHeader(issued.token);
      expect(head).toEqual({ alg: name, typ: "at+jwt", ...(key.kid === undefined ? {} : { kid: key.kid }) });
      const verified = await svc.verify(issued.token);
      expect(verified).toEqual({ sub: "user-1", name: "alice", sid: "sid-1", roles: ["reader", "writer"], scope: "fixture.echo fixture.stats", jti: issued.jti, exp: NOW + TTL, iat: NOW });
      const payload = JSON.parse(Buffer.from(issued.token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
      expect(payload["iss"]).toBe(ISSUER);
      expect(payload["aud"]).toBe(AUDIENCE);
    });
  }

  it("every token gets its own jti; no scope claim when the token is as wide as the roles", async () => {
    const svc = service(ed);
    const a = await svc.issue({ sub: "u", name: "n", sid: "s", roles: [], scope: undefined });
    const b = await svc.issue({ sub: "u", name: "n", sid: "s", roles: [], scope: undefined });
    expect(a.jti).not.toBe(b.jti);
    expect((await svc.verify(a.token)).scope).toBeUndefined();
  });

  it("the forger itself is sound: an untouched forged token of each key verifies (so every refusal below is for the change made)", async () => {
    for (const key of [ed, es, hs]) expect((await service(key).verify(ours(key))).sub).toBe("user-1");
  });

  it("a token stays valid until exp + leeway by the injected clock, and not a second longer", async () => {
    let now = NOW_MS;
    const svc = service(ed, { now: () => now });
    const { token } = await svc.issue({ sub: "u", name: "n", sid: "s", roles: [], scope: undefined });
    now = (NOW + TTL + LEEWAY - 1) * 1000;
    expect((await svc.verify(token)).sub).toBe("u");
    now = (NOW + TTL + LEEWAY) * 1000;
    expect((await refusal(svc, token)).reason).toMatch(JOSE.expired);
  });
});

// ---- hostile tokens ------------------------------------------------------------------------------------------

describe.each([
  ["EdDSA", () => ed],
  ["ES256", () => es],
] as const)("against an %s gateway", (name, keyOf) => {
  const attackerPair = (): { privateKey: KeyObject; publicKey: KeyObject } => (name === "EdDSA" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" }));

  it("alg none (an unsecured JWT, in every spelling) is refused as an algorithm not allowed", async () => {
    const key = keyOf();
    const svc = service(key);
    const unsecured = new UnsecuredJWT(claims()).encode();
    expect((await refusal(svc, unsecured)).reason).toMatch(JOSE.alg);
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      const token = forge(header(key, { alg }), claims(), "none");
      expect((await refusal(svc, token)).reason, alg).toMatch(JOSE.alg);
      // The signature of a real token glued onto an alg:none header changes nothing.
      const real = ours(key).split(".")[2] ?? "";
      expect((await refusal(svc, `${token}${real}`)).reason, `${alg} + signature`).toMatch(JOSE.alg);
    }
  });

  it("HS/RS confusion: HS256 signed with the public key's bytes (PEM, DER, JWK, raw point) is refused", async () => {
    const key = keyOf();
    if (key.alg === "HS256") throw new Error("asymmetric key expected");
    const jwk = await exportJWK(key.publicKey);
    const secrets: [string, Buffer][] = [
      ["SPKI PEM", Buffer.from(key.publicKey.export({ type: "spki", format: "pem" }))],
      ["SPKI DER", key.publicKey.export({ type: "spki", format: "der" })],
      ["JWK JSON", Buffer.from(JSON.stringify(jwk))],
      ["raw x", Buffer.from(jwk.x ?? "", "base64url")],
      ["kid", Buffer.from(key.kid)],
    ];
    for (const [label, secret] of secrets) {
      for (const alg of ["HS256", "HS384", "HS512"] as const) {
        const token = forge(header(key, { alg }), claims(), alg, secret);
        expect((await refusal(service(key), token)).reason, `${alg} with ${label}`).toMatch(JOSE.alg);
      }
    }
  });

  it("a token of the other asymmetric family, or RS256, is refused as an algorithm not allowed", async () => {
    const key = keyOf();
    const other = name === "EdDSA" ? es : ed;
    expect((await refusal(service(key), ours(other))).reason).toMatch(JOSE.alg);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    expect((await refusal(service(key), forge(header(key, { alg: "RS256" }), claims(), "RS256", rsa.privateKey))).reason).toMatch(JOSE.alg);
  });

  it("a key named in the token (jwk, jku, x5u, x5c, kid injection) never chooses the key: another key's signature fails", async () => {
    const key = keyOf();
    if (key.alg === "HS256") throw new Error("asymmetric key expected");
    const attacker = attackerPair();
    const attackerJwk = await exportJWK(attacker.publicKey);
    const injected: [string, Record<string, unknown>][] = [
      ["jwk (with our kid)", { jwk: attackerJwk }],
      ["jku", { jku: "http://127.0.0.1:1/attacker/jwks.json" }],
      ["x5u", { x5u: "http://127.0.0.1:1/attacker/cert.pem" }],
      ["x5c", { x5c: ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"] }],
      ["jwk + jku + x5u", { jwk: attackerJwk, jku: "http://127.0.0.1:1/jwks", x5u: "http://127.0.0.1:1/x5u" }],
      ["kid path traversal", { kid: "../../../../../../dev/null" }],
      ["kid SQL injection", { kid: "x' UNION SELECT 'secret' --" }],
      ["kid of the attacker's key", { kid: "attacker-key-1", jwk: attackerJwk }],
    ];
    for (const [label, extra] of injected) {
      const token = forge(header(key, extra), claims(), key.alg, attacker.privateKey);
      expect((await refusal(service(key), token)).reason, label).toMatch(JOSE.sig);
    }
  });

  it("our own signature under a kid that is not ours (another, missing, or not a string) is refused", async () => {
    const key = keyOf();
    for (const kid of ["another-key", undefined, 7, ["x"], ""]) {
      const err = await refusal(service(key), ours(key, {}, { kid }));
      expect(err.reason, String(kid)).toBe("kid is not the gateway's signing key");
    }
  });

  it("crit with an unknown extension is refused (RFC 7515 §4.1.11)", async () => {
    const key = keyOf();
    expect((await refusal(service(key), ours(key, {}, { crit: ["urn:example:x"], "urn:example:x": true }))).reason).toMatch(JOSE.crit);
    // b64: false is never valid for a JWT.
    expect((await refusal(service(key), ours(key, {}, { crit: ["b64"], b64: false }))).reason).toMatch(/^ERR_/);
  });
});

describe("against an HS256 gateway (JWT_SECRET_KEY)", () => {
  it("an EdDSA or ES256 token, even with our kid-less header, is refused as an algorithm not allowed", async () => {
    for (const key of [ed, es]) expect((await refusal(service(hs), forge(header(key, { kid: undefined }), claims(), key.alg, privateOf(key)))).reason).toMatch(JOSE.alg);
  });

  it("HS384/HS512 with the right secret are refused (one algorithm), HS256 with another secret fails its signature", async () => {
    const secret = privateOf(hs);
    for (const alg of ["HS384", "HS512"] as const) expect((await refusal(service(hs), forge(header(hs, { alg }), claims(), alg, secret))).reason, alg).toMatch(JOSE.alg);
    expect((await refusal(service(hs), forge(header(hs), claims(), "HS256", randomBytes(32)))).reason).toMatch(JOSE.sig);
    expect((await refusal(service(hs), forge(header(hs, { alg: "none" }), claims(), "none"))).reason).toMatch(JOSE.alg);
  });

  it("a JWT_SECRET_KEY under 32 bytes is refused at start; 32 bytes (not characters) are enough", () => {
    for (const short of ["", "secret", "x".repeat(31), "€".repeat(10)]) {
      let caught: unknown;
      try {
        secretKey(short);
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(short)).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).problems[0]).toMatch(/^JWT_SECRET_KEY: must be at least 32 bytes/);
      if (short !== "") expect((caught as ConfigError).message).not.toContain(short);
    }
    expect(secretKey("x".repeat(32)).alg).toBe("HS256");
    expect(secretKey("€".repeat(11)).alg).toBe("HS256"); // 33 bytes of UTF-8
  });

  it("publishes no key: a shared secret is never in the JWKS", async () => {
    expect(await service(hs).jwks()).toEqual({ keys: [] });
  });
});

describe.each([
  ["EdDSA", () => ed],
  ["ES256", () => es],
  ["HS256", () => hs],
] as const)("claims, %s", (_name, keyOf) => {
  it("expired: exp == now with no leeway, and exp at or beyond now − leeway", async () => {
    const key = keyOf();
    expect((await refusal(service(key, { leewaySeconds: 0 }), ours(key, { exp: NOW, iat: NOW - 60 }))).reason).toMatch(JOSE.expired);
    for (const exp of [NOW - LEEWAY, NOW - LEEWAY - 1, NOW - 86_400, 0]) {
      expect((await refusal(service(key), ours(key, { exp, iat: Math.min(NOW - 60, exp - 60) }))).reason, String(exp)).toMatch(JOSE.expired);
    }
    // Within the leeway is still good: the boundary is exactly where RFC 7519 §4.1.4 puts it.
    expect((await service(key).verify(ours(key, { exp: NOW - LEEWAY + 1, iat: NOW - 60 }))).sub).toBe("user-1");
  });

  it("issued longer ago than the lifetime allows is refused even with a far exp (maxTokenAge)", async () => {
    const key = keyOf();
    for (const iat of [NOW - 2 * TTL, NOW - 86_400]) expect((await refusal(service(key), ours(key, { iat, exp: NOW + 86_400 }))).reason, String(iat)).toMatch(JOSE.expired);
  });

  it("not yet valid: nbf or iat in the future beyond the leeway", async () => {
    const key = keyOf();
    for (const nbf of [NOW + LEEWAY + 1, NOW + 86_400]) expect((await refusal(service(key), ours(key, { nbf }))).reason, `nbf ${nbf}`).toMatch(/^ERR_JWT_CLAIM_VALIDATION_FAILED: "nbf"/);
    for (const iat of [NOW + LEEWAY + 1, NOW + 86_400]) expect((await refusal(service(key), ours(key, { iat }))).reason, `iat ${iat}`).toMatch(/^ERR_JWT_CLAIM_VALIDATION_FAILED: "iat"/);
  });

  it("wrong, missing or empty aud and iss are refused", async () => {
    const key = keyOf();
    const auds: unknown[] = [`${ISSUER}/other`, `${AUDIENCE}/`, "http://127.0.0.1:8444/mcp", ["https://api.example.com"], [], "", undefined];
    for (const aud of auds) expect((await refusal(service(key), ours(key, { aud }))).reason, `aud ${JSON.stringify(aud)}`).toMatch(JOSE.claim);
    const isss: unknown[] = ["http://127.0.0.1:8444", `${ISSUER}/`, "https://accounts.example.com", "", undefined];
    for (const iss of isss) expect((await refusal(service(key), ours(key, { iss }))).reason, `iss ${JSON.stringify(iss)}`).toMatch(JOSE.claim);
  });

  it("a typ other than at+jwt (JWT, missing, another kind of token) is refused (RFC 8725 §3.11)", async () => {
    const key = keyOf();
    for (const typ of ["JWT", undefined, "jwt", "id_token+jwt", "refresh+jwt", "dpop+jwt", ""]) {
      expect((await refusal(service(key), ours(key, {}, { typ }))).reason, `typ ${String(typ)}`).toMatch(/^ERR_JWT_CLAIM_VALIDATION_FAILED: unexpected "typ"/);
    }
  });

  it("each required claim missing is refused", async () => {
    const key = keyOf();
    for (const claim of ["sub", "exp", "iat", "jti", "sid"]) {
      expect((await refusal(service(key), ours(key, { [claim]: undefined }))).reason, claim).toMatch(new RegExp(`^ERR_JWT_CLAIM_VALIDATION_FAILED: missing required "${claim}" claim`));
    }
    for (const claim of ["roles", "name"]) expect((await refusal(service(key), ours(key, { [claim]: undefined }))).reason, claim).toBe("claims of the wrong type");
  });

  const wrongTypes: [string, unknown][] = [
    ["sub", 42],
    ["sub", { id: "user-1" }],
    ["sub", ["user-1"]],
    ["jti", 7],
    ["jti", null],
    ["exp", "2030-01-01"],
    ["exp", null],
    ["iat", "now"],
    ["iat", true],
    ["sid", 5],
    ["sid", ["sid-1"]],
    ["roles", "admin"],
    ["roles", [1]],
    ["roles", [["admin"]]],
    ["roles", { 0: "admin", length: 1 }],
    ["name", 5],
    ["name", null],
    ["scope", ["a", "b"]],
    ["scope", 1],
  ];
  for (const [claim, value] of wrongTypes) {
    it(`${claim} of the wrong type (${JSON.stringify(value)}) is refused`, async () => {
      const key = keyOf();
      const err = await refusal(service(key), ours(key, { [claim]: value }));
      expect(err.reason).toMatch(/^(ERR_JWT_CLAIM_VALIDATION_FAILED: |claims of the wrong type)/);
    });
  }

  it("the claims set must be a JSON object of valid UTF-8", async () => {
    const key = keyOf();
    for (const payload of ["[]", "null", "42", '"x"', "{", "not json"]) expect((await refusal(service(key), forge(header(key), payload, key.alg, privateOf(key)))).reason, payload).toMatch(JOSE.jwt);
  });

  it("tokens of other kinds: a refresh token, an API key, a JWT from another gateway with the same key", async () => {
    const key = keyOf();
    expect((await refusal(service(key), newRefreshToken())).reason).toMatch(JOSE.jws);
    expect((await refusal(service(key), `mcpb_${randomBytes(8).toString("hex")}_${randomBytes(32).toString("base64url")}`)).reason).toMatch(JOSE.jws);
    const elsewhere = new TokenService({ issuer: "http://10.0.0.9:8443", audience: "http://10.0.0.9:8443/mcp", ttlSeconds: TTL, leewaySeconds: LEEWAY, key, now: () => NOW_MS });
    const { token } = await elsewhere.issue({ sub: "u", name: "n", sid: "s", roles: ["admin"], scope: undefined });
    expect((await refusal(service(key), token)).reason).toMatch(JOSE.claim);
  });

  it("a tampered payload or header under the original signature fails the signature", async () => {
    const key = keyOf();
    const { token } = await service(key).issue({ sub: "user-1", name: "alice", sid: "sid-1", roles: ["reader"], scope: undefined });
    const [h, p, s] = token.split(".") as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>;
    const tampered = [
      { ...payload, roles: ["admin"] },
      { ...payload, sub: "user-2" },
      { ...payload, exp: (payload["exp"] as number) + 86_400 },
      { ...payload, sid: "sid-of-someone-else" },
    ];
    for (const t of tampered) expect((await refusal(service(key), `${h}.${b64(t)}.${s}`)).reason).toMatch(JOSE.sig);
    const head = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as Record<string, unknown>;
    expect((await refusal(service(key), `${b64({ ...head, cty: "JWT" })}.${p}.${s}`)).reason).toMatch(JOSE.sig);
    // The same claims re-encoded (whitespace) are different bytes: still not our signature.
    expect((await refusal(service(key), `${h}.${b64(JSON.stringify(payload, null, 1))}.${s}`)).reason).toMatch(JOSE.sig);
  });

  it("truncated, garbage and extra-segment tokens are refused as malformed", async () => {
    const key = keyOf();
    const { token } = await service(key).issue({ sub: "u", name: "n", sid: "s", roles: [], scope: undefined });
    const [h, p, s] = token.split(".") as [string, string, string];
    const sig = [`${h}.${p}.`, `${h}.${p}.${s.slice(0, -2)}`, `${h}.${p}.${s}AA`, token.slice(0, -1)];
    for (const t of sig) expect((await refusal(service(key), t)).reason).toMatch(/^ERR_JWS_(SIGNATURE_VERIFICATION_FAILED|INVALID): /);
    const malformed = ["", " ", ".", "..", "...", `${h}.${p}`, `${h}`, `${token}.x`, `${token}.`, `${h}.${p}.${s}.${s}.${s}`, "a.b.c", "!!!.???.###", `Bearer ${token}`, "\u0000.\u0000.\u0000"];
    for (const t of malformed) expect((await refusal(service(key), t)).reason, JSON.stringify(t.slice(0, 30))).toMatch(/^ERR_JW[ST]_INVALID: /);
  });

  it("a 100 kB token: forged with padding claims, or garbage, is refused (and the reason stays short)", async () => {
    const key = keyOf();
    const padding = "A".repeat(100_000);
    const other = generateKeyPairSync("ed25519");
    const forged = forge(header(key, { alg: "EdDSA" }), claims({ pad: padding }), "EdDSA", other.privateKey);
    expect(forged.length).toBeGreaterThan(100_000);
    expect((await refusal(service(key), forged)).reason).toMatch(key.alg === "EdDSA" ? JOSE.sig : JOSE.alg);
    // The signature is checked before the claims are even decoded (jose: "signatures are compared before claim set").
    expect((await refusal(service(key), `${b64(header(key))}.${padding}.${padding}`)).reason).toMatch(/^ERR_JWS_(INVALID|SIGNATURE_VERIFICATION_FAILED): /);
    expect((await refusal(service(key), padding)).reason).toMatch(JOSE.jws);
  });
});

// ---- the gateway's key file ---------------------------------------------------------------------------------

/** RFC 7638: SHA-256 over the required members, in lexicographic order, without whitespace. */
function thumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: "jwk" });
  const members = jwk.kty === "OKP" ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash("sha256").update(JSON.stringify(members)).digest("base64url");
}

describe("the key file", () => {
  it("is created 0600 (its folder 0700) as PKCS#8, and reused as is on the next start", async () => {
    for (const alg of ["EdDSA", "ES256"] as const) {
      const file = path.join(dir, `fresh-${alg}/nested/jwt.key`);
      const first = await fileKey(file, alg);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
      expect(readFileSync(file, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      const pem = readFileSync(file, "utf8");
      const second = await fileKey(file, alg);
      expect(readFileSync(file, "utf8")).toBe(pem);
      expect(second.kid).toBe(first.kid);
    }
  });

  it("has the RFC 7638 thumbprint of its public key as kid", () => {
    for (const key of [ed, es]) {
      if (key.alg === "HS256") throw new Error("asymmetric key expected");
      expect(key.kid).toBe(thumbprint(key.publicKey));
      expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  });

  it("holding the wrong type of key is refused, naming the file and the key type", async () => {
    const cases: [string, string, "EdDSA" | "ES256", RegExp][] = [
      ["rsa", generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString(), "EdDSA", /holds a rsa key, which cannot sign EdDSA/],
      ["ed-for-es", generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString(), "ES256", /holds a ed25519 key, which cannot sign ES256/],
      ["p384", generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString(), "ES256", /holds a ec key, which cannot sign ES256/],
      ["p256-for-ed", generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString(), "EdDSA", /holds a ec key, which cannot sign EdDSA/],
      ["x25519", generateKeyPairSync("x25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString(), "EdDSA", /holds a x25519 key, which cannot sign EdDSA/],
    ];
    for (const [label, pem, alg, message] of cases) {
      const file = path.join(dir, `wrong-${label}.key`);
      writeFileSync(file, pem, { mode: 0o600 });
      let caught: unknown;
      try {
        await fileKey(file, alg);
      } catch (err) {
        caught = err;
      }
      expect(caught, label).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).problems).toHaveLength(1);
      expect((caught as ConfigError).problems[0]).toContain(file);
      expect((caught as ConfigError).problems[0]).toMatch(message);
      expect((caught as ConfigError).message).not.toContain("PRIVATE KEY");
    }
  });

  it("a file that holds no key at all is refused", async () => {
    const file = path.join(dir, "garbage.key");
    writeFileSync(file, "not a key\n", { mode: 0o600 });
    await expect(fileKey(file, "EdDSA")).rejects.toThrow();
  });

  it("the JWKS publishes the public key only (no d), with kid, alg and use, and it verifies our tokens", async () => {
    for (const key of [ed, es]) {
      if (key.alg === "HS256") throw new Error("asymmetric key expected");
      const svc = service(key);
      const jwks = await svc.jwks();
      expect(jwks.keys).toHaveLength(1);
      const jwk = jwks.keys[0] ?? {};
      expect(jwk).not.toHaveProperty("d");
      for (const privateMember of ["d", "p", "q", "dp", "dq", "qi", "k"]) expect(Object.keys(jwk)).not.toContain(privateMember);
      expect(jwk).toMatchObject({ kid: key.kid, alg: key.alg, use: "sig", kty: key.alg === "EdDSA" ? "OKP" : "EC" });
      const { token } = await svc.issue({ sub: "u", name: "n", sid: "s", roles: [], scope: undefined });
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { currentDate: new Date(NOW_MS), algorithms: [key.alg] });
      expect(payload.sub).toBe("u");
      // And it is the key in the file: the private key there derives the same public key.
      const fromFile = createPrivateKey(readFileSync(path.join(dir, key.alg === "EdDSA" ? "keys/ed.key" : "keys/es.key")));
      expect(thumbprint(fromFile)).toBe(key.kid);
    }
  });
});
