// Strict arguments: every tools/call is checked against its tool's inputSchema (2020-12 or draft-07) before it leaves the gateway.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { everythingStdio, fixtureStdio, modernBody, modernHeaders, startTestGateway, upstreamToolCalls, type TestGateway } from "./helpers/harness.ts";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ upstreams: { fixture: fixtureStdio(), everything: everythingStdio() } });
});
afterAll(() => gw.close());

interface ToolResult {
  isError?: boolean;
  content?: { type: string; text: string }[];
  structuredContent?: { reason: string; violations: { path: string; rule: string; message: string }[] };
}

async function call(name: string, args: unknown): Promise<{ status: number; result?: ToolResult; error?: { code: number; message: string } }> {
  const res = await fetch(gw.url, { method: "POST", headers: modernHeaders("tools/call", name), body: modernBody(1, "tools/call", { name, arguments: args }) });
  const body = (await res.json()) as { result?: ToolResult; error?: { code: number; message: string } };
  return { status: res.status, ...body };
}

describe("arguments that break the tool's schema", () => {
  it("are answered with a tool error result listing the violations, never reach the upstream, and leave one validation.failed record", async () => {
    const before = (await upstreamToolCalls(gw.url))["echo"] ?? 0;
    const audited = gw.audit().length;
    const r = await call("fixture.echo", { message: 42 });
    expect(r.status).toBe(200);
    expect(r.result?.isError).toBe(true);
    expect(r.result?.structuredContent).toEqual({ reason: "invalid_params", violations: [{ path: "/message", rule: "type", message: "must be string" }] });
    expect(r.result?.content?.[0]?.text).toBe("Invalid arguments: /message: must be string");
    const records = gw.audit().slice(audited);
    expect(records.map((x) => [x.type, x.outcome, x.target])).toEqual([["validation.failed", "failure", "fixture.echo"]]);
    expect((await upstreamToolCalls(gw.url))["echo"] ?? 0).toBe(before);
  });

  it("name a missing required argument, a non-object arguments value, and each of several problems", async () => {
    expect((await call("fixture.echo", {})).result?.structuredContent?.violations).toEqual([{ path: "/message", rule: "required", message: "must have required property 'message'" }]);
    for (const args of [[], "x", 7, null]) expect((await call("fixture.echo", args)).result?.structuredContent?.violations?.[0]?.rule, JSON.stringify(args)).toBe("type");
  });

  it("check draft-07 schemas as draft-07 (server-everything) and 2020-12 ones as 2020-12 (the fixture)", async () => {
    expect((await call("everything.get-sum", { a: "1", b: 2 })).result?.structuredContent?.violations?.[0]).toMatchObject({ path: "/a", rule: "type" });
    expect((await call("everything.get-sum", { a: 1, b: 2 })).result?.content?.[0]?.text).toBe("The sum of 1 and 2 is 3.");
    // $defs/$anchor, allOf/anyOf, if/then/else and additionalProperties: all 2020-12, all enforced here.
    const ok = await call("fixture.json_schema_2020_12_tool", { name: "n", address: { street: "s", city: "c" }, email: "a@example.com" });
    expect(ok.result?.isError, JSON.stringify(ok)).not.toBe(true);
    const rules = (await call("fixture.json_schema_2020_12_tool", { name: "n", contactMethod: "phone", extra: 1 })).result?.structuredContent?.violations?.map((v) => v.rule);
    // The `then` branch's own error names the problem (contactMethod phone needs phone); `if` itself is not reported.
    expect(rules).toEqual(expect.arrayContaining(["additionalProperties", "required"]));
    expect(rules).not.toContain("if");
  });

  it("bound what a hostile call makes them report", async () => {
    const r = await call("fixture.json_schema_2020_12_tool", Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, { deep: [i] }])));
    expect(r.result?.structuredContent?.violations?.length ?? 0).toBeLessThanOrEqual(20);
    expect(JSON.stringify(r).length).toBeLessThan(10_000);
  });
});

describe("valid arguments", () => {
  it("pass unchanged, __proto__ keys included", async () => {
    expect((await call("fixture.echo", { message: "hi" })).result?.content?.[0]?.text).toBe("Echo: hi");
    expect((await call("fixture.echo", JSON.parse('{"message":"p","__proto__":{"polluted":1}}'))).result?.content?.[0]?.text).toBe("Echo: p");
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});
