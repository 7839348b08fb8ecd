// The era bridges: elicitation and sampling for every pair of client era and upstream era, and the requestState the gateway seals.
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as HttpV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixtureHttp, type FixtureHandle } from "../scripts/conformance/cli.ts";
import { fixtureStdio, modernHeaders, startTestGateway, upstreamToolCalls, type TestGateway } from "./helpers/harness.ts";

type Json = Record<string, unknown>;

let fixtureHttp: FixtureHandle;
let gw: TestGateway;

/** Every upstream kind, named for what it is; `era` is what the gateway must settle on with it. */
const UPSTREAMS = [
  { name: "stdio", era: "modern", transport: "stdio" },
  { name: "stdioLegacy", era: "legacy", transport: "stdio" },
  { name: "http", era: "modern", transport: "HTTP" },
  { name: "httpLegacy", era: "legacy", transport: "HTTP" },
] as const;

beforeAll(async () => {
  fixtureHttp = await startFixtureHttp();
  gw = await startTestGateway({
    upstreams: {
      stdio: fixtureStdio(),
      stdioLegacy: fixtureStdio({ protocol: "legacy" }),
      http: { url: fixtureHttp.url },
      httpLegacy: { url: fixtureHttp.url, protocol: "legacy" },
    },
  });
});
afterAll(async () => {
  await gw.close();
  await fixtureHttp.close();
});

const ANSWER = { username: "ada", email: "ada@example.org" };
const EXPECTED_ELICIT = `User response: action=accept, content=${JSON.stringify(ANSWER)}`;
const SAMPLED = { model: "test-model", role: "assistant" as const, content: { type: "text" as const, text: "Paris" } };

/** What a client's handlers were asked. */
interface Asked {
  elicit: Json[];
  sample: Json[];
}

async function v1(capabilities: Json = { elicitation: {}, sampling: {} }): Promise<{ client: ClientV1; asked: Asked }> {
  const asked: Asked = { elicit: [], sample: [] };
  const client = new ClientV1({ name: "eras-v1", version: "1.0.0" }, { capabilities });
  if ("elicitation" in capabilities)
    client.setRequestHandler(ElicitRequestSchema, (r) => {
      asked.elicit.push(r.params as Json);
      return { action: "accept", content: ANSWER };
    });
  if ("sampling" in capabilities)
    client.setRequestHandler(CreateMessageRequestSchema, (r) => {
      asked.sample.push(r.params as Json);
      return SAMPLED;
    });
  await client.connect(new HttpV1(new URL(gw.url)));
  return { client, asked };
}

async function v2(capabilities: { elicitation?: Record<string, never>; sampling?: Record<string, never> } = { elicitation: {}, sampling: {} }): Promise<{ client: ClientV2; asked: Asked }> {
  const asked: Asked = { elicit: [], sample: [] };
  const client = new ClientV2({ name: "eras-v2", version: "1.0.0" }, { versionNegotiation: { mode: "auto" }, capabilities });
  if (capabilities.elicitation !== undefined)
    client.setRequestHandler("elicitation/create", (r) => {
      asked.elicit.push(r.params as Json);
      return { action: "accept", content: ANSWER };
    });
  if (capabilities.sampling !== undefined)
    client.setRequestHandler("sampling/createMessage", (r) => {
      asked.sample.push(r.params as Json);
      return SAMPLED;
    });
  await client.connect(new HttpV2(new URL(gw.url)));
  expect(client.getProtocolEra()).toBe("modern");
  return { client, asked };
}

const text = (result: unknown): string => ((result as { content?: { text?: string }[] } | undefined)?.content?.[0]?.text ?? "");

