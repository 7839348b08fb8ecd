// The 2026-07-28 mirrored headers (SEP-2243): values as they travel, and the check that headers tell the truth about the body.
import { Refusal } from "../errors/index.ts";
import type { RpcMessage } from "../jsonrpc/index.ts";

const PREFIX = "=?base64?";
const SUFFIX = "?=";
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// ignoreBOM: a leading U+FEFF is part of the value; stripping it would let header and body differ unseen.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A header value for `value`: plain when it is visible ASCII without edge spaces, else the `=?base64?…?=` form. */
export function encodeHeaderValue(value: string): string {
  const plain = value !== "" && /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value) && !value.startsWith(PREFIX);
  return plain ? value : `${PREFIX}${Buffer.from(value, "utf8").toString("base64")}${SUFFIX}`;
}

/** The value a header carries, or undefined when the base64 form is not canonical base64 of UTF-8. */
export function decodeHeaderValue(header: string): string | undefined {
  if (!(header.startsWith(PREFIX) && header.endsWith(SUFFIX) && header.length >= PREFIX.length + SUFFIX.length)) return header;
  const b64 = header.slice(PREFIX.length, -SUFFIX.length);
  if (!CANONICAL_BASE64.test(b64)) return undefined;
  const bytes = Buffer.from(b64, "base64");
  // Non-zero padding bits ("YR==") decode too; only the one canonical spelling of the bytes is accepted.
  if (bytes.toString("base64") !== b64) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The body field `Mcp-Name` mirrors for `method`, if any. */
export function namedTarget(method: string, params: Record<string, unknown> | undefined): unknown {
  if (method === "tools/call" || method === "prompts/get") return params?.["name"];
  if (method === "resources/read") return params?.["uri"];
  return undefined;
}

type HeaderBag = Record<string, string | string[] | undefined>;

function single(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  if (Array.isArray(v)) throw new Refusal("header_mismatch", { reason: `${name} given more than once` });
  return v;
}

/**
 * Refuses a 2026-07-28 request whose `Mcp-Method`, `Mcp-Name` or `MCP-Protocol-Version` header is
 * missing or disagrees with the body (HTTP 400, -32020). Routing and policy read the body; this
 * makes sure anything that read the headers on the way saw the same thing.
 */
export function assertHeadersMatchBody(headers: HeaderBag, message: RpcMessage, bodyVersion: string): void {
  const version = single(headers, "mcp-protocol-version");
  if (version !== bodyVersion) throw new Refusal("header_mismatch", { reason: "MCP-Protocol-Version header differs from _meta protocolVersion" });
  if (!("method" in message)) return;
  const method = single(headers, "mcp-method");
  if (method === undefined || decodeHeaderValue(method) !== message.method)
    throw new Refusal("header_mismatch", { reason: "Mcp-Method header missing or differs from the body" });
  const target = namedTarget(message.method, message.params);
  const nameHeader = single(headers, "mcp-name");
  if (target === undefined) {
    if (nameHeader !== undefined) throw new Refusal("header_mismatch", { reason: "Mcp-Name header on a method without a name" });
    return;
  }
  if (typeof target !== "string" || nameHeader === undefined || decodeHeaderValue(nameHeader) !== target)
    throw new Refusal("header_mismatch", { reason: "Mcp-Name header missing or differs from the body" });
}
