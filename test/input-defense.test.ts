// Input defense through a running gateway: gateway limits, detectors, argument conditions and response rules, against the real fixture server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfigObject } from "../src/config/index.ts";
import { fixtureStdio, modernBody, modernHeaders, startTestGateway, upstreamToolCalls, type TestGateway } from "./helpers/harness.ts";

interface ToolResult {
  isError?: boolean;
  content?: { type: string; text: string }[];
  structuredContent?: { reason?: string; violations?: { path: string; rule: string; message: string }[]; count?: unknown };
}
interface Answer {
  result?: ToolResult;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

async function call(gw: TestGateway, name: string, args: unknown): Promise<Answer> {
  const res = await fetch(gw.url, { method: "POST", headers: modernHeaders("tools/call", name), body: modernBody(1, "tools/call", { name, arguments: args }) });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer;
}

/** Calls a tool and returns the audit records and upstream calls the call left behind. */
async function traced(gw: TestGateway, name: string, args: unknown): Promise<{ answer: Answer; records: ReturnType<TestGateway["audit"]>; reached: boolean }> {
  const tool = name.slice(name.indexOf(".") + 1);
  const before = (await upstreamToolCalls(gw.url))[tool] ?? 0;
  const audited = gw.audit().length;
  const answer = await call(gw, name, args);
  const records = gw.audit().slice(audited);
  const after = (await upstreamToolCalls(gw.url))[tool] ?? 0;
  // The stats call itself leaves a tool.call record: keep only what this call left.
  return { answer, records: records.filter((r) => r.target !== "fixture.stats"), reached: after > before };
}

const echoed = (a: Answer): unknown => JSON.parse(a.result?.content?.[0]?.text ?? "null");

describe("with enforcing rules", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      upstreams: { fixture: fixtureStdio() },
      validation: {
        tools: {
          "fixture.echo": { arguments: { message: { maxLength: 40, pattern: "^[^#]*$" } } },
          "fixture.echo_args": { maxDepth: 4, arguments: { "/mail/to": { format: "email" }, tags: { enum: ["a", "b"], maxItems: 2 }, n: { minimum: 1, maximum: 5 } } },
        },
        detectors: { traversal: "block", ssrf: { action: "block", resolve: false }, secrets: "block" },
        rules: [
          { name: "mail-internal", tool: "fixture.echo_args", argument: ["to", "cc"], emailDomains: ["example.com", "*.example.org"] },
          { name: "shared-only", tool: "fixture.echo_args", argument: "path", pathUnder: ["/srv/shared"] },
          { name: "public-web", tool: "fixture.echo_args", argument: "url", publicUrl: { schemes: ["https"] } },
          { name: "colour-shadow", tool: "fixture.echo_args", argument: "colour", oneOf: ["red", "green"], mode: "shadow" },
          { name: "size-open", tool: "fixture.echo_args", argument: "size", match: ["small", "large"], onError: "open" },
        ],
      },
    });
  });
  afterAll(() => gw.close());

  it("refuses what breaks a gateway limit with every violation, never forwarding it, in one validation.failed record", async () => {
    const { answer, records, reached } = await traced(gw, "fixture.echo", { message: "#".repeat(41) });
    expect(answer.result?.structuredContent?.reason).toBe("invalid_params");
    expect(answer.result?.structuredContent?.violations?.map((v) => [v.path, v.rule])).toEqual([
      ["/message", "maxLength"],
      ["/message", "pattern"],
    ]);
    expect(reached).toBe(false);
    expect(records.map((r) => [r.type, r.outcome])).toEqual([["validation.failed", "failure"]]);
  });

  it("applies limits inside objects and to each element of an array, and bounds the depth", async () => {
    const v = async (args: unknown) => (await call(gw, "fixture.echo_args", args)).result?.structuredContent?.violations?.map((x) => [x.path, x.rule]);
    expect(await v({ mail: { to: "not an address" } })).toEqual([["/mail/to", "format"]]);
    expect(await v({ tags: ["a", "c", "b"] })).toEqual([
      ["/tags/1", "enum"],
      ["/tags", "maxItems"],
    ]);
    expect(await v({ n: 6 })).toEqual([["/n", "maximum"]]);
    expect(await v({ deep: { a: { b: { c: 1 } } } })).toBeUndefined(); // four levels of objects, the arguments' own included: within maxDepth 4
    expect(await v({ deep: { a: { b: { c: { d: 1 } } } } })).toEqual([["", "maxDepth"]]);
    expect(echoed(await call(gw, "fixture.echo_args", { mail: { to: "ann@example.com" }, tags: ["b"], n: 5 }))).toEqual({ mail: { to: "ann@example.com" }, tags: ["b"], n: 5 });
  });

  it("blocks detected payloads with blocked_input, in one input.blocked record, before the upstream sees them", async () => {
    for (const [args, rule] of [
      [{ file: "../../etc/passwd" }, "traversal:"],
      [{ file: "docs/%2e%2e/%2e%2e/etc/shadow" }, "traversal:"],
      [{ link: "http://2130706433/admin" }, "ssrf:"],
      [{ link: "http://[::ffff:169.254.169.254]/latest/meta-data/" }, "ssrf:"],
      [{ note: "key AKIAIOSFODNN7EXAMPLE here" }, "secrets:"],
    ] as const) {
      const { answer, records, reached } = await traced(gw, "fixture.echo_args", args);
      expect(answer.result?.isError, JSON.stringify(args)).toBe(true);
      expect(answer.result?.structuredContent?.reason).toBe("blocked_input");
      expect(answer.result?.structuredContent?.violations?.[0]?.rule.startsWith(rule), JSON.stringify(answer.result)).toBe(true);
      expect(reached).toBe(false);
      expect(records.map((r) => [r.type, r.outcome])).toEqual([["input.blocked", "failure"]]);
    }
  });

  it("denies an argument condition with -32011 forbidden naming the rule, in one authz.denied record", async () => {
    const { answer, records, reached } = await traced(gw, "fixture.echo_args", { to: "ann@example.com, eve@evil.test" });
    expect(answer.error).toEqual({ code: -32011, message: "Forbidden by policy rule mail-internal", data: { reason: "forbidden", rule: "mail-internal" } });
    expect(reached).toBe(false);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ type: "authz.denied", outcome: "denied", target: "fixture.echo_args" });
    expect(records[0]?.reason).toContain("mail-internal");
  });

  it("judges every address, path and URL in the forms an attacker would use", async () => {
    const rule = async (args: Record<string, unknown>) => (await call(gw, "fixture.echo_args", args)).error?.data?.["rule"] ?? "allowed";
    expect(await rule({ to: "Ann <ann@example.com>; bob@EXAMPLE.com", cc: ["x@mail.example.org"] })).toBe("allowed");
    for (const to of ["ann@example.com\nBcc: eve@evil.test", "eve@example.com.evil.test", "eve@evil.test (ann@example.com)", "eve@example.org", ["ann@example.com", 42]])
      expect(await rule({ to }), JSON.stringify(to)).toBe("mail-internal");
    expect(await rule({ path: "/srv/shared/team/notes.md" })).toBe("allowed");
    for (const path of ["/srv/shared/../../etc/passwd", "/srv/shared%2f..%2f..%2fetc/passwd", "/srv/sharedX/a", "file:///etc/passwd", "notes.md", "/srv/shared/a\u0000.md", "\\srv\\shared\\..\\..\\etc"])
      expect(await rule({ path }), path).toBe("shared-only");
    expect(await rule({ url: "https://8.8.8.8/search?q=x" })).toBe("allowed");
    for (const url of ["http://8.8.8.8/", "https://127.0.0.1/", "https://0x7f.1/", "https://[::1]/", "https://169.254.169.254/latest", "https://user@10.0.0.1/", "ftp://8.8.8.8/", "not a url"])
      expect(await rule({ url }), url).toBe("public-web");
  });

  it("in shadow mode lets the call through and notes the denial in its one tool.call record", async () => {
    const { answer, records, reached } = await traced(gw, "fixture.echo_args", { colour: "blue" });
    expect(echoed(answer)).toEqual({ colour: "blue" });
    expect(reached).toBe(true);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ type: "tool.call", severity: "warning", details: { notices: [{ check: "colour-shadow", rule: "deny" }] } });
  });

  it("fails open or closed when a rule cannot decide, as configured", async () => {
    const open = await traced(gw, "fixture.echo_args", { size: 3 });
    expect(open.reached).toBe(true);
    expect(open.records[0]?.details).toMatchObject({ notices: [{ check: "size-open", rule: "undecided" }] });
    expect((await call(gw, "fixture.echo_args", { size: "medium" })).error?.data?.["rule"]).toBe("size-open");
    expect((await call(gw, "fixture.echo_args", { to: { address: "ann@example.com" } })).error?.data?.["rule"]).toBe("mail-internal"); // closed by default
  });

  it("keeps serving after hostile arguments: huge, deep, unicode-tricky, prototype keys", async () => {
    const hostile: unknown[] = [
      { x: "\u202E\u200B".repeat(10_000) },
      { __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } },
      { ["ｆｉｌｅ"]: "．．／．．／etc/passwd" },
      { s: "a".repeat(500_000) },
      JSON.parse(`{"a":${"[".repeat(30)}1${"]".repeat(30)}}`),
    ];
    for (const args of hostile) {
      const a = await call(gw, "fixture.echo_args", args);
      expect(a.error ?? a.result, JSON.stringify(args).slice(0, 60)).toBeDefined();
    }
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect((await call(gw, "fixture.echo", { message: "still here" })).result?.content?.[0]?.text).toBe("Echo: still here");
  });
});

