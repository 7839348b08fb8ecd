// Session-era MCP sessions (2025-03-26 … 2025-11-25): gateway-minted ids bound to a principal, a bounded event log, idle eviction.
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { Refusal } from "../errors/index.ts";
import { sseFrame, type Id, type Params, type RpcMessage, type RpcNotification } from "../jsonrpc/index.ts";
import type { LogLevel } from "../protocol/versions.ts";
import { openSse, type Reply, type ResumableLog } from "../protocol/stream.ts";
import type { Listener } from "../protocol/hub.ts";

interface LoggedEvent {
  stream: number;
  seq: number;
  frame: RpcMessage;
}

interface ClientRequest {
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** The client answered a server→client request with an error; carried upstream as given. */
export class ClientRpcError extends Error {
  constructor(readonly error: { code: number; message: string; data?: unknown }) {
    super(error.message);
  }
}

/** One session: who opened it, what it negotiated, and its streams. */
export class Session implements ResumableLog {
  lastSeen: number;
  logLevel: LogLevel | undefined;
  readonly subscriptions = new Set<string>();
  /** Client request ids in flight, so `notifications/cancelled` can stop them. */
  readonly inflight = new Map<Id, AbortController>();
  /** How list changes and resource updates reach this session (its GET stream). */
  listener: Listener | undefined;
  /** Replies still being written, by stream number, so a resumed GET can take over. */
  readonly replies = new Map<number, Reply>();
  private standalone: ServerResponse | undefined;
  private standaloneStream = 0;
  private nextStream = 1;
  private readonly events: LoggedEvent[] = [];
  private readonly seqs = new Map<number, number>();
  private nextClientRequest = 1;
  private readonly clientRequests = new Map<string, ClientRequest>();
  closed = false;

  constructor(
    readonly id: string,
    readonly principalId: string,
    readonly protocolVersion: string,
    readonly capabilities: Record<string, unknown>,
    readonly clientInfo: Record<string, unknown> | undefined,
    private readonly maxEvents: number,
    now: number,
  ) {
    this.lastSeen = now;
  }

  /** A new stream number for a POST answer or the GET stream. */
  openStream(): number {
    return this.nextStream++;
  }

  append(stream: number, frame: RpcMessage): string {
    const seq = (this.seqs.get(stream) ?? 0) + 1;
    this.seqs.set(stream, seq);
    if (this.maxEvents > 0) {
      this.events.push({ stream, seq, frame });
      if (this.events.length > this.maxEvents) this.events.shift();
    }
    return `${stream}-${seq}`;
  }

  /** The stream an event id belongs to, or undefined when it is not one of this session's. */
  streamOf(lastEventId: string): number | undefined {
    const m = /^(\d{1,15})-(\d{1,15})$/.exec(lastEventId);
    if (m === null) return undefined;
    const stream = Number(m[1]);
    return this.seqs.has(stream) ? stream : undefined;
  }

  /**
   * Replays what followed `lastEventId` on its own stream (never another stream's events) onto `res`,
   * and returns that stream's number, or undefined when the id is not one of this session's.
   */
  replay(lastEventId: string, res: ServerResponse): number | undefined {
    const stream = this.streamOf(lastEventId);
    if (stream === undefined) return undefined;
    const after = Number(lastEventId.slice(lastEventId.indexOf("-") + 1));
    openSse(res);
    for (const e of this.events) if (e.stream === stream && e.seq > after) res.write(sseFrame(e.frame, `${e.stream}-${e.seq}`));
    return stream;
  }

  /** Attaches the standalone GET stream; only one at a time. */
  attachStandalone(res: ServerResponse, stream?: number): void {
    if (this.standalone !== undefined && !this.standalone.destroyed) throw new Refusal("stream_conflict");
    this.standalone = res;
    this.standaloneStream = stream ?? this.openStream();
    res.on("close", () => {
      if (this.standalone === res) this.standalone = undefined;
    });
  }

  /** Whether a standalone stream number belongs to the GET stream (resumption of it re-attaches). */
  isStandaloneStream(stream: number): boolean {
    return stream === this.standaloneStream;
  }

