// Notifications through the gateway, both client eras: list changes, resource updates, progress, logging and cancellation.
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as HttpV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixtureHttp, type FixtureHandle } from "../scripts/conformance/cli.ts";
import { fixtureStdio, MODERN_META, modernHeaders, startTestGateway, until, upstreamToolCalls, type TestGateway } from "./helpers/harness.ts";
import { Sse, type Event, type Json } from "./helpers/sse.ts";


/**
 * `fixture`: the conformance fixture over stdio, settled on 2026-07-28 (it owns the test:// resources);
 * `old`: another fixture process pinned to the session era.
 */
let gw: TestGateway;
let fixtureHttp: FixtureHandle;

beforeAll(async () => {
  // pin: off — these tests add and remove a tool at runtime on purpose; with pinning on it would be withheld (test/pinning.test.ts).
  [gw, fixtureHttp] = await Promise.all([startTestGateway({ upstreams: { fixture: fixtureStdio({ pin: "off" }), old: fixtureStdio({ protocol: "legacy", pin: "off" }) } }), startFixtureHttp()]);
});
afterAll(async () => {
  await gw.close();
  await fixtureHttp.close();
});

// ---- helpers -----------------------------------------------------------------------------------

const params = (e: Event | Json): Json => ((("message" in e ? e.message : e) as Json)["params"] ?? {}) as Json;
const method = (name: string) => (e: Event) => e.message["method"] === name;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An SDK v1 client whose standalone GET stream is known to be open: the SDK opens it in the
 * background after `initialized`, so the test's fetch tells when the gateway answered it.
 */
async function v1WithStream(url: string, capabilities: Json = {}): Promise<{ client: ClientV1; transport: HttpV1 }> {
  let streamOpen = false;
  const watching: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (init?.method === "GET" && res.status === 200) streamOpen = true;
    return res;
  };
  const client = new ClientV1({ name: "notifications-v1", version: "1.0.0" }, { capabilities });
  const transport = new HttpV1(new URL(url), { fetch: watching });
  await client.connect(transport);
  await until(() => streamOpen, 5000, "the SDK's GET stream");
  return { client, transport };
}

async function v2(url: string): Promise<ClientV2> {
  const client = new ClientV2({ name: "notifications-v2", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
  await client.connect(new HttpV2(new URL(url)));
  expect(client.getProtocolEra()).toBe("modern");
  return client;
}

/** A raw 2026-07-28 POST; `meta` is merged into the request's `_meta`. */
function modernPost(url: string, id: number | string, rpcMethod: string, p: Json, opts: { name?: string; meta?: Json; signal?: AbortSignal } = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: modernHeaders(rpcMethod, opts.name),
    body: JSON.stringify({ jsonrpc: "2.0", id, method: rpcMethod, params: { ...p, _meta: { ...MODERN_META, ...opts.meta } } }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
}

async function callModern(url: string, tool: string, args: Json = {}): Promise<Json> {
  const res = await modernPost(url, `call-${tool}`, "tools/call", { name: tool, arguments: args }, { name: tool });
  return (await res.json()) as Json;
}

/** Runs a raw session-era initialize and returns the session id. */
async function legacySession(url: string): Promise<string> {
  const h = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  const res = await fetch(url, { method: "POST", headers: h, body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } } }) });
  await res.text();
  const sid = res.headers.get("mcp-session-id") as string;
  await fetch(url, { method: "POST", headers: { ...h, "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" }, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
  return sid;
}

function legacyPost(url: string, sid: string, body: Json, signal?: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" },
    body: JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}

// ---- list changes ------------------------------------------------------------------------------

describe("tools/list_changed", () => {
  for (const upstream of ["fixture", "old"]) {
    it(`reaches a session-era client's GET stream and the next tools/list shows, then hides, ${upstream}.test_dynamic_tool`, async () => {
      const { client } = await v1WithStream(gw.url);
      let changes = 0;
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changes++);
      const dynamic = `${upstream}.test_dynamic_tool`;
      const listed = async (): Promise<boolean> => (await client.listTools()).tools.some((t) => t.name === dynamic);
      expect(await listed()).toBe(false);

      await client.callTool({ name: `${upstream}.test_trigger_tool_change`, arguments: {} });
      await until(() => changes >= 1, 8000, "notifications/tools/list_changed");
      expect(await listed()).toBe(true);
      const called = await client.callTool({ name: dynamic, arguments: {} });
      expect(called.content).toEqual([{ type: "text", text: "dynamic tool called" }]);

      await client.callTool({ name: `${upstream}.test_trigger_tool_change`, arguments: {} });
      await until(() => changes >= 2, 8000, "the second notifications/tools/list_changed");
      expect(await listed()).toBe(false);
      await client.close();
    });
  }

  it("reaches an SDK v2 client through subscriptions/listen", async () => {
    const client = await v2(gw.url);
    let changes = 0;
    client.setNotificationHandler("notifications/tools/list_changed", () => void changes++);
    const subscription = await client.listen({ toolsListChanged: true });
    expect(subscription.honoredFilter).toMatchObject({ toolsListChanged: true });
    await client.callTool({ name: "fixture.test_trigger_tool_change", arguments: {} });
    await until(() => changes >= 1, 8000, "list_changed on the v2 client's listen stream");
    expect((await client.listTools({}, { cacheMode: "refresh" })).tools.map((t) => t.name)).toContain("fixture.test_dynamic_tool");
    await client.callTool({ name: "fixture.test_trigger_tool_change", arguments: {} });
    await until(() => changes >= 2, 8000, "the second list_changed");
    await subscription.close();
    await client.close();
  });
});

