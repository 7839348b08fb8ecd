// The `/mcp` endpoint: tells the two protocol eras apart, turns each HTTP request into exchanges for the pipeline, and writes their answers.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Actor } from "../audit/index.ts";
import { sessionTag, type AuditStage } from "../audit/stage.ts";
import { assertSessionOwner, type Identify } from "../authn/index.ts";
import type { ServerLimits } from "../config/index.ts";
import { Refusal } from "../errors/index.ts";
import { acceptance, checkContentType, parseMessages, readBody, type Acceptance } from "../guard/index.ts";
import { errorResponse, resultResponse, type Id, type RpcMessage, type RpcNotification, type RpcRequest, type RpcResponse } from "../jsonrpc/index.ts";
import type { Logger } from "../log/index.ts";
import type { Caller, Channel, Exchange, Pipeline, Principal } from "../pipeline/index.ts";
import type { Session, SessionStore } from "../session/index.ts";
import { CallCancelled, UpstreamRpcError } from "../upstream/index.ts";
import { assertHeadersMatchBody, decodeHeaderValue } from "./headers.ts";
import type { Hub, Listener } from "./hub.ts";
import { assertParamHeaders, type Mirror } from "./param-headers.ts";
import { negotiateLegacyVersion } from "./lifecycle.ts";
import { openSse, Reply, sendJson } from "./stream.ts";
import {
  allowsBatches,
  isLogLevel,
  LEGACY_VERSIONS,
  META_CLIENT_CAPABILITIES,
  META_CLIENT_INFO,
  META_LOG_LEVEL,
  META_PROTOCOL_VERSION,
  MODERN_VERSION,
  SUPPORTED_VERSIONS,
  type Era,
} from "./versions.ts";

/** How long, and how many bytes, a refused body is still read and discarded after the answer (a lingering close). */
const LINGER_MS = 2000;
const LINGER_BYTES = 8 * 1024 * 1024;

export interface EndpointDeps {
  limits: ServerLimits;
  pipeline: Pipeline;
  identify: Identify;
  sessions: SessionStore;
  hub: Hub;
  audit: AuditStage;
  log: Logger;
  /** The `Mcp-Param-*` mirrors of a tool by the name clients use (2026-07-28 header checks). */
  mirrorsOf: (exposedTool: string) => readonly Mirror[];
}

/** 2026-07-28 results that must say how long they may be cached (CacheableResult). */
const CACHEABLE = new Set(["tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"]);
/** Seconds between SSE comments that keep an idle GET stream open through proxies. */
const KEEPALIVE_MS = 25_000;

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The era of a POST: a 2026-07-28 version header means the stateless one; otherwise a session id,
 * `initialize` or a session-era version header mean the session era, and a 2026-07-28 version in
 * `_meta` the stateless one. A client that says nothing is a 2025-03-26 client, for whom the
 * session rules apply.
 */
function eraOf(headers: IncomingHttpHeaders, first: RpcMessage | undefined): Era {
  const version = header(headers, "mcp-protocol-version");
  // 2026-07-28 has no sessions: a stray Mcp-Session-Id on such a request is ignored, as the spec says.
  if (version === MODERN_VERSION) return "modern";
  if (header(headers, "mcp-session-id") !== undefined) return "legacy";
  if (first !== undefined && "method" in first && first.method === "initialize") return "legacy";
  if (version !== undefined) return (LEGACY_VERSIONS as readonly string[]).includes(version) ? "legacy" : "modern";
  const meta = first !== undefined && "method" in first ? first.params?.["_meta"] : undefined;
  return isObject(meta) && meta[META_PROTOCOL_VERSION] !== undefined ? "modern" : "legacy";
}

/** The HTTP status a refusal gets: session-era clients expect JSON-RPC errors inside a 200, as SDK servers send them. */
function statusFor(refusal: Refusal, era: Era): number {
  if (era === "legacy" && (refusal.code === "method_not_found" || refusal.code === "capability_missing")) return 200;
  return refusal.http;
}

/** 2026-07-28 gives some JSON-RPC errors their own HTTP status, whoever raised them (the gateway or an upstream). */
const MODERN_ERROR_STATUS = new Map([
  [-32601, 404],
  [-32020, 400],
  [-32021, 400],
  [-32022, 400],
]);

