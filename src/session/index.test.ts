// SessionStore and Session with an injected clock: ids, idle expiry, LRU eviction, the bounded event log, replay and the standalone stream.
import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { Refusal } from "../errors/index.ts";
import type { RpcMessage } from "../jsonrpc/index.ts";
import { Reply } from "../protocol/stream.ts";
import { ClientRpcError, Session, SessionStore } from "./index.ts";

/** A stand-in for the HTTP response a stream is written to: records what was written. */
class FakeResponse extends EventEmitter {
  readonly chunks: string[] = [];
  status: number | undefined;
  headersSent = false;
  writableEnded = false;
  destroyed = false;
  writeHead(status: number): this {
    this.status = status;
    this.headersSent = true;
    return this;
  }
  flushHeaders(): void {}
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  end(chunk?: string): this {
    if (chunk !== undefined) this.chunks.push(chunk);
    this.writableEnded = true;
    return this;
  }
  /** The client went away. */
  drop(): void {
    this.destroyed = true;
    this.emit("close");
  }
  /** The SSE frames written so far, as [event id, message]. */
  frames(): [string | undefined, RpcMessage][] {
    return this.chunks
      .join("")
      .split("\n\n")
      .filter((b) => b.trim() !== "")
      .map((block) => {
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1] ?? "null";
        return [id, JSON.parse(data) as RpcMessage];
      });
  }
  get res(): ServerResponse {
    return this as unknown as ServerResponse;
  }
}

const note = (n: number): RpcMessage => ({ jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: "t", progress: n } });

/** A clock the test moves by hand. */
function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

const stores: SessionStore[] = [];
function store(idleMs: number, maxSessions: number, maxEvents: number, now: () => number): SessionStore {
  const s = new SessionStore(idleMs, maxSessions, maxEvents, now);
  stores.push(s);
  return s;
}
afterEach(() => {
  for (const s of stores.splice(0)) s.closeAll();
});

describe("SessionStore", () => {
  it("mints ids of 256 random bits in base64url, never the same twice", () => {
    const c = clock();
    const s = store(60_000, 1000, 10, c.now);
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const id = s.create("alice", "2025-11-25", {}, undefined).id;
      expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(id, "base64url")).toHaveLength(32);
      ids.add(id);
    }
    expect(ids.size).toBe(200);
  });

  it("keeps what the session negotiated and who opened it", () => {
    const s = store(60_000, 10, 10, clock().now);
    const session = s.create("alice", "2025-06-18", { sampling: {} }, { name: "c", version: "1" });
    expect(s.get(session.id)).toBe(session);
    expect(session).toMatchObject({ principalId: "alice", protocolVersion: "2025-06-18", capabilities: { sampling: {} }, clientInfo: { name: "c", version: "1" } });
    expect(s.get("no-such-id")).toBeUndefined();
  });

  it("ends a session idle longer than idleMs (on get), and every use resets the idle clock", () => {
    const c = clock();
    const s = store(1000, 10, 10, c.now);
    const expired: [string, string][] = [];
    s.onExpired = (session, why) => void expired.push([session.id, why]);
    const session = s.create("alice", "2025-11-25", {}, undefined);

    c.advance(1000); // exactly the limit: still alive
    expect(s.get(session.id)).toBe(session);
    c.advance(999);
    expect(s.get(session.id)).toBe(session); // touched again
    c.advance(1001);
    expect(s.get(session.id)).toBeUndefined();
    expect(session.closed).toBe(true);
    expect(expired).toEqual([[session.id, "idle"]]);
    expect(s.size).toBe(0);
    expect(s.get(session.id)).toBeUndefined(); // gone for good
  });

  it("sweeps idle sessions without being asked for them", () => {
    const c = clock();
    const s = store(1000, 10, 10, c.now);
    const why: string[] = [];
    s.onExpired = (_session, w) => void why.push(w);
    const idle = s.create("a", "2025-11-25", {}, undefined);
    c.advance(600);
    const busy = s.create("b", "2025-11-25", {}, undefined);
    c.advance(600);
    s.sweep();
    expect(s.size).toBe(1);
    expect(idle.closed).toBe(true);
    expect(busy.closed).toBe(false);
    expect(why).toEqual(["idle"]);
  });

  it("evicts the least recently used session when maxSessions are open", () => {
    const c = clock();
    const s = store(60_000, 3, 10, c.now);
    const evicted: string[] = [];
    s.onExpired = (session, why) => void evicted.push(`${session.principalId}:${why}`);
    const a = s.create("a", "2025-11-25", {}, undefined);
    c.advance(10);
    const b = s.create("b", "2025-11-25", {}, undefined);
    c.advance(10);
    const d = s.create("d", "2025-11-25", {}, undefined);
    c.advance(10);
    s.get(a.id); // a is now the most recently used; b the least
    c.advance(10);
    const e = s.create("e", "2025-11-25", {}, undefined);
    expect(evicted).toEqual(["b:evicted"]);
    expect(b.closed).toBe(true);
    expect(s.size).toBe(3);
    for (const live of [a, d, e]) expect(s.get(live.id)).toBe(live);
    expect(s.get(b.id)).toBeUndefined();
  });

  it("delete ends the session at the client's request; closeAll ends them all", () => {
    const s = store(60_000, 10, 10, clock().now);
    const a = s.create("a", "2025-11-25", {}, undefined);
    const b = s.create("b", "2025-11-25", {}, undefined);
    s.delete(a);
    expect(a.closed).toBe(true);
    expect(s.get(a.id)).toBeUndefined();
    expect(s.get(b.id)).toBe(b);
    s.closeAll();
    expect(b.closed).toBe(true);
    expect(s.size).toBe(0);
  });
});