describe("with repairing and logging detectors, and response rules", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      upstreams: { fixture: fixtureStdio() },
      validation: {
        detectors: { xss: "sanitize", sql: "log", secrets: { action: "log", tools: ["fixture.echo", "fixture.report"] }, ssrf: { action: "block", resolve: false } },
        responses: { redactPii: ["email", "card"], maxBytes: 4096 },
      },
    });
  });
  afterAll(() => gw.close());

  it("forwards sanitized HTML, not what the client sent, and notes the repair", async () => {
    const { answer, records } = await traced(gw, "fixture.echo_args", { html: '<p onclick="steal()">hi<script>alert(1)</script></p>' });
    const html = (echoed(answer) as { html: string }).html;
    expect(html).not.toMatch(/<script|onclick/i);
    expect(html).toContain("hi");
    expect(records[0]?.details).toMatchObject({ notices: [{ check: "detector:xss", rule: "sanitized", path: "/html" }] });
  });

  it("lets logged findings through and names them in the audit record", async () => {
    const { answer, records } = await traced(gw, "fixture.echo_args", { q: "' OR 1=1 --" });
    expect(echoed(answer)).toEqual({ q: "' OR 1=1 --" });
    expect(records[0]?.severity).toBe("warning");
    expect((records[0]?.details as { notices: { check: string }[] }).notices[0]?.check).toBe("detector:sql");
  });

  it("redacts secrets and the configured personal data in tool results", async () => {
    const a = await call(gw, "fixture.echo", { message: "key AKIAIOSFODNN7EXAMPLE mail ann@example.com card 4111 1111 1111 1111 order 1234567890123" });
    const text = a.result?.content?.[0]?.text ?? "";
    expect(text).not.toContain("AKIAIOSFODNN7EXAMPLE");
    expect(text).toContain("[REDACTED]");
    expect(text).toContain("[EMAIL]");
    expect(text).toContain("[CARD]");
    expect(text).toContain("1234567890123"); // fails the Luhn check: not a card
  });

  it("withholds a result that breaks the tool's declared outputSchema, and passes one that keeps it", async () => {
    expect((await call(gw, "fixture.report", { count: 3 })).result?.structuredContent).toEqual({ count: 3 });
    const { answer, records } = await traced(gw, "fixture.report", { count: "many" });
    expect(answer.result?.isError).toBe(true);
    expect(answer.result?.content?.[0]?.text).toContain("output schema");
    expect(records[0]?.details).toMatchObject({ notices: [{ check: "responses", rule: "outputSchema" }] });
  });

  it("replaces a result over maxBytes with a tool error", async () => {
    const a = await call(gw, "fixture.echo", { message: "x".repeat(5000) });
    expect(a.result?.isError).toBe(true);
    expect(a.result?.content?.[0]?.text).toContain("over the gateway's limit");
  });
});

