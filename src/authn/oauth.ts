// Access tokens of external OAuth 2.1 authorization servers (the MCP authorization spec): remote JWKS, the gateway as audience, claims mapped to roles.
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { isPermission } from "../authz/index.ts";
import type { Principal } from "../pipeline/index.ts";
import { CredentialRefused } from "./service.ts";

/** One trusted issuer as configured (`auth.oauth.issuers[]`). */
export interface IssuerConfig {
  issuer: string;
  jwksUrl: string;
  audience?: string | undefined;
  algorithms: string[];
  roleClaim: string;
  roleMap: Record<string, string[]>;
  nameClaim: string;
  requiredScopes: string[];
}

/** A valid token of a trusted issuer that lacks scopes the issuer's configuration requires (RFC 6750 §3.1: 403 insufficient_scope). */
export class InsufficientScope extends Error {
  constructor(readonly required: readonly string[], readonly reason: string) {
    super("insufficient scope");
  }
}

/** JWKS fetches give up after this many milliseconds (jose's default is 5000). */
const JWKS_TIMEOUT_MS = 5_000;
/** An unknown `kid` refetches the JWKS at most this often (jose's cooldown: the cap on refetch floods). */
const JWKS_COOLDOWN_MS = 30_000;
/** Keys are kept this long before a refetch. */
const JWKS_MAX_AGE_MS = 600_000;

interface Trusted {
  config: IssuerConfig;
  keys: JWTVerifyGetKey;
  audience: string;
}

/**
 * The scopes of a token that narrow its roles: those written as gateway permissions (`U.T`,
 * `tool:…`, `prompt:…`, `resource:…`, `*`). Issuer scopes of other shapes (`openid`, `profile`)
 * say nothing about tools; a token carrying none of the permission shape is not narrowed.
 */
function permissionScopes(scopes: string[]): string[] | undefined {
  const narrowing = scopes.filter(isPermission);
  return narrowing.length === 0 ? undefined : narrowing;
}

/** Values of a claim as a list: an array of strings, or a space-separated string (OAuth `scope` style). */
function claimValues(value: unknown): string[] {
  if (typeof value === "string") return value.split(" ").filter((v) => v !== "");
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

/**
 * The configured issuers. A token is routed to an issuer by its (unverified) `iss`, then verified
 * with that issuer's keys and algorithms only: the audience must be the gateway (a token meant for
 * anyone else is never accepted, and a client's token is never passed upstream).
 */
export class ExternalIssuers {
  private readonly trusted = new Map<string, Trusted>();

  constructor(issuers: readonly IssuerConfig[], gatewayAudience: string) {
    for (const config of issuers) {
      const keys = createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: JWKS_TIMEOUT_MS, cooldownDuration: JWKS_COOLDOWN_MS, cacheMaxAge: JWKS_MAX_AGE_MS });
      this.trusted.set(config.issuer, { config, keys, audience: config.audience ?? gatewayAudience });
    }
  }

  get size(): number {
    return this.trusted.size;
  }

  /** Whether `token` claims to come from a configured issuer (a JWT whose `iss` is one); nothing is trusted yet. */
  claims(token: string): boolean {
    if (this.trusted.size === 0 || token.split(".").length !== 3) return false;
    try {
      const iss = decodeJwt(token).iss;
      return iss !== undefined && this.trusted.has(iss);
    } catch {
      return false;
    }
  }

  /** Verifies a token of a configured issuer and maps it to a principal; anything wrong is a CredentialRefused. */
  async principal(token: string): Promise<Principal> {
    let iss: string | undefined;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw new CredentialRefused("not a JWT");
    }
    const t = iss === undefined ? undefined : this.trusted.get(iss);
    if (t === undefined) throw new CredentialRefused("issuer not trusted");
    try {
      const { payload } = await jwtVerify(token, t.keys, { issuer: t.config.issuer, audience: t.audience, algorithms: t.config.algorithms, requiredClaims: ["sub", "exp"] });
      const roles = new Set<string>();
      for (const value of claimValues(payload[t.config.roleClaim])) for (const role of t.config.roleMap[value] ?? []) roles.add(role);
      const name = payload[t.config.nameClaim];
      const scope = payload["scope"];
      const granted = new Set(claimValues(scope));
      const missing = t.config.requiredScopes.filter((s) => !granted.has(s));
      if (missing.length > 0) throw new InsufficientScope(t.config.requiredScopes, `${t.config.issuer}: token lacks scope ${missing.join(" ")}`);
      return {
        id: `${t.config.issuer}#${payload.sub as string}`,
        name: typeof name === "string" ? name : (payload.sub as string),
        kind: "oauth",
        roles: [...roles],
        scopes: permissionScopes(claimValues(scope)),
        sessionId: undefined,
      };
    } catch (err) {
      if (err instanceof InsufficientScope) throw err;
      throw new CredentialRefused(err instanceof errors.JOSEError ? `${t.config.issuer}: ${err.code}` : `${t.config.issuer}: verification failed`);
    }
  }
}
