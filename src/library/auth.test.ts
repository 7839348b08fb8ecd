// requireAuth on real McpServers of both SDK generations: who gets through, what the others are answered, and that their handler never ran.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError } from "../errors/index.ts";
import { authInfoOf, REFUSAL_META_KEY, requireAuth } from "./auth.ts";
import { authInfo, counted, SDKS, type ToolSpec } from "./sdk.case.ts";
import type { AuthInfo } from "./auth.ts";

const Echo = z.strictObject({ text: z.string().max(100) });
const UNAUTHORIZED = { code: -32001, message: "Unauthorized: credentials are required", data: { reason: "unauthenticated" } };
const forbidden = (permission: string) => ({ code: -32011, message: "Forbidden by policy", data: { reason: "forbidden", permission } });

describe.each(SDKS)("requireAuth on a $name McpServer", (sdk) => {
  /** Serves `send` (permission gmail.send) to a caller with `info`, and returns what one call came to and how often the handler ran. */
  async function callSend(info: AuthInfo | undefined, options: Parameters<typeof requireAuth>[2] = {}, errors = true) {
    const { calls, handler } = counted();
    const served = await sdk.serve({ send: { inputSchema: Echo, handler: requireAuth("gmail.send", handler, options) } }, info === undefined ? { errors } : { authInfo: info, errors });
    try {
      const outcome = await served.call("send", { text: "hi" });
      return { ...outcome, calls };
    } finally {
      await served.close();
    }
  }

  it("runs the handler for a scope equal to the permission, with the arguments and the context the SDK gave", async () => {
    const { wire, calls } = await callSend(authInfo(["gmail.read", "gmail.send"]));
    expect(wire).toMatchObject({ result: { content: [{ type: "text", text: '{"text":"hi"}' }] } });
    expect(calls).toEqual([{ text: "hi" }]);
  });

  it("runs it for `*`, for a wildcard pattern covering the permission, and for a capability that grants it", async () => {
    for (const scopes of [["*"], ["gmail.*"], ["*.send"], ["g*l.s*"]]) expect((await callSend(authInfo(scopes))).calls, scopes.join(" ")).toHaveLength(1);
    const capabilities = { mailer: ["calendar.read", "gmail.se*"] };
    expect((await callSend(authInfo(["mailer"]), { capabilities })).calls).toHaveLength(1);
  });

  it("refuses a request without authInfo with -32001 and never calls the handler", async () => {
    const { wire, thrown, calls } = await callSend(undefined);
    expect(wire).toEqual({ jsonrpc: "2.0", id: wire.id, error: UNAUTHORIZED });
    // The SDK client surfaces it as its protocol error, code and data intact.
    expect(thrown).toEqual({ code: -32001, data: { reason: "unauthenticated" } });
    expect(calls).toEqual([]);
  });

  it("refuses scopes that do not grant the permission with -32011 naming it, never echoing the token", async () => {
    for (const scopes of [[], ["gmail.read"], ["gmail.send.*"], ["gmail"], ["GMAIL.SEND"], ["calendar.*"]]) {
      const { wire, thrown, calls } = await callSend(authInfo(scopes));
      expect(wire, scopes.join(" ")).toEqual({ jsonrpc: "2.0", id: wire.id, error: forbidden("gmail.send") });
      expect(thrown).toEqual({ code: -32011, data: { reason: "forbidden", permission: "gmail.send" } });
      expect(JSON.stringify(wire)).not.toContain("tok_SECRET");
      expect(calls).toEqual([]);
    }
  });

  it("does not let a capability that grants other permissions through, nor a capability name without its scope", async () => {
    const capabilities = { reader: ["gmail.read", "gmail.list"] };
    expect((await callSend(authInfo(["reader"]), { capabilities })).wire).toMatchObject({ error: { code: -32011 } });
    expect((await callSend(authInfo(["gmail.read"]), { capabilities: { "gmail.read": ["gmail.send"] } })).calls).toHaveLength(1);
    expect((await callSend(authInfo(["mailer"]), { capabilities: { other: ["gmail.send"] } })).calls).toHaveLength(0);
  });

  it("refuses a token whose expiresAt has passed (by the injected clock) with -32001 invalid_token", async () => {
    const expiresAt = 1_900_000_000;
    const at = (ms: number) => ({ now: () => ms });
    expect((await callSend(authInfo(["*"], { expiresAt }), at(expiresAt * 1000 - 1))).calls).toHaveLength(1);
    const { wire, calls } = await callSend(authInfo(["*"], { expiresAt }), at(expiresAt * 1000));
    expect(wire).toMatchObject({ error: { code: -32001, message: "Unauthorized: invalid, expired or revoked credentials", data: { reason: "invalid_token" } } });
    expect(calls).toEqual([]);
  });

  it("without refusalsAsErrors, answers a tool error result that carries the same error", async () => {
    const { wire, calls } = await callSend(authInfo(["gmail.read"]), {}, false);
    expect(wire).toMatchObject({
      result: {
        isError: true,
        content: [{ type: "text", text: "Forbidden by policy" }],
        structuredContent: { reason: "forbidden", permission: "gmail.send" },
        _meta: { [REFUSAL_META_KEY]: forbidden("gmail.send") },
      },
    });
    expect(calls).toEqual([]);
    const anonymous = await callSend(undefined, {}, false);
    expect(anonymous.wire).toMatchObject({ result: { isError: true, structuredContent: { reason: "unauthenticated" } } });
  });

  it("guards a tool without an inputSchema, which the SDK calls with the context alone", async () => {
    let ran = 0;
    const whoami: ToolSpec = {
      handler: requireAuth("account.read", async (ctx: unknown) => {
        ran++;
        return { content: [{ type: "text" as const, text: authInfoOf(ctx)?.clientId ?? "?" }] };
      }),
    };
    const granted = await sdk.serve({ whoami }, { authInfo: authInfo(["account.*"]) });
    expect((await granted.call("whoami")).wire).toMatchObject({ result: { content: [{ type: "text", text: "client-1" }] } });
    await granted.close();
    const refused = await sdk.serve({ whoami });
    expect((await refused.call("whoami")).wire).toMatchObject({ error: UNAUTHORIZED });
    await refused.close();
    expect(ran).toBe(1);
  });

  it("leaves other answers alone: a handler's own tool error passes through refusalsAsErrors as a result", async () => {
    const failing: ToolSpec = { inputSchema: Echo, handler: requireAuth("x.y", async () => ({ isError: true, content: [{ type: "text" as const, text: "quota exceeded" }] })) };
    const served = await sdk.serve({ failing }, { authInfo: authInfo(["x.y"]) });
    expect((await served.call("failing", { text: "a" })).wire).toMatchObject({ result: { isError: true, content: [{ type: "text", text: "quota exceeded" }] } });
    await served.close();
  });
});

