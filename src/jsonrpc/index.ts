// JSON-RPC 2.0 messages as MCP uses them, the guarded parser every request body goes through, and SSE framing.
import { isUtf8 } from "node:buffer";
import { Refusal } from "../errors/index.ts";

export type Id = string | number;
export type Params = Record<string, unknown>;

export interface RpcRequest {
  jsonrpc: "2.0";
  id: Id;
  method: string;
  params?: Params;
}
export interface RpcNotification {
  jsonrpc: "2.0";
  method: string;
  params?: Params;
}
export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}
export interface RpcResponse {
  jsonrpc: "2.0";
  id: Id | null;
  result?: Record<string, unknown>;
  error?: RpcErrorObject;
}
export type RpcMessage = RpcRequest | RpcNotification | RpcResponse;

export const isRequest = (m: RpcMessage): m is RpcRequest => "method" in m && "id" in m;
export const isNotification = (m: RpcMessage): m is RpcNotification => "method" in m && !("id" in m);
export const isResponse = (m: RpcMessage): m is RpcResponse => !("method" in m);

/** Longest method name accepted; MCP's longest is 30 characters. */
const MAX_METHOD_LENGTH = 128;
/** Longest string request id accepted. */
const MAX_ID_LENGTH = 256;

/**
 * Refuses nesting deeper than `maxDepth` before any parsing happens, so that a hostile body costs
 * one linear scan and never a deep object graph. Strings are skipped, escapes honoured.
 */
export function assertDepth(body: Buffer, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) throw new Refusal("too_deep", { reason: `nesting deeper than ${maxDepth}` });
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

/**
 * The only place a client's body becomes a value: valid UTF-8, bounded depth, then JSON.parse.
 * `__proto__` keys stay plain own properties (JSON.parse defines, never assigns), and the gateway
 * never merges client objects with `Object.assign`, so they are carried as data and nothing else.
 */
export function parseBody(body: Buffer, maxDepth: number): unknown {
  if (!isUtf8(body)) throw new Refusal("parse_error", { reason: "body is not valid UTF-8" });
  assertDepth(body, maxDepth);
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new Refusal("parse_error", { reason: "body is not JSON" });
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isValidId = (id: unknown): id is Id =>
  (typeof id === "string" && id.length <= MAX_ID_LENGTH) || (typeof id === "number" && Number.isFinite(id));

/** Checks that `value` is one JSON-RPC 2.0 request, notification or response as MCP allows, and types it; a refusal carries the id when one was readable. */
export function toMessage(value: unknown): RpcMessage {
  try {
    return checkMessage(value);
  } catch (err) {
    const id = isPlainObject(value) ? value["id"] : undefined;
    if (err instanceof Refusal && isValidId(id)) throw new Refusal(err.code, { message: err.message, reason: err.reason, requestId: id });
    throw err;
  }
}

function checkMessage(value: unknown): RpcMessage {
  if (!isPlainObject(value) || value["jsonrpc"] !== "2.0") throw new Refusal("invalid_message", { reason: "not a JSON-RPC 2.0 object" });
  const method = value["method"];
  if (method !== undefined) {
    if (typeof method !== "string" || method.length === 0 || method.length > MAX_METHOD_LENGTH)
      throw new Refusal("invalid_message", { reason: "method is not a short string" });
    const params = value["params"];
    if (params !== undefined && !isPlainObject(params)) throw new Refusal("invalid_message", { reason: "params is not an object" });
    if ("id" in value && !isValidId(value["id"])) throw new Refusal("invalid_message", { reason: "id is not a string or number" });
    if ("result" in value || "error" in value) throw new Refusal("invalid_message", { reason: "request carries result or error" });
    return value as unknown as RpcRequest | RpcNotification;
  }
  const id = value["id"];
  if (!(isValidId(id) || id === null)) throw new Refusal("invalid_message", { reason: "response id is not a string or number" });
  const hasResult = "result" in value;
  const hasError = "error" in value;
  if (hasResult === hasError) throw new Refusal("invalid_message", { reason: "response must carry exactly one of result or error" });
  if (hasResult && !isPlainObject(value["result"])) throw new Refusal("invalid_message", { reason: "result is not an object" });
  if (hasError) {
    const error = value["error"];
    if (!isPlainObject(error) || typeof error["code"] !== "number" || typeof error["message"] !== "string")
      throw new Refusal("invalid_message", { reason: "error is not a JSON-RPC error object" });
  }
  return value as unknown as RpcResponse;
}

/** A JSON-RPC error response. */
export function errorResponse(id: Id | null, error: RpcErrorObject): RpcResponse {
  return { jsonrpc: "2.0", id, error };
}

/** A JSON-RPC result response. */
export function resultResponse(id: Id | null, result: Record<string, unknown>): RpcResponse {
  return { jsonrpc: "2.0", id, result };
}

/** One Server-Sent Events frame carrying a JSON-RPC message; JSON.stringify never emits a raw newline. */
export function sseFrame(message: RpcMessage, eventId?: string): string {
  const data = JSON.stringify(message);
  return eventId === undefined ? `event: message\ndata: ${data}\n\n` : `event: message\nid: ${eventId}\ndata: ${data}\n\n`;
}

/** One event read off an SSE stream. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
  retry: number | undefined;
}

/**
 * An incremental Server-Sent Events parser (WHATWG HTML §9.2.6) for upstream streams. Feed it
 * chunks; it calls `onEvent` for every dispatched event. `maxEventBytes` bounds what one
 * misbehaving upstream can make the gateway buffer.
 */
export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private dataBytes = 0;
  /** The last chunk ended with CR: an LF starting the next one belongs to that line end. */
  private skipLf = false;
  private event = "";
  private id: string | undefined;
  private retry: number | undefined;
  /** The id of the last event seen, for `Last-Event-ID` on reconnection. */
  lastEventId: string | undefined;

  constructor(
    private readonly onEvent: (event: SseEvent) => void,
    private readonly maxEventBytes = 16 * 1024 * 1024,
  ) {}

  push(chunk: string): void {
    if (this.skipLf && chunk.startsWith("\n")) chunk = chunk.slice(1);
    this.skipLf = false;
    this.buffer += chunk;
    let start = 0;
    for (;;) {
      // A line ends at CRLF, LF or a lone CR; a CR ending the chunk may have its LF in the next one.
      const lf = this.buffer.indexOf("\n", start);
      const cr = this.buffer.indexOf("\r", start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr === this.buffer.length - 1) this.skipLf = true;
        next = this.buffer[cr + 1] === "\n" ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else break;
      this.line(this.buffer.slice(start, end));
      start = next;
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length + this.dataBytes > this.maxEventBytes) throw new Error("SSE event exceeds the size limit");
  }

  private line(line: string): void {
    if (line === "") {
      if (this.data.length > 0 || this.id !== undefined) {
        if (this.id !== undefined) this.lastEventId = this.id;
        this.onEvent({ event: this.event || "message", data: this.data.join("\n"), id: this.id, retry: this.retry });
      }
      this.data = [];
      this.dataBytes = 0;
      this.event = "";
      this.id = undefined;
      this.retry = undefined;
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      this.data.push(value);
      this.dataBytes += value.length + 1;
      if (this.dataBytes > this.maxEventBytes) throw new Error("SSE event exceeds the size limit");
    }
    else if (field === "event") this.event = value;
    else if (field === "id" && !value.includes("\0")) this.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
  }
}
