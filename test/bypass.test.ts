// Bypass attempts on the policy: batches, notifications, side doors, other upstreams' resources, look-alike names, list races and argument conditions.
// Each refusal is proven three ways: the answer (the absent-name answer where the name is forbidden), the upstream never reached
// (the fixture's `stats` tool for tool calls, the audit record's missing `upstream` for the rest), and exactly one audit record with its true reason.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../src/audit/index.ts";
import { loadConfigObject } from "../src/config/index.ts";
import { everythingStdio, fixtureStdio, MODERN_META, modernBody, modernHeaders, startTestGateway, until, type TestGateway } from "./helpers/harness.ts";
import { Sse, type Event, type Json } from "./helpers/sse.ts";

// ---- the gateway ---------------------------------------------------------------------------------

let gw: TestGateway;
const keys: Record<string, string> = {};
const key = (name: string): string => {
  const k = keys[name];
  if (k === undefined) throw new Error(`no key ${name}`);
  return k;
};

beforeAll(async () => {
  gw = await startTestGateway({
    // pin: off — the list race toggles fixture.test_dynamic_tool on purpose; with pinning on it would be withheld (test/pinning.test.ts).
    upstreams: { fixture: fixtureStdio({ pin: "off" }), everything: everythingStdio() },
    auth: { anonymous: false },
    roles: {
      admin: { permissions: ["*"] },
      reader: { permissions: ["fixture.echo", "fixture.echo_args", "fixture.test_simple_*", "prompt:fixture.test_simple_prompt", "resource:test://static-*"] },
      // The fixture's resources, nothing of the everything server's.
      tester: { permissions: ["fixture.echo", "resource:test://*"] },
      racer: { permissions: ["fixture.echo", "fixture.test_dynamic_tool"] },
    },
    validation: { rules: [{ name: "mail", tool: "fixture.echo_args", argument: "to", emailDomains: ["example.com"] }] },
  });
  const id = gw.gateway.identity;
  await id.addUser("root", ["admin"], undefined);
  await id.addUser("rita", ["reader"], undefined);
  await id.addUser("tess", ["tester"], undefined);
  await id.addUser("rex", ["racer"], undefined);
  keys["admin"] = (await id.createApiKey("root", ["*"], null)).key;
  keys["reader"] = (await id.createApiKey("rita", ["*"], null)).key;
  keys["tester"] = (await id.createApiKey("tess", ["*"], null)).key;
  keys["racer"] = (await id.createApiKey("rex", ["*"], null)).key;
  // An admin's key whose scopes narrow it to one tool: the name tricks below aim at that one grant.
  keys["narrow"] = (await id.createApiKey("root", ["fixture.echo"], null)).key;
});
afterAll(async () => {
  await gw?.close();
});

// ---- wire helpers --------------------------------------------------------------------------------

interface Rpc {
  jsonrpc?: string;
  id?: unknown;
  result?: Record<string, unknown> & { content?: { type: string; text?: string }[] };
  error?: { code: number; message: string; data?: Record<string, unknown> };
}
interface Answer {
  status: number;
  text: string;
  json: unknown;
}

const JSON_POST = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const bearer = (k: string): Record<string, string> => ({ authorization: `Bearer ${k}` });

