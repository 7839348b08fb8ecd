// Real SDK clients of both eras through the gateway to real servers: the reference "everything" server and the fixture, over stdio and HTTP.
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as HttpV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixtureHttp, type FixtureHandle } from "../scripts/conformance/cli.ts";
import { everythingStdio, fixtureStdio, startEverythingHttp, startTestGateway, type TestGateway } from "./helpers/harness.ts";

let fixtureHttp: FixtureHandle;
let everythingHttp: FixtureHandle;
let gw: TestGateway;

beforeAll(async () => {
  [fixtureHttp, everythingHttp] = await Promise.all([startFixtureHttp(), startEverythingHttp()]);
  gw = await startTestGateway({ upstreams: { everything: everythingStdio(), fixture: fixtureStdio(), remote: { url: fixtureHttp.url }, web: { url: everythingHttp.url } } });
});
afterAll(async () => {
  await gw.close();
  await Promise.all([fixtureHttp.close(), everythingHttp.close()]);
});

async function v1(): Promise<ClientV1> {
  const client = new ClientV1({ name: "test-v1", version: "1.0.0" }, { capabilities: {} });
  await client.connect(new HttpV1(new URL(gw.url)));
  return client;
}

async function v2(): Promise<ClientV2> {
  const client = new ClientV2({ name: "test-v2", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
  await client.connect(new HttpV2(new URL(gw.url)));
  return client;
}

describe("aggregation", () => {
  it("every upstream is ready, each in the era it speaks", () => {
    const eras = Object.fromEntries(gw.gateway.upstreams.map((u) => [u.name, [u.state, u.era]]));
    expect(eras).toEqual({ everything: ["ready", "legacy"], fixture: ["ready", "modern"], remote: ["ready", "modern"], web: ["ready", "legacy"] });
  });

  it("names every tool prefix.name, within the spec's alphabet and length", async () => {
    const client = await v1();
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toContain("everything.echo");
    expect(names).toContain("fixture.echo");
    expect(names).toContain("remote.echo");
    expect(names).toContain("web.echo");
    for (const n of names) expect(n).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
    await client.close();
  });
});

describe.each([
  ["session era (SDK v1)", v1],
  ["2026-07-28 (SDK v2)", v2],
] as const)("%s client", (_label, connect) => {
  for (const upstream of ["everything", "fixture", "remote", "web"]) {
    it(`calls ${upstream}.echo`, async () => {
      const client = await connect();
      const result = await client.callTool({ name: `${upstream}.echo`, arguments: { message: `hello ${upstream}` } });
      expect(result.content).toEqual([{ type: "text", text: `Echo: hello ${upstream}` }]);
      await client.close();
    });
  }

  it("gets an unknown tool refused as absent (-32602)", async () => {
    const client = await connect();
    await expect(client.callTool({ name: "fixture.nope", arguments: {} })).rejects.toThrow(/Unknown tool: fixture.nope/);
    await client.close();
  });

  it("reads a resource from the upstream that owns it", async () => {
    const client = await connect();
    const read = await client.readResource({ uri: "test://static-text" });
    expect(read.contents[0]).toMatchObject({ uri: "test://static-text", text: "This is the content of the static text resource." });
    await client.close();
  });

  it("gets a prompt by its prefixed name", async () => {
    const client = await connect();
    const prompt = await client.getPrompt({ name: "fixture.test_prompt_with_arguments", arguments: { arg1: "a", arg2: "b" } });
    expect(JSON.stringify(prompt.messages)).toContain("a");
    await client.close();
  });
});

describe("server→client requests from the reference server", () => {
  for (const upstream of ["everything", "web"]) {
    it(`relays ${upstream}'s sampling request to the calling session-era client and its answer back`, async () => {
      const { CreateMessageRequestSchema } = await import("@modelcontextprotocol/sdk/types.js");
      const client = new ClientV1({ name: "sampler", version: "1.0.0" }, { capabilities: { sampling: {} } });
      const prompts: string[] = [];
      client.setRequestHandler(CreateMessageRequestSchema, (req) => {
        prompts.push(JSON.stringify(req.params.messages));
        return { role: "assistant", model: "test-model", content: { type: "text", text: "sampled answer" } };
      });
      await client.connect(new HttpV1(new URL(gw.url)));
      const result = await client.callTool({ name: `${upstream}.trigger-sampling-request`, arguments: { prompt: "capital of France?" } });
      expect(prompts).toHaveLength(1);
      expect(prompts[0]).toContain("capital of France?");
      expect(JSON.stringify(result.content)).toContain("sampled answer");
      await client.close();
    });
  }

  it("answers a 2026-07-28 client's call that needs sampling with an input-required round trip the SDK completes", async () => {
    const client = new ClientV2({ name: "sampler-v2", version: "1.0.0" }, { versionNegotiation: { mode: "auto" }, capabilities: { sampling: {} } });
    client.setRequestHandler("sampling/createMessage", () => ({ role: "assistant", model: "m", content: { type: "text", text: "v2 sampled" } }));
    await client.connect(new HttpV2(new URL(gw.url)));
    const result = await client.callTool({ name: "everything.trigger-sampling-request", arguments: { prompt: "hi" } });
    expect(JSON.stringify(result.content)).toContain("v2 sampled");
    await client.close();
  });
});
