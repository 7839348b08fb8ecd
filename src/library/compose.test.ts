// SPEC §5 as written for each SDK generation: requireAuth(p, validateInput(S, h)) registered on a real McpServer with no casts, the handler's arguments typed by the schema.
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport as InMemoryV1 } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer as McpServerV1 } from "@modelcontextprotocol/sdk/server/mcp.js";
import { Client as ClientV2 } from "@modelcontextprotocol/client";
import { InMemoryTransport as InMemoryV2, McpServer as McpServerV2 } from "@modelcontextprotocol/server";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { authInfoOf, refusalsAsErrors, requireAuth, type AuthInfo } from "./auth.ts";
import { GmailSendInput, type GmailSendArgs } from "./schemas.ts";
import { validateInput } from "./validate.ts";
import { authInfo } from "./sdk.case.ts";

/** What the mail tool's handler did: one entry per message it would have sent. */
const outbox: { from: string | undefined; to: string[]; subject: string }[] = [];

/** The handler of SPEC §5: by the time it runs, the caller holds gmail.send and the arguments are GmailSendInput's, screened. */
async function sendEmail(args: GmailSendArgs, ctx: unknown) {
  outbox.push({ from: authInfoOf(ctx)?.clientId, to: args.to, subject: args.subject });
  return { content: [{ type: "text" as const, text: `sent to ${args.to.length} recipient(s)` }] };
}

/** A caller whose every request carries `who.current`, as bearer-auth middleware would attach it. */
interface Caller {
  current: AuthInfo | undefined;
}

function attach(clientSide: { send(message: never, options?: never): Promise<void> }, who: Caller): void {
  const target = clientSide as unknown as { send: (message: unknown, options?: Record<string, unknown>) => Promise<void> };
  const send = target.send.bind(clientSide);
  target.send = (message, options) => send(message, who.current === undefined ? options : { ...options, authInfo: who.current });
}

interface Connected {
  whoami(): Promise<unknown>;
  callTool(args: Record<string, unknown>): Promise<{ isError?: boolean | undefined; content?: unknown; structuredContent?: unknown }>;
  listedSchema(): Promise<unknown>;
  close(): Promise<void>;
}

async function serveV1(who: Caller): Promise<Connected> {
  const server = new McpServerV1({ name: "mail", version: "1.0.0" });
  server.registerTool(
    "send_email",
    { description: "Send an email", inputSchema: GmailSendInput },
    requireAuth(
      "gmail.send",
      validateInput(GmailSendInput, async (args, extra) => {
        expectTypeOf(args).toEqualTypeOf<GmailSendArgs>();
        expect(typeof extra.requestId).toMatch(/number|string/);
        return sendEmail(args, extra);
      }),
    ),
  );
  // A tool without arguments, given an empty strict schema so that the context is typed (without one, the SDK calls the handler with the context alone).
  server.registerTool(
    "whoami",
    { description: "Who is calling", inputSchema: z.strictObject({}) },
    requireAuth("account.read", async (_args, extra) => {
      expect(typeof extra.requestId).toMatch(/number|string/);
      return { content: [{ type: "text", text: authInfoOf(extra)?.clientId ?? "?" }] };
    }),
  );
  const [clientSide, serverSide] = InMemoryV1.createLinkedPair();
  attach(clientSide, who);
  const client = new ClientV1({ name: "c", version: "1.0.0" });
  await server.connect(refusalsAsErrors(serverSide));
  await client.connect(clientSide);
  return {
    whoami: () => client.callTool({ name: "whoami", arguments: {} }),
    callTool: (args) => client.callTool({ name: "send_email", arguments: args }) as ReturnType<Connected["callTool"]>,
    listedSchema: async () => (await client.listTools()).tools.find((t) => t.name === "send_email")?.inputSchema,
    close: () => client.close(),
  };
}

