// One policy for lists and calls: what a caller cannot use it cannot see, cannot tell from what does not exist, and never reaches upstream.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtureStdio, modernBody, modernHeaders, startTestGateway, type TestGateway } from "./helpers/harness.ts";

let gw: TestGateway;
const keys: Record<string, string> = {};

beforeAll(async () => {
  gw = await startTestGateway({
    upstreams: { fixture: fixtureStdio() },
    auth: { anonymous: false },
    roles: {
      admin: { permissions: ["*"] },
      reader: { permissions: ["fixture.echo", "fixture.test_simple_*", "prompt:fixture.test_simple_prompt", "resource:test://static-*"] },
    },
  });
  const id = gw.gateway.identity;
  await id.addUser("root", ["admin"], undefined);
  await id.addUser("rita", ["reader"], undefined);
  keys["admin"] = (await id.createApiKey("root", ["*"], null)).key;
  keys["reader"] = (await id.createApiKey("rita", ["*"], null)).key;
  keys["narrow"] = (await id.createApiKey("root", ["fixture.echo"], null)).key;
});
afterAll(() => gw.close());

type Answer = { status: number; body: { result?: Record<string, unknown> & { content?: { text?: string }[] }; error?: { code: number; message: string } } };

async function rpc(key: string, method: string, params: Record<string, unknown> = {}, name?: string): Promise<Answer> {
  const res = await fetch(gw.url, { method: "POST", headers: { ...modernHeaders(method, name), authorization: `Bearer ${key}` }, body: modernBody(1, method, params) });
  return { status: res.status, body: (await res.json()) as Answer["body"] };
}

const names = (a: Answer, field: string, key: string): string[] => ((a.body.result?.[field] ?? []) as Record<string, string>[]).map((x) => x[key] as string);

describe("lists show exactly what the policy grants", () => {
  it("admin sees every tool, the reader only its own", async () => {
    const all = names(await rpc(keys["admin"] as string, "tools/list"), "tools", "name");
    const mine = names(await rpc(keys["reader"] as string, "tools/list"), "tools", "name");
    expect(all.length).toBeGreaterThan(10);
    expect(mine.sort()).toEqual(all.filter((n) => n === "fixture.echo" || n.startsWith("fixture.test_simple_")).sort());
    expect(mine).toContain("fixture.echo");
    expect(mine).not.toContain("fixture.whoami_env");
  });

  it("filters prompts, resources and templates by the same policy", async () => {
    const reader = keys["reader"] as string;
    expect(names(await rpc(reader, "prompts/list"), "prompts", "name")).toEqual(["fixture.test_simple_prompt"]);
    const resources = names(await rpc(reader, "resources/list"), "resources", "uri");
    expect(resources.length).toBeGreaterThan(0);
    for (const uri of resources) expect(uri).toMatch(/^test:\/\/static-/);
    expect(names(await rpc(reader, "resources/templates/list"), "resourceTemplates", "uriTemplate")).toEqual([]);
  });

  it("lets an API key's scopes narrow its owner's roles", async () => {
    expect(names(await rpc(keys["narrow"] as string, "tools/list"), "tools", "name")).toEqual(["fixture.echo"]);
  });

  it("never refuses a call of something listed", async () => {
    const reader = keys["reader"] as string;
    for (const name of names(await rpc(reader, "tools/list"), "tools", "name")) {
      const a = await rpc(reader, "tools/call", { name, arguments: { message: "x" } }, name);
      expect(a.body.error?.code, name).not.toBe(-32602);
    }
  });
});

describe("a forbidden call is answered as an absent one", () => {
  it("gives a forbidden tool the very answer of a missing one, never reaching the upstream, audited as authz.denied", async () => {
    const reader = keys["reader"] as string;
    const statsBefore = (await rpc(keys["admin"] as string, "tools/call", { name: "fixture.stats", arguments: {} }, "fixture.stats")).body.result?.content?.[0]?.text ?? "{}";
    const audited = gw.audit().length;
    const forbidden = await rpc(reader, "tools/call", { name: "fixture.whoami_env", arguments: { name: "PATH" } }, "fixture.whoami_env");
    const absent = await rpc(reader, "tools/call", { name: "fixture.no_such_tool", arguments: {} }, "fixture.no_such_tool");
    expect(forbidden.status).toBe(absent.status);
    expect(forbidden.body.error).toEqual({ code: -32602, message: "Unknown tool: fixture.whoami_env" });
    expect(absent.body.error).toEqual({ code: -32602, message: "Unknown tool: fixture.no_such_tool" });
    const records = gw.audit().slice(audited);
    expect(records.map((r) => [r.type, r.outcome, r.target])).toEqual([
      ["authz.denied", "denied", "fixture.whoami_env"],
      ["authz.denied", "denied", "fixture.no_such_tool"],
    ]);
    expect(records[0]?.reason).toBe("rita may not use tool fixture.whoami_env");
    // Not granted either (the reader's patterns do not cover it): refused before anyone looks whether it exists.
    expect(records[1]?.reason).toBe("rita may not use tool fixture.no_such_tool");
    const statsAfter = (await rpc(keys["admin"] as string, "tools/call", { name: "fixture.stats", arguments: {} }, "fixture.stats")).body.result?.content?.[0]?.text ?? "{}";
    expect((JSON.parse(statsAfter) as Record<string, number>)["whoami_env"]).toBe((JSON.parse(statsBefore) as Record<string, number>)["whoami_env"]);
  });

  it("refuses forbidden resources, prompts and completions like missing ones", async () => {
    const reader = keys["reader"] as string;
    expect((await rpc(reader, "resources/read", { uri: "test://template/1/data" }, "test://template/1/data")).body.error).toEqual({ code: -32602, message: "Resource not found: test://template/1/data" });
    expect((await rpc(reader, "resources/read", { uri: "test://static-text" }, "test://static-text")).body.result?.["contents"]).toBeDefined();
    expect((await rpc(reader, "prompts/get", { name: "fixture.test_prompt_with_arguments", arguments: { arg1: "a", arg2: "b" } }, "fixture.test_prompt_with_arguments")).body.error).toEqual({
      code: -32602,
      message: "Unknown prompt: fixture.test_prompt_with_arguments",
    });
    const completion = await rpc(reader, "completion/complete", { ref: { type: "ref/prompt", name: "fixture.test_prompt_with_arguments" }, argument: { name: "arg1", value: "" } });
    expect(completion.body.error).toEqual({ code: -32602, message: "Unknown prompt: fixture.test_prompt_with_arguments" });
  });

  it("is not fooled by case, unicode or spacing tricks on a granted name", async () => {
    const narrow = keys["narrow"] as string;
    for (const name of ["Fixture.Echo", "fixture.echo ", "fixture..echo", "fixture.ech\u200bo", "fixture.еcho", "fixture.echo\u0000", "fixture.echo/../whoami_env"]) {
      const a = await rpc(narrow, "tools/call", { name, arguments: { message: "x" } }, encodeURIComponent(name) === name ? name : undefined);
      expect(a.body.error?.code ?? a.status, JSON.stringify(name)).not.toBe(undefined);
      expect(a.body.result, JSON.stringify(name)).toBeUndefined();
    }
    expect((await rpc(narrow, "tools/call", { name: "fixture.echo", arguments: { message: "ok" } }, "fixture.echo")).body.result?.content?.[0]?.text).toBe("Echo: ok");
  });
});