async function post(k: string, headers: Record<string, string>, body: string): Promise<Answer> {
  const res = await fetch(gw.url, { method: "POST", headers: { ...headers, ...bearer(k) }, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

const rpc = (a: Answer): Rpc => {
  expect(a.json !== undefined && !Array.isArray(a.json), `one JSON-RPC object expected, got ${a.status} ${a.text.slice(0, 200)}`).toBe(true);
  return a.json as Rpc;
};

/** A header value as 2026-07-28 clients send it: plain when visible ASCII without edge spaces, else `=?base64?…?=`. */
function headerValue(value: string): string {
  const plain = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value) && !value.startsWith("=?base64?");
  return plain ? value : `=?base64?${Buffer.from(value, "utf8").toString("base64")}?=`;
}

/** A well-formed 2026-07-28 request; `name` goes into Mcp-Name (base64 form when it must). */
function modern(k: string, id: string | number, method: string, params: Record<string, unknown>, name?: string): Promise<Answer> {
  return post(k, { ...modernHeaders(method), ...(name === undefined ? {} : { "mcp-name": headerValue(name) }) }, modernBody(id, method, params));
}

/** A session-era request body. */
const legacy = (id: string | number, method: string, params: Record<string, unknown> = {}): string => JSON.stringify({ jsonrpc: "2.0", id, method, params });
const sessionHeaders = (sid: string, version: string): Record<string, string> => ({ ...JSON_POST, "mcp-session-id": sid, "mcp-protocol-version": version });

/** initialize + notifications/initialized under `k`; returns the session id the gateway minted. */
async function openSession(k: string, version: string): Promise<string> {
  const res = await fetch(gw.url, {
    method: "POST",
    headers: { ...JSON_POST, ...bearer(k) },
    body: legacy(0, "initialize", { protocolVersion: version, capabilities: {}, clientInfo: { name: "bypass", version: "1" } }),
  });
  const init = (await res.json()) as Rpc;
  expect(res.status, JSON.stringify(init)).toBe(200);
  expect(init.result?.["protocolVersion"]).toBe(version);
  const sid = res.headers.get("mcp-session-id");
  if (sid === null) throw new Error("initialize answered without Mcp-Session-Id");
  const ack = await post(k, sessionHeaders(sid, version), JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
  expect(ack.status).toBe(202);
  return sid;
}

async function closeSession(k: string, sid: string): Promise<void> {
  await (await fetch(gw.url, { method: "DELETE", headers: { "mcp-session-id": sid, ...bearer(k) } })).text();
}

/** The session's standalone GET stream, read in the background. */
async function getStream(k: string, sid: string, version: string): Promise<Sse> {
  const res = await fetch(gw.url, { method: "GET", headers: { accept: "text/event-stream", "mcp-session-id": sid, "mcp-protocol-version": version, ...bearer(k) } });
  expect(res.status).toBe(200);
  return new Sse(res);
}

/** Tool calls the fixture has served, by name, read with the admin key (without the `stats` calls themselves). */
async function stats(): Promise<Record<string, number>> {
  const a = await modern(key("admin"), "stats", "tools/call", { name: "fixture.stats", arguments: {} }, "fixture.stats");
  const { stats: _own, ...rest } = JSON.parse(rpc(a).result?.content?.[0]?.text ?? "{}") as Record<string, number>;
  return rest;
}

/** What changed between two stats readings: tool name → calls served in between. */
function served(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const d = (after[name] ?? 0) - (before[name] ?? 0);
    if (d !== 0) out[name] = d;
  }
  return out;
}

/** Runs `send` and returns what it answered, the audit records it left, and the tool calls the fixture served meanwhile. */
async function traced<T>(send: () => Promise<T>): Promise<{ out: T; records: AuditRecord[]; calls: Record<string, number> }> {
  const before = await stats();
  const mark = gw.audit().length;
  const out = await send();
  const records = gw.audit().slice(mark);
  const calls = served(before, await stats());
  return { out, records, calls };
}

const clip = (s: string): string => (s.length > 128 ? `${s.slice(0, 128)}…` : s);
const unknownTool = (name: string) => ({ code: -32602, message: `Unknown tool: ${clip(name)}` });
const unknownPrompt = (name: string) => ({ code: -32602, message: `Unknown prompt: ${clip(name)}` });
/** The absent-resource answer: -32602 on 2026-07-28, -32002 in the session era. */
const noResource = (uri: string, era: "modern" | "legacy") => ({ code: era === "modern" ? -32602 : -32002, message: `Resource not found: ${clip(uri)}` });

/** A refused message's one record: its type, outcome and true reason, and no upstream (forward never ran). */
function expectRecord(r: AuditRecord | undefined, type: string, target: string, reason: string | RegExp): void {
  expect(r, `a record for ${target}`).toBeDefined();
  const record = r as AuditRecord;
  expect([record.type, record.outcome, record.target]).toEqual([type, type === "authz.denied" ? "denied" : "failure", target]);
  if (typeof reason === "string") expect(record.reason).toBe(reason);
  else expect(record.reason).toMatch(reason);
  expect(record.details["upstream"], `${target} was never forwarded`).toBeUndefined();
}

const params = (e: Event): Json => (e.message["params"] ?? {}) as Json;
const isMethod = (m: string) => (e: Event) => e.message["method"] === m;

async function adminCall(tool: string): Promise<void> {
  const a = await modern(key("admin"), `admin-${tool}`, "tools/call", { name: tool, arguments: {} }, tool);
  expect(rpc(a).result?.content, a.text).toBeDefined();
}

// =================================================================================================

describe("1. batches (2025-03-26 sessions)", () => {
  it("answers each element on its own: the permitted call succeeds, forbidden ones get the absent answer, one record each, nothing forbidden forwarded", async () => {
    const sid = await openSession(key("reader"), "2025-03-26");
    const batch = [
      legacy("ok", "tools/call", { name: "fixture.echo", arguments: { message: "batched" } }),
      legacy("tool", "tools/call", { name: "fixture.whoami_env", arguments: { name: "PATH" } }),
      legacy("prompt", "prompts/get", { name: "fixture.test_prompt_with_arguments", arguments: { arg1: "a", arg2: "b" } }),
      legacy("resource", "resources/read", { uri: "test://watched-resource" }),
      // What the caller would compare them with: names that do not exist (inside and outside its grants).
      legacy("no-tool", "tools/call", { name: "fixture.test_simple_no_such_tool", arguments: {} }),
      legacy("no-prompt", "prompts/get", { name: "fixture.no_such_prompt" }),
      legacy("no-resource", "resources/read", { uri: "test://static-no-such-resource" }),
    ];
    const { out, records, calls } = await traced(() => post(key("reader"), sessionHeaders(sid, "2025-03-26"), `[${batch.join(",")}]`));
    expect(out.status, out.text).toBe(200);
    expect(Array.isArray(out.json)).toBe(true);
    const byId = new Map((out.json as Rpc[]).map((r) => [r.id, r]));
    expect([...byId.keys()].sort()).toEqual(["no-prompt", "no-resource", "no-tool", "ok", "prompt", "resource", "tool"]);

    expect(byId.get("ok")?.result?.content).toEqual([{ type: "text", text: "Echo: batched" }]);
    expect(byId.get("tool")).toEqual({ jsonrpc: "2.0", id: "tool", error: unknownTool("fixture.whoami_env") });
    expect(byId.get("prompt")).toEqual({ jsonrpc: "2.0", id: "prompt", error: unknownPrompt("fixture.test_prompt_with_arguments") });
    expect(byId.get("resource")).toEqual({ jsonrpc: "2.0", id: "resource", error: noResource("test://watched-resource", "legacy") });
    // The absent names get the very same shape of answer.
    expect(byId.get("no-tool")?.error).toEqual(unknownTool("fixture.test_simple_no_such_tool"));
    expect(byId.get("no-prompt")?.error).toEqual(unknownPrompt("fixture.no_such_prompt"));
    expect(byId.get("no-resource")?.error).toEqual(noResource("test://static-no-such-resource", "legacy"));

    // Only the permitted call reached the fixture.
    expect(calls).toEqual({ echo: 1 });
    const of = (target: string) => records.filter((r) => r.target === target);
    expect(records).toHaveLength(batch.length);
    expect(of("fixture.echo").map((r) => [r.type, r.outcome, r.details["upstream"]])).toEqual([["tool.call", "success", "fixture"]]);
    expect(of("fixture.whoami_env")).toHaveLength(1);
    expectRecord(of("fixture.whoami_env")[0], "authz.denied", "fixture.whoami_env", "rita may not use tool fixture.whoami_env");
    expect(of("fixture.test_prompt_with_arguments")).toHaveLength(1);
    expectRecord(of("fixture.test_prompt_with_arguments")[0], "authz.denied", "fixture.test_prompt_with_arguments", "rita may not use prompt fixture.test_prompt_with_arguments");
    expect(of("test://watched-resource")).toHaveLength(1);
    expectRecord(of("test://watched-resource")[0], "authz.denied", "test://watched-resource", "rita may not use resource test://watched-resource");
    for (const r of records) expect(r.actor.user).toBe("rita");
    await closeSession(key("reader"), sid);
  });
});

// =================================================================================================

describe("2. notifications carrying calls", () => {
  /** A `tools/call` without an id: nothing may be called, and no name may be answered differently from another. */
  const note = (name: string, extra: Record<string, unknown> = {}) => ({ jsonrpc: "2.0", method: "tools/call", params: { name, arguments: { message: "x", name: "PATH" }, ...extra } });
  /** Forbidden (exists), permitted (exists), and absent inside the reader's grants (fixture.test_simple_*). */
  const NAMES = ["fixture.whoami_env", "fixture.echo", "fixture.test_simple_no_such_tool"] as const;
  type Trace = { out: Answer; records: AuditRecord[]; calls: Record<string, number> };

  /** Soft expectations: every way the answers or records go wrong is reported, not only the first. */
  function expectAlikeAndTruthful(traces: Trace[], what: string): void {
    const [first] = traces as [Trace];
    NAMES.forEach((name, i) => {
      const t = traces[i] as Trace;
      const label = `${what}, ${name}`;
      expect(t.calls, `${label}: reached the upstream`).toEqual({});
      // No oracle: every name is answered alike, byte for byte.
      expect.soft([t.out.status, t.out.text], `${label}: answered unlike ${NAMES[0]}`).toEqual([first.out.status, first.out.text]);
      // Streamable HTTP: a notification is accepted with 202 and no body, or refused with an HTTP error status.
      if (t.out.status === 202) expect.soft(t.out.text, `${label}: a 202 that carries a body`).toBe("");
      else expect.soft(t.out.status, `${label}: status`).toBeGreaterThanOrEqual(400);
      // One record with its true reason, and never the claim that a tool was called: nothing was.
      expect.soft(t.records.map((r) => [r.type, r.outcome, r.reason]), `${label}: records`).toHaveLength(1);
      expect.soft(t.records.filter((r) => r.type === "tool.call").map((r) => [r.type, r.outcome, r.target, r.details["upstream"] ?? null]), `${label}: a tool.call record for a call that never happened`).toEqual([]);
    });
  }

  it("2026-07-28: never reaches the upstream, never crashes, and answers forbidden, permitted and absent names alike", async () => {
    const traces: Trace[] = [];
    for (const name of NAMES) traces.push(await traced(() => post(key("reader"), modernHeaders("tools/call"), JSON.stringify(note(name, { _meta: MODERN_META })))));
    expectAlikeAndTruthful(traces, "2026-07-28");
    // Still serving.
    expect(rpc(await modern(key("reader"), 1, "tools/call", { name: "fixture.echo", arguments: { message: "alive" } }, "fixture.echo")).result?.content?.[0]?.text).toBe("Echo: alive");
  });

  it("session era (2025-11-25): the same", async () => {
    const sid = await openSession(key("reader"), "2025-11-25");
    const traces: Trace[] = [];
    for (const name of NAMES) traces.push(await traced(() => post(key("reader"), sessionHeaders(sid, "2025-11-25"), JSON.stringify(note(name)))));
    expectAlikeAndTruthful(traces, "2025-11-25");
    expect(rpc(await post(key("reader"), sessionHeaders(sid, "2025-11-25"), legacy("alive", "tools/call", { name: "fixture.echo", arguments: { message: "alive" } }))).result?.content?.[0]?.text).toBe("Echo: alive");
    await closeSession(key("reader"), sid);
  });

  it("inside a 2025-03-26 batch: not forwarded, not answered (JSON-RPC), and never recorded as a tool call", async () => {
    const sid = await openSession(key("reader"), "2025-03-26");
    for (const name of NAMES) {
      const { out, records, calls } = await traced(() => post(key("reader"), sessionHeaders(sid, "2025-03-26"), `[${JSON.stringify(note(name))},${legacy("after", "tools/list")}]`));
      expect(calls, name).toEqual({});
      // The request beside it is answered; the notification is not, whatever its name.
      expect(out.status, name).toBe(200);
      expect((out.json as Rpc[]).map((r) => r.id), name).toEqual(["after"]);
      expect.soft(records.filter((r) => r.type === "tool.call").map((r) => [r.type, r.outcome, r.target, r.details["upstream"] ?? null]), `${name}: a tool.call record for a call that never happened`).toEqual([]);
    }
    await closeSession(key("reader"), sid);
  });
});

// =================================================================================================

describe("3. completion and subscription side doors", () => {
  it("completion/complete: a forbidden prompt or resource template is refused like an absent one, never forwarded", async () => {
    const complete = (id: string, ref: Record<string, unknown>, arg: string) => modern(key("reader"), id, "completion/complete", { ref, argument: { name: arg, value: "" } });
    const { out, records, calls } = await traced(async () => [
      await complete("p", { type: "ref/prompt", name: "fixture.test_prompt_with_arguments" }, "arg1"),
      await complete("p0", { type: "ref/prompt", name: "fixture.no_such_prompt" }, "arg1"),
      await complete("r", { type: "ref/resource", uri: "test://template/{id}/data" }, "id"),
      // Granted by the reader's pattern but owned by nobody: the forward stage answers it, alike.
      await complete("r0", { type: "ref/resource", uri: "test://static-{id}" }, "id"),
    ]);
    const [p, p0, r, r0] = out.map(rpc);
    expect(p?.error).toEqual(unknownPrompt("fixture.test_prompt_with_arguments"));
    expect(p0?.error).toEqual(unknownPrompt("fixture.no_such_prompt"));
    expect(r?.error).toEqual(noResource("test://template/{id}/data", "modern"));
    expect(r0?.error).toEqual(noResource("test://static-{id}", "modern"));
    for (const a of [p, p0, r, r0]) expect(a?.result).toBeUndefined();
    expect(out.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(calls).toEqual({});
    expect(records).toHaveLength(4);
    expectRecord(records[0], "authz.denied", "fixture.test_prompt_with_arguments", "rita may not use prompt fixture.test_prompt_with_arguments");
    expectRecord(records[1], "authz.denied", "fixture.no_such_prompt", "rita may not use prompt fixture.no_such_prompt");
    expectRecord(records[2], "authz.denied", "test://template/{id}/data", "rita may not use resource test://template/{id}/data");
    expectRecord(records[3], "rpc.refused", "test://static-{id}", "no upstream owns this URI");
    // The same completion works for someone who may use the template: the refusal above was the policy's.
    expect(rpc(await modern(key("admin"), "ok", "completion/complete", { ref: { type: "ref/resource", uri: "test://template/{id}/data" }, argument: { name: "id", value: "1" } })).result?.["completion"]).toMatchObject({
      values: ["1", "123"],
    });
  });

  it("resources/subscribe (session era) to a forbidden URI is refused like an absent one, and no update for it reaches the caller", async () => {
    const version = "2025-11-25";
    const reader = await openSession(key("reader"), version);
    const admin = await openSession(key("admin"), version);
    const readerStream = await getStream(key("reader"), reader, version);
    const adminStream = await getStream(key("admin"), admin, version);

    const sub = (k: string, sid: string, id: string, uri: string) => post(k, sessionHeaders(sid, version), legacy(id, "resources/subscribe", { uri }));
    const { out, records, calls } = await traced(async () => [await sub(key("reader"), reader, "w", "test://watched-resource"), await sub(key("reader"), reader, "n", "test://static-no-such-resource")]);
    const [watched, none] = out.map(rpc);
    expect(watched).toEqual({ jsonrpc: "2.0", id: "w", error: noResource("test://watched-resource", "legacy") });
    expect(none).toEqual({ jsonrpc: "2.0", id: "n", error: noResource("test://static-no-such-resource", "legacy") });
    expect(calls).toEqual({});
    expect(records).toHaveLength(2);
    expectRecord(records[0], "authz.denied", "test://watched-resource", "rita may not use resource test://watched-resource");
    expectRecord(records[1], "rpc.refused", "test://static-no-such-resource", "no upstream owns this URI");

    // Someone who may read it subscribes, so the update really is published through the gateway.
    expect(rpc(await sub(key("admin"), admin, "a", "test://watched-resource")).result).toEqual({});
    await adminCall("fixture.test_trigger_resource_update");
    await adminStream.waitFor((e) => isMethod("notifications/resources/updated")(e) && params(e)["uri"] === "test://watched-resource", "the admin's update");
    // A later event on the reader's stream proves it was live and in order: anything sent before it has arrived.
    await adminCall("fixture.test_trigger_tool_change");
    const changed = await readerStream.waitFor(isMethod("notifications/tools/list_changed"), "list_changed on the reader's stream");
    await adminCall("fixture.test_trigger_tool_change");
    await readerStream.waitFor((e) => isMethod("notifications/tools/list_changed")(e) && e !== changed, "the second list_changed");
    expect(readerStream.events.filter(isMethod("notifications/resources/updated")), "an update of a resource the reader may not read").toEqual([]);
    await closeSession(key("reader"), reader);
    await closeSession(key("admin"), admin);
  });

  it("subscriptions/listen (2026-07-28) honours no forbidden URI, just as no unowned one, and delivers no update for it", async () => {
    const abort = new AbortController();
    const res = await fetch(gw.url, {
      method: "POST",
      headers: { ...modernHeaders("subscriptions/listen"), ...bearer(key("reader")) },
      body: modernBody("listen", "subscriptions/listen", { notifications: { toolsListChanged: true, resourceSubscriptions: ["test://watched-resource", "test://static-no-such-resource", "test://static-text"] } }),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const stream = new Sse(res);
    const ack = await stream.waitFor(() => true, "the acknowledgement");
    expect(ack.message["method"]).toBe("notifications/subscriptions/acknowledged");
    expect(params(ack)["notifications"]).toEqual({ toolsListChanged: true, resourceSubscriptions: ["test://static-text"] });
    await adminCall("fixture.test_trigger_resource_update");
    await adminCall("fixture.test_trigger_tool_change");
    const changed = await stream.waitFor(isMethod("notifications/tools/list_changed"), "list_changed on the listen stream");
    await adminCall("fixture.test_trigger_tool_change");
    await stream.waitFor((e) => isMethod("notifications/tools/list_changed")(e) && e !== changed, "the second list_changed");
    expect(stream.events.filter(isMethod("notifications/resources/updated"))).toEqual([]);
    abort.abort();
  });
});

describe("3b. a subscription outlives no grant", () => {
  // Its own gateway: the roles are reloaded here, and the shared one's must not change under the other tests.
  let own: TestGateway;
  const ownKeys: Record<string, string> = {};
  const roles = (watched: boolean) => ({
    admin: { permissions: ["*"] },
    reader: { permissions: ["fixture.echo", ...(watched ? ["resource:test://watched-resource"] : [])] },
  });
  const config = (watched: boolean) => ({ upstreams: { fixture: fixtureStdio({ pin: "off" }) }, auth: { anonymous: false }, roles: roles(watched) });
  beforeAll(async () => {
    own = await startTestGateway(config(true));
    await own.gateway.identity.addUser("root", ["admin"], undefined);
    await own.gateway.identity.addUser("rita", ["reader"], undefined);
    ownKeys["admin"] = (await own.gateway.identity.createApiKey("root", ["*"], null)).key;
    ownKeys["reader"] = (await own.gateway.identity.createApiKey("rita", ["*"], null)).key;
  });
  afterAll(async () => {
    await own?.close();
  });

  const ownPost = async (k: string, headers: Record<string, string>, body: string): Promise<Response> => fetch(own.url, { method: "POST", headers: { ...headers, ...bearer(k) }, body });

  it("after a reload revokes the grant, reads are refused and no update of the resource reaches its old subscribers (session era and listen)", async () => {
    const admin = ownKeys["admin"] as string;
    const reader = ownKeys["reader"] as string;
    const version = "2025-11-25";
    // A session-era subscriber with its GET stream.
    const init = await ownPost(reader, JSON_POST, legacy(0, "initialize", { protocolVersion: version, capabilities: {}, clientInfo: { name: "bypass", version: "1" } }));
    await init.text();
    const sid = init.headers.get("mcp-session-id") as string;
    expect((await ownPost(reader, sessionHeaders(sid, version), JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }))).status).toBe(202);
    const get = await fetch(own.url, { method: "GET", headers: { accept: "text/event-stream", "mcp-session-id": sid, "mcp-protocol-version": version, ...bearer(reader) } });
    const sessionStream = new Sse(get);
    expect(await (await ownPost(reader, sessionHeaders(sid, version), legacy("s", "resources/subscribe", { uri: "test://watched-resource" }))).json()).toEqual({ jsonrpc: "2.0", id: "s", result: {} });
    // A 2026-07-28 listener.
    const abort = new AbortController();
    const listen = await fetch(own.url, {
      method: "POST",
      headers: { ...modernHeaders("subscriptions/listen"), ...bearer(reader) },
      body: modernBody("listen", "subscriptions/listen", { notifications: { toolsListChanged: true, resourceSubscriptions: ["test://watched-resource"] } }),
      signal: abort.signal,
    });
    const listenStream = new Sse(listen);
    const ack = await listenStream.waitFor(() => true, "the acknowledgement");
    expect(params(ack)["notifications"]).toEqual({ toolsListChanged: true, resourceSubscriptions: ["test://watched-resource"] });

    const trigger = async (tool: string): Promise<void> => {
      const res = await ownPost(admin, modernHeaders("tools/call", tool), modernBody(tool, "tools/call", { name: tool, arguments: {} }));
      expect(((await res.json()) as Rpc).result?.content).toBeDefined();
    };
    // While granted, both get the update: the subscriptions work.
    await trigger("fixture.test_trigger_resource_update");
    const updated = (e: Event) => isMethod("notifications/resources/updated")(e) && params(e)["uri"] === "test://watched-resource";
    await sessionStream.waitFor(updated, "the update while granted (session)");
    await listenStream.waitFor(updated, "the update while granted (listen)");
    const before = { session: sessionStream.events.filter(updated).length, listen: listenStream.events.filter(updated).length };

    // The grant goes away.
    const { restartNeeded } = own.gateway.reload(loadConfigObject({ audit: { path: path.join(own.dir, "audit.log"), keyFile: path.join(own.dir, "audit.key") }, ...config(false) }, {}, own.dir));
    expect(restartNeeded).toEqual([]);
    const read = await ownPost(reader, sessionHeaders(sid, version), legacy("r", "resources/read", { uri: "test://watched-resource" }));
    expect(await read.json()).toEqual({ jsonrpc: "2.0", id: "r", error: noResource("test://watched-resource", "legacy") });

    await trigger("fixture.test_trigger_resource_update");
    // Something the reader still gets, after the update, on both streams: anything sent before it has arrived.
    const isChange = isMethod("notifications/tools/list_changed");
    const changes = { session: sessionStream.events.filter(isChange).length, listen: listenStream.events.filter(isChange).length };
    await trigger("fixture.test_trigger_tool_change");
    await until(() => sessionStream.events.filter(isChange).length > changes.session && listenStream.events.filter(isChange).length > changes.listen, 8000, "list_changed after the update on both streams");
    await trigger("fixture.test_trigger_tool_change");
    expect.soft(sessionStream.events.filter(updated).length - before.session, "updates of a revoked resource on the session's GET stream").toBe(0);
    expect.soft(listenStream.events.filter(updated).length - before.listen, "updates of a revoked resource on the listen stream").toBe(0);
    abort.abort();
    await (await fetch(own.url, { method: "DELETE", headers: { "mcp-session-id": sid, ...bearer(reader) } })).text();
  });
});

// =================================================================================================

describe("4. resources another upstream owns", () => {
  it("a role granted resource:test://* reads the fixture's resources and is refused the everything server's like an unowned URI", async () => {
    const listed = ((rpc(await modern(key("admin"), "l", "resources/list", {})).result?.["resources"] ?? []) as { uri: string }[]).map((r) => r.uri);
    const theirs = listed.filter((u) => u.startsWith("demo://"));
    expect(theirs.length, "the everything server lists resources").toBeGreaterThan(0);
    // The everything server really serves what is refused below (to a caller who may read it).
    const doc = theirs[0] as string;
    expect(((rpc(await modern(key("admin"), "r", "resources/read", { uri: doc }, doc)).result?.["contents"] ?? []) as unknown[]).length).toBeGreaterThan(0);

    // The tester sees only the fixture's resources.
    const mine = ((rpc(await modern(key("tester"), "l", "resources/list", {})).result?.["resources"] ?? []) as { uri: string }[]).map((r) => r.uri);
    expect(mine.length).toBeGreaterThan(0);
    for (const uri of mine) expect(uri).toMatch(/^test:\/\//);
    expect(rpc(await modern(key("tester"), "own", "resources/read", { uri: "test://static-text" }, "test://static-text")).result?.["contents"]).toBeDefined();

    const targets = [doc, "demo://resource/dynamic/text/1", "nobody://owns-this", "test://no-such-resource", `test://static-text#${doc}`];
    for (const era of ["modern", "legacy"] as const) {
      const sid = era === "legacy" ? await openSession(key("tester"), "2025-06-18") : undefined;
      for (const uri of targets) {
        const read = () =>
          sid === undefined ? modern(key("tester"), "x", "resources/read", { uri }, uri) : post(key("tester"), sessionHeaders(sid, "2025-06-18"), legacy("x", "resources/read", { uri }));
        const { out, records, calls } = await traced(read);
        expect(out.status, `${era} ${uri}`).toBe(200);
        expect(rpc(out), `${era} ${uri}`).toEqual({ jsonrpc: "2.0", id: "x", error: noResource(uri, era) });
        expect(calls).toEqual({});
        expect(records, `${era} ${uri}: one record`).toHaveLength(1);
        // The same answer; the record tells the two apart.
        if (uri.startsWith("test://")) expectRecord(records[0], "rpc.refused", uri, "no upstream owns this URI");
        else expectRecord(records[0], "authz.denied", uri, `tess may not use resource ${uri}`);
      }
      if (sid !== undefined) await closeSession(key("tester"), sid);
    }
  });
});

// =================================================================================================

describe("5. look-alike names and header mismatches", () => {
  const TRICKS = [
    "f\u0456xture.echo", // Cyrillic і in the prefix
    "\uff46\uff49\uff58\uff54\uff55\uff52\uff45.echo", // full-width prefix
    "\uff46\uff49\uff58\uff54\uff55\uff52\uff45\uff0e\uff45\uff43\uff48\uff4f", // all full-width, dot included
    "\u202efixture.echo", // right-to-left override before
    "fixture.echo\u202e", // … and after
    "fixture.\u202eohce", // … reversing what is shown
    "fixture.echo\t",
    "\tfixture.echo",
    "fixture.echo.",
    "fixture.echo..",
    `fixture.echo${"o".repeat(188)}`, // 200 characters, a granted name's prefix
    `fixture.${"e".repeat(192)}`, // 200 characters
    "fixture.echo\u00ad", // soft hyphen
    "fixture\u2024echo", // one dot leader
  ];

  it("2026-07-28 and session era: each is answered as an absent tool, with no result, never forwarded, one record", async () => {
    expect(TRICKS.filter((n) => n.length === 200)).toHaveLength(2);
    const sid = await openSession(key("narrow"), "2025-11-25");
    for (const name of TRICKS) {
      for (const era of ["modern", "legacy"] as const) {
        const send = () =>
          era === "modern"
            ? modern(key("narrow"), "n", "tools/call", { name, arguments: { message: "hi" } }, name)
            : post(key("narrow"), sessionHeaders(sid, "2025-11-25"), legacy("n", "tools/call", { name, arguments: { message: "hi" } }));
        const { out, records, calls } = await traced(send);
        const what = `${era} ${JSON.stringify(name)}`;
        expect(out.status, what).toBe(200);
        expect(rpc(out), what).toEqual({ jsonrpc: "2.0", id: "n", error: unknownTool(name) });
        expect(calls, what).toEqual({});
        expect(records, what).toHaveLength(1);
        expectRecord(records[0], "authz.denied", name, `root may not use tool ${clip(name)}`);
      }
    }
    // The real name still works for this key.
    expect(rpc(await modern(key("narrow"), "ok", "tools/call", { name: "fixture.echo", arguments: { message: "real" } }, "fixture.echo")).result?.content?.[0]?.text).toBe("Echo: real");
    await closeSession(key("narrow"), sid);
  });

  it("a forbidden name in the body under a permitted Mcp-Name (or the reverse) is a header mismatch (400, -32020), never a call", async () => {
    const body = (id: string, name: string) => modernBody(id, "tools/call", { name, arguments: { name: "PATH", message: "x" } });
    const cases: [string, string, Record<string, string>][] = [
      ["fixture.whoami_env", "m1", { ...modernHeaders("tools/call"), "mcp-name": "fixture.echo" }],
      ["fixture.whoami_env", "m2", { ...modernHeaders("tools/call"), "mcp-name": `=?base64?${Buffer.from("fixture.echo").toString("base64")}?=` }],
      ["fixture.echo", "m3", { ...modernHeaders("tools/call"), "mcp-name": "fixture.whoami_env" }],
      ["fixture.whoami_env", "m4", { ...modernHeaders("tools/call"), "mcp-name": "fixture.whoami_env, fixture.echo" }],
      ["f\u0456xture.echo", "m5", { ...modernHeaders("tools/call"), "mcp-name": "fixture.echo" }],
    ];
    for (const [name, id, headers] of cases) {
      const { out, records, calls } = await traced(() => post(key("narrow"), headers, body(id, name)));
      expect(out.status, id).toBe(400);
      expect(rpc(out), id).toEqual({ jsonrpc: "2.0", id, error: { code: -32020, message: "Header mismatch: MCP headers do not match the request body" } });
      expect(calls, id).toEqual({});
      expect(records.map((r) => [r.type, r.details["code"]]), id).toEqual([["network.refused", "header_mismatch"]]);
      expect(records[0]?.reason).toBeTruthy();
    }
  });
});

// =================================================================================================

describe("6. list_changed races", () => {
  it("while an admin toggles the dynamic tool, the racer lists only its grants and a call either runs the tool or gets the absent answer", async () => {
    const GRANTED = new Set(["fixture.echo", "fixture.test_dynamic_tool"]);
    const DYNAMIC = "fixture.test_dynamic_tool";
    const ran = { content: [{ type: "text", text: "dynamic tool called" }] };
    const absent = unknownTool(DYNAMIC);
    const racer = key("racer");

    // The racer also holds a session GET stream: list_changed reaches it, carrying nothing but the method.
    const sid = await openSession(racer, "2025-11-25");
    const stream = await getStream(racer, sid, "2025-11-25");

    const lists: string[][] = [];
    const answers: Rpc[] = [];
    const echoes: string[] = [];
    let stop = false;
    const lister = (async () => {
      while (!stop) {
        lists.push(((rpc(await modern(racer, "l", "tools/list", {})).result?.["tools"] ?? []) as { name: string }[]).map((t) => t.name));
        echoes.push(rpc(await modern(racer, "e", "tools/call", { name: "fixture.echo", arguments: { message: "race" } }, "fixture.echo")).result?.content?.[0]?.text ?? "(none)");
      }
    })();
    const caller = (async () => {
      while (!stop) answers.push(rpc(await modern(racer, "d", "tools/call", { name: DYNAMIC, arguments: {} }, DYNAMIC)));
    })();
    const sessionLister = (async () => {
      while (!stop) {
        const a = await post(racer, sessionHeaders(sid, "2025-11-25"), legacy("sl", "tools/list"));
        lists.push(((rpc(a).result?.["tools"] ?? []) as { name: string }[]).map((t) => t.name));
      }
    })();
    const TOGGLES = 20;
    for (let i = 0; i < TOGGLES; i++) {
      await adminCall("fixture.test_trigger_tool_change");
      // Right after each toggle, when the gateway may not have re-read the list yet.
      answers.push(rpc(await modern(racer, "d", "tools/call", { name: DYNAMIC, arguments: {} }, DYNAMIC)));
    }
    stop = true;
    await Promise.all([lister, caller, sessionLister]);
    await gw.gateway.catalog.idle();

    expect(lists.length).toBeGreaterThan(0);
    for (const names of lists) {
      expect(names).toContain("fixture.echo");
      for (const n of names) expect(GRANTED.has(n), `listed ${n}`).toBe(true);
    }
    for (const e of echoes) expect(e).toBe("Echo: race");
    // The upstream is the truth and the catalog a copy: between the two, the caller must still get the gateway's absent answer,
    // never the upstream's own words for a tool it just disabled ("Tool test_dynamic_tool disabled": another answer, and the upstream's name).
    const other = answers.filter((a) => !(a.error === undefined ? JSON.stringify({ content: a.result?.content }) === JSON.stringify(ran) : JSON.stringify(a.error) === JSON.stringify(absent)));
    expect(other.map((a) => a.error ?? a.result), `${other.length} of ${answers.length} calls got neither the tool's result nor the absent answer`).toEqual([]);

    const changes = stream.events.filter(isMethod("notifications/tools/list_changed"));
    expect(changes.length).toBeGreaterThan(0);
    for (const c of changes) expect(Object.keys(params(c)).filter((k) => k !== "_meta")).toEqual([]);

    // Settled: an even number of toggles leaves the tool off, so it is absent, listed nowhere; on, it runs.
    await until(() => gw.gateway.catalog.tool(DYNAMIC) === undefined, 5000, "the dynamic tool to be gone");
    expect(rpc(await modern(racer, "z", "tools/call", { name: DYNAMIC, arguments: {} }, DYNAMIC)).error).toEqual(absent);
    await adminCall("fixture.test_trigger_tool_change");
    await until(() => gw.gateway.catalog.tool(DYNAMIC) !== undefined, 5000, "the dynamic tool to be listed");
    expect(rpc(await modern(racer, "y", "tools/call", { name: DYNAMIC, arguments: {} }, DYNAMIC)).result?.content).toEqual(ran.content);
    await adminCall("fixture.test_trigger_tool_change");
    await until(() => gw.gateway.catalog.tool(DYNAMIC) === undefined, 5000, "the dynamic tool to be gone again");
    await closeSession(racer, sid);
  });
});

// =================================================================================================

describe("7. argument conditions cannot be side-stepped", () => {
  const META = JSON.stringify(MODERN_META);
  /** A raw 2026-07-28 echo_args call whose `arguments` is `args`, verbatim JSON text (duplicate keys and escapes survive). */
  const rawCall = (id: string, args: string) => post(key("admin"), modernHeaders("tools/call", "fixture.echo_args"), `{"jsonrpc":"2.0","id":"${id}","method":"tools/call","params":{"name":"fixture.echo_args","arguments":${args},"_meta":${META}}}`);
  const MAIL = { code: -32011, message: "Forbidden by policy rule mail", data: { reason: "forbidden", rule: "mail" } };

  async function denied(id: string, args: string, reason = /^rule mail: to: an address outside the allowed domains$/): Promise<void> {
    const { out, records, calls } = await traced(() => rawCall(id, args));
    expect(out.status, args).toBe(200);
    expect(rpc(out), args).toEqual({ jsonrpc: "2.0", id, error: MAIL });
    expect(calls, args).toEqual({});
    expect(records, args).toHaveLength(1);
    expectRecord(records[0], "authz.denied", "fixture.echo_args", reason);
  }

  /** Lets the call through and returns the arguments the upstream received (echo_args echoes them). */
  async function forwarded(id: string, args: string): Promise<Record<string, unknown>> {
    const { out, calls } = await traced(() => rawCall(id, args));
    const r = rpc(out);
    expect(r.error, args).toBeUndefined();
    expect(calls).toEqual({ echo_args: 1 });
    return JSON.parse(r.result?.content?.[0]?.text ?? "null") as Record<string, unknown>;
  }

  it("denies the plain case, and the name spelled with a JSON escape", async () => {
    await denied("plain", `{"to":"eve@evil.test"}`);
    await denied("escaped", `{"t\\u006f":"eve@evil.test"}`);
    expect(await forwarded("fine", `{"to":"ann@example.com"}`)).toEqual({ to: "ann@example.com" });
  });

  it("a JSON Pointer-looking key is another argument: `/to` never reaches the upstream as `to`, and a decoy beside the real one does not hide it", async () => {
    // Not `to`: the upstream receives a property named "/to" and no `to` at all, so there is nothing to judge.
    expect(await forwarded("ptr", `{"/to":"eve@evil.test"}`)).toEqual({ "/to": "eve@evil.test" });
    await denied("ptr-decoy", `{"/to":"ann@example.com","to":"eve@evil.test"}`);
    expect(await forwarded("ptr-real", `{"/to":"eve@evil.test","to":"ann@example.com"}`)).toEqual({ "/to": "eve@evil.test", to: "ann@example.com" });
  });

  it("duplicate keys: the value judged is the value forwarded", async () => {
    await denied("dup", `{"to":"a@example.com","to":"eve@evil.test"}`);
    // The other order passes, and the upstream gets only the address that was judged.
    expect(await forwarded("dup-ok", `{"to":"eve@evil.test","to":"a@example.com"}`)).toEqual({ to: "a@example.com" });
  });

  it("__proto__ and constructor keys neither hide a real `to` nor smuggle one in", async () => {
    // An own __proto__ key makes a rule undecidable (an upstream copying the arguments would take it as their prototype): denied, failing closed.
    const proto = /^rule mail: a __proto__ key in the arguments$/;
    await denied("proto-own", `{"to":"eve@evil.test","__proto__":{"to":"a@example.com"}}`, proto);
    await denied("proto-first", `{"__proto__":{"to":"a@example.com"},"to":"eve@evil.test"}`, proto);
    await denied("proto-both", `{"__proto__":{"to":"eve@evil.test"},"to":"eve@evil.test"}`, proto);
    await denied("proto-good", `{"__proto__":{"to":"a@example.com"},"to":"ann@example.com"}`, proto);
    // Only inside __proto__: either refused, or the upstream sees no `to` (nothing that was not judged reaches it as `to`).
    for (const [id, args] of [
      ["proto-only", `{"__proto__":{"to":"eve@evil.test"}}`],
      ["ctor", `{"constructor":{"prototype":{"to":"eve@evil.test"}}}`],
    ] as const) {
      const { out, calls } = await traced(() => rawCall(id, args));
      const r = rpc(out);
      if (r.error !== undefined) {
        expect(r.error, args).toEqual(MAIL);
        expect(calls).toEqual({});
      } else {
        const seen = JSON.parse(r.result?.content?.[0]?.text ?? "null") as Record<string, unknown>;
        expect(Object.hasOwn(seen, "to"), `${args}: the upstream got a \`to\` the rule never judged`).toBe(false);
        expect(seen["to"], args).toBeUndefined();
      }
    }
    expect(({} as Record<string, unknown>)["to"]).toBeUndefined();
  });

  it("in a 2025-03-26 batch each element is judged: forbidden ones denied with the rule, the rest forwarded", async () => {
    const sid = await openSession(key("admin"), "2025-03-26");
    const call = (id: string, args: string) => `{"jsonrpc":"2.0","id":"${id}","method":"tools/call","params":{"name":"fixture.echo_args","arguments":${args}}}`;
    const batch = `[${call("b-ok", `{"to":"ann@example.com"}`)},${call("b-evil", `{"to":"eve@evil.test"}`)},${call("b-dup", `{"to":"a@example.com","to":"eve@evil.test"}`)},${call("b-list", `{"to":"ann@example.com, eve@evil.test"}`)}]`;
    const { out, records, calls } = await traced(() => post(key("admin"), sessionHeaders(sid, "2025-03-26"), batch));
    expect(out.status, out.text).toBe(200);
    const byId = new Map((out.json as Rpc[]).map((r) => [r.id, r]));
    expect(byId.get("b-ok")?.result?.content?.[0]?.text).toBe(JSON.stringify({ to: "ann@example.com" }));
    for (const id of ["b-evil", "b-dup", "b-list"]) expect(byId.get(id), id).toEqual({ jsonrpc: "2.0", id, error: MAIL });
    expect(calls).toEqual({ echo_args: 1 });
    expect(records).toHaveLength(4);
    const denials = records.filter((r) => r.type === "authz.denied");
    expect(denials).toHaveLength(3);
    for (const r of denials) expectRecord(r, "authz.denied", "fixture.echo_args", /^rule mail: /);
    expect(records.filter((r) => r.type === "tool.call").map((r) => [r.outcome, r.details["upstream"]])).toEqual([["success", "fixture"]]);
    await closeSession(key("admin"), sid);
  });
});
