// Session-era sessions through the gateway: minted ids, independence, DELETE, Last-Event-ID resumption and the standalone GET stream.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtureStdio, startTestGateway, until, upstreamToolCalls, type TestGateway } from "./helpers/harness.ts";
import { Sse, type Event, type Json } from "./helpers/sse.ts";

let gw: TestGateway;

beforeAll(async () => {
  // pin: off — a test below adds a tool at runtime to see list_changed; with pinning on it would be withheld, and nothing visible would change.
  gw = await startTestGateway({ upstreams: { fixture: fixtureStdio({ pin: "off" }) } });
});
afterAll(async () => {
  await gw.close();
});

// ---- raw session-era wire helpers ------------------------------------------------------------

const VERSION = "2025-11-25";

function headers(sid?: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...(sid === undefined ? {} : { "mcp-session-id": sid, "mcp-protocol-version": VERSION }),
    ...extra,
  };
}

/** initialize + notifications/initialized; returns the session id the gateway minted. */
async function openSession(capabilities: Json = {}): Promise<string> {
  const res = await fetch(gw.url, {
    method: "POST",
    headers: headers(),
    body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: VERSION, capabilities, clientInfo: { name: "raw", version: "1" } } }),
  });
  expect(res.status).toBe(200);
  await res.text();
  const sid = res.headers.get("mcp-session-id");
  if (sid === null) throw new Error("initialize answered without Mcp-Session-Id");
  const ack = await fetch(gw.url, { method: "POST", headers: headers(sid), body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
  expect(ack.status).toBe(202);
  return sid;
}

const params = (e: Event): Json => (e.message["params"] ?? {}) as Json;
const isProgress = (token: string) => (e: Event) => e.message["method"] === "notifications/progress" && params(e)["progressToken"] === token;

// ---- tests -------------------------------------------------------------------------------------

describe("session ids", () => {
  it("are gateway-minted, at least 256 bits of base64url, and new for every initialize", async () => {
    const ids = await Promise.all([1, 2, 3, 4, 5].map(() => openSession()));
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(Buffer.from(id, "base64url").length).toBeGreaterThanOrEqual(32);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("is required after initialize (400) and an unknown one is 404", async () => {
    const missing = await fetch(gw.url, { method: "POST", headers: headers(undefined, { "mcp-protocol-version": VERSION }), body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) });
    expect(missing.status).toBe(400);
    const unknown = await fetch(gw.url, { method: "POST", headers: headers("A".repeat(43)), body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: number } }).error.code).toBe(-32001);
  });
});

describe("two SDK v1 clients", () => {
  it("get independent sessions: their own ids and log levels, and one's end leaves the other alive", async () => {
    const connect = async (): Promise<{ client: Client; transport: StreamableHTTPClientTransport; logs: string[] }> => {
      const client = new Client({ name: "independent", version: "1.0.0" }, { capabilities: {} });
      const logs: string[] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(String(n.params.data)));
      const transport = new StreamableHTTPClientTransport(new URL(gw.url));
      await client.connect(transport);
      return { client, transport, logs };
    };
    const a = await connect();
    const b = await connect();
    expect(a.transport.sessionId).toBeDefined();
    expect(a.transport.sessionId).not.toBe(b.transport.sessionId);

    // A raises its threshold above info, B lowers it to debug: each session keeps its own.
    // (One after the other: a stdio upstream's log lines name no request, so two calls in flight
    // make them unattributable, and the gateway rightly drops them rather than guess.)
    await a.client.setLoggingLevel("error");
    await b.client.setLoggingLevel("debug");
    const ra = await a.client.callTool({ name: "fixture.test_tool_with_logging", arguments: {} });
    const rb = await b.client.callTool({ name: "fixture.test_tool_with_logging", arguments: {} });
    expect(ra.isError).toBeFalsy();
    expect(rb.isError).toBeFalsy();
    expect(a.logs).toEqual([]);
    expect(b.logs).toEqual(["Tool execution started", "Tool processing data", "Tool execution completed"]);

    await a.transport.terminateSession();
    const gone = await fetch(gw.url, { method: "POST", headers: headers(a.transport.sessionId ?? "x"), body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list" }) });
    expect(gone.status).toBe(404);
    const still = await b.client.callTool({ name: "fixture.echo", arguments: { message: "still here" } });
    expect(still.content).toEqual([{ type: "text", text: "Echo: still here" }]);
    await a.client.close();
    await b.client.close();
  });
});

describe("DELETE", () => {
  it("ends the session: the next POST, GET and DELETE get 404", async () => {
    const sid = await openSession();
    const ok = await fetch(gw.url, { method: "POST", headers: headers(sid), body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) });
    expect(ok.status).toBe(200);
    await ok.text();

    const del = await fetch(gw.url, { method: "DELETE", headers: headers(sid) });
    expect(del.status).toBe(200);

    const post = await fetch(gw.url, { method: "POST", headers: headers(sid), body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }) });
    expect(post.status).toBe(404);
    expect(((await post.json()) as { error: { code: number } }).error.code).toBe(-32001);
    const get = await fetch(gw.url, { method: "GET", headers: headers(sid, { accept: "text/event-stream" }) });
    expect(get.status).toBe(404);
    await get.text();
    const again = await fetch(gw.url, { method: "DELETE", headers: headers(sid) });
    expect(again.status).toBe(404);
  });

  it("cancels the session's calls in flight, upstream too", async () => {
    const cancelled = async (): Promise<number> => (await upstreamToolCalls(gw.url, "fixture.stats"))["sleep:cancelled"] ?? 0;
    const before = await cancelled();
    const sid = await openSession();
    const res = await fetch(gw.url, {
      method: "POST",
      headers: headers(sid),
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "fixture.sleep", arguments: { ms: 10_000 }, _meta: { progressToken: "d" } } }),
    });
    const stream = new Sse(res);
    await stream.waitFor(isProgress("d"), "the sleep to start");
    const del = await fetch(gw.url, { method: "DELETE", headers: headers(sid) });
    expect(del.status).toBe(200);
    await until(async () => (await cancelled()) > before, 5000, "the fixture to count a cancelled sleep");
    await until(() => stream.ended, 5000, "the call's stream to end");
  });

  it("closes the session's open GET stream", async () => {
    const sid = await openSession();
    const get = await fetch(gw.url, { method: "GET", headers: headers(sid, { accept: "text/event-stream" }) });
    expect(get.status).toBe(200);
    const stream = new Sse(get);
    await fetch(gw.url, { method: "DELETE", headers: headers(sid) });
    await until(() => stream.ended, 5000, "the GET stream to end after DELETE");
  });
});

