// Upstream lifecycle: an explicit child environment, restart with backoff, readiness, timeouts, and one bad upstream never hurting the others.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtureStdio, modernBody, modernHeaders, startTestGateway, until, upstreamToolCalls, type TestGateway } from "./helpers/harness.ts";

/** A 2026-07-28 tools/call through the gateway, answered as JSON. */
async function call(url: string, name: string, args: Record<string, unknown>): Promise<{ status: number; body: { result?: { content?: { text?: string }[] }; error?: { code: number; message: string; data?: Record<string, unknown> } } }> {
  const res = await fetch(url, { method: "POST", headers: modernHeaders("tools/call", name), body: modernBody(1, "tools/call", { name, arguments: args }) });
  return { status: res.status, body: (await res.json()) as never };
}

const textOf = (r: Awaited<ReturnType<typeof call>>): string | undefined => r.body.result?.content?.[0]?.text;
const readyz = (url: string): Promise<Response> => fetch(url.replace(/\/mcp$/, "/readyz"));

describe("a healthy upstream beside broken ones", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    process.env["JWT_SECRET_KEY"] = "gateway-secret-that-must-not-leak";
    gw = await startTestGateway({
      upstreams: {
        fixture: fixtureStdio({ env: { FIXTURE_GREETING: "configured" }, timeoutMs: 400 }),
        // Writes garbage to stdout and never answers the handshake.
        garbage: { command: process.execPath, args: ["-e", "setInterval(() => console.log('not json {'), 5)"], connectTimeoutMs: 300 },
        // A command that does not exist.
        missing: { command: "/nonexistent/mcp-server", connectTimeoutMs: 300 },
      },
    });
  });
  afterAll(async () => {
    delete process.env["JWT_SECRET_KEY"];
    await gw.close();
  });

  it("keeps serving the healthy upstream", async () => {
    expect(textOf(await call(gw.url, "fixture.echo", { message: "still here" }))).toBe("Echo: still here");
  });

  it("reports the broken ones down in /readyz with the reason, and answers 503", async () => {
    const res = await readyz(gw.url);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: { upstreams: Record<string, { state: string; error?: string }> } };
    expect(body.checks.upstreams["fixture"]?.state).toBe("ready");
    expect(body.checks.upstreams["garbage"]?.state).not.toBe("ready");
    expect(body.checks.upstreams["missing"]?.state).not.toBe("ready");
    expect(body.checks.upstreams["missing"]?.error).toMatch(/could not start|exited/);
  });

  it("gives the child only the allow-listed variables and its own env, never the gateway's secrets", async () => {
    expect(textOf(await call(gw.url, "fixture.whoami_env", { name: "JWT_SECRET_KEY" }))).toBe("(unset)");
    expect(textOf(await call(gw.url, "fixture.whoami_env", { name: "FIXTURE_GREETING" }))).toBe("configured");
    expect(textOf(await call(gw.url, "fixture.whoami_env", { name: "PATH" }))).not.toBe("(unset)");
  });

  it("answers a call that outlives timeoutMs with -32010 upstream_unavailable and cancels it upstream", async () => {
    const before = (await upstreamToolCalls(gw.url))["sleep:cancelled"] ?? 0;
    const r = await call(gw.url, "fixture.sleep", { ms: 3000 });
    expect(r.body.error?.code).toBe(-32010);
    expect(r.body.error?.data?.["reason"]).toBe("upstream_unavailable");
    await until(async () => ((await upstreamToolCalls(gw.url))["sleep:cancelled"] ?? 0) > before, 5000, "the upstream to see the cancellation");
    const timeout = gw.audit().find((a) => a.type === "upstream.unavailable");
    expect(timeout?.reason).toMatch(/timed out/);
  });
});

describe("an upstream that dies", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ upstreams: { fixture: fixtureStdio(), other: fixtureStdio() } });
  });
  afterAll(() => gw.close());

  it("is restarted, reported down meanwhile, and its calls refused with a retry hint", async () => {
    const fixture = gw.gateway.upstreams.find((u) => u.name === "fixture");
    const pid = fixture?.pid;
    expect(pid).toBeTypeOf("number");
    process.kill(pid as number, "SIGKILL");
    await until(() => fixture?.state !== "ready", 5000, "the gateway to notice the death");
    const refused = await call(gw.url, "fixture.echo", { message: "x" });
    expect(refused.body.error?.code).toBe(-32010);
    expect(refused.body.error?.data?.["retryAfter"]).toBeGreaterThanOrEqual(1);
    expect(refused.body.error?.message).toBe("Upstream unavailable");
    // The other upstream never noticed.
    expect(textOf(await call(gw.url, "other.echo", { message: "unaffected" }))).toBe("Echo: unaffected");
    await until(() => fixture?.state === "ready", 15_000, "the restart");
    expect(fixture?.pid).not.toBe(pid);
    expect(fixture?.restarts).toBeGreaterThanOrEqual(1);
    expect(textOf(await call(gw.url, "fixture.echo", { message: "back" }))).toBe("Echo: back");
    expect((await readyz(gw.url)).status).toBe(200);
  });
});

/** A minimal stdio MCP server (session era) whose tools/list carries one tool nested `depth` levels deep beside a flat one. */
const deepLister = (depth: number): string => `
const rl = require("node:readline").createInterface({ input: process.stdin });
const send = (m) => process.stdout.write(JSON.stringify(m) + "\\n");
rl.on("line", (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  if (m.method === "initialize") return send({ jsonrpc: "2.0", id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "deep", version: "1" } } });
  if (m.method === "tools/list") {
    // Written as text: JSON.stringify itself overflows at this depth.
    const schema = '{"type":"object","properties":{"a":'.repeat(${depth}) + '{"type":"string"}' + "}}".repeat(${depth});
    return process.stdout.write('{"jsonrpc":"2.0","id":' + JSON.stringify(m.id) + ',"result":{"tools":[{"name":"deep","inputSchema":' + schema + '},{"name":"flat","inputSchema":{"type":"object"}}]}}\\n');
  }
  if (m.method === "tools/call") return send({ jsonrpc: "2.0", id: m.id, result: { content: [{ type: "text", text: "flat called" }] } });
  send({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "Method not found" } });
});`;

describe("an upstream that lists a pathologically deep tool", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // pin: off, so the catalog itself (not the pin book, which withholds such tools too) meets the deep item.
    gw = await startTestGateway({ upstreams: { deep: { command: process.execPath, args: ["-e", deepLister(5000)], protocol: "legacy", pin: "off" }, fixture: fixtureStdio() } });
  });
  afterAll(() => gw.close());

  it("leaves that one tool out and keeps listing and serving everything else", async () => {
    const res = await fetch(gw.url, { method: "POST", headers: modernHeaders("tools/list"), body: modernBody(1, "tools/list") });
    const names = ((await res.json()) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name);
    expect(names).toContain("deep.flat");
    expect(names).toContain("fixture.echo");
    expect(names).not.toContain("deep.deep");
    expect(textOf(await call(gw.url, "deep.flat", {}))).toBe("flat called");
  });
});