describe("subscriptions/listen (raw 2026-07-28)", () => {
  it("acknowledges first, then sends only what was asked for, tagged with the listen request's id", async () => {
    const abort = new AbortController();
    const res = await modernPost(gw.url, "listen-1", "subscriptions/listen", { notifications: { toolsListChanged: true } }, { signal: abort.signal });
    expect(res.status).toBe(200);
    const stream = new Sse(res);
    const ack = await stream.waitFor(() => true, "the first frame");
    expect(ack.message["method"]).toBe("notifications/subscriptions/acknowledged");
    expect(params(ack)["notifications"]).toEqual({ toolsListChanged: true });
    expect((params(ack)["_meta"] as Json)["io.modelcontextprotocol/subscriptionId"]).toBe("listen-1");

    // A prompt change was not asked for: it must not arrive. Wait until the gateway has seen it.
    const promptsBefore = gw.gateway.catalog.list("prompts").length;
    await callModern(gw.url, "fixture.test_trigger_prompt_change");
    await until(() => gw.gateway.catalog.list("prompts").length !== promptsBefore, 8000, "the gateway to notice the prompt change");
    await callModern(gw.url, "fixture.test_trigger_tool_change");
    const changed = await stream.waitFor(method("notifications/tools/list_changed"), "tools/list_changed");
    expect((params(changed)["_meta"] as Json)["io.modelcontextprotocol/subscriptionId"]).toBe("listen-1");
    await sleep(200);
    expect(stream.events.map((e) => e.message["method"])).toEqual(["notifications/subscriptions/acknowledged", "notifications/tools/list_changed"]);
    for (const e of stream.events) expect(e.message["id"]).toBeUndefined();

    abort.abort();
    await callModern(gw.url, "fixture.test_trigger_prompt_change");
    await callModern(gw.url, "fixture.test_trigger_tool_change");
  });

  it("honours only the filters it knows and resources some upstream owns", async () => {
    const abort = new AbortController();
    const res = await modernPost(gw.url, 77, "subscriptions/listen", { notifications: { promptsListChanged: true, resourceSubscriptions: ["test://watched-resource", "nobody://owns-this"], bogus: true } }, { signal: abort.signal });
    const stream = new Sse(res);
    const ack = await stream.waitFor(() => true, "the acknowledgement");
    expect(ack.message["method"]).toBe("notifications/subscriptions/acknowledged");
    expect(params(ack)["notifications"]).toEqual({ promptsListChanged: true, resourceSubscriptions: ["test://watched-resource"] });
    expect((params(ack)["_meta"] as Json)["io.modelcontextprotocol/subscriptionId"]).toBe(77);
    abort.abort();
  });
});

// ---- resource subscriptions -------------------------------------------------------------------

