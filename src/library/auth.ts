// requireAuth for authors of MCP servers on the SDK: a tool handler runs only for a caller whose token's scopes grant its permission.
import { globMatch } from "../authz/index.ts";
import { ConfigError, REFUSALS } from "../errors/index.ts";

/**
 * What is known of the caller, as the SDK's bearer-auth middleware (or an mcp-bastion gateway in
 * front, or any transport that authenticates) hands it to request handlers: the fields of the SDKs'
 * own `AuthInfo` that this module reads. Both SDK generations' `AuthInfo` are assignable to it.
 */
export interface AuthInfo {
  /** The access token. Never read here beyond its presence, and never put in an answer. */
  readonly token: string;
  readonly clientId: string;
  /** The scopes the token carries; {@link requireAuth} decides with these alone. */
  readonly scopes: readonly string[];
  /** When the token expires, in seconds since the epoch. */
  readonly expiresAt?: number | undefined;
  readonly extra?: Record<string, unknown> | undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function isAuthInfo(v: unknown): v is AuthInfo {
  if (!isRecord(v)) return false;
  const scopes = v["scopes"];
  const expiresAt = v["expiresAt"];
  return (
    typeof v["token"] === "string" &&
    typeof v["clientId"] === "string" &&
    Array.isArray(scopes) &&
    scopes.every((s) => typeof s === "string") &&
    (expiresAt === undefined || typeof expiresAt === "number")
  );
}

/**
 * Whether `ctx` is an SDK request context rather than arguments: both generations put the request's
 * AbortSignal in it (`extra.signal`, `ctx.mcpReq.signal`), which no JSON value can be. Without this,
 * a handler called with the client's arguments last could be handed an `authInfo` the client wrote.
 */
function isRequestContext(ctx: Record<string, unknown>): boolean {
  const mcpReq = ctx["mcpReq"];
  return ctx["signal"] instanceof AbortSignal || (isRecord(mcpReq) && mcpReq["signal"] instanceof AbortSignal);
}

/**
 * The caller's {@link AuthInfo} from a tool handler's last argument, in either SDK generation:
 * `extra.authInfo` in `@modelcontextprotocol/sdk` 1.x (`RequestHandlerExtra`), `ctx.http.authInfo`
 * in `@modelcontextprotocol/server` 2.x (`ServerContext`). `undefined` when the transport did not
 * authenticate the request, when what is there does not have AuthInfo's shape (a malformed value
 * is treated as no credentials, never as some), or when `ctx` is not an SDK request context.
 *
 * @example
 * server.registerTool("whoami", { inputSchema: z.strictObject({}) }, async (_args, ctx) => ({
 *   content: [{ type: "text", text: authInfoOf(ctx)?.clientId ?? "anonymous" }],
 * }));
 */
export function authInfoOf(ctx: unknown): AuthInfo | undefined {
  if (!isRecord(ctx) || !isRequestContext(ctx)) return undefined;
  const http = ctx["http"];
  const info = ctx["authInfo"] ?? (isRecord(http) ? http["authInfo"] : undefined);
  return isAuthInfo(info) ? info : undefined;
}

/** The `_meta` key under which a refusal result carries the JSON-RPC error it stands for (read by {@link refusalsAsErrors}). */
export const REFUSAL_META_KEY = "mcp-bastion/refusal";

/** The JSON-RPC error a refusal stands for. `data` is also the result's `structuredContent`. */
export interface RefusalError {
  code: number;
  message: string;
  data: AuthRefusalData;
}

/** Why {@link requireAuth} refused: no (usable) credentials, or credentials that do not grant `permission`. */
export type AuthRefusalData = { reason: "unauthenticated" } | { reason: "invalid_token" } | { reason: "forbidden"; permission: string };

/**
 * What {@link requireAuth} answers instead of running the handler. Both SDKs turn anything a tool
 * handler throws into a tool error result (keeping only the message), so a refusal is returned as
 * a tool error result that says everything itself: `structuredContent` is the error's data and
 * `_meta["mcp-bastion/refusal"]` the JSON-RPC error; {@link refusalsAsErrors} sends that error instead.
 * (A type alias, not an interface: the SDKs' CallToolResult has an index signature, which only
 * type literals satisfy implicitly.)
 */
export type AuthRefusal = {
  isError: true;
  content: { type: "text"; text: string }[];
  structuredContent: AuthRefusalData;
  _meta: { [REFUSAL_META_KEY]: RefusalError };
};

function refusal(code: "unauthenticated" | "invalid_token" | "forbidden", data: AuthRefusalData): AuthRefusal {
  const { rpc, message } = REFUSALS[code];
  return { isError: true, content: [{ type: "text", text: message }], structuredContent: data, _meta: { [REFUSAL_META_KEY]: { code: rpc, message, data } } };
}

/** Options of {@link requireAuth}. */
export interface RequireAuthOptions {
  /**
   * Capability names and the permissions each stands for, as in the gateway's configuration
   * (`{ "gmail.send": ["mail.send_*"] }`): a scope that names a capability grants its permissions
   * as well as itself. One level: a capability lists permissions (with `*` wildcards), not other
   * capabilities. Default none.
   */
  readonly capabilities?: Readonly<Record<string, readonly string[]>>;
  /** The clock, in milliseconds since the epoch, against which `authInfo.expiresAt` is checked. Default `Date.now`. */
  readonly now?: () => number;
}

/** Whether one of `scopes` grants `permission`: equal, `*`, or a `*`-wildcard pattern covering it, directly or through a capability. */
function grants(scopes: readonly string[], permission: string, capabilities: ReadonlyMap<string, readonly string[]>): boolean {
  return scopes.some((scope) => globMatch(scope, permission) || (capabilities.get(scope) ?? []).some((p) => globMatch(p, permission)));
}

/**
 * Wraps a tool handler so that it runs only for a caller whose `authInfo.scopes` grant `permission`
 * (the original design's `@require_auth("gmail.send")`). A scope grants a permission when it equals
 * it, is `*`, or is a `*`-wildcard pattern covering it (`gmail.*`), or names a capability (see
 * {@link RequireAuthOptions.capabilities}) one of whose permissions does.
 *
 * The scopes are those the SDK's bearer-auth middleware put in `authInfo` (or an mcp-bastion gateway
 * in front, or your own transport); this wrapper does not verify tokens, it decides with what the
 * verifier established. It is generic over the handler's parameters and finds `authInfo` in the last
 * one, so it fits both SDK generations (see {@link authInfoOf}) and tools with or without an
 * `inputSchema` (the SDKs call those with the context alone).
 *
 * Refusals, the handler not called (never naming or echoing the token):
 * - no `authInfo`, or one whose `expiresAt` has passed: JSON-RPC `-32001` (`Unauthorized: …`), data `{reason: "unauthenticated"}` or `{reason: "invalid_token"}`;
 * - scopes that do not grant `permission`: JSON-RPC `-32011` `Forbidden by policy`, data `{reason: "forbidden", permission}`.
 *
 * Because both SDKs' `McpServer` turn whatever a tool handler throws into a tool error result, these
 * are returned as a tool error result ({@link AuthRefusal}) carrying the error; connect the server
 * through {@link refusalsAsErrors} to have the client receive the JSON-RPC error itself.
 *
 * @throws ConfigError at wrap time when `permission` or `capabilities` are malformed (empty names, non-string permissions).
 *
 * @example
 * server.registerTool("send_email", { inputSchema: GmailSendInput },
 *   requireAuth("gmail.send", validateInput(GmailSendInput, async (args) => send(args))));
 */
export function requireAuth<P extends readonly unknown[], R>(permission: string, handler: (...params: P) => R | Promise<R>, options: RequireAuthOptions = {}): (...params: P) => Promise<R | AuthRefusal> {
  const problems: string[] = [];
  if (typeof permission !== "string" || permission.length === 0) problems.push("requireAuth: permission must be a non-empty string");
  if (typeof handler !== "function") problems.push("requireAuth: handler must be a function");
  const capabilities = new Map<string, readonly string[]>();
  for (const [name, permissions] of Object.entries(options.capabilities ?? {})) {
    if (name.length === 0) problems.push("requireAuth: capabilities: a capability name is empty");
    if (!Array.isArray(permissions) || !permissions.every((p) => typeof p === "string" && p.length > 0)) problems.push(`requireAuth: capabilities.${name}: must be a list of non-empty permission strings`);
    else capabilities.set(name, [...permissions]);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const now = options.now ?? Date.now;

  return async (...params: P): Promise<R | AuthRefusal> => {
    const info = authInfoOf(params.at(-1));
    if (info === undefined) return refusal("unauthenticated", { reason: "unauthenticated" });
    if (info.expiresAt !== undefined && info.expiresAt * 1000 <= now()) return refusal("invalid_token", { reason: "invalid_token" });
    if (!grants(info.scopes, permission, capabilities)) return refusal("forbidden", { reason: "forbidden", permission });
    return handler(...params);
  };
}

/** A transport as both SDK generations define it, reduced to what {@link refusalsAsErrors} touches. */
export interface SendingTransport {
  send(message: never, ...rest: never[]): Promise<void>;
}

/** The JSON-RPC error response a refusal result stands for, or the message unchanged. */
function asError(message: unknown): unknown {
  if (!isRecord(message) || !("id" in message) || !isRecord(message["result"])) return message;
  const meta = message["result"]["_meta"];
  const error = isRecord(meta) ? meta[REFUSAL_META_KEY] : undefined;
  if (!isRecord(error) || typeof error["code"] !== "number" || typeof error["message"] !== "string") return message;
  const { code, message: text, data } = error;
  return { jsonrpc: "2.0", id: message["id"], error: data === undefined ? { code, message: text } : { code, message: text, data } };
}

/**
 * Makes a server transport send each {@link requireAuth} refusal as the JSON-RPC error it stands
 * for (`-32001`, `-32011`) instead of as a tool error result: both SDKs' `McpServer` turn whatever
 * a tool handler throws into a result, so the error is rewritten on its way out, at the one
 * interface both generations share (`Transport.send`). Works with any server transport of either
 * SDK (stdio, Streamable HTTP, in-memory); other messages pass unchanged. Changes `transport` in
 * place (the server sets its callbacks on that object) and returns it.
 *
 * @example
 * await server.connect(refusalsAsErrors(new StdioServerTransport()));
 */
export function refusalsAsErrors<T extends SendingTransport>(transport: T): T {
  const target = transport as unknown as { send: (message: unknown, ...rest: unknown[]) => Promise<void> };
  const send = target.send.bind(transport);
  target.send = (message, ...rest) => send(asError(message), ...rest);
  return transport;
}