describe("resumability (Last-Event-ID)", () => {
  it("replays the rest of a dropped POST stream, then continues it live to the final result, with nothing of another stream", async () => {
    const sid = await openSession();
    // Another stream of the same session is busy at the same time: its events must never appear in the replay.
    const otherCall = fetch(gw.url, {
      method: "POST",
      headers: headers(sid),
      body: JSON.stringify({ jsonrpc: "2.0", id: "other", method: "tools/call", params: { name: "fixture.sleep", arguments: { ms: 500 }, _meta: { progressToken: "other-stream" } } }),
    });

    const abort = new AbortController();
    const res = await fetch(gw.url, {
      method: "POST",
      headers: headers(sid),
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "fixture.sleep", arguments: { ms: 600 }, _meta: { progressToken: "resume-me" } } }),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const first = new Sse(res);
    const seen = await first.waitFor((e) => isProgress("resume-me")(e) && e.id !== undefined, "a first progress event with an id");
    abort.abort(); // the connection drops; the call goes on upstream
    await until(() => first.ended, 5000, "the aborted stream to end");
    const seenIds = new Set(first.events.map((e) => e.id));
    const lastSeen = first.events.at(-1) as Event;
    const lastProgress = Math.max(...first.events.filter(isProgress("resume-me")).map((e) => Number(params(e)["progress"])));
    expect(seen.id).toBeDefined();

    await new Promise((r) => setTimeout(r, 250)); // events keep coming while nobody listens
    const resumed = await fetch(gw.url, { method: "GET", headers: headers(sid, { accept: "text/event-stream", "last-event-id": String(lastSeen.id) }) });
    expect(resumed.status).toBe(200);
    const rest = new Sse(resumed);
    const final = await rest.waitFor((e) => e.message["id"] === 7, "the final result");
    await until(() => rest.ended, 5000, "the resumed stream to end after the result");

    expect((final.message["result"] as { content: unknown }).content).toEqual([{ type: "text", text: "slept 600" }]);
    // Everything replayed belongs to this request: its progress (after what was seen) and its result.
    for (const e of rest.events) {
      expect(e.id).toBeDefined();
      expect(seenIds.has(e.id)).toBe(false);
      expect(e.message["id"] === 7 || isProgress("resume-me")(e)).toBe(true);
    }
    const progress = rest.events.filter(isProgress("resume-me")).map((e) => Number(params(e)["progress"]));
    expect(progress.length).toBeGreaterThan(0); // at least the ones sent while disconnected
    expect(progress[0]).toBeGreaterThan(lastProgress);
    expect([...progress].sort((x, y) => x - y)).toEqual(progress);
    expect(new Set(rest.events.map((e) => e.id)).size).toBe(rest.events.length);

    const other = await otherCall;
    expect(await other.text()).toContain("slept 500");
  });

  it("replays a stream whose call already finished, result included, and ends it", async () => {
    const sid = await openSession();
    const abort = new AbortController();
    const res = await fetch(gw.url, {
      method: "POST",
      headers: headers(sid),
      body: JSON.stringify({ jsonrpc: "2.0", id: "late", method: "tools/call", params: { name: "fixture.sleep", arguments: { ms: 250 }, _meta: { progressToken: 42 } } }),
      signal: abort.signal,
    });
    const first = new Sse(res);
    const seen = await first.waitFor((e) => e.message["method"] === "notifications/progress", "a first progress event");
    abort.abort();
    expect(params(seen)["progressToken"]).toBe(42); // the caller's own token, number kept a number
    await new Promise((r) => setTimeout(r, 600)); // the call ends while nobody listens

    const resumed = await fetch(gw.url, { method: "GET", headers: headers(sid, { accept: "text/event-stream", "last-event-id": String(seen.id) }) });
    expect(resumed.status).toBe(200);
    const rest = new Sse(resumed);
    await until(() => rest.ended, 5000, "the replay to end");
    const last = rest.events.at(-1);
    expect(last?.message["id"]).toBe("late");
    expect((last?.message["result"] as { content: unknown }).content).toEqual([{ type: "text", text: "slept 250" }]);
    for (const e of rest.events.slice(0, -1)) expect(params(e)["progressToken"]).toBe(42);
  });

  it("refuses a Last-Event-ID that names no stream of the session", async () => {
    const sid = await openSession();
    const res = await fetch(gw.url, { method: "GET", headers: headers(sid, { accept: "text/event-stream", "last-event-id": "999-1" }) });
    expect(res.status).toBe(400);
    await res.text();
  });
});

