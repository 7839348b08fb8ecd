// An upstream MCP server over Streamable HTTP, either era: POST per message, JSON or SSE answers, legacy sessions with a GET stream and resumption.
import http, { type IncomingMessage, type ClientRequest } from "node:http";
import https from "node:https";
import type { HttpUpstreamConfig } from "../config/index.ts";
import { SseParser, type RpcMessage } from "../jsonrpc/index.ts";
import type { Logger } from "../log/index.ts";
import { MODERN_VERSION, type Era } from "../protocol/versions.ts";
import { encodeHeaderValue } from "../protocol/headers.ts";
import { paramHeaders, type Mirror } from "../protocol/param-headers.ts";
import { Peer, type PendingCall, type PeerWire, type UnattributedHandler } from "./peer.ts";
import type { Link } from "./link.ts";

/** Largest JSON answer read from an upstream, in bytes. Default 32 MiB. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** How often a dropped legacy stream is resumed with Last-Event-ID before the call fails. */
const MAX_RESUMES = 5;

export class HttpLink implements Link, PeerWire {
  readonly peer: Peer;
  private era: Era = "modern";
  private protocolVersion = MODERN_VERSION;
  private sessionId: string | undefined;
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly requestFn: typeof http.request;
  private readonly inflight = new Map<PendingCall, ClientRequest>();
  private getStream: ClientRequest | undefined;
  private getRetryMs = 1000;
  private closed = false;

  constructor(
    private readonly name: string,
    private readonly config: HttpUpstreamConfig,
    private readonly log: Logger,
    onUnattributed: UnattributedHandler,
    private readonly onClose: (reason: string) => void,
    private readonly mirrorsOf: (tool: string) => readonly Mirror[],
  ) {
    this.peer = new Peer(this, onUnattributed, () => `upstream ${name}`);
    this.url = new URL(config.url);
    const secure = this.url.protocol === "https:";
    // Each request is one write; Nagle would only hold answers back on the kept-alive sockets.
    const agentOptions = { keepAlive: true, maxSockets: 256, noDelay: true };
    this.agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.requestFn = secure ? https.request : http.request;
  }

  setEra(era: Era, protocolVersion: string): void {
    this.era = era;
    this.protocolVersion = protocolVersion;
    if (era === "legacy") this.openGetStream();
  }

  send(message: RpcMessage, call?: PendingCall): void {
    if (this.closed) throw new Error("connection is closed");
    this.post(message, call);
  }

  cancel(call: PendingCall, reason: string): void {
    const req = this.inflight.get(call);
    this.inflight.delete(call);
    // 2026-07-28: closing the response stream is the cancellation; the session era needs the notification.
    if (this.era === "legacy") this.peer.notify("notifications/cancelled", { requestId: call.id, reason });
    req?.destroy();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.getStream?.destroy();
    for (const req of this.inflight.values()) req.destroy();
    this.inflight.clear();
    if (this.era === "legacy" && this.sessionId !== undefined) await this.deleteSession();
    this.agent.destroy();
  }

  private headers(message: RpcMessage | undefined, body: string | undefined): Record<string, string> {
    const h: Record<string, string> = { ...this.config.headers, accept: "application/json, text/event-stream" };
    if (body !== undefined) {
      h["content-type"] = "application/json";
      h["content-length"] = String(Buffer.byteLength(body));
    }
    if (this.era === "legacy") {
      if (this.sessionId !== undefined) h["mcp-session-id"] = this.sessionId;
      if (this.sessionId !== undefined) h["mcp-protocol-version"] = this.protocolVersion;
    } else if (message !== undefined && "method" in message) {
      h["mcp-protocol-version"] = MODERN_VERSION;
      h["mcp-method"] = message.method;
      const p = message.params;
      const target = message.method === "resources/read" ? p?.["uri"] : message.method === "tools/call" || message.method === "prompts/get" ? p?.["name"] : undefined;
      if (typeof target === "string") h["mcp-name"] = encodeHeaderValue(target);
      if (message.method === "tools/call" && typeof target === "string") Object.assign(h, paramHeaders(this.mirrorsOf(target), p?.["arguments"] as Record<string, unknown> | undefined));
    } else h["mcp-protocol-version"] = MODERN_VERSION;
    return h;
  }

  private post(message: RpcMessage, call: PendingCall | undefined): void {
    const body = JSON.stringify(message);
    const req = this.requestFn(this.url, { method: "POST", headers: this.headers(message, body), agent: this.agent });
    if (call !== undefined) this.inflight.set(call, req);
    req.on("response", (res) => this.onResponse(res, message, call));
    req.on("error", (err) => {
      if (call !== undefined) {
        this.inflight.delete(call);
        this.peer.fail(call, `upstream ${this.name}: ${err.message}`);
      }
    });
    req.end(body);
  }