export function createMcpEndpoint(deps: EndpointDeps): (req: IncomingMessage, res: ServerResponse, ip: string) => Promise<void> {
  const { limits, pipeline, sessions, hub, audit, log } = deps;
  sessions.onExpired = (session) => {
    if (session.listener !== undefined) hub.remove(session.listener);
  };

  const edgeActor = (ip: string, headers: IncomingHttpHeaders): Actor => {
    const sid = header(headers, "mcp-session-id");
    return { user: null, ip, session: sid === undefined ? null : sessionTag(sid), via: "http" };
  };

  /** Answers a refusal that happened before (or outside) the pipeline, and audits it. */
  const refuseAtEdge = (res: ServerResponse, ip: string, headers: IncomingHttpHeaders, refusal: Refusal, id: Id | null): void => {
    audit.refusedAtEdge(refusal, edgeActor(ip, headers), null);
    const extra: Record<string, string> = { ...refusal.headers, ...(refusal.code === "method_not_allowed" ? { allow: "POST, GET, DELETE" } : {}) };
    // A refused body (too large, or sent without valid credentials) is not worth reading: close instead of draining it.
    if (refusal.code === "body_too_large" || refusal.code === "insufficient_scope" || refusal.http === 401) {
      extra["connection"] = "close";
      const socket = res.socket;
      res.once("finish", () => {
        socket?.end();
        // A lingering close (bounded): what the client is still sending is discarded for a moment, because closing with it unread
        // resets the connection, and a reset can make the client drop the answer it has not read yet.
        let drained = 0;
        const stop = setTimeout(() => socket?.destroy(), LINGER_MS).unref();
        socket?.once("close", () => clearTimeout(stop));
        res.req.on("data", (chunk: Buffer) => {
          drained += chunk.length;
          if (drained > LINGER_BYTES) socket?.destroy();
        });
        res.req.resume();
      });
    }
    sendJson(res, refusal.http, errorResponse(id, refusal.toRpcError()), extra);
  };

  /** Writes the answer for an exchange that failed in the pipeline (already audited there). */
  const answerError = (reply: Reply, id: Id, err: unknown, era: Era): void => {
    if (err instanceof Refusal) return reply.finish(errorResponse(id, err.toRpcError()), statusFor(err, era));
    if (err instanceof UpstreamRpcError) return reply.finish(errorResponse(id, err.error), era === "modern" ? (MODERN_ERROR_STATUS.get(err.error.code) ?? 200) : 200);
    if (err instanceof CallCancelled) return reply.finish(errorResponse(id, { code: -32800, message: "Request cancelled" }));
    log.error(`internal error answering a request: ${(err as Error).stack ?? String(err)}`);
    reply.finish(errorResponse(id, { code: -32603, message: "Internal error" }), 500);
  };

  const exchange = (message: RpcRequest | RpcNotification, caller: Caller, headers: IncomingHttpHeaders, channel: Channel, principal: Principal): Exchange => ({
    message,
    caller,
    headers,
    channel,
    principal,
    target: undefined,
    upstream: undefined,
    startedAt: Date.now(),
    notices: [],
  });

  /** A notification is accepted with 202; one refused with an HTTP status gets it (the pipeline audited it either way). */
  const notification = async (res: ServerResponse, ex: Exchange): Promise<void> => {
    try {
      await pipeline(ex);
      res.writeHead(202).end();
    } catch (err) {
      // A notification gets no JSON-RPC answer: only a refusal that changes the HTTP status (401, 403, 400…) says anything.
      if (err instanceof Refusal && err.http >= 400) sendJson(res, err.http, errorResponse(null, err.toRpcError()));
      else res.writeHead(202).end();
    }
  };

  const never = new AbortController().signal;
  const silent: Channel = { signal: never, notify: () => undefined, request: undefined };

  // ---- 2026-07-28: one self-contained POST per message ----------------------------------------

  async function modernPost(req: IncomingMessage, res: ServerResponse, ip: string, message: RpcMessage, accept: Acceptance, principal: Principal): Promise<void> {
    if (!("method" in message)) throw new Refusal("invalid_message", { reason: "a response, but 2026-07-28 servers send no requests" });
    const meta = isObject(message.params?.["_meta"]) ? (message.params["_meta"] as Record<string, unknown>) : {};
    if ("id" in message) {
      // Order matters to clients: a malformed _meta (-32602), then header vs body (-32020), then the version itself (-32022).
      const version = meta[META_PROTOCOL_VERSION];
      if (typeof version !== "string" || !isObject(meta[META_CLIENT_CAPABILITIES]))
        throw new Refusal("invalid_params", { http: 400, message: "Invalid params: _meta must carry protocolVersion and clientCapabilities", reason: "request _meta incomplete" });
      const headerVersion = header(req.headers, "mcp-protocol-version");
      if (headerVersion !== undefined && headerVersion !== version) throw new Refusal("header_mismatch", { reason: "MCP-Protocol-Version header differs from _meta" });
      if (version !== MODERN_VERSION)
        throw new Refusal("unsupported_protocol_version", { message: `Unsupported protocol version: ${version.slice(0, 40)}`, data: { supported: SUPPORTED_VERSIONS, requested: version.slice(0, 40) }, reason: `version ${version.slice(0, 40)}` });
      assertHeadersMatchBody(req.headers, message, version);
      if (message.method === "tools/call" && typeof message.params?.["name"] === "string")
        assertParamHeaders(req.headers, deps.mirrorsOf(message.params["name"]), message.params["arguments"] as Record<string, unknown> | undefined);
    } else {
      const method = header(req.headers, "mcp-method");
      if (method !== undefined && decodeHeaderValue(method) !== message.method) throw new Refusal("header_mismatch", { reason: "Mcp-Method differs from the body" });
    }
    const caps = meta[META_CLIENT_CAPABILITIES];
    const info = meta[META_CLIENT_INFO];
    const level = meta[META_LOG_LEVEL];
    const caller: Caller = {
      ip,
      era: "modern",
      protocolVersion: MODERN_VERSION,
      capabilities: isObject(caps) ? caps : {},
      clientInfo: isObject(info) ? info : undefined,
      logLevel: isLogLevel(level) ? level : undefined,
      session: undefined,
    };
    if (!("id" in message)) return notification(res, exchange(message, caller, req.headers, silent, principal));
    const reply = new Reply(res, accept.json);
    const abort = new AbortController();
    // 2026-07-28: a client that closes the response stream has cancelled the request.
    res.on("close", () => {
      if (!reply.finished) abort.abort();
    });
    const ex = exchange(message, caller, req.headers, { signal: abort.signal, notify: (n) => reply.send(n), request: undefined }, principal);
    try {
      const result = (await pipeline(ex)) ?? {};
      reply.finish(resultResponse(message.id, finishModern(message.method, result)));
    } catch (err) {
      answerError(reply, message.id, err, "modern");
    }
  }

  // ---- session era: initialize, then everything under Mcp-Session-Id ---------------------------

  async function legacyPost(req: IncomingMessage, res: ServerResponse, ip: string, messages: RpcMessage[], batch: boolean, accept: Acceptance, principal: Principal): Promise<void> {
    const sid = header(req.headers, "mcp-session-id");
    const first = messages[0] as RpcMessage;
    if (sid === undefined) {
      if (batch || !("method" in first) || first.method !== "initialize" || !("id" in first)) throw new Refusal("session_required");
      return initialize(req, res, ip, first, accept, principal);
    }
    const session = sessions.get(sid);
    if (session === undefined) throw new Refusal("session_not_found", { reason: "unknown or expired session" });
    // Ownership before anything else: someone else's session id must learn nothing (not even its version).
    assertSessionOwner(session, principal);
    const version = header(req.headers, "mcp-protocol-version");
    if (version !== undefined && version !== session.protocolVersion)
      throw new Refusal("unsupported_protocol_version", { message: `Bad Request: MCP-Protocol-Version must be ${session.protocolVersion}`, reason: `version header ${version.slice(0, 40)}` });
    if (batch && !allowsBatches(session.protocolVersion)) throw new Refusal("batch_refused", { reason: `batch under ${session.protocolVersion}` });
    if (messages.some((m) => "method" in m && m.method === "initialize")) throw new Refusal("invalid_message", { message: "Invalid Request: session already initialized", reason: "initialize inside a session" });

    const caller: Caller = {
      ip,
      era: "legacy",
      protocolVersion: session.protocolVersion,
      capabilities: session.capabilities,
      clientInfo: session.clientInfo,
      logLevel: session.logLevel,
      session,
    };
    if (!batch) return legacyMessage(req, res, session, caller, first, accept, principal);

    // 2025-03-26 batches: every element goes through the whole pipeline on its own.
    const answers = await Promise.all(messages.map((m) => batchElement(req, session, caller, m, principal)));
    const responses = answers.filter((a): a is RpcResponse => a !== undefined);
    if (responses.length === 0) res.writeHead(202).end();
    else sendJson(res, 200, responses);
  }

  async function initialize(req: IncomingMessage, res: ServerResponse, ip: string, message: RpcRequest, accept: Acceptance, principal: Principal): Promise<void> {
    const params = message.params ?? {};
    const caps = params["capabilities"];
    const info = params["clientInfo"];
    const caller: Caller = {
      ip,
      era: "legacy",
      protocolVersion: negotiateLegacyVersion(params["protocolVersion"]),
      capabilities: isObject(caps) ? caps : {},
      clientInfo: isObject(info) ? info : undefined,
      logLevel: undefined,
      session: undefined,
    };
    const ex = exchange(message, caller, req.headers, silent, principal);
    let result: Record<string, unknown>;
    try {
      result = (await pipeline(ex)) ?? {};
    } catch (err) {
      return answerError(new Reply(res, true), message.id, err, "legacy");
    }
    const session = sessions.create(principal.id, String(result["protocolVersion"]), caller.capabilities, caller.clientInfo);
    const listener: Listener = { wantsList: () => true, send: (n) => session.notify(n) };
    session.listener = listener;
    hub.add(listener);
    new Reply(res, accept.json, { "mcp-session-id": session.id }).finish(resultResponse(message.id, result));
  }

  async function legacyMessage(req: IncomingMessage, res: ServerResponse, session: Session, caller: Caller, message: RpcMessage, accept: Acceptance, principal: Principal): Promise<void> {
    if (!("method" in message)) {
      // The client answers one of the gateway's server→client requests; only the session's owner may.
      assertSessionOwner(session, principal);
      session.answer(message.id, message.result, message.error);
      res.writeHead(202).end();
      return;
    }
    if (!("id" in message)) return notification(res, exchange(message, caller, req.headers, silent, principal));
    const stream = session.openStream();
    const reply = new Reply(res, accept.json, {}, { store: session, stream });
    session.replies.set(stream, reply);
    const abort = new AbortController();
    session.inflight.set(message.id, abort);
    const request = accept.sse ? (method: string, params: Record<string, unknown> | undefined) => session.request(reply, method, params, limits.inputRequiredSeconds * 1000) : undefined;
    const ex = exchange(message, caller, req.headers, { signal: abort.signal, notify: (n) => reply.send(n), request }, principal);
    try {
      const result = (await pipeline(ex)) ?? {};
      reply.finish(resultResponse(message.id, result));
    } catch (err) {
      answerError(reply, message.id, err, "legacy");
    } finally {
      session.inflight.delete(message.id);
      session.replies.delete(stream);
    }
  }

  async function batchElement(req: IncomingMessage, session: Session, caller: Caller, message: RpcMessage, principal: Principal): Promise<RpcResponse | undefined> {
    if (!("method" in message)) {
      assertSessionOwner(session, principal);
      session.answer(message.id, message.result, message.error);
      return undefined;
    }
    try {
      const result = await pipeline(exchange(message, caller, req.headers, silent, principal));
      return "id" in message ? resultResponse(message.id, result ?? {}) : undefined;
    } catch (err) {
      if (!("id" in message)) return undefined;
      if (err instanceof Refusal || err instanceof UpstreamRpcError) return errorResponse(message.id, err instanceof Refusal ? err.toRpcError() : err.error);
      return errorResponse(message.id, { code: -32603, message: "Internal error" });
    }
  }

  /** The session's own stream (GET), or the rest of a stream the client lost (GET with Last-Event-ID). */
  async function get(req: IncomingMessage, res: ServerResponse, ip: string): Promise<void> {
    if (!acceptance(req.headers).sse) throw new Refusal("not_acceptable", { message: "Not Acceptable: client must accept text/event-stream", reason: "GET without text/event-stream" });
    const session = await ownedSession(req, ip);
    const lastEventId = header(req.headers, "last-event-id");
    if (lastEventId !== undefined) {
      const stream = session.streamOf(lastEventId);
      if (stream === undefined) throw new Refusal("invalid_message", { message: "Bad Request: unknown Last-Event-ID", reason: "Last-Event-ID of no stream of this session" });
      const standalone = session.isStandaloneStream(stream);
      if (standalone) session.attachStandalone(res, stream); // refuses (409) before anything is written
      session.replay(lastEventId, res);
      const live = session.replies.get(stream);
      if (live !== undefined) return live.reattach(res);
      if (!standalone) return void res.end();
    } else {
      session.attachStandalone(res);
      openSse(res);
    }
    const keepalive = setInterval(() => res.write(": keepalive\n\n"), KEEPALIVE_MS);
    keepalive.unref();
    res.on("close", () => clearInterval(keepalive));
  }

  async function del(req: IncomingMessage, res: ServerResponse, ip: string): Promise<void> {
    const session = await ownedSession(req, ip);
    sessions.delete(session);
    if (session.listener !== undefined) hub.remove(session.listener);
    res.writeHead(200).end();
  }

  async function ownedSession(req: IncomingMessage, ip: string): Promise<Session> {
    const sid = header(req.headers, "mcp-session-id");
    // Without a session these methods have no meaning: 2026-07-28 servers answer 405, and so does the gateway.
    if (sid === undefined) throw new Refusal("method_not_allowed", { reason: `${req.method ?? "?"} without a session` });
    const session = sessions.get(sid);
    if (session === undefined) throw new Refusal("session_not_found", { reason: "unknown or expired session" });
    assertSessionOwner(session, await deps.identify(req.headers, ip));
    return session;
  }

  return async (req, res, ip) => {
    // Refusals echo the request's id once it could be read (null before that, and for batches).
    let id: Id | null = null;
    try {
      if (req.method === "POST") {
        checkContentType(req.headers);
        const accept = acceptance(req.headers);
        // Credentials first: an unauthenticated body is never read (let alone parsed).
        const principal = await deps.identify(req.headers, ip);
        const parsed = parseMessages(await readBody(req, limits.maxBodyBytes), limits.maxJsonDepth);
        const messages = "single" in parsed ? [parsed.single] : parsed.batch;
        if ("single" in parsed && "id" in parsed.single && parsed.single.id !== null) id = parsed.single.id;
        const era = eraOf(req.headers, messages[0]);
        if (era === "modern") {
          if ("batch" in parsed) throw new Refusal("batch_refused", { reason: "batch in 2026-07-28" });
          return await modernPost(req, res, ip, parsed.single, accept, principal);
        }
        return await legacyPost(req, res, ip, messages, "batch" in parsed, accept, principal);
      }
      if (req.method === "GET") return await get(req, res, ip);
      if (req.method === "DELETE") return await del(req, res, ip);
      throw new Refusal("method_not_allowed", { reason: `HTTP ${String(req.method).slice(0, 16)}` });
    } catch (err) {
      if (err instanceof Refusal) return refuseAtEdge(res, ip, req.headers, err, id ?? err.requestId ?? null);
      log.error(`internal error on /mcp: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) sendJson(res, 500, errorResponse(null, { code: -32603, message: "Internal error" }));
      else res.end();
    }
  };
}

/** Adds what a 2026-07-28 result must carry when an older upstream produced it. */
function finishModern(method: string, result: Record<string, unknown>): Record<string, unknown> {
  const needsType = result["resultType"] === undefined;
  const needsCache = CACHEABLE.has(method) && result["ttlMs"] === undefined;
  if (!needsType && !needsCache) return result;
  return { ...result, ...(needsType ? { resultType: "complete" } : {}), ...(needsCache ? { ttlMs: 0, cacheScope: "private" } : {}) };
}
