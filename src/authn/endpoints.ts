// The OAuth endpoints: POST /auth/token and /auth/revoke, and the metadata clients discover them by (RFC 9728, RFC 8414, JWKS).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuditStage } from "../audit/stage.ts";
import { Refusal } from "../errors/index.ts";
import { parseBody } from "../jsonrpc/index.ts";
import { readBody } from "../guard/index.ts";
import { sendJson } from "../protocol/stream.ts";
import { normalizeName, OAuthError, type Identity, type TokenResponse } from "./service.ts";
import type { TokenService } from "./tokens.ts";

/** Largest form accepted by the token and revocation endpoints, in bytes. */
const MAX_FORM_BYTES = 16 * 1024;

export interface AuthEndpointsOptions {
  identity: Identity;
  tokens: TokenService;
  audit: AuditStage;
  /** The canonical URL of /mcp: the protected resource and every token's audience. */
  resource: string;
  /** The gateway's origin: issuer of its tokens, and its own authorization server. */
  issuer: string;
  /** External authorization servers whose tokens /mcp also accepts. */
  externalIssuers: readonly string[];
}

/** Reads an endpoint's parameters: `application/x-www-form-urlencoded` (RFC 6749) or JSON; one value per name. */
async function readParams(req: IncomingMessage): Promise<Map<string, string>> {
  const type = req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  const body = await readBody(req, MAX_FORM_BYTES);
  const params = new Map<string, string>();
  if (type === "application/x-www-form-urlencoded") {
    for (const [k, v] of new URLSearchParams(body.toString("utf8"))) {
      if (params.has(k)) throw new OAuthError("invalid_request", `parameter ${k.slice(0, 40)} given more than once`, "repeated parameter");
      params.set(k, v);
    }
    return params;
  }
  if (type === "application/json") {
    const value = parseBody(body, 4);
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new OAuthError("invalid_request", "the body must be a JSON object", "JSON body not an object");
    for (const [k, v] of Object.entries(value)) if (typeof v === "string") params.set(k, v);
    return params;
  }
  throw new OAuthError("invalid_request", "Content-Type must be application/x-www-form-urlencoded or application/json", "bad content type");
}

/** HTTP Basic client credentials (RFC 6749 §2.3.1), if given. */
function basicCredentials(req: IncomingMessage): { id: string; secret: string } | undefined {
  const m = /^Basic +([A-Za-z0-9+/]+=*)$/i.exec(req.headers.authorization ?? "");
  if (m?.[1] === undefined) return undefined;
  const text = Buffer.from(m[1], "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon === -1) return undefined;
  return { id: decodeURIComponent(text.slice(0, colon)), secret: decodeURIComponent(text.slice(colon + 1)) };
}

export function createAuthEndpoints(options: AuthEndpointsOptions): {
  token: (req: IncomingMessage, res: ServerResponse, ip: string) => Promise<void>;
  revoke: (req: IncomingMessage, res: ServerResponse, ip: string) => Promise<void>;
  protectedResource: (res: ServerResponse) => void;
  authorizationServer: (res: ServerResponse) => void;
  jwks: (res: ServerResponse) => Promise<void>;
} {
  const { identity, audit } = options;
  const actor = (ip: string, user: string | null) => ({ user, ip, session: null, via: "oauth" });
  const noStore = { pragma: "no-cache" };

  /** Answers an OAuth error (RFC 6749 §5.2) and audits its true reason. */
  const refuse = (res: ServerResponse, ip: string, user: string | null, err: OAuthError, grant: string): void => {
    const type = err.error === "mfa_required" ? "auth.mfa" : /locked/.test(err.reason) ? "auth.lockout" : "auth.failure";
    audit.event({ type, outcome: "failure", severity: type === "auth.lockout" ? "warning" : "info", actor: actor(ip, user), target: null, reason: err.reason, details: { grant, error: err.error } });
    const headers: Record<string, string> = { ...noStore };
    if (err.status === 401) headers["www-authenticate"] = 'Basic realm="mcp-bastion"';
    sendJson(res, err.status, { error: err.error, error_description: err.description }, headers);
  };

  const failed = (res: ServerResponse, ip: string, user: string | null, err: unknown, grant: string): void => {
    if (err instanceof OAuthError) return refuse(res, ip, user, err, grant);
    if (err instanceof Refusal) return refuse(res, ip, user, new OAuthError("invalid_request", err.message, err.reason, err.http === 413 ? 413 : 400), grant);
    throw err;
  };

  return {
    async token(req, res, ip) {
      let grant = "unknown";
      let user: string | null = null;
      try {
        const params = await readParams(req);
        grant = params.get("grant_type") ?? "";
        let answer: TokenResponse;
        if (grant === "password") {
          const username = params.get("username");
          const password = params.get("password");
          if (username === undefined || password === undefined) throw new OAuthError("invalid_request", "username and password are required", "missing username or password");
          user = normalizeName(username).slice(0, 64);
          answer = await identity.passwordGrant({ username, password, totp: params.get("totp"), newPassword: params.get("new_password"), ip });
        } else if (grant === "refresh_token") {
          const token = params.get("refresh_token");
          if (token === undefined) throw new OAuthError("invalid_request", "refresh_token is required", "missing refresh_token");
          answer = await identity.refreshGrant(token);
        } else if (grant === "client_credentials") {
          const basic = basicCredentials(req);
          const id = basic?.id ?? params.get("client_id");
          const secret = basic?.secret ?? params.get("client_secret");
          if (id === undefined || secret === undefined) throw new OAuthError("invalid_client", "client_id and client_secret are required", "missing client credentials");
          user = `apikey:${id.slice(0, 32)}`;
          answer = await identity.clientCredentialsGrant(id, secret);
        } else throw new OAuthError("unsupported_grant_type", "grant_type must be password, refresh_token or client_credentials", `grant ${grant.slice(0, 40)}`);
        audit.event({ type: grant === "refresh_token" ? "auth.refresh" : grant === "password" ? "auth.login" : "auth.token", outcome: "success", severity: "info", actor: actor(ip, user), target: null, reason: null, details: { grant } });
        sendJson(res, 200, answer, noStore);
      } catch (err) {
        failed(res, ip, user, err, grant);
      }
    },

    async revoke(req, res, ip) {
      try {
        const params = await readParams(req);
        const token = params.get("token");
        if (token === undefined) throw new OAuthError("invalid_request", "token is required", "missing token");
        const outcome = await identity.revoke(token);
        audit.event({ type: "auth.revoke", outcome: "success", severity: "info", actor: actor(ip, outcome.userId ?? null), target: null, reason: null, details: { revoked: outcome.revoked } });
        // RFC 7009 §2.2: 200 whether or not the token was known.
        res.writeHead(200, noStore).end();
      } catch (err) {
        failed(res, ip, null, err, "revoke");
      }
    },

    protectedResource(res) {
      sendJson(res, 200, {
        resource: options.resource,
        authorization_servers: [options.issuer, ...options.externalIssuers],
        bearer_methods_supported: ["header"],
        resource_name: "mcp-bastion",
      });
    },

    authorizationServer(res) {
      sendJson(res, 200, {
        issuer: options.issuer,
        token_endpoint: `${options.issuer}/auth/token`,
        revocation_endpoint: `${options.issuer}/auth/revoke`,
        jwks_uri: `${options.issuer}/.well-known/jwks.json`,
        grant_types_supported: ["password", "refresh_token", "client_credentials"],
        token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
        response_types_supported: [],
      });
    },

    async jwks(res) {
      sendJson(res, 200, await options.tokens.jwks());
    },
  };
}
