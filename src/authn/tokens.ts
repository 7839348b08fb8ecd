// Access tokens (RFC 9068 JWTs signed with jose, one algorithm allowed) and opaque refresh tokens (stored only as hashes).
import { createHash, createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { calculateJwkThumbprint, errors, exportJWK, jwtVerify, SignJWT, type JWK } from "jose";
import { ConfigError } from "../errors/index.ts";

/** The algorithms the gateway signs with: HS256 with JWT_SECRET_KEY, else an asymmetric key of its own. */
export type SigningAlgorithm = "HS256" | "EdDSA" | "ES256";

/** What an access token says about its bearer. */
export interface AccessClaims {
  /** User id. */
  sub: string;
  /** Login name, for the audit log. */
  name: string;
  /** The session this token belongs to: revoking the session revokes the token on the next request. */
  sid: string;
  roles: string[];
  /** Space-separated permissions when the token is narrower than the user's roles (an API key's scopes). */
  scope: string | undefined;
  jti: string;
  exp: number;
  iat: number;
}

/** A token that failed verification; `reason` goes to the audit log, never to the client. */
export class TokenInvalid extends Error {
  constructor(readonly reason: string) {
    super("invalid token");
  }
}

/** The key an access token is signed with, and what verifies it. */
export type SigningKey =
  | { alg: "HS256"; secret: KeyObject; kid: undefined }
  | { alg: "EdDSA" | "ES256"; privateKey: KeyObject; publicKey: KeyObject; kid: string };

/** Minimum HS256 secret length in bytes (256 bits, RFC 7518 §3.2 and RFC 8725 §3.5). */
const MIN_SECRET_BYTES = 32;

/** The HS256 key from JWT_SECRET_KEY; refused when shorter than 256 bits. */
export function secretKey(secret: string): SigningKey {
  const bytes = Buffer.from(secret, "utf8");
  if (bytes.length < MIN_SECRET_BYTES)
    throw new ConfigError([`JWT_SECRET_KEY: must be at least ${MIN_SECRET_BYTES} bytes (256 bits) of random data, found ${bytes.length}`]);
  return { alg: "HS256", secret: createSecretKey(bytes), kid: undefined };
}

/**
 * The gateway's own signing key, kept as PKCS#8 PEM in `file` (mode 0600, created on first use:
 * Ed25519 for EdDSA, P-256 for ES256). Its kid is the RFC 7638 thumbprint of the public half.
 */
export async function fileKey(file: string, alg: "EdDSA" | "ES256"): Promise<SigningKey> {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const pair = alg === "EdDSA" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
    writeFileSync(file, pair.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
  }
  const privateKey = createPrivateKey(readFileSync(file));
  const type = privateKey.asymmetricKeyType;
  if ((alg === "EdDSA" && type !== "ed25519") || (alg === "ES256" && (type !== "ec" || privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1")))
    throw new ConfigError([`${file}: holds a ${type ?? "?"} key, which cannot sign ${alg}`]);
  const publicKey = createPublicKey(privateKey);
  const kid = await calculateJwkThumbprint(await exportJWK(publicKey));
  return { alg, privateKey, publicKey, kid };
}

export interface TokenServiceOptions {
  /** The `iss` of every token: the gateway's origin. */
  issuer: string;
  /** The `aud`: the canonical URL of `/mcp` (RFC 8707). */
  audience: string;
  /** Access-token lifetime in seconds (JWT_EXPIRATION_HOURS; default one hour). */
  ttlSeconds: number;
  /** Seconds of clock skew tolerated on `exp`/`iat` (default 30). */
  leewaySeconds: number;
  key: SigningKey;
  now?: () => number;
}

/** Verified tokens remembered (by their exact text) so a client's repeated token is checked once: jose verifies through WebCrypto, about 0.3 ms a token. */
const VERIFIED_CACHE_SIZE = 10_000;

/** Issues and verifies the gateway's access tokens. */
export class TokenService {
  private readonly now: () => number;
  /**
   * Claims of tokens whose signature and claims already passed, keyed by the token text. Only the
   * expiry can change its verdict, so it is checked again on every use; revocation is the
   * session's business and is checked by the caller on every request.
   */
  private readonly verified = new Map<string, AccessClaims>();
  constructor(private readonly options: TokenServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  get algorithm(): SigningAlgorithm {
    return this.options.key.alg;
  }

  get ttlSeconds(): number {
    return this.options.ttlSeconds;
  }

  /** Signs an access token for a session. */
  async issue(claims: Omit<AccessClaims, "jti" | "exp" | "iat">): Promise<{ token: string; jti: string; exp: number }> {
    const key = this.options.key;
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + this.options.ttlSeconds;
    const jti = randomUUID();
    const payload: Record<string, unknown> = { name: claims.name, sid: claims.sid, roles: claims.roles };
    if (claims.scope !== undefined) payload["scope"] = claims.scope;
    const jwt = new SignJWT(payload)
      .setProtectedHeader({ alg: key.alg, typ: "at+jwt", ...(key.kid === undefined ? {} : { kid: key.kid }) })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setSubject(claims.sub)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(jti);
    const token = await jwt.sign(key.alg === "HS256" ? key.secret : key.privateKey);
    return { token, jti, exp };
  }

  /**
   * Verifies an access token: the one algorithm of this gateway (never `none`, never another
   * family — jose also refuses a key of the wrong type), the signature before any claim, then
   * `typ: at+jwt`, issuer, audience, expiry and every claim this gateway puts in. The key comes from
   * configuration only: `jwk`, `jku`, `x5u` and `kid` headers never choose it (RFC 8725 §3.10).
   */
  async verify(token: string): Promise<AccessClaims> {
    const known = this.verified.get(token);
    if (known !== undefined) {
      if (known.exp > this.now() / 1000 - this.options.leewaySeconds) return known;
      this.verified.delete(token);
    }
    const claims = await this.verifyFully(token);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, claims);
    return claims;
  }

  private async verifyFully(token: string): Promise<AccessClaims> {
    const key = this.options.key;
    try {
      const { payload, protectedHeader } = await jwtVerify(token, key.alg === "HS256" ? key.secret : key.publicKey, {
        algorithms: [key.alg],
        issuer: this.options.issuer,
        audience: this.options.audience,
        typ: "at+jwt",
        requiredClaims: ["sub", "exp", "iat", "jti", "sid"],
        clockTolerance: this.options.leewaySeconds,
        currentDate: new Date(this.now()),
        maxTokenAge: this.options.ttlSeconds + this.options.leewaySeconds,
      });
      if (key.kid !== undefined && protectedHeader.kid !== key.kid) throw new TokenInvalid("kid is not the gateway's signing key");
      const roles = payload["roles"];
      const name = payload["name"];
      const scope = payload["scope"];
      if (typeof payload.sub !== "string" || typeof payload.jti !== "string" || typeof payload.sid !== "string" || !Array.isArray(roles) || !roles.every((r) => typeof r === "string") || typeof name !== "string" || (scope !== undefined && typeof scope !== "string"))
        throw new TokenInvalid("claims of the wrong type");
      return { sub: payload.sub as string, name, sid: payload.sid, roles: roles as string[], scope: scope as string | undefined, jti: payload.jti as string, exp: payload.exp as number, iat: payload.iat as number };
    } catch (err) {
      if (err instanceof TokenInvalid) throw err;
      if (err instanceof errors.JOSEError) throw new TokenInvalid(`${err.code}: ${err.message}`.slice(0, 200));
      throw new TokenInvalid("not a JWT");
    }
  }

  /** The public keys clients and resource servers may verify with (empty for HS256: a shared secret is never published). */
  async jwks(): Promise<{ keys: JWK[] }> {
    const key = this.options.key;
    if (key.alg === "HS256") return { keys: [] };
    const jwk = await exportJWK(key.publicKey);
    return { keys: [{ ...jwk, kid: key.kid, alg: key.alg, use: "sig" }] };
  }
}

/** Prefix that makes a refresh token recognizable (secret scanners, logs). */
export const REFRESH_TOKEN_PREFIX = "mcpb_rt_";

/** A new opaque refresh token: 256 random bits; only its hash is stored. */
export function newRefreshToken(): string {
  return `${REFRESH_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
}

/** SHA-256 (hex) of a high-entropy token: what the store keeps instead of the token. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