describe("authInfoOf", () => {
  const info = authInfo(["a.b"]);
  const signal = new AbortController().signal;

  it("reads extra.authInfo (SDK 1.x) and ctx.http.authInfo (SDK 2.x)", () => {
    expect(authInfoOf({ signal, requestId: 1, authInfo: info })).toBe(info);
    expect(authInfoOf({ mcpReq: { id: 1, method: "tools/call", signal }, http: { authInfo: info } })).toBe(info);
    expect(authInfoOf({ mcpReq: { id: 1, method: "tools/call", signal } })).toBeUndefined();
  });

  it("never reads credentials out of something that is not a request context (arguments a client wrote)", () => {
    for (const forged of [{ authInfo: info }, { http: { authInfo: info } }, { signal: "x", authInfo: info }, { mcpReq: { signal: {} }, http: { authInfo: info } }, null, "x", [info]])
      expect(authInfoOf(forged), JSON.stringify(forged)).toBeUndefined();
  });

  it("treats a malformed authInfo as none", () => {
    for (const bad of [{}, { ...info, scopes: "a.b" }, { ...info, scopes: [1] }, { ...info, token: undefined }, { ...info, expiresAt: "soon" }])
      expect(authInfoOf({ signal, authInfo: bad }), JSON.stringify(bad)).toBeUndefined();
  });
});

describe("requireAuth at wrap time", () => {
  it("refuses a malformed permission or capability map with every problem listed", () => {
    const h = async () => ({ content: [] });
    expect(() => requireAuth("", h)).toThrow(ConfigError);
    try {
      requireAuth("", h, { capabilities: { "": ["a"], mail: ["gmail.send", ""], bad: "gmail.send" as unknown as string[] } });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        "requireAuth: permission must be a non-empty string",
        "requireAuth: capabilities: a capability name is empty",
        "requireAuth: capabilities.mail: must be a list of non-empty permission strings",
        "requireAuth: capabilities.bad: must be a list of non-empty permission strings",
      ]);
    }
  });
});
