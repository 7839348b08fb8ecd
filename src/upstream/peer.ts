// One JSON-RPC conversation with an upstream: gateway-owned ids, progress tokens and cancellation, and which caller each upstream message belongs to.
import { Refusal } from "../errors/index.ts";
import type { Id, Params, RpcErrorObject, RpcMessage, RpcNotification, RpcRequest, RpcResponse } from "../jsonrpc/index.ts";

/** A request the upstream sent to the gateway (sampling, elicitation, roots), to be answered by the caller it belongs to. */
export interface ServerRequest {
  method: string;
  params: Params | undefined;
}

/** What a caller of {@link Peer.request} gives and wants back while its request is in flight. */
export interface CallHooks {
  /** Aborting cancels the upstream request (notifications/cancelled, or closing the stream). */
  signal?: AbortSignal | undefined;
  /** Milliseconds before the call fails with `upstream_unavailable`; progress resets the clock; 0 waits for ever. */
  timeoutMs: number;
  /** Progress (with the caller's own token restored) and log messages that belong to this call. */
  onNotification?: ((n: RpcNotification) => void) | undefined;
  /** A server→client request that belongs to this call; its promise is the answer sent upstream. */
  onRequest?: ((r: ServerRequest) => Promise<Record<string, unknown>>) | undefined;
  /** The gateway's own long-lived call (a subscription stream): never the owner of unattributed traffic. */
  internal?: boolean;
}

/** An upstream's JSON-RPC error, carried to the caller as it was given. */
export class UpstreamRpcError extends Error {
  constructor(readonly error: RpcErrorObject) {
    super(error.message);
  }
}

/** A request of the gateway's in flight upstream. */
export class PendingCall {
  timer: NodeJS.Timeout | undefined;
  progressToken: string | undefined;
  clientProgressToken: Id | undefined;
  settled = false;
  /** Server→client requests of this call still waiting for the client; a call blocked on one cannot be sending another. */
  asking = 0;
  constructor(
    readonly id: number,
    readonly method: string,
    readonly hooks: CallHooks,
    readonly resolve: (r: Record<string, unknown>) => void,
    readonly reject: (e: Error) => void,
  ) {}
  /** Whether this call came from a client (and may receive server→client traffic), rather than the gateway itself. */
  get attributable(): boolean {
    return this.hooks.internal !== true && (this.hooks.onNotification !== undefined || this.hooks.onRequest !== undefined);
  }
}

/** How the peer reaches the wire: `send` one message, optionally as part of a call (HTTP posts it; stdio writes a line). */
export interface PeerWire {
  send(message: RpcMessage, call?: PendingCall): void;
  /** Called when a call is cancelled by its caller; stdio and legacy HTTP send notifications/cancelled, modern HTTP closes the stream. */
  cancel(call: PendingCall, reason: string): void;
}

/** Messages that belong to no call: list changes, resource updates, logs with no single owner. */
export type UnattributedHandler = (message: RpcNotification | RpcRequest) => void;

/**
 * The gateway's half of one upstream conversation. Ids are the gateway's own counter, so callers'
 * ids never collide; progress tokens are replaced by the gateway's own and restored on the way back.
 */
export class Peer {
  private nextId = 1;
  private nextProgress = 1;
  private readonly pending = new Map<number, PendingCall>();
  private readonly byProgress = new Map<string, PendingCall>();
  private attributableCount = 0;

  constructor(
    private readonly wire: PeerWire,
    private readonly onUnattributed: UnattributedHandler,
    private readonly describe: () => string,
  ) {}

