// Raw MCP over HTTP for the load generator: the exact requests of both protocol eras, the session handshake, and a checked single call.
export type Era = "2026-07-28" | "2025-11-25";
export const ERAS: readonly Era[] = ["2026-07-28", "2025-11-25"];

const MESSAGE = "hi";
/** What every correct answer contains, JSON or SSE alike; checking a substring keeps the check cheap under load. */
export const EXPECTED_TEXT = `"text":"Echo: ${MESSAGE}"`;

/** A load-test target: one URL, the name the echo tool has there, and the era the requests use. */
export interface Target {
  url: string;
  tool: string;
  era: Era;
  /** `Authorization: Bearer …` for the gateway (an API key or an access token); none for the fixture and the bridges. */
  bearer?: string | undefined;
}

/** Headers and body of the `tools/call` the load generator repeats (session id added by `prepare`). */
export interface PreparedCall {
  url: string;
  headers: Record<string, string>;
  /** The session era's body has {@link ID_PLACEHOLDER} as its id; the stateless one a fixed id 1, as every request stands alone. */
  body: string;
  /** Ends the session (session era), so a bridge may release what it holds for it; best effort. */
  release(): Promise<void>;
}

/** autocannon's placeholder for a per-request unique id (option `idReplacement`). */
export const ID_PLACEHOLDER = "[<id>]";

const BASE_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

function modernCall(tool: string): { headers: Record<string, string>; body: string } {
  return {
    headers: { ...BASE_HEADERS, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": tool },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: {
        name: tool,
        arguments: { message: MESSAGE },
        _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} },
      },
    }),
  };
}

/** The JSON-RPC messages of a response body: one JSON object, or the `data:` payloads of an SSE stream. */
export function messagesOf(contentType: string | null, body: string): unknown[] {
  if (contentType?.startsWith("text/event-stream")) {
    const out: unknown[] = [];
    // Events are separated by blank lines; a priming event has an empty data field and carries no message.
    for (const event of body.split(/\r?\n\r?\n/)) {
      const data = event
        .split(/\r?\n/)
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart())
        .join("\n");
      if (data !== "") out.push(JSON.parse(data));
    }
    return out;
  }
  return body === "" ? [] : [JSON.parse(body)];
}

async function post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; headers: Headers; messages: unknown[] }> {
  const res = await fetch(url, { method: "POST", headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, messages: messagesOf(res.headers.get("content-type"), text) };
}

const resultOf = (messages: unknown[], id: number): Record<string, unknown> | undefined => {
  for (const m of messages) {
    const msg = m as { id?: unknown; result?: Record<string, unknown>; error?: unknown };
    if (msg.id === id) {
      if (msg.error !== undefined) throw new Error(`JSON-RPC error: ${JSON.stringify(msg.error)}`);
      return msg.result;
    }
  }
  return undefined;
};

/**
 * Everything needed to load `target` with `tools/call`: for the session era, a fresh session
 * (initialize, its Mcp-Session-Id, notifications/initialized) shared by all load connections.
 * Then one call is made and checked in full, so a broken path fails here and not as a fast stream of errors.
 */
export async function prepare(target: Target): Promise<PreparedCall> {
  let call: { headers: Record<string, string>; body: string };
  let release = async (): Promise<void> => {};
  const auth: Record<string, string> = target.bearer === undefined ? {} : { authorization: `Bearer ${target.bearer}` };
  if (target.era === "2026-07-28") {
    const modern = modernCall(target.tool);
    call = { ...modern, headers: { ...modern.headers, ...auth } };
  } else {
    const init = await post(
      target.url,
      { ...BASE_HEADERS, ...auth },
      JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "mcp-bastion-bench", version: "1.0.0" } } }),
    );
    const sid = init.headers.get("mcp-session-id");
    const negotiated = resultOf(init.messages, 0)?.["protocolVersion"];
    if (init.status !== 200 || sid === null) throw new Error(`initialize: HTTP ${init.status}, session id ${String(sid)}`);
    if (negotiated !== "2025-11-25") throw new Error(`initialize negotiated ${String(negotiated)}, not 2025-11-25`);
    const headers = { ...BASE_HEADERS, ...auth, "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" };
    const initialized = await post(target.url, headers, JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    if (initialized.status !== 202) throw new Error(`notifications/initialized: HTTP ${initialized.status}`);
    // Ids must be unique within a session: concurrent calls sharing one are a protocol error, and bridges
    // that route answers by id lose some of them. autocannon puts a fresh id wherever `[<id>]` stands.
    call = { headers, body: JSON.stringify({ jsonrpc: "2.0", id: ID_PLACEHOLDER, method: "tools/call", params: { name: target.tool, arguments: { message: MESSAGE } } }) };
    release = async () => {
      await fetch(target.url, { method: "DELETE", headers }).catch(() => undefined);
    };
  }
  const check = await post(target.url, call.headers, call.body.replace(`"${ID_PLACEHOLDER}"`, "1"));
  const content = resultOf(check.messages, 1)?.["content"] as { text?: unknown }[] | undefined;
  if (check.status !== 200 || content?.[0]?.text !== `Echo: ${MESSAGE}`) throw new Error(`check call: HTTP ${check.status}, ${JSON.stringify(check.messages).slice(0, 300)}`);
  return { url: target.url, ...call, release };
}
