// The network guard, first stage of the pipeline: Origin, Host, media types, body size and JSON shape, before anything else reads a request.
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { isIP } from "node:net";
import { Refusal } from "../errors/index.ts";
import { parseBody, toMessage, type RpcMessage } from "../jsonrpc/index.ts";
import type { MethodTable } from "../forward/index.ts";
import type { Stage } from "../pipeline/index.ts";

/** Whether `host` (a bind address) only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1" || host === "[::1]";
}

/** The Host header values accepted by default on a loopback bind: the names of this machine, with and without the port. */
export function loopbackHosts(port: number): string[] {
  return ["localhost", "127.0.0.1", "[::1]"].flatMap((h) => [h, `${h}:${port}`]);
}

/**
 * Refuses a browser page of another origin (DNS rebinding, cross-site requests) with 403. A request
 * without Origin is not from a browser page and passes; `null` (sandboxed frames, file:) never does.
 * A same-origin page passes only when `hostChecked`: the Host it names was itself checked against
 * an allow-list, else a rebound name would be "same-origin" with itself.
 */
export function checkOrigin(headers: IncomingHttpHeaders, allowed: readonly string[], hostChecked: boolean): void {
  const origin = headers.origin?.toLowerCase();
  if (origin === undefined || allowed.includes(origin)) return;
  if (hostChecked && headers.host !== undefined && sameHost(origin, headers.host.toLowerCase())) return;
  throw new Refusal("origin_forbidden", { reason: `Origin ${origin.slice(0, 100)} is not allowed` });
}

function sameHost(origin: string, host: string): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** Refuses a Host header outside `allowed` (403): a rebound DNS name pointing at a loopback gateway. */
export function checkHost(headers: IncomingHttpHeaders, allowed: readonly string[] | undefined): void {
  if (allowed === undefined) return;
  const host = headers.host?.toLowerCase();
  if (host === undefined || !allowed.includes(host)) throw new Refusal("host_forbidden", { reason: `Host ${(host ?? "(none)").slice(0, 100)} is not allowed` });
}

/** Refuses a POST body that is not declared as JSON (415): forms and text/plain are what cross-site pages can send without a preflight. */
export function checkContentType(headers: IncomingHttpHeaders): void {
  const type = headers["content-type"];
  const essence = type?.split(";")[0]?.trim().toLowerCase();
  if (essence !== "application/json") throw new Refusal("unsupported_media_type", { reason: `Content-Type ${String(type).slice(0, 60)}` });
}

/** What the client's Accept header allows for the answer. */
export interface Acceptance {
  json: boolean;
  sse: boolean;
}

/** Parses Accept (media ranges, not substrings; `q=0` means "not this"); a client that accepts neither JSON nor SSE gets 406. */
export function acceptance(headers: IncomingHttpHeaders): Acceptance {
  const ranges: string[] = [];
  for (const part of (headers.accept ?? "*/*").split(",")) {
    const [range = "", ...params] = part.split(";").map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith("q="));
    if (q === undefined || Number(q.slice(2)) > 0) ranges.push(range);
  }
  const any = ranges.includes("*/*");
  const result = {
    json: any || ranges.includes("application/json") || ranges.includes("application/*"),
    sse: any || ranges.includes("text/event-stream") || ranges.includes("text/*"),
  };
  if (!result.json && !result.sse) throw new Refusal("not_acceptable", { reason: `Accept ${String(headers.accept).slice(0, 60)}` });
  return result;
}

/**
 * Reads a request body of at most `limit` bytes. A declared length over the limit is refused before
 * a byte is read; a body that grows past it is cut off. Either way: 413.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(new Refusal("body_too_large", { reason: `Content-Length ${declared} > ${limit}` }));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Stop reading: the answer closes the connection rather than drain what the client still sends.
        req.removeAllListeners("data");
        req.pause();
        reject(new Refusal("body_too_large", { reason: `body over ${limit} bytes` }));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
    req.on("error", reject);
  });
}

/** The parsed body: one message, or a batch (an array of messages). */
export type Parsed = { single: RpcMessage } | { batch: RpcMessage[] };

/** Parses a body into one JSON-RPC message or a non-empty batch; everything else is a 400. */
export function parseMessages(body: Buffer, maxDepth: number): Parsed {
  const value = parseBody(body, maxDepth);
  if (!Array.isArray(value)) return { single: toMessage(value) };
  if (value.length === 0) throw new Refusal("invalid_message", { reason: "empty batch" });
  return { batch: value.map(toMessage) };
}

/**
 * The message-level part of the guard: a method that does not exist in the caller's era is
 * refused here, before authentication work or an upstream is spent on it.
 */
export function guardStage(methods: MethodTable): Stage {
  return (ex) => {
    const m = ex.message;
    if (!("id" in m)) {
      // A request's method sent without an id would be handled as a call nobody answers; it is refused alike for every name (no policy oracle).
      if (methods.has(m.method)) throw new Refusal("invalid_message", { http: 200, reason: `${m.method.slice(0, 128)} sent as a notification` });
      return;
    }
    const spec = methods.get(m.method);
    if (spec === undefined || !spec.eras.includes(ex.caller.era)) throw new Refusal("method_not_found", { reason: `no method ${m.method.slice(0, 128)} in the ${ex.caller.era} era` });
  };
}