describe("Session event log and replay", () => {
  const session = (maxEvents: number): Session => new Session("sid", "alice", "2025-11-25", {}, undefined, maxEvents, 0);

  it("numbers events per stream, so an id names its stream", () => {
    const s = session(10);
    const one = s.openStream();
    const two = s.openStream();
    expect(one).not.toBe(two);
    expect(s.append(one, note(1))).toBe(`${one}-1`);
    expect(s.append(two, note(1))).toBe(`${two}-1`);
    expect(s.append(one, note(2))).toBe(`${one}-2`);
  });

  it("replays only the same stream's events after the given id", () => {
    const s = session(100);
    const one = s.openStream();
    const two = s.openStream();
    for (let i = 1; i <= 4; i++) {
      s.append(one, note(i));
      s.append(two, note(100 + i));
    }
    const res = new FakeResponse();
    expect(s.replay(`${one}-2`, res.res)).toBe(one);
    expect(res.status).toBe(200);
    expect(res.frames()).toEqual([
      [`${one}-3`, note(3)],
      [`${one}-4`, note(4)],
    ]);
  });

  it("replays nothing after the last event, and refuses ids that name no stream of this session", () => {
    const s = session(100);
    const one = s.openStream();
    s.append(one, note(1));
    const res = new FakeResponse();
    expect(s.replay(`${one}-1`, res.res)).toBe(one);
    expect(res.frames()).toEqual([]);
    for (const bad of ["99-1", "", "1", "-1", "1-", "a-1", "1-1-1", " 1-1", "1-1 "]) {
      const r = new FakeResponse();
      expect(s.replay(bad, r.res)).toBeUndefined();
      expect(r.chunks).toEqual([]);
      expect(r.status).toBeUndefined();
    }
  });

  it("keeps at most maxEvents events: the oldest are forgotten", () => {
    const s = session(3);
    const one = s.openStream();
    for (let i = 1; i <= 5; i++) s.append(one, note(i));
    const res = new FakeResponse();
    s.replay(`${one}-0`, res.res);
    expect(res.frames().map(([id]) => id)).toEqual([`${one}-3`, `${one}-4`, `${one}-5`]);
  });

  it("with maxEvents 0 keeps no events but still hands out ids", () => {
    const s = session(0);
    const one = s.openStream();
    expect(s.append(one, note(1))).toBe(`${one}-1`);
    const res = new FakeResponse();
    expect(s.replay(`${one}-0`, res.res)).toBe(one);
    expect(res.frames()).toEqual([]);
  });

  it("a POST reply logs what it writes, including what was written after the client left", () => {
    const s = session(100);
    const stream = s.openStream();
    const res = new FakeResponse();
    const reply = new Reply(res.res, true, {}, { store: s, stream });
    reply.send(note(1));
    res.drop();
    reply.send(note(2));
    reply.finish({ jsonrpc: "2.0", id: 1, result: { done: true } });
    expect(res.frames()).toEqual([[`${stream}-1`, note(1)]]);
    const resumed = new FakeResponse();
    expect(s.replay(`${stream}-1`, resumed.res)).toBe(stream);
    expect(resumed.frames()).toEqual([
      [`${stream}-2`, note(2)],
      [`${stream}-3`, { jsonrpc: "2.0", id: 1, result: { done: true } }],
    ]);
  });
});