/** Settles within `ms` or reports that it hung. */
async function settle<T>(p: Promise<T>, ms = 8000): Promise<{ ok: T } | { error: unknown } | "hung"> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<"hung">((r) => (timer = setTimeout(() => r("hung"), ms)));
  try {
    return await Promise.race([p.then((ok) => ({ ok }), (error: unknown) => ({ error })), hung]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- raw 2026-07-28 calls ------------------------------------------------------------------------

interface RawAnswer {
  status: number;
  body: { result?: Json; error?: { code: number; message: string; data?: Json } };
}

async function modernCall(id: number | string, tool: string, extra: Json = {}, capabilities: Json = { elicitation: {}, sampling: {} }): Promise<RawAnswer> {
  const body = { jsonrpc: "2.0", id, method: "tools/call", params: { name: tool, arguments: {}, ...extra, _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": capabilities } } };
  const res = await fetch(gw.url, { method: "POST", headers: modernHeaders("tools/call", tool), body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as RawAnswer["body"] };
}

const calls = async (upstream: string, tool: string): Promise<number> => (await upstreamToolCalls(gw.url, `${upstream}.stats`))[tool] ?? 0;

/** The same token with one bit of its sealed bytes flipped. */
function tamper(token: string): string {
  const raw = Buffer.from(token, "base64url");
  const at = Math.floor(raw.length / 2);
  raw[at] = (raw[at] as number) ^ 0x01;
  return raw.toString("base64url");
}

const REFUSED = { code: -32602, message: "Invalid params: requestState is unknown, expired or not yours" };

// ---- tests -------------------------------------------------------------------------------------

it("settles each upstream in the era its configuration asks for", () => {
  const eras = Object.fromEntries(gw.gateway.upstreams.map((u) => [u.name, u.era]));
  expect(eras).toEqual(Object.fromEntries(UPSTREAMS.map((u) => [u.name, u.era])));
});

describe.each(UPSTREAMS)("$name upstream ($era era over $transport)", ({ name }) => {
  describe("session-era client (SDK v1)", () => {
    it("answers the upstream's elicitation through its handler", async () => {
      const { client, asked } = await v1();
      const result = await client.callTool({ name: `${name}.test_elicitation`, arguments: { message: "Who are you?" } });
      expect(text(result)).toBe(EXPECTED_ELICIT);
      expect(asked.elicit).toHaveLength(1);
      expect(asked.elicit[0]).toMatchObject({ message: "Who are you?", requestedSchema: { type: "object", required: ["username", "email"] } });
      await client.close();
    });

    it("answers the upstream's sampling through its handler", async () => {
      const { client, asked } = await v1();
      const result = await client.callTool({ name: `${name}.test_sampling`, arguments: { prompt: "Capital of France?" } });
      expect(text(result)).toBe("LLM response: Paris");
      expect(asked.sample).toHaveLength(1);
      expect(asked.sample[0]).toMatchObject({ messages: [{ role: "user", content: { type: "text", text: "Capital of France?" } }], maxTokens: 100 });
      await client.close();
    });

    it("gets the question as a server→client request on its POST's SSE stream, and the result after its answer", async () => {
      const json = { "content-type": "application/json", accept: "application/json, text/event-stream" };
      const init = await fetch(gw.url, { method: "POST", headers: json, body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: { elicitation: {} }, clientInfo: { name: "raw", version: "1" } } }) });
      await init.text();
      const h = { ...json, "mcp-session-id": init.headers.get("mcp-session-id") as string, "mcp-protocol-version": "2025-11-25" };
      await fetch(gw.url, { method: "POST", headers: h, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });

      const res = await fetch(gw.url, { method: "POST", headers: h, body: JSON.stringify({ jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: `${name}.test_elicitation`, arguments: { message: "raw?" } } }) });
      expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let buffered = "";
      const frames: Json[] = [];
      const nextFrame = async (): Promise<Json> => {
        for (;;) {
          const end = buffered.indexOf("\n\n");
          if (end !== -1) {
            const data = buffered.slice(0, end).split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("");
            buffered = buffered.slice(end + 2);
            if (data === "") continue;
            const frame = JSON.parse(data) as Json;
            frames.push(frame);
            return frame;
          }
          const { value, done } = await reader.read();
          if (done) throw new Error(`stream ended after ${JSON.stringify(frames)}`);
          buffered += decoder.decode(value, { stream: true });
        }
      };
      const question = await nextFrame();
      expect(question["method"]).toBe("elicitation/create");
      expect(question["id"]).toBeDefined();
      expect((question["params"] as Json)["message"]).toBe("raw?");

      const answer = await fetch(gw.url, { method: "POST", headers: h, body: JSON.stringify({ jsonrpc: "2.0", id: question["id"], result: { action: "accept", content: ANSWER } }) });
      expect(answer.status).toBe(202);
      const final = await nextFrame();
      expect(final["id"]).toBe(5);
      expect(text(final["result"] as Json)).toBe(EXPECTED_ELICIT);
      await reader.cancel();
    });

    it("without the elicitation capability gets an error, never a hang", async () => {
      const { client } = await v1({});
      const outcome = await settle(client.callTool({ name: `${name}.test_elicitation`, arguments: { message: "anyone?" } }));
      expect(outcome).not.toBe("hung");
      // Either the request fails (-32021, missing capability) or the tool reports the failure; never a success.
      if (outcome !== "hung" && "ok" in outcome) {
        expect(outcome.ok.isError).toBe(true);
        expect(text(outcome.ok)).toMatch(/elicitation/);
      } else if (outcome !== "hung") {
        expect(String(outcome.error)).toMatch(/-32021|elicitation/);
      }
      // The session is still usable afterwards.
      expect(text(await client.callTool({ name: `${name}.echo`, arguments: { message: "after" } }))).toBe("Echo: after");
      await client.close();
    });
  });

  describe("2026-07-28 client (SDK v2)", () => {
    it("answers the elicitation as an input_required round trip", async () => {
      const { client, asked } = await v2();
      const result = await client.callTool({ name: `${name}.test_elicitation`, arguments: { message: "Who are you?" } });
      expect(text(result)).toBe(EXPECTED_ELICIT);
      expect(asked.elicit).toHaveLength(1);
      expect(asked.elicit[0]).toMatchObject({ message: "Who are you?", requestedSchema: { type: "object", required: ["username", "email"] } });
      await client.close();
    });

    it("answers the sampling as an input_required round trip", async () => {
      const { client, asked } = await v2();
      const result = await client.callTool({ name: `${name}.test_sampling`, arguments: { prompt: "Capital of France?" } });
      expect(text(result)).toBe("LLM response: Paris");
      expect(asked.sample).toHaveLength(1);
      expect(asked.sample[0]).toMatchObject({ messages: [{ role: "user", content: { type: "text", text: "Capital of France?" } }], maxTokens: 100 });
      await client.close();
    });

    it("without the elicitation capability is refused with -32021, never a hang", async () => {
      const outcome = await settle(modernCall(1, `${name}.test_elicitation`, { arguments: { message: "anyone?" } }, {}));
      expect(outcome).not.toBe("hung");
      if (outcome === "hung" || !("ok" in outcome)) throw new Error(`fetch failed: ${String(outcome === "hung" ? outcome : outcome.error)}`);
      expect(outcome.ok.status).toBe(400);
      expect(outcome.ok.body.error?.code).toBe(-32021);
    });
  });

  describe("raw 2026-07-28 round trip and sealed requestState", () => {
    async function firstRound(tool: string, args: Json): Promise<{ key: string; question: Json; state: string }> {
      const first = await modernCall("r1", tool, { arguments: args });
      expect(first.status).toBe(200);
      const result = first.body.result as Json;
      expect(result["resultType"]).toBe("input_required");
      const requests = result["inputRequests"] as Record<string, Json>;
      const keys = Object.keys(requests);
      expect(keys).toHaveLength(1);
      const key = keys[0] as string;
      expect(typeof result["requestState"]).toBe("string");
      return { key, question: requests[key] as Json, state: result["requestState"] as string };
    }

    it("asks, then completes when the answer comes back with the gateway's requestState", async () => {
      const { key, question, state } = await firstRound(`${name}.test_elicitation`, { message: "Name?" });
      expect(question["method"]).toBe("elicitation/create");
      expect((question["params"] as Json)["message"]).toBe("Name?");
      // The gateway's own AES-GCM token: 12-byte IV + ciphertext + 16-byte tag, base64url.
      expect(state).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(Buffer.from(state, "base64url").length).toBeGreaterThan(28);

      const second = await modernCall("r2", `${name}.test_elicitation`, { arguments: { message: "Name?" }, inputResponses: { [key]: { action: "accept", content: ANSWER } }, requestState: state });
      expect(second.body.error).toBeUndefined();
      expect(second.body.result?.["resultType"]).toBe("complete");
      expect(text(second.body.result as Json)).toBe(EXPECTED_ELICIT);
    });

    it("passes an upstream's own requestState through the round trip, sealed", async () => {
      const { key, state } = await firstRound(`${name}.test_input_required_result_request_state`, {});
      // The fixture's own token is `v1.<base64 JSON {"flow":"request_state",…}>.<HMAC>`: readable. The client sees only the gateway's sealed bytes.
      expect(state).not.toContain(".");
      expect(Buffer.from(state, "base64url").toString("latin1")).not.toContain("request_state");
      expect(Buffer.from(state, "base64url").toString("latin1")).not.toContain("flow");
      const second = await modernCall("r2", `${name}.test_input_required_result_request_state`, { inputResponses: { [key]: { action: "accept", content: { ok: true } } }, requestState: state });
      expect(second.body.error).toBeUndefined();
      expect(text(second.body.result as Json)).toBe("state-ok: confirmed=true");
    });

    it("refuses a requestState issued for another tool, and the upstream is not called", async () => {
      const { key, state } = await firstRound(`${name}.test_elicitation`, { message: "Name?" });
      const before = await calls(name, "test_sampling");
      const misused = await modernCall("r2", `${name}.test_sampling`, { arguments: { prompt: "x" }, inputResponses: { [key]: { action: "accept", content: ANSWER } }, requestState: state });
      expect(misused.status).toBe(200);
      expect(misused.body.error).toEqual(REFUSED);
      expect(await calls(name, "test_sampling")).toBe(before);

      // The rightful owner can still finish its call.
      const rightful = await modernCall("r3", `${name}.test_elicitation`, { arguments: { message: "Name?" }, inputResponses: { [key]: { action: "accept", content: ANSWER } }, requestState: state });
      expect(text(rightful.body.result as Json)).toBe(EXPECTED_ELICIT);
    });

    it("refuses a tampered requestState, and the upstream is not called", async () => {
      const { key, state } = await firstRound(`${name}.test_elicitation`, { message: "Name?" });
      const before = await calls(name, "test_elicitation");
      for (const forged of [tamper(state), state.slice(0, -2), `${state}AA`, "not-a-token", ""]) {
        const res = await modernCall("r2", `${name}.test_elicitation`, { arguments: { message: "Name?" }, inputResponses: { [key]: { action: "accept", content: ANSWER } }, requestState: forged });
        expect(res.body.error).toEqual(REFUSED);
      }
      expect(await calls(name, "test_elicitation")).toBe(before);
      const rightful = await modernCall("r3", `${name}.test_elicitation`, { arguments: { message: "Name?" }, inputResponses: { [key]: { action: "accept", content: ANSWER } }, requestState: state });
      expect(text(rightful.body.result as Json)).toBe(EXPECTED_ELICIT);
    });

    it("refuses a requestState replayed after the call finished, and the upstream is not called again", async () => {
      const { key, state } = await firstRound(`${name}.test_elicitation`, { message: "Name?" });
      const retry = { arguments: { message: "Name?" }, inputResponses: { [key]: { action: "accept", content: ANSWER } }, requestState: state };
      const done = await modernCall("r2", `${name}.test_elicitation`, retry);
      expect(text(done.body.result as Json)).toBe(EXPECTED_ELICIT);
      const before = await calls(name, "test_elicitation");

      const replayed = await modernCall("r3", `${name}.test_elicitation`, retry);
      expect(replayed.body.error).toEqual(REFUSED);
      expect(await calls(name, "test_elicitation")).toBe(before);
    });
  });

  it("results carry no reserved _meta of the upstream's hop (serverInfo, if any, is the gateway's)", async () => {
    const modern = await modernCall(1, `${name}.echo`, { arguments: { message: "m" } });
    const { client } = await v1({});
    const legacy = (await client.callTool({ name: `${name}.echo`, arguments: { message: "l" } })) as Json;
    await client.close();
    for (const result of [modern.body.result as Json, legacy]) {
      const meta = (result["_meta"] ?? {}) as Json;
      const info = meta["io.modelcontextprotocol/serverInfo"] as Json | undefined;
      if (info !== undefined) expect(info["name"]).toBe("mcp-bastion");
    }
  });
});

describe("two session-era clients asked at the same time", () => {
  for (const { name } of UPSTREAMS) {
    it(`never get each other's question (${name})`, async () => {
      const connect = async (who: string): Promise<{ client: ClientV1; asked: string[] }> => {
        const asked: string[] = [];
        const client = new ClientV1({ name: who, version: "1" }, { capabilities: { elicitation: {} } });
        client.setRequestHandler(ElicitRequestSchema, async (r) => {
          asked.push(r.params.message);
          await new Promise((resolve) => setTimeout(resolve, 100)); // both calls are in flight together
          return { action: "accept", content: { username: who, email: `${who}@example.org` } };
        });
        await client.connect(new HttpV1(new URL(gw.url)));
        return { client, asked };
      };
      const alice = await connect("alice");
      const bob = await connect("bob");
      const [a, b] = await Promise.allSettled([
        alice.client.callTool({ name: `${name}.test_elicitation`, arguments: { message: "for alice" } }),
        bob.client.callTool({ name: `${name}.test_elicitation`, arguments: { message: "for bob" } }),
      ]);
      // Each question reaches its own caller or nobody; a stdio session-era upstream names no call in
      // its requests, so there the gateway may refuse them rather than guess.
      expect(alice.asked.every((m) => m === "for alice")).toBe(true);
      expect(bob.asked.every((m) => m === "for bob")).toBe(true);
      for (const [outcome, who, other] of [[a, "alice", "bob"], [b, "bob", "alice"]] as const) {
        if (outcome.status === "fulfilled") expect(text(outcome.value)).not.toContain(other);
        if (outcome.status === "fulfilled" && !outcome.value.isError) expect(text(outcome.value)).toContain(`"username":"${who}"`);
      }
      await alice.client.close();
      await bob.client.close();
    });
  }
});

describe("a parked session-era call", () => {
  it("asks again when a retry answers nothing it asked, and a decline ends it", async () => {
    const first = await modernCall("p1", "stdioLegacy.test_elicitation", { arguments: { message: "Name?" } });
    const state = (first.body.result as Json)["requestState"] as string;
    expect(typeof state).toBe("string");
    // Answer nothing useful (an unknown key): the call stays parked and is asked again.
    const again = await modernCall("p2", "stdioLegacy.test_elicitation", { arguments: { message: "Name?" }, inputResponses: { nope: { action: "accept", content: ANSWER } }, requestState: state });
    expect((again.body.result as Json)["resultType"]).toBe("input_required");
    expect(Object.keys((again.body.result as Json)["inputRequests"] as Json)).toEqual(["input-1"]);
    // Declining ends it: the upstream tool sees the decline and finishes.
    const declined = await modernCall("p3", "stdioLegacy.test_elicitation", {
      arguments: { message: "Name?" },
      inputResponses: { "input-1": { action: "decline" } },
      requestState: (again.body.result as Json)["requestState"],
    });
    expect(text(declined.body.result as Json)).toBe("User response: action=decline, content={}");
  });
});
