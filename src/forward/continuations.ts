// Input-required round trips across eras: sealed `requestState` tokens, and session-era upstream calls parked while a 2026-07-28 client answers.
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from "node:crypto";
import { Refusal } from "../errors/index.ts";
import type { RpcNotification } from "../jsonrpc/index.ts";
import type { ServerRequest } from "../upstream/index.ts";

/**
 * What a `requestState` token the gateway hands out stands for. `pass`: a 2026-07-28 upstream's
 * own state, carried for it; `parked`: a session-era upstream call waiting in this process.
 * Both are bound to the principal, method and target they were issued for.
 */
export type StatePayload =
  | { k: "pass"; u: string; s: string | undefined; p: string; m: string; t: string; e: number }
  | { k: "parked"; id: string; p: string; m: string; t: string; e: number };

/** What a parked call has to say when the client comes back. */
export type ParkedOutcome =
  | { kind: "result"; result: Record<string, unknown> }
  | { kind: "error"; error: unknown }
  | { kind: "input"; requests: Record<string, ServerRequest> };

interface Ask {
  request: ServerRequest;
  resolve: (result: Record<string, unknown>) => void;
  reject: (err: Error) => void;
}

/**
 * A session-era upstream call (which asks its questions as server→client requests) kept open
 * while a 2026-07-28 client (which answers them by re-issuing its request) goes back and forth.
 */
export class ParkedCall {
  readonly abort = new AbortController();
  /** The client request currently waiting on this call (each round trip is a new one): where progress and logs go. */
  notify: ((n: RpcNotification) => void) | undefined;
  private outcome: ParkedOutcome | undefined;
  private readonly asks = new Map<string, Ask>();
  private nextKey = 1;
  /** Every round trip waiting on this call (a client may re-send one while another waits): all are woken. */
  private readonly waiters = new Set<() => void>();
  private expiry: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    private readonly ttlMs: number,
    private readonly onExpire: () => void,
  ) {}

  /** Follows the upstream call to its end. */
  run(call: Promise<Record<string, unknown>>): void {
    call.then(
      (result) => this.settle({ kind: "result", result }),
      (error: unknown) => this.settle({ kind: "error", error }),
    );
  }

  /** The upstream asks the client something: queued until the client's next round trip answers it. */
  ask(request: ServerRequest): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.asks.set(`input-${this.nextKey++}`, { request, resolve, reject });
      this.wakeAll();
    });
  }

  /** Ends the call for the client with `error` (e.g. a capability it lacks) and stops the upstream call. */
  fail(error: Error): void {
    if (this.outcome !== undefined) return;
    this.settle({ kind: "error", error });
    this.abort.abort();
  }

  /** Answers the questions the client answered (by key); unknown keys are ignored. */
  answer(responses: Record<string, unknown>): void {
    for (const [key, value] of Object.entries(responses)) {
      const ask = this.asks.get(key);
      if (ask === undefined || typeof value !== "object" || value === null) continue;
      this.asks.delete(key);
      ask.resolve(value as Record<string, unknown>);
    }
  }

  /** Waits until the call ends or has unanswered questions; while waiting, `signal` aborting cancels the call. */
  async next(signal: AbortSignal): Promise<ParkedOutcome> {
    if (this.expiry !== undefined) clearTimeout(this.expiry);
    const onAbort = (): void => this.abort.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    let waiter: (() => void) | undefined;
    try {
      while (this.outcome === undefined && this.asks.size === 0)
        await new Promise<void>((r) => {
          waiter = r;
          this.waiters.add(r);
        });
    } finally {
      signal.removeEventListener("abort", onAbort);
      if (waiter !== undefined) this.waiters.delete(waiter);
    }
    if (this.outcome !== undefined) return this.outcome;
    this.expiry = setTimeout(() => this.expire(), this.ttlMs);
    this.expiry.unref();
    const requests: Record<string, ServerRequest> = {};
    for (const [key, ask] of this.asks) requests[key] = ask.request;
    return { kind: "input", requests };
  }

  private settle(outcome: ParkedOutcome): void {
    this.outcome = outcome;
    for (const ask of this.asks.values()) ask.reject(new Error("the call ended"));
    this.asks.clear();
    this.wakeAll();
  }

  private wakeAll(): void {
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const w of waiting) w();
  }

  private expire(): void {
    this.abort.abort();
    for (const ask of this.asks.values()) ask.reject(new Error("the client did not come back in time"));
    this.asks.clear();
    this.onExpire();
  }
}

