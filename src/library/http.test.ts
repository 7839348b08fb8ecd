// The library behind bearer authentication over Streamable HTTP, in process: the verifier's AuthInfo reaches requireAuth, and refusalsAsErrors answers on the right stream.
import { randomUUID } from "node:crypto";
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as HttpClientV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer as McpServerV1 } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport as HttpServerV1 } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { Client as ClientV2, StreamableHTTPClientTransport as HttpClientV2 } from "@modelcontextprotocol/client";
import { McpServer as McpServerV2, OAuthError, OAuthErrorCode, requireBearerAuth, WebStandardStreamableHTTPServerTransport as HttpServerV2 } from "@modelcontextprotocol/server";
import { afterAll, describe, expect, it } from "vitest";
import { refusalsAsErrors, requireAuth } from "./auth.ts";
import { WebSearchInput } from "./schemas.ts";
import { validateInput } from "./validate.ts";

/** The tokens the verifiers know; each verified token becomes this AuthInfo. Expiry an hour ahead (the SDK 2.x gate refuses tokens without one). */
const TOKENS = new Map<string, { token: string; clientId: string; scopes: string[]; expiresAt: number }>([
  ["tok-searcher", { token: "tok-searcher", clientId: "searcher", scopes: ["search.*"], expiresAt: Math.floor(Date.now() / 1000) + 3600 }],
  ["tok-mailer", { token: "tok-mailer", clientId: "mailer", scopes: ["gmail.send"], expiresAt: Math.floor(Date.now() / 1000) + 3600 }],
]);

const searched: string[] = [];
const search = requireAuth(
  "search.web",
  validateInput(WebSearchInput, async ({ query, count }) => {
    searched.push(query);
    return { content: [{ type: "text" as const, text: `${count} results for ${query}` }] };
  }),
);

/** A fetch handler as an HTTP framework would run it: authenticate, then hand the request and its AuthInfo to the MCP transport (one server and session per client here). */
type FetchHandler = (request: Request) => Promise<Response>;

/** SDK 1.x ships bearer auth as Express middleware only: this is the same step, a verifier and a 401, for a fetch handler. */
async function serveV1(): Promise<FetchHandler> {
  const server = new McpServerV1({ name: "search", version: "1.0.0" });
  server.registerTool("search", { inputSchema: WebSearchInput }, search);
  const transport = new HttpServerV1({ sessionIdGenerator: () => randomUUID(), enableJsonResponse: true });
  await server.connect(refusalsAsErrors(transport));
  return async (request) => {
    const bearer = /^Bearer (\S+)$/.exec(request.headers.get("authorization") ?? "")?.[1];
    const authInfo = bearer === undefined ? undefined : TOKENS.get(bearer);
    if (authInfo === undefined) return new Response('{"error":"invalid_token"}', { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' } });
    return transport.handleRequest(request, { authInfo });
  };
}

/** SDK 2.x's own web-standard bearer gate in front of its Streamable HTTP transport. */
async function serveV2(): Promise<FetchHandler> {
  const server = new McpServerV2({ name: "search", version: "1.0.0" });
  server.registerTool("search", { inputSchema: WebSearchInput }, search);
  const transport = new HttpServerV2({ sessionIdGenerator: () => randomUUID(), enableJsonResponse: true });
  await server.connect(refusalsAsErrors(transport));
  const gate = requireBearerAuth({
    verifier: {
      verifyAccessToken: async (token) => {
        const info = TOKENS.get(token);
        if (info === undefined) throw new OAuthError(OAuthErrorCode.InvalidToken, "unknown token");
        return info;
      },
    },
  });
  return async (request) => {
    const auth = await gate(request);
    return auth instanceof Response ? auth : transport.handleRequest(request, { authInfo: auth });
  };
}

interface SearchClient {
  search(args: Record<string, unknown>): Promise<unknown>;
  close(): Promise<void>;
}

async function clientV1(handler: FetchHandler, token: string): Promise<SearchClient> {
  const client = new ClientV1({ name: "c", version: "1.0.0" });
  await client.connect(new HttpClientV1(new URL("http://search.test/mcp"), { fetch: (url, init) => handler(new Request(url, init)), requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return { search: (args) => client.callTool({ name: "search", arguments: args }), close: () => client.close() };
}

async function clientV2(handler: FetchHandler, token: string): Promise<SearchClient> {
  const client = new ClientV2({ name: "c", version: "1.0.0" });
  await client.connect(new HttpClientV2(new URL("http://search.test/mcp"), { fetch: (url, init) => handler(new Request(url, init)), requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return { search: (args) => client.callTool({ name: "search", arguments: args }), close: () => client.close() };
}

describe.each([
  ["v1", serveV1, clientV1],
  ["v2", serveV2, clientV2],
] as const)("search over Streamable HTTP with bearer auth, SDK %s", (_name, serve, connect) => {
  const clients: SearchClient[] = [];
  afterAll(async () => {
    for (const c of clients) await c.close();
  });
  const as = async (token: string) => {
    const c = await connect(await serve(), token);
    clients.push(c);
    return c;
  };

  it("runs the search for a token whose scope covers search.web", async () => {
    searched.length = 0;
    const c = await as("tok-searcher");
    expect(await c.search({ query: "mcp gateways", count: 3 })).toMatchObject({ content: [{ type: "text", text: "3 results for mcp gateways" }] });
    expect(searched).toEqual(["mcp gateways"]);
  });

  it("answers a token without it -32011 forbidden, and a metadata URL blocked_input, the handler not called", async () => {
    searched.length = 0;
    const mailer = await as("tok-mailer");
    await expect(mailer.search({ query: "x" })).rejects.toMatchObject({ code: -32011, data: { reason: "forbidden", permission: "search.web" } });
    const searcher = await as("tok-searcher");
    expect(await searcher.search({ query: "http://[::ffff:169.254.169.254]/latest/meta-data" })).toMatchObject({ isError: true, structuredContent: { reason: "blocked_input", violations: [{ path: "/query", rule: "ssrf:metadata" }] } });
    expect(searched).toEqual([]);
  });
});