  private onResponse(res: IncomingMessage, message: RpcMessage, call: PendingCall | undefined): void {
    const status = res.statusCode ?? 0;
    const sid = res.headers["mcp-session-id"];
    if (this.era === "legacy" && typeof sid === "string" && this.sessionId === undefined) this.sessionId = sid;
    const type = String(res.headers["content-type"] ?? "");
    if (status === 404 && this.era === "legacy" && this.sessionId !== undefined) {
      res.resume();
      this.lose("the upstream ended our session (HTTP 404)");
      return;
    }
    if (type.startsWith("text/event-stream") && status < 300) return this.readStream(res, call, 0);
    readBody(res).then(
      (text) => {
        if (call !== undefined) this.inflight.delete(call);
        const parsed = text === "" ? undefined : safeJson(text);
        const messages = Array.isArray(parsed) ? parsed : parsed === undefined ? [] : [parsed];
        for (const m of messages) if (typeof m === "object" && m !== null) this.peer.receive(m as RpcMessage, call);
        if (call !== undefined && !call.settled) {
          const detail = status >= 300 ? `HTTP ${status}` : messages.length === 0 ? `HTTP ${status} with no answer` : "no answer to the request";
          this.peer.fail(call, `upstream ${this.name}: ${detail}`);
        }
      },
      (err: Error) => {
        if (call !== undefined) this.peer.fail(call, `upstream ${this.name}: ${err.message}`);
      },
    );
    void message;
  }

  /** Reads an SSE answer; a session-era stream that ends before the answer is resumed with Last-Event-ID (SEP-1699 polling). */
  private readStream(res: IncomingMessage, call: PendingCall | undefined, resumes: number): void {
    let retryMs = 0;
    const parser = new SseParser((event) => {
      if (event.retry !== undefined) retryMs = event.retry;
      if (event.data === "") return;
      const m = safeJson(event.data);
      if (typeof m === "object" && m !== null) this.peer.receive(m as RpcMessage, call);
    });
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      try {
        parser.push(chunk);
      } catch (err) {
        res.destroy();
        if (call !== undefined) this.peer.fail(call, `upstream ${this.name}: ${(err as Error).message}`);
      }
    });
    const ended = (): void => {
      if (call === undefined || call.settled) {
        if (call !== undefined) this.inflight.delete(call);
        return;
      }
      if (this.era === "legacy" && parser.lastEventId !== undefined && resumes < MAX_RESUMES && !this.closed) {
        const lastEventId = parser.lastEventId;
        setTimeout(() => this.resume(call, lastEventId, resumes + 1), Math.min(retryMs, 10_000)).unref();
        return;
      }
      this.inflight.delete(call);
      this.peer.fail(call, `upstream ${this.name}: the stream ended before the answer`);
    };
    res.on("end", ended);
    res.on("error", ended);
  }

  private resume(call: PendingCall, lastEventId: string, resumes: number): void {
    if (call.settled || this.closed) return;
    const req = this.requestFn(this.url, { method: "GET", headers: { ...this.headers(undefined, undefined), accept: "text/event-stream", "last-event-id": lastEventId }, agent: this.agent });
    this.inflight.set(call, req);
    req.on("response", (res) => {
      if ((res.statusCode ?? 0) >= 300) {
        res.resume();
        this.peer.fail(call, `upstream ${this.name}: resuming the stream failed (HTTP ${res.statusCode ?? 0})`);
        return;
      }
      this.readStream(res, call, resumes);
    });
    req.on("error", (err) => this.peer.fail(call, `upstream ${this.name}: ${err.message}`));
    req.end();
  }

  /** The session era's standalone stream: list changes and other traffic that belongs to no request. */
  private openGetStream(): void {
    if (this.closed || this.sessionId === undefined) return;
    const req = this.requestFn(this.url, { method: "GET", headers: { ...this.headers(undefined, undefined), accept: "text/event-stream" }, agent: this.agent });
    this.getStream = req;
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      if (status === 405) {
        res.resume();
        return; // the upstream offers no standalone stream
      }
      if (status === 404) {
        res.resume();
        this.lose("the upstream ended our session (HTTP 404)");
        return;
      }
      if (status >= 300) {
        res.resume();
        return this.retryGetStream();
      }
      this.getRetryMs = 1000;
      const parser = new SseParser((event) => {
        if (event.data === "") return;
        const m = safeJson(event.data);
        if (typeof m === "object" && m !== null) this.peer.receive(m as RpcMessage);
      });
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        try {
          parser.push(chunk);
        } catch {
          res.destroy();
        }
      });
      res.on("end", () => this.retryGetStream());
      res.on("error", () => this.retryGetStream());
    });
    req.on("error", () => this.retryGetStream());
    req.end();
  }

  private retryGetStream(): void {
    if (this.closed) return;
    setTimeout(() => this.openGetStream(), this.getRetryMs).unref();
    this.getRetryMs = Math.min(this.getRetryMs * 2, 30_000);
  }

  private deleteSession(): Promise<void> {
    return new Promise((resolve) => {
      const req = this.requestFn(this.url, { method: "DELETE", headers: this.headers(undefined, undefined), agent: this.agent, timeout: 1000 });
      req.on("response", (res) => {
        res.resume();
        resolve();
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve());
      req.end();
    });
  }

  private lose(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.getStream?.destroy();
    for (const req of this.inflight.values()) req.destroy();
    this.inflight.clear();
    this.agent.destroy();
    this.log.warn(`upstream ${this.name}: ${reason}`);
    this.peer.failAll(`upstream ${this.name}: ${reason}`);
    this.onClose(reason);
  }
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        res.destroy();
        reject(new Error(`answer larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(c);
    });
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