  /** Sends a request and resolves with its result; rejects with {@link UpstreamRpcError} or an `upstream_unavailable` {@link Refusal}. */
  request(method: string, params: Params | undefined, hooks: CallHooks): Promise<Record<string, unknown>> {
    if (hooks.signal?.aborted) return Promise.reject(cancelled());
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const call = new PendingCall(id, method, hooks, resolve, reject);
      let outParams = params;
      const meta = params?.["_meta"] as Record<string, unknown> | undefined;
      const token = meta?.["progressToken"];
      if (token !== undefined && (typeof token === "string" || typeof token === "number")) {
        call.clientProgressToken = token;
        call.progressToken = `bastion-${this.nextProgress++}`;
        this.byProgress.set(call.progressToken, call);
        outParams = { ...params, _meta: { ...meta, progressToken: call.progressToken } };
      }
      this.pending.set(id, call);
      if (call.attributable) this.attributableCount++;
      this.arm(call);
      hooks.signal?.addEventListener("abort", () => this.abort(call, "cancelled by the client"), { once: true });
      const message: RpcRequest = outParams === undefined ? { jsonrpc: "2.0", id, method } : { jsonrpc: "2.0", id, method, params: outParams };
      try {
        this.wire.send(message, call);
      } catch (err) {
        this.settle(call);
        reject(unavailable(`send failed: ${(err as Error).message}`));
      }
    });
  }

  /** Sends a notification (cancellations, `notifications/initialized`). */
  notify(method: string, params?: Params): void {
    this.wire.send(params === undefined ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", method, params });
  }

  /** Number of client calls in flight; used to attribute messages that name no call. */
  get inFlight(): number {
    return this.attributableCount;
  }

  /**
   * Takes one message from the upstream. `carrier` is the call whose HTTP stream carried it, when
   * the transport knows; otherwise progress is matched by token and other traffic belongs to the
   * single client call in flight, or to nobody.
   */
  receive(message: RpcMessage, carrier?: PendingCall): void {
    if (!("method" in message)) return this.onResponse(message);
    if ("id" in message) return this.onServerRequest(message, carrier);
    if (message.method === "notifications/progress") {
      const token = message.params?.["progressToken"];
      const call = typeof token === "string" ? this.byProgress.get(token) : undefined;
      if (call === undefined || call.clientProgressToken === undefined) return;
      this.arm(call); // progress proves the upstream is alive: restart the timeout
      call.hooks.onNotification?.({ ...message, params: { ...message.params, progressToken: call.clientProgressToken } });
      return;
    }
    if (message.method === "notifications/message") {
      const owner = carrier ?? this.soleCall();
      if (owner?.hooks.onNotification !== undefined) return owner.hooks.onNotification(message);
    }
    this.onUnattributed(message);
  }

  /** Fails one call: its transport could not deliver it or lost its answer. */
  fail(call: PendingCall, reason: string): void {
    if (call.settled) return;
    this.settle(call);
    call.reject(unavailable(reason));
  }

  /** Fails every call in flight: the connection is gone. */
  failAll(reason: string): void {
    for (const call of [...this.pending.values()]) {
      this.settle(call);
      call.reject(unavailable(reason));
    }
  }

  private onResponse(message: RpcResponse): void {
    const call = typeof message.id === "number" ? this.pending.get(message.id) : undefined;
    if (call === undefined) return; // late answer to a cancelled or timed-out call
    this.settle(call);
    // Upstream answers are checked for shape like client messages: a malformed one is an error, never a crash later.
    const error: unknown = message.error;
    const result: unknown = message.result;
    if (error !== undefined) {
      const ok = typeof error === "object" && error !== null && typeof (error as RpcErrorObject).code === "number" && typeof (error as RpcErrorObject).message === "string";
      call.reject(new UpstreamRpcError(ok ? (error as RpcErrorObject) : { code: -32603, message: "upstream sent a malformed error" }));
    } else if (typeof result === "object" && result !== null && !Array.isArray(result)) call.resolve(result as Record<string, unknown>);
    else call.reject(new UpstreamRpcError({ code: -32603, message: "upstream sent a malformed result" }));
  }

  private onServerRequest(message: RpcRequest, carrier: PendingCall | undefined): void {
    const owner = carrier ?? this.byToken(message) ?? this.soleCall();
    if (owner?.hooks.onRequest === undefined) {
      if (owner === undefined && this.onUnattributedRequest(message)) return;
      this.answer(message.id, undefined, {
        code: -32603,
        message: "mcp-bastion cannot tell which client this request is for; it is answered only during a single client call",
      });
      return;
    }
    owner.asking++;
    owner.hooks.onRequest({ method: message.method, params: message.params }).then(
      (result) => {
        owner.asking--;
        this.answer(message.id, result);
      },
      (err: unknown) => {
        owner.asking--;
        this.answer(message.id, undefined, toRpcError(err));
      },
    );
  }

  /** Some servers name the call a request belongs to by repeating its progress token in `_meta`. */
  private byToken(message: RpcRequest): PendingCall | undefined {
    const token = (message.params?.["_meta"] as Record<string, unknown> | undefined)?.["progressToken"];
    return typeof token === "string" ? this.byProgress.get(token) : undefined;
  }

  /** `ping` from the upstream needs no client: the gateway answers it. */
  private onUnattributedRequest(message: RpcRequest): boolean {
    if (message.method !== "ping") return false;
    this.answer(message.id, {});
    return true;
  }

  private answer(id: Id, result: Record<string, unknown> | undefined, error?: RpcErrorObject): void {
    try {
      this.wire.send(error !== undefined ? { jsonrpc: "2.0", id, error } : { jsonrpc: "2.0", id, result: result ?? {} });
    } catch {
      // the connection is gone; the upstream will not wait for this answer
    }
  }

  /**
   * The one client call that can be the source of a message that names none: of the calls in
   * flight, those not blocked waiting for their client. Two or more candidates: nobody — a
   * question must never reach the wrong client.
   */
  private soleCall(): PendingCall | undefined {
    if (this.attributableCount === 0) return undefined;
    let found: PendingCall | undefined;
    for (const call of this.pending.values()) {
      if (!call.attributable || call.asking > 0) continue;
      if (found !== undefined) return undefined;
      found = call;
    }
    return found;
  }

  private arm(call: PendingCall): void {
    if (call.timer !== undefined) clearTimeout(call.timer);
    if (call.hooks.timeoutMs <= 0) return;
    call.timer = setTimeout(() => this.abort(call, `timed out after ${call.hooks.timeoutMs} ms`, true), call.hooks.timeoutMs);
    call.timer.unref();
  }

  private abort(call: PendingCall, reason: string, timedOut = false): void {
    if (call.settled) return;
    this.settle(call);
    try {
      this.wire.cancel(call, reason);
    } catch {
      // cancelling is best effort: the call is already settled for the caller
    }
    call.reject(timedOut ? unavailable(`${this.describe()}: ${reason}`) : cancelled());
  }

  private settle(call: PendingCall): void {
    if (call.settled) return;
    call.settled = true;
    if (call.timer !== undefined) clearTimeout(call.timer);
    this.pending.delete(call.id);
    if (call.progressToken !== undefined) this.byProgress.delete(call.progressToken);
    if (call.attributable) this.attributableCount--;
  }
}

/** The caller went away: nobody will read this answer. */
export class CallCancelled extends Error {
  constructor() {
    super("request cancelled");
  }
}

const cancelled = (): CallCancelled => new CallCancelled();
const unavailable = (reason: string): Refusal => new Refusal("upstream_unavailable", { reason, data: { reason: "upstream_unavailable" } });

/** The JSON-RPC error a caller's failure becomes when answered upstream; internal details stay inside. */
export function toRpcError(err: unknown): RpcErrorObject {
  if (err instanceof UpstreamRpcError) return err.error;
  if (err instanceof Refusal) return err.toRpcError();
  return { code: -32603, message: "request failed" };
}
