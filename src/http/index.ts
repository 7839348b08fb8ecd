// The HTTP server: the edge checks every route shares (Host, Origin), then /mcp, /healthz and /readyz.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { AuditStage } from "../audit/stage.ts";
import { Refusal } from "../errors/index.ts";
import { errorResponse } from "../jsonrpc/index.ts";
import { checkHost, checkOrigin } from "../guard/index.ts";
import { sendJson } from "../protocol/stream.ts";
import type { createAuthEndpoints } from "../authn/endpoints.ts";

export interface HttpDeps {
  allowedOrigins: readonly string[];
  /** Host header values accepted (lower case), or undefined for any. */
  allowedHosts: () => readonly string[] | undefined;
  mcp: (req: IncomingMessage, res: ServerResponse, ip: string) => Promise<void>;
  /** Readiness: each dependency and whether it is up. */
  readiness: () => { ready: boolean; checks: Record<string, unknown> };
  audit: AuditStage;
  auth: ReturnType<typeof createAuthEndpoints>;
}

/** Headers every answer carries: nothing here is meant to be framed, sniffed or cached by a browser. */
const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
};

/**
 * The server, listening before its routes exist: the gateway's URL (token audience, resource
 * metadata) depends on the port it got. Requests before `install` are answered 503.
 */
export function createHttpServer(): { server: http.Server; install: (deps: HttpDeps) => void } {
  let deps: HttpDeps | undefined;
  let allowedOrigins: string[] = [];
  const server = http.createServer({ requestTimeout: 30_000, headersTimeout: 20_000, maxHeaderSize: 16 * 1024 }, (req, res) => {
    const ip = req.socket.remoteAddress ?? "unknown";
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (deps === undefined) {
      req.resume();
      return sendJson(res, 503, { error: "starting" }, { "retry-after": "1" });
    }
    try {
      // RFC 9112 §3.2: two Host lines are a malformed request; Node would silently keep the first.
      if (hostLines(req.rawHeaders) > 1) throw new Refusal("invalid_message", { http: 400, message: "Bad Request: more than one Host header", reason: "duplicate Host header" });
      const hosts = deps.allowedHosts();
      checkHost(req.headers, hosts);
      checkOrigin(req.headers, allowedOrigins, hosts !== undefined);
    } catch (err) {
      const refusal = err as Refusal;
      deps.audit.refusedAtEdge(refusal, { user: null, ip, session: null, via: "http" }, null);
      sendJson(res, refusal.http, errorResponse(null, refusal.toRpcError()), { connection: "close" });
      req.resume();
      return;
    }
    const path = pathOf(req.url);
    if (path === "/mcp") {
      void deps.mcp(req, res, ip);
      return;
    }
    if (path === "/auth/token" || path === "/auth/revoke") {
      if (req.method !== "POST") {
        req.resume();
        return sendJson(res, 405, { error: "invalid_request", error_description: "use POST" }, { allow: "POST" });
      }
      void (path === "/auth/token" ? deps.auth.token(req, res, ip) : deps.auth.revoke(req, res, ip)).catch(() => {
        if (!res.headersSent) sendJson(res, 500, { error: "server_error" });
      });
      return;
    }
    req.resume();
    if (req.method !== "GET" && req.method !== "HEAD") return sendJson(res, 405, { error: "method not allowed" }, { allow: "GET" });
    if (path === "/healthz") return sendJson(res, 200, { status: "ok" });
    // RFC 9728 §3: the root form and the path-aware form for /mcp.
    if (path === "/.well-known/oauth-protected-resource" || path === "/.well-known/oauth-protected-resource/mcp") return deps.auth.protectedResource(res);
    if (path === "/.well-known/oauth-authorization-server") return deps.auth.authorizationServer(res);
    if (path === "/.well-known/jwks.json") return void deps.auth.jwks(res);
    if (path === "/readyz") {
      const r = deps.readiness();
      return sendJson(res, r.ready ? 200 : 503, { status: r.ready ? "ready" : "not ready", checks: r.checks });
    }
    sendJson(res, 404, { error: "not found" });
  });
  // A client that sends a malformed request line or headers gets a plain 400, an audit record, and the connection closes.
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    const refusal = new Refusal("invalid_message", { http: 400, reason: `malformed HTTP request (${err.code ?? "parse error"})` });
    deps?.audit.refusedAtEdge(refusal, { user: null, ip: (socket as Socket).remoteAddress ?? "unknown", session: null, via: "http" }, null);
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    else socket.destroy();
  });
  return {
    server,
    install(d) {
      deps = d;
      allowedOrigins = d.allowedOrigins.map((o) => o.toLowerCase());
    },
  };
}

function hostLines(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === "host") n++;
  return n;
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return "/";
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}