describe("Session standalone stream", () => {
  const session = (): Session => new Session("sid", "alice", "2025-11-25", {}, undefined, 100, 0);

  it("allows one at a time: a second is a conflict until the first closes", () => {
    const s = session();
    const first = new FakeResponse();
    s.attachStandalone(first.res);
    const second = new FakeResponse();
    let refusal: unknown;
    try {
      s.attachStandalone(second.res);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(Refusal);
    expect((refusal as Refusal).code).toBe("stream_conflict");
    expect((refusal as Refusal).http).toBe(409);

    first.drop();
    expect(() => s.attachStandalone(second.res)).not.toThrow();
  });

  it("carries notifications that belong to no request, with resumable ids, and drops them when no stream is open", () => {
    const s = session();
    s.notify({ jsonrpc: "2.0", method: "notifications/tools/list_changed" }); // nobody listening: dropped
    const res = new FakeResponse();
    s.attachStandalone(res.res);
    s.notify({ jsonrpc: "2.0", method: "notifications/tools/list_changed" });
    s.notify({ jsonrpc: "2.0", method: "notifications/prompts/list_changed" });
    const frames = res.frames();
    expect(frames.map(([, m]) => ("method" in m ? m.method : undefined))).toEqual(["notifications/tools/list_changed", "notifications/prompts/list_changed"]);
    const [firstId] = frames[0] ?? [];
    const stream = Number(String(firstId).split("-")[0]);
    expect(s.isStandaloneStream(stream)).toBe(true);

    const resumed = new FakeResponse();
    expect(s.replay(String(firstId), resumed.res)).toBe(stream);
    expect(resumed.frames().map(([, m]) => ("method" in m ? m.method : undefined))).toEqual(["notifications/prompts/list_changed"]);
  });

  it("close ends the stream, cancels calls in flight and fails waiting server→client requests", async () => {
    const s = session();
    const res = new FakeResponse();
    s.attachStandalone(res.res);
    const inflight = new AbortController();
    s.inflight.set(1, inflight);
    const post = new FakeResponse();
    const asking = s.request(new Reply(post.res, true), "elicitation/create", { message: "?" }, 60_000);
    s.close();
    expect(res.writableEnded).toBe(true);
    expect(inflight.signal.aborted).toBe(true);
    await expect(asking).rejects.toBeInstanceOf(ClientRpcError);
    expect(s.closed).toBe(true);
  });
});

describe("Session server→client requests", () => {
  const session = (): Session => new Session("sid", "alice", "2025-11-25", {}, undefined, 100, 0);

  it("sends the request on the reply and resolves with the client's answer", async () => {
    const s = session();
    const res = new FakeResponse();
    const asking = s.request(new Reply(res.res, true), "sampling/createMessage", { maxTokens: 5 }, 60_000);
    const [[, sent]] = res.frames() as unknown as [[string, { id: string; method: string }]];
    expect(sent.method).toBe("sampling/createMessage");
    expect(s.answer(sent.id, { model: "m" }, undefined)).toBe(true);
    await expect(asking).resolves.toEqual({ model: "m" });
    expect(s.answer(sent.id, { model: "again" }, undefined)).toBe(false); // answered once only
  });

  it("rejects with the client's error, and ignores answers to nothing asked", async () => {
    const s = session();
    const res = new FakeResponse();
    const asking = s.request(new Reply(res.res, true), "elicitation/create", {}, 60_000);
    const [[, sent]] = res.frames() as unknown as [[string, { id: string }]];
    expect(s.answer("bastion-999", {}, undefined)).toBe(false);
    s.answer(sent.id, undefined, { code: -1, message: "user said no" });
    await expect(asking).rejects.toMatchObject({ error: { code: -1, message: "user said no" } });
  });

  it("gives up when the client does not answer in time", async () => {
    const s = session();
    const res = new FakeResponse();
    await expect(s.request(new Reply(res.res, true), "elicitation/create", {}, 20)).rejects.toMatchObject({ error: { code: -32001 } });
  });
});