/** Issues and redeems `requestState` tokens: AES-256-GCM sealed under a key that lives only in this process. */
export class Continuations {
  private readonly key = randomBytes(32);
  private readonly parked = new Map<string, ParkedCall>();
  /**
   * Pass-through tokens already redeemed, by IV (not by token text: base64url decoding ignores
   * some trailing characters, so two spellings open the same token), until they would expire anyway.
   */
  private readonly spent = new Map<string, number>();

  constructor(private readonly ttlMs: number) {}

  /** A new parked call, registered until it ends or expires. */
  park(): ParkedCall {
    const id = randomUUID();
    const call = new ParkedCall(id, this.ttlMs, () => this.parked.delete(id));
    this.parked.set(id, call);
    return call;
  }

  /** Forgets a parked call that has ended. */
  release(call: ParkedCall): void {
    this.parked.delete(call.id);
  }

  get parkedCount(): number {
    return this.parked.size;
  }

  /** A token for `payload` (without its expiry, which is added here). */
  seal(payload: DistributiveOmit<StatePayload, "e">): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv, { authTagLength: 16 });
    const plain = Buffer.from(JSON.stringify({ ...payload, e: Date.now() + this.ttlMs }));
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString("base64url");
  }

  /**
   * Redeems a token for the same principal, method and target it was issued for. Anything else —
   * forged, altered, expired, another caller's, another tool's — is the same refusal.
   */
  open(token: unknown, principal: string, method: string, target: string): { pass: Extract<StatePayload, { k: "pass" }>; spend: () => void } | { parked: ParkedCall } {
    const opened = typeof token === "string" && token.length < 65536 ? this.decrypt(token) : undefined;
    const payload = opened?.payload;
    if (opened === undefined || payload === undefined || payload.p !== principal || payload.m !== method || payload.t !== target || payload.e < Date.now())
      throw new Refusal("input_state_invalid", { reason: "requestState failed to open or belongs to another caller, method or target" });
    if (payload.k === "pass") {
      if (this.spent.has(opened.iv)) throw new Refusal("input_state_invalid", { reason: "requestState was already redeemed" });
      return { pass: payload, spend: () => this.spend(opened.iv, payload.e) };
    }
    const call = this.parked.get(payload.id);
    if (call === undefined) throw new Refusal("input_state_invalid", { reason: "the parked call has ended or expired" });
    return { parked: call };
  }

  /** A token is good for one round trip: once the upstream answered it, it opens no more. */
  private spend(iv: string, expiry: number): void {
    const now = Date.now();
    if (this.spent.size > 10_000) for (const [k, e] of this.spent) if (e < now) this.spent.delete(k);
    this.spent.set(iv, expiry);
  }

  private decrypt(token: string): { payload: StatePayload; iv: string } | undefined {
    const raw = Buffer.from(token, "base64url");
    if (raw.length < 12 + 16 + 2) return undefined;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12), { authTagLength: 16 });
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      const plain = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
      // The gateway's own sealed bytes, authenticated by GCM above: not client input.
      // eslint-disable-next-line no-restricted-properties
      return { payload: JSON.parse(plain.toString("utf8")) as StatePayload, iv: raw.subarray(0, 12).toString("hex") };
    } catch {
      return undefined;
    }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
