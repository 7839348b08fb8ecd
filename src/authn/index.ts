// The authenticate stage: who is calling (the gateway's tokens, API keys, external OAuth issuers), and whether the MCP session they present is theirs.
import type { IncomingHttpHeaders } from "node:http";
import { Refusal } from "../errors/index.ts";
import type { Principal, Stage } from "../pipeline/index.ts";
import type { Session } from "../session/index.ts";
import { InsufficientScope, type ExternalIssuers } from "./oauth.ts";
import { CredentialRefused, type Identity } from "./service.ts";

export { Identity, IdentityRefused, OAuthError, CredentialRefused, normalizeName } from "./service.ts";
export type { TokenResponse } from "./service.ts";

/** The caller when `auth.anonymous` lets credential-less requests in (loopback binds only); it may use what the role `anonymous` permits. */
export const ANONYMOUS: Principal = Object.freeze({ id: "anonymous", name: "anonymous", kind: "anonymous", roles: Object.freeze(["anonymous"]) as readonly string[], scopes: undefined, sessionId: undefined });

/** Identifies the caller of one HTTP request (once per request, however many messages it carries). */
export type Identify = (headers: IncomingHttpHeaders, ip: string) => Promise<Principal>;

/** RFC 6750 §2.1: `Bearer` and a b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * Builds the credential check of `/mcp`. No credentials: 401 with `WWW-Authenticate: Bearer
 * resource_metadata=…` and no error code (RFC 6750 §3.1); bad, expired or revoked ones: 401 with
 * `error="invalid_token"`. The true reason goes to the audit log only.
 */
export function createIdentify(options: { identity: Identity; issuers: ExternalIssuers; anonymous: boolean; resourceMetadataUrl: string }): Identify {
  const challenge = (error?: string, scope?: readonly string[]): Record<string, string> => ({
    "www-authenticate": `Bearer ${error === undefined ? "" : `error="${error}", `}${scope === undefined ? "" : `scope="${scope.join(" ")}", `}resource_metadata="${options.resourceMetadataUrl}"`,
  });
  return async (headers) => {
    const header = headers.authorization;
    if (header === undefined || header === "") {
      if (options.anonymous) return ANONYMOUS;
      throw new Refusal("unauthenticated", { reason: "no credentials", headers: challenge() });
    }
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) throw new Refusal("invalid_token", { reason: "not a Bearer credential", headers: challenge("invalid_token") });
    try {
      return options.issuers.claims(token) ? await options.issuers.principal(token) : await options.identity.principal(token);
    } catch (err) {
      if (err instanceof CredentialRefused) throw new Refusal(err.expired ? "session_expired" : "invalid_token", { reason: err.reason, headers: challenge("invalid_token") });
      if (err instanceof InsufficientScope) throw new Refusal("insufficient_scope", { reason: err.reason, headers: challenge("insufficient_scope", err.required) });
      throw err;
    }
  };
}

/**
 * A session belongs to the principal that opened it. Presenting its id with anyone else's
 * credentials gets the same 404 as an unknown id (nothing learned), audited as `session.hijack`.
 */
export function assertSessionOwner(session: Session, principal: Principal): void {
  if (session.principalId !== principal.id) throw new Refusal("session_hijack", { reason: `session of ${session.principalId} presented by ${principal.id}` });
}

/**
 * The pipeline stage. Credentials were checked once for the HTTP request (before its body was
 * read); here every message is held to them: it must carry a principal, and its session must be
 * that principal's.
 */
export const authenticateStage: Stage = (ex) => {
  if (ex.principal === undefined) throw new Refusal("unauthenticated", { reason: "no principal reached the pipeline" });
  if (ex.caller.session !== undefined) assertSessionOwner(ex.caller.session, ex.principal);
};