describe("capability names", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      upstreams: { fixture: fixtureStdio() },
      capabilities: { "mail.send": ["fixture.echo", "fixture.stats"] },
      roles: { anonymous: { permissions: ["mail.send"] } },
    });
  });
  afterAll(() => gw.close());

  it("grant the tools they stand for, in the list and for calls, and nothing else", async () => {
    const res = await fetch(gw.url, { method: "POST", headers: modernHeaders("tools/list"), body: modernBody(1, "tools/list") });
    const names = ((await res.json()) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name).sort();
    expect(names).toEqual(["fixture.echo", "fixture.stats"]);
    expect((await call(gw, "fixture.echo", { message: "hi" })).result?.content?.[0]?.text).toBe("Echo: hi");
    expect((await call(gw, "fixture.echo_args", {})).error?.code).toBe(-32602);
  });

  it("change on reload, from the next request on, and the reload is audited", async () => {
    const next = loadConfigObject({ upstreams: { fixture: fixtureStdio() }, auth: { anonymous: true }, capabilities: { "mail.send": ["fixture.echo_args"] }, roles: { anonymous: { permissions: ["mail.send", "fixture.stats"] } }, validation: { detectors: { ssrf: "log" } } }, {}, gw.dir);
    const { restartNeeded } = gw.gateway.reload(next);
    expect(restartNeeded).toEqual(["audit"]); // this test's new config names other audit paths; upstreams are the same
    expect((await call(gw, "fixture.echo", { message: "hi" })).error?.code).toBe(-32602);
    expect(echoed(await call(gw, "fixture.echo_args", { u: "http://127.0.0.1/" }))).toEqual({ u: "http://127.0.0.1/" });
    expect(gw.audit().filter((r) => r.type === "config.loaded").at(-1)?.details).toMatchObject({ reload: true, restartNeeded: ["audit"] });
  });
});
