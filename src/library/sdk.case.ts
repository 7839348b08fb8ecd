// Real McpServers of both SDK generations, each connected to its own SDK Client over the SDK's in-memory transport pair, for the library's tests.
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport as InMemoryV1 } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer as McpServerV1 } from "@modelcontextprotocol/sdk/server/mcp.js";
import { Client as ClientV2 } from "@modelcontextprotocol/client";
import { InMemoryTransport as InMemoryV2, McpServer as McpServerV2 } from "@modelcontextprotocol/server";
import type { z } from "zod";
import { refusalsAsErrors, type AuthInfo } from "./auth.ts";

/** A tool to register: the schema the SDK lists and checks (none: the SDK calls the handler with the context alone), and the handler. */
export interface ToolSpec {
  inputSchema?: z.ZodType<Record<string, unknown>>;
  // Each wrapper is typed against the SDKs in compose.test.ts; here one handler serves both generations.
  handler: (...params: never[]) => unknown;
}

/** A JSON-RPC response exactly as the server sent it. */
export type WireResponse = { id: unknown; result: Record<string, unknown> } | { id: unknown; error: { code: number; message: string; data?: unknown } };

export interface Served {
  /** Calls a tool through the SDK client; `wire` is the response as it left the server, `thrown` what the client threw (code and data). */
  call(name: string, args?: Record<string, unknown>): Promise<{ wire: WireResponse; thrown?: { code: unknown; data: unknown } }>;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Attached to every request the client sends, as an SDK bearer-auth middleware would set it. Default none. */
  authInfo?: AuthInfo;
  /** Connect the server through refusalsAsErrors. Default true. */
  errors?: boolean;
}

/** The in-memory transport both generations ship: `send(message, {authInfo})` hands the auth info to the other end's handlers. */
interface PairEnd {
  send(message: never, options?: { authInfo?: AuthInfo }): Promise<void>;
}

/** Records what `server` sends, after any rewriting, and makes `client` attach `authInfo` to everything it sends. */
function instrument(server: PairEnd, client: PairEnd, options: ServeOptions): unknown[] {
  const sent: unknown[] = [];
  const out = server as unknown as { send: (message: unknown, ...rest: unknown[]) => Promise<void> };
  const serverSend = out.send.bind(server);
  out.send = (message, ...rest) => {
    sent.push(structuredClone(message));
    return serverSend(message, ...rest);
  };
  // Applied over the recorder, so what is recorded is what refusalsAsErrors let out.
  if (options.errors ?? true) refusalsAsErrors(server);
  const authInfo = options.authInfo;
  if (authInfo !== undefined) {
    const into = client as unknown as { send: (message: unknown, options?: Record<string, unknown>) => Promise<void> };
    const clientSend = into.send.bind(client);
    into.send = (message, opts) => clientSend(message, { ...opts, authInfo });
  }
  return sent;
}

const isResponse = (m: unknown): m is WireResponse => typeof m === "object" && m !== null && "id" in m && ("result" in m || "error" in m);

function caller(callTool: (name: string, args: Record<string, unknown> | undefined) => Promise<unknown>, sent: unknown[]): Served["call"] {
  return async (name, args) => {
    const from = sent.length;
    let thrown: { code: unknown; data: unknown } | undefined;
    try {
      await callTool(name, args);
    } catch (err) {
      const e = err as { code?: unknown; data?: unknown };
      thrown = { code: e.code, data: e.data };
    }
    const wire = sent.slice(from).filter(isResponse).at(-1);
    if (wire === undefined) throw new Error(`no response to tools/call ${name} crossed the wire`);
    return thrown === undefined ? { wire } : { wire, thrown };
  };
}

export interface Sdk {
  /** `v1` is `@modelcontextprotocol/sdk` 1.x, `v2` is `@modelcontextprotocol/server` + `/client` 2.x. */
  name: "v1" | "v2";
  serve(tools: Record<string, ToolSpec>, options?: ServeOptions): Promise<Served>;
}

const v1: Sdk = {
  name: "v1",
  async serve(tools, options = {}) {
    const server = new McpServerV1({ name: "library-test", version: "1.0.0" });
    for (const [name, spec] of Object.entries(tools))
      if (spec.inputSchema === undefined) server.registerTool(name, {}, spec.handler as never);
      else server.registerTool(name, { inputSchema: spec.inputSchema }, spec.handler as never);
    const [clientSide, serverSide] = InMemoryV1.createLinkedPair();
    const sent = instrument(serverSide, clientSide, options);
    const client = new ClientV1({ name: "library-test-client", version: "1.0.0" });
    await server.connect(serverSide);
    await client.connect(clientSide);
    return {
      call: caller((name, args) => client.callTool(args === undefined ? { name } : { name, arguments: args }), sent),
      close: async () => {
        await client.close();
        await server.close();
      },
    };
  },
};

const v2: Sdk = {
  name: "v2",
  async serve(tools, options = {}) {
    const server = new McpServerV2({ name: "library-test", version: "1.0.0" });
    for (const [name, spec] of Object.entries(tools))
      if (spec.inputSchema === undefined) server.registerTool(name, {}, spec.handler as never);
      else server.registerTool(name, { inputSchema: spec.inputSchema }, spec.handler as never);
    const [clientSide, serverSide] = InMemoryV2.createLinkedPair();
    const sent = instrument(serverSide, clientSide, options);
    const client = new ClientV2({ name: "library-test-client", version: "1.0.0" });
    await server.connect(serverSide);
    await client.connect(clientSide);
    return {
      call: caller((name, args) => client.callTool(args === undefined ? { name } : { name, arguments: args }), sent),
      close: async () => {
        await client.close();
        await server.close();
      },
    };
  },
};

/** Both SDK generations: tests run every case against each. */
export const SDKS: readonly Sdk[] = [v1, v2];

/** An AuthInfo as a bearer-auth verifier would produce it (the token is a marker the tests look for in every answer). */
export function authInfo(scopes: readonly string[], extra: Partial<AuthInfo> = {}): AuthInfo {
  return { token: "tok_SECRET_do_not_echo", clientId: "client-1", scopes: [...scopes], ...extra };
}

/** A handler that counts its calls and echoes the arguments it received as JSON. */
export function counted(): { calls: unknown[]; handler: (args: Record<string, unknown>) => Promise<{ content: { type: "text"; text: string }[] }> } {
  const calls: unknown[] = [];
  return {
    calls,
    handler: async (args) => {
      calls.push(args);
      return { content: [{ type: "text", text: JSON.stringify(args) }] };
    },
  };
}