  /** Sends a message that belongs to no request (list changes, resource updates) on the GET stream, if one is open. */
  notify(message: RpcNotification): void {
    if (this.standalone === undefined || this.standalone.destroyed) return;
    const id = this.append(this.standaloneStream, message);
    this.standalone.write(sseFrame(message, id));
  }

  /**
   * Sends a server→client request on `reply` and waits up to `timeoutMs` for the client's answer,
   * which arrives as a separate POST (see {@link answer}).
   */
  request(reply: Reply, method: string, params: Params | undefined, timeoutMs: number): Promise<Record<string, unknown>> {
    const id = `bastion-${this.nextClientRequest++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.clientRequests.delete(id);
        reject(new ClientRpcError({ code: -32001, message: `client did not answer ${method} in time` }));
      }, timeoutMs);
      timer.unref();
      this.clientRequests.set(id, { resolve, reject, timer });
      reply.send(params === undefined ? { jsonrpc: "2.0", id, method } : { jsonrpc: "2.0", id, method, params });
    });
  }

  /** Takes the client's answer to a server→client request; false when no such request is waiting. */
  answer(id: Id | null, result: Record<string, unknown> | undefined, error: { code: number; message: string; data?: unknown } | undefined): boolean {
    const key = String(id);
    const pending = this.clientRequests.get(key);
    if (pending === undefined) return false;
    this.clientRequests.delete(key);
    clearTimeout(pending.timer);
    if (error !== undefined) pending.reject(new ClientRpcError(error));
    else pending.resolve(result ?? {});
    return true;
  }

  /** Ends the session: streams closed, calls in flight cancelled, waiting requests failed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.standalone?.end();
    for (const c of this.inflight.values()) c.abort();
    for (const r of this.clientRequests.values()) {
      clearTimeout(r.timer);
      r.reject(new ClientRpcError({ code: -32001, message: "session ended" }));
    }
    this.clientRequests.clear();
  }
}

/**
 * All live sessions. Ids are 256 random bits (base64url), unguessable and never reused. An idle
 * session is evicted after `idleMs`; when `maxSessions` are open, the least recently used goes.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;
  /** Called for each session the store ends on its own (idle or evicted), for the audit log. */
  onExpired: (session: Session, why: "idle" | "evicted") => void = () => undefined;

  constructor(
    private readonly idleMs: number,
    private readonly maxSessions: number,
    private readonly maxEvents: number,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(idleMs, 60_000));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  create(principalId: string, protocolVersion: string, capabilities: Record<string, unknown>, clientInfo: Record<string, unknown> | undefined): Session {
    if (this.sessions.size >= this.maxSessions) this.evictOldest();
    const id = randomBytes(32).toString("base64url");
    const session = new Session(id, principalId, protocolVersion, capabilities, clientInfo, this.maxEvents, this.now());
    this.sessions.set(id, session);
    return session;
  }

  /** The live session with this id, touched; undefined when unknown, ended or idle too long. */
  get(id: string): Session | undefined {
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    const now = this.now();
    if (now - session.lastSeen > this.idleMs) {
      this.end(session, "idle");
      return undefined;
    }
    session.lastSeen = now;
    return session;
  }

  /** Ends a session at the client's request (DELETE). */
  delete(session: Session): void {
    this.sessions.delete(session.id);
    session.close();
  }

  /** Every live session (broadcasts). */
  all(): IterableIterator<Session> {
    return this.sessions.values();
  }

  closeAll(): void {
    clearInterval(this.sweeper);
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
  }

  /** Ends every session idle longer than the limit. */
  sweep(): void {
    const now = this.now();
    for (const s of this.sessions.values()) if (now - s.lastSeen > this.idleMs) this.end(s, "idle");
  }

  private evictOldest(): void {
    let oldest: Session | undefined;
    for (const s of this.sessions.values()) if (oldest === undefined || s.lastSeen < oldest.lastSeen) oldest = s;
    if (oldest !== undefined) this.end(oldest, "evicted");
  }

  private end(session: Session, why: "idle" | "evicted"): void {
    this.sessions.delete(session.id);
    session.close();
    this.onExpired(session, why);
  }
}