describe("resource updates", () => {
  it("a session-era resources/subscribe gets notifications/resources/updated for that URI", async () => {
    const { client } = await v1WithStream(gw.url);
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await client.subscribeResource({ uri: "test://watched-resource" });
    await client.callTool({ name: "fixture.test_trigger_resource_update", arguments: {} });
    await until(() => updates.length >= 1, 8000, "notifications/resources/updated");
    expect(updates).toEqual(["test://watched-resource"]);
    const read = await client.readResource({ uri: "test://watched-resource" });
    expect(read.contents[0]).toMatchObject({ text: expect.stringMatching(/version \d+/) as unknown });

    await client.unsubscribeResource({ uri: "test://watched-resource" });
    await client.callTool({ name: "fixture.test_trigger_resource_update", arguments: {} });
    await sleep(300);
    expect(updates).toEqual(["test://watched-resource"]);
    await client.close();
  });

  it("a session-era subscriber of an unknown URI is refused", async () => {
    const { client } = await v1WithStream(gw.url);
    await expect(client.subscribeResource({ uri: "nobody://owns-this" })).rejects.toThrow(/Resource not found/);
    await client.close();
  });

  it("a 2026-07-28 listen stream with resourceSubscriptions gets the update, tagged", async () => {
    const abort = new AbortController();
    const res = await modernPost(gw.url, "watch", "subscriptions/listen", { notifications: { resourceSubscriptions: ["test://watched-resource"] } }, { signal: abort.signal });
    const stream = new Sse(res);
    await stream.waitFor(method("notifications/subscriptions/acknowledged"), "the acknowledgement");
    await callModern(gw.url, "fixture.test_trigger_resource_update");
    const updated = await stream.waitFor(method("notifications/resources/updated"), "notifications/resources/updated");
    expect(params(updated)["uri"]).toBe("test://watched-resource");
    expect((params(updated)["_meta"] as Json)["io.modelcontextprotocol/subscriptionId"]).toBe("watch");
    abort.abort();
  });

  describe.each([
    ["a session-era stdio upstream", () => ({ owner: fixtureStdio({ protocol: "legacy" }) })],
    ["a 2026-07-28 HTTP upstream", () => ({ owner: { url: fixtureHttp.url } })],
    ["a session-era HTTP upstream", () => ({ owner: { url: fixtureHttp.url, protocol: "legacy" } })],
  ] as const)("owned by %s", (_label, upstreams) => {
    let own: TestGateway;
    beforeAll(async () => {
      own = await startTestGateway({ upstreams: upstreams() });
    });
    afterAll(async () => {
      await own.close();
    });

    it("reaches a session-era subscriber", async () => {
      const { client } = await v1WithStream(own.url);
      const updates: string[] = [];
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
      await client.subscribeResource({ uri: "test://watched-resource" });
      await client.callTool({ name: "owner.test_trigger_resource_update", arguments: {} });
      await until(() => updates.length >= 1, 8000, "notifications/resources/updated");
      expect(updates).toEqual(["test://watched-resource"]);
      await client.close();
    });
  });
});

// ---- progress ----------------------------------------------------------------------------------

describe("progress", () => {
  for (const upstream of ["fixture", "old"]) {
    it(`reaches a session-era caller with its own token (${upstream})`, async () => {
      const sid = await legacySession(gw.url);
      for (const token of ["my-token", 31337]) {
        const res = await legacyPost(gw.url, sid, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: `${upstream}.test_tool_with_progress`, arguments: {}, _meta: { progressToken: token } } });
        const stream = new Sse(res);
        await stream.waitFor((e) => e.message["id"] === 1, "the result");
        const progress = stream.events.filter(method("notifications/progress")).map((e) => params(e));
        expect(progress.map((p) => p["progress"])).toEqual([0, 50, 100]);
        for (const p of progress) expect(p["progressToken"]).toStrictEqual(token);
      }
    });

    it(`reaches a 2026-07-28 caller with its own token (${upstream})`, async () => {
      for (const token of ["their-token", 7]) {
        const res = await modernPost(gw.url, 1, "tools/call", { name: `${upstream}.test_tool_with_progress`, arguments: {} }, { name: `${upstream}.test_tool_with_progress`, meta: { progressToken: token } });
        const stream = new Sse(res);
        await stream.waitFor((e) => e.message["id"] === 1, "the result");
        const progress = stream.events.filter(method("notifications/progress")).map((e) => params(e));
        expect(progress.map((p) => p["progress"])).toEqual([0, 50, 100]);
        for (const p of progress) expect(p["progressToken"]).toStrictEqual(token);
      }
    });

    it(`reaches SDK clients' onprogress in both eras (${upstream})`, async () => {
      const one = new ClientV1({ name: "p1", version: "1" }, { capabilities: {} });
      await one.connect(new HttpV1(new URL(gw.url)));
      const seen1: number[] = [];
      await one.callTool({ name: `${upstream}.test_tool_with_progress`, arguments: {} }, undefined, { onprogress: (p) => void seen1.push(p.progress) });
      expect(seen1).toEqual([0, 50, 100]);
      await one.close();

      const two = await v2(gw.url);
      const seen2: number[] = [];
      await two.callTool({ name: `${upstream}.test_tool_with_progress`, arguments: {} }, { onprogress: (p) => void seen2.push(p.progress) });
      expect(seen2).toEqual([0, 50, 100]);
      await two.close();
    });
  }
});

// ---- logging -----------------------------------------------------------------------------------

