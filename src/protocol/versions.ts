// The MCP protocol revisions the gateway speaks, and the `_meta` keys of the 2026-07-28 revision.

/** The stateless revision: no initialize, no sessions, `server/discover`, per-request `_meta`. */
export const MODERN_VERSION = "2026-07-28";
/** Session-era revisions, newest first; batches exist only in the last one. */
export const LEGACY_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"] as const;
export const LATEST_LEGACY_VERSION = LEGACY_VERSIONS[0];
/** Every revision the gateway accepts from clients, newest first (server/discover `supportedVersions`). */
export const SUPPORTED_VERSIONS: readonly string[] = [MODERN_VERSION, ...LEGACY_VERSIONS];

export type Era = "modern" | "legacy";

export const META_PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion";
export const META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities";
export const META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo";
export const META_LOG_LEVEL = "io.modelcontextprotocol/logLevel";
export const META_SERVER_INFO = "io.modelcontextprotocol/serverInfo";
export const META_SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId";
/** Prefix of the `_meta` keys the specification reserves; they describe one hop and are never forwarded as they came. */
export const RESERVED_META_PREFIX = "io.modelcontextprotocol/";

/**
 * `_meta` without the keys the specification reserves (they describe one hop: the gateway speaks
 * for itself on each side), or the same object when it has none — the common case costs nothing.
 */
export function withoutReservedMeta(meta: Record<string, unknown>): Record<string, unknown> {
  let reserved = false;
  for (const k in meta) if (k.startsWith(RESERVED_META_PREFIX)) reserved = true;
  if (!reserved) return meta;
  const own: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) if (!k.startsWith(RESERVED_META_PREFIX)) own[k] = v;
  return own;
}

/** Whether a legacy revision allows JSON-RPC batches (only 2025-03-26 did). */
export const allowsBatches = (version: string): boolean => version === "2025-03-26";

/** Log levels in increasing severity (RFC 5424 names, as MCP uses them). */
export const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const isLogLevel = (v: unknown): v is LogLevel => typeof v === "string" && (LOG_LEVELS as readonly string[]).includes(v);
/** Whether a message at `level` passes a client's threshold `min`. */
export const logPasses = (level: unknown, min: LogLevel): boolean =>
  isLogLevel(level) && LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(min);

/** Version of this gateway, reported as serverInfo/clientInfo. */
export const GATEWAY_INFO = { name: "mcp-bastion", version: "0.1.0" } as const;
