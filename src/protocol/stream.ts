// How answers leave the gateway: one JSON body, or an SSE stream that may be resumed (session era) or whose close cancels (2026-07-28).
import type { ServerResponse } from "node:http";
import { sseFrame, type RpcMessage } from "../jsonrpc/index.ts";

/** Headers every SSE answer carries; `x-accel-buffering: no` keeps reverse proxies from holding events back. */
const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform", connection: "keep-alive", "x-accel-buffering": "no" };

/** Session-era event log: the frames of one stream, kept so a client can resume with Last-Event-ID. */
export interface ResumableLog {
  /** Records a frame of stream `stream` and returns its event id. */
  append(stream: number, message: RpcMessage): string;
}

/**
 * The answer to one POST (or the session's GET stream). It starts undecided: if the final answer
 * comes before anything else and the client accepts JSON, it is one JSON body; the first
 * notification or server→client request turns it into an SSE stream.
 */
export class Reply {
  private mode: "undecided" | "sse" | "done" = "undecided";
  private sink: ServerResponse | undefined;

  constructor(
    res: ServerResponse,
    private readonly acceptsJson: boolean,
    private readonly extraHeaders: Record<string, string> = {},
    private readonly log?: { store: ResumableLog; stream: number },
  ) {
    this.sink = res;
  }

  /** Whether the final answer was written (or the stream ended). */
  get finished(): boolean {
    return this.mode === "done";
  }

  /** Sends a message that belongs to this request (progress, log, a server→client request). */
  send(message: RpcMessage): void {
    if (this.mode === "done") return;
    if (this.mode === "undecided") this.openSse();
    this.write(message);
  }

  /** Sends the final answer and ends the reply; `status` applies when it is still a plain JSON answer (refusals always are). */
  finish(message: RpcMessage, status = 200): void {
    if (this.mode === "done") return;
    if (this.mode === "undecided" && (this.acceptsJson || status !== 200)) {
      this.mode = "done";
      const res = this.sink;
      if (res === undefined || res.writableEnded || res.destroyed) return;
      const body = JSON.stringify(message);
      res.writeHead(status, { ...this.extraHeaders, "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (this.mode === "undecided") this.openSse();
    this.write(message);
    this.mode = "done";
    this.sink?.end();
  }

  /** Moves the live end of a resumed stream to a new connection (GET with Last-Event-ID). */
  reattach(res: ServerResponse): void {
    this.sink = res;
  }

  private openSse(): void {
    this.mode = "sse";
    const res = this.sink;
    if (res === undefined || res.headersSent || res.destroyed) return;
    res.writeHead(200, { ...this.extraHeaders, ...SSE_HEADERS });
    res.flushHeaders();
  }

  private write(message: RpcMessage): void {
    const id = this.log?.store.append(this.log.stream, message);
    const res = this.sink;
    if (res === undefined || res.writableEnded || res.destroyed) return; // kept in the log for resumption
    res.write(sseFrame(message, id));
  }
}

/** Starts an SSE answer on `res` (GET streams and replays). */
export function openSse(res: ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(200, { ...headers, ...SSE_HEADERS });
  res.flushHeaders();
}

/** Writes a JSON body with `status` (refusals and plain answers). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