describe("standalone GET stream", () => {
  it("receives list_changed and is the only one of its session", async () => {
    const sid = await openSession();
    const get = await fetch(gw.url, { method: "GET", headers: headers(sid, { accept: "text/event-stream" }) });
    expect(get.status).toBe(200);
    const stream = new Sse(get);

    const second = await fetch(gw.url, { method: "GET", headers: headers(sid, { accept: "text/event-stream" }) });
    expect(second.status).toBe(409);
    await second.text();

    const trigger = await fetch(gw.url, {
      method: "POST",
      headers: headers(sid),
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "fixture.test_trigger_tool_change", arguments: {} } }),
    });
    expect(trigger.status).toBe(200);
    await trigger.text();
    const changed = await stream.waitFor((e) => e.message["method"] === "notifications/tools/list_changed", "tools/list_changed on the GET stream");
    expect(changed.id).toBeDefined();
    // A notification belongs to no request: no id, nothing but the method (and at most empty params).
    expect(changed.message["id"]).toBeUndefined();

    // Put the fixture back for the other tests of this file.
    const back = await fetch(gw.url, {
      method: "POST",
      headers: headers(sid),
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "fixture.test_trigger_tool_change", arguments: {} } }),
    });
    await back.text();
    await stream.waitFor((e) => e.message["method"] === "notifications/tools/list_changed" && e !== changed, "the second list_changed");
    await fetch(gw.url, { method: "DELETE", headers: headers(sid) });
  });
});

describe("session limits", () => {
  let small: TestGateway;
  beforeAll(async () => {
    small = await startTestGateway({ server: { limits: { maxSessions: 2 } }, upstreams: {} });
  });
  afterAll(async () => {
    await small.close();
  });

  const init = async (): Promise<string> => {
    const res = await fetch(small.url, {
      method: "POST",
      headers: headers(),
      body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: "raw", version: "1" } } }),
    });
    await res.text();
    return res.headers.get("mcp-session-id") as string;
  };
  const status = async (sid: string): Promise<number> => {
    const res = await fetch(small.url, { method: "POST", headers: headers(sid), body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }) });
    await res.text();
    return res.status;
  };

  it("at maxSessions, a new session evicts the least recently used one", async () => {
    const a = await init();
    await new Promise((r) => setTimeout(r, 5));
    const b = await init();
    await new Promise((r) => setTimeout(r, 5));
    expect(await status(a)).toBe(200); // a is now more recent than b
    await new Promise((r) => setTimeout(r, 5));
    const c = await init();
    expect(await status(b)).toBe(404);
    expect(await status(a)).toBe(200);
    expect(await status(c)).toBe(200);
    expect(small.gateway.sessions.size).toBe(2);
  });
});