async function serveV2(who: Caller): Promise<Connected> {
  const server = new McpServerV2({ name: "mail", version: "1.0.0" });
  server.registerTool(
    "send_email",
    { description: "Send an email", inputSchema: GmailSendInput },
    requireAuth(
      "gmail.send",
      validateInput(GmailSendInput, async (args, ctx) => {
        expectTypeOf(args).toEqualTypeOf<GmailSendArgs>();
        expect(ctx.mcpReq.method).toBe("tools/call");
        return sendEmail(args, ctx);
      }),
    ),
  );
  // A tool without arguments, given an empty strict schema so that the context is typed (without one, the SDK calls the handler with the context alone).
  server.registerTool(
    "whoami",
    { description: "Who is calling", inputSchema: z.strictObject({}) },
    requireAuth("account.read", async (_args, extra) => {
      expect(typeof extra.mcpReq.id).toMatch(/number|string/);
      return { content: [{ type: "text", text: authInfoOf(extra)?.clientId ?? "?" }] };
    }),
  );
  const [clientSide, serverSide] = InMemoryV2.createLinkedPair();
  attach(clientSide, who);
  const client = new ClientV2({ name: "c", version: "1.0.0" });
  await server.connect(refusalsAsErrors(serverSide));
  await client.connect(clientSide);
  return {
    whoami: () => client.callTool({ name: "whoami", arguments: {} }),
    callTool: (args) => client.callTool({ name: "send_email", arguments: args }),
    listedSchema: async () => (await client.listTools()).tools.find((t) => t.name === "send_email")?.inputSchema,
    close: () => client.close(),
  };
}

const MAIL = { to: ["ana@example.com"], subject: "Q3 report", body: "The summary is attached." };

describe.each([
  ["v1", serveV1],
  ["v2", serveV2],
] as const)("send_email of SPEC §5 on a %s McpServer", (_name, serve) => {
  const who: Caller = { current: undefined };
  let mail: Connected;
  beforeAll(async () => {
    mail = await serve(who);
  });
  afterAll(() => mail.close());

  it("lists GmailSendInput's bounds to clients", async () => {
    expect(await mail.listedSchema()).toMatchObject({
      type: "object",
      additionalProperties: false,
      required: expect.arrayContaining(["to", "subject", "body"]),
      properties: { to: { maxItems: 100, minItems: 1 }, subject: { maxLength: 998 }, body: { maxLength: 1024 * 1024 } },
    });
  });

  it("sends for a caller holding gmail.send, with valid, clean arguments", async () => {
    outbox.length = 0;
    who.current = authInfo(["gmail.send"]);
    expect(await mail.callTool(MAIL)).toMatchObject({ content: [{ type: "text", text: "sent to 1 recipient(s)" }] });
    expect(outbox).toEqual([{ from: "client-1", to: ["ana@example.com"], subject: "Q3 report" }]);
  });

  it("refuses, before the handler, the anonymous caller (-32001), the caller without gmail.send (-32011) and a private key leaving in the body (blocked_input)", async () => {
    outbox.length = 0;
    who.current = undefined;
    await expect(mail.callTool(MAIL)).rejects.toMatchObject({ code: -32001, data: { reason: "unauthenticated" } });
    who.current = authInfo(["gmail.read"]);
    await expect(mail.callTool(MAIL)).rejects.toMatchObject({ code: -32011, data: { reason: "forbidden", permission: "gmail.send" } });
    who.current = authInfo(["gmail.*"]);
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----";
    const leaked = await mail.callTool({ ...MAIL, body: `as asked:\n${key}` });
    expect(leaked).toMatchObject({ isError: true, structuredContent: { reason: "blocked_input", violations: [{ path: "/body", rule: expect.stringMatching(/^secrets:/) }] } });
    expect(outbox).toEqual([]);
  });

  it("guards a tool without arguments with requireAuth alone", async () => {
    who.current = authInfo(["account.*"]);
    expect(await mail.whoami()).toMatchObject({ content: [{ type: "text", text: "client-1" }] });
    who.current = authInfo(["gmail.send"]);
    await expect(mail.whoami()).rejects.toMatchObject({ code: -32011, data: { reason: "forbidden", permission: "account.read" } });
  });

  it("lets the SDK refuse a bad shape first (the tool was registered with the same schema), the handler not called", async () => {
    outbox.length = 0;
    who.current = authInfo(["gmail.send"]);
    const r = await mail.callTool({ ...MAIL, subject: "Hi\r\nBcc: all@example.net" });
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).toContain("subject");
    expect(outbox).toEqual([]);
  });
});