describe("log messages", () => {
  const expected = ["Tool execution started", "Tool processing data", "Tool execution completed"];

  for (const upstream of ["fixture", "old"]) {
    it(`reach a session-era client that never set a level (${upstream})`, async () => {
      const client = new ClientV1({ name: "logs", version: "1" }, { capabilities: {} });
      const logs: string[] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(String(n.params.data)));
      await client.connect(new HttpV1(new URL(gw.url)));
      await client.callTool({ name: `${upstream}.test_tool_with_logging`, arguments: {} });
      expect(logs).toEqual(expected);
      await client.close();
    });

    it(`follow a session-era client's logging/setLevel (${upstream})`, async () => {
      const client = new ClientV1({ name: "logs", version: "1" }, { capabilities: {} });
      const logs: string[] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(`${n.params.level}:${String(n.params.data)}`));
      await client.connect(new HttpV1(new URL(gw.url)));
      await client.setLoggingLevel("info");
      await client.callTool({ name: `${upstream}.test_tool_with_logging`, arguments: {} });
      expect(logs).toEqual(expected.map((m) => `info:${m}`));
      logs.length = 0;
      await client.setLoggingLevel("error");
      await client.callTool({ name: `${upstream}.test_logging_tool`, arguments: {} });
      expect(logs).toEqual(["error:error message", "critical:critical message", "alert:alert message", "emergency:emergency message"]);
      await client.close();
    });

    it(`reach a 2026-07-28 caller only when its request _meta sets a log level (${upstream})`, async () => {
      const tool = `${upstream}.test_tool_with_logging`;
      const quiet = await modernPost(gw.url, 1, "tools/call", { name: tool, arguments: {} }, { name: tool });
      const quietText = await quiet.text();
      expect(quietText).not.toContain("notifications/message");
      expect(quietText).toContain("Tool with logging executed successfully");

      const loud = await modernPost(gw.url, 2, "tools/call", { name: tool, arguments: {} }, { name: tool, meta: { "io.modelcontextprotocol/logLevel": "info" } });
      const stream = new Sse(loud);
      await stream.waitFor((e) => e.message["id"] === 2, "the result");
      expect(stream.events.filter(method("notifications/message")).map((e) => params(e)["data"])).toEqual(expected);

      const high = await modernPost(gw.url, 3, "tools/call", { name: tool, arguments: {} }, { name: tool, meta: { "io.modelcontextprotocol/logLevel": "warning" } });
      expect(await high.text()).not.toContain("notifications/message");
    });
  }
});

// ---- cancellation ------------------------------------------------------------------------------

describe("cancellation stops fixture.sleep upstream", () => {
  const cancelled = async (upstream: string): Promise<number> => (await upstreamToolCalls(gw.url, `${upstream}.stats`))["sleep:cancelled"] ?? 0;

  for (const upstream of ["fixture", "old"]) {
    it(`session era: notifications/cancelled from an SDK v1 callTool's AbortSignal (${upstream})`, async () => {
      const before = await cancelled(upstream);
      const client = new ClientV1({ name: "cancel", version: "1" }, { capabilities: {} });
      await client.connect(new HttpV1(new URL(gw.url)));
      const abort = new AbortController();
      let progressed = false;
      const call = client.callTool({ name: `${upstream}.sleep`, arguments: { ms: 10_000 } }, undefined, { signal: abort.signal, onprogress: () => void (progressed = true) });
      await until(() => progressed, 5000, "the sleep to start");
      abort.abort("changed my mind");
      await expect(call).rejects.toThrow();
      await until(async () => (await cancelled(upstream)) > before, 5000, `${upstream} to count a cancelled sleep`);
      await client.close();
    });

    it(`2026-07-28: closing the response stream (${upstream})`, async () => {
      const before = await cancelled(upstream);
      const abort = new AbortController();
      const started = Date.now();
      const res = await modernPost(gw.url, 1, "tools/call", { name: `${upstream}.sleep`, arguments: { ms: 10_000 } }, { name: `${upstream}.sleep`, meta: { progressToken: "p" }, signal: abort.signal });
      const stream = new Sse(res);
      await stream.waitFor(method("notifications/progress"), "the sleep to start");
      abort.abort();
      await until(async () => (await cancelled(upstream)) > before, 5000, `${upstream} to count a cancelled sleep`);
      expect(Date.now() - started).toBeLessThan(10_000);
    });
  }

  it("a raw session-era notifications/cancelled ends the POST's stream with the call", async () => {
    const before = await cancelled("fixture");
    const sid = await legacySession(gw.url);
    const res = await legacyPost(gw.url, sid, { jsonrpc: "2.0", id: "long", method: "tools/call", params: { name: "fixture.sleep", arguments: { ms: 10_000 }, _meta: { progressToken: "c" } } });
    const stream = new Sse(res);
    await stream.waitFor(method("notifications/progress"), "the sleep to start");
    const note = await legacyPost(gw.url, sid, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "long", reason: "test" } });
    expect(note.status).toBe(202);
    await until(() => stream.ended, 5000, "the POST stream to end");
    await until(async () => (await cancelled("fixture")) > before, 5000, "the fixture to count a cancelled sleep");
  });
});
