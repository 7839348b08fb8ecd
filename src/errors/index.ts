// The one registry of refusals (SPEC §3): each has a stable code, its HTTP status, its JSON-RPC form and its audit type.

/**
 * Every refusal the gateway gives, by stable code. `http` is the status of the HTTP answer when the
 * refusal happens before a JSON-RPC answer can be given in a 200 (or is meant to change the status),
 * `rpc` the JSON-RPC error code, `message` the one sentence the client sees (never a secret, never
 * a stack trace), `audit` the audit event type it is recorded under.
 */
export const REFUSALS = {
  unauthenticated: { http: 401, rpc: -32001, message: "Unauthorized: credentials are required", audit: "auth.failure" },
  invalid_token: { http: 401, rpc: -32001, message: "Unauthorized: invalid, expired or revoked credentials", audit: "auth.failure" },
  insufficient_scope: { http: 403, rpc: -32001, message: "Forbidden: the token lacks a required scope", audit: "auth.failure" },
  session_expired: { http: 401, rpc: -32001, message: "Unauthorized: invalid, expired or revoked credentials", audit: "session.expired" },
  origin_forbidden: { http: 403, rpc: -32000, message: "Forbidden: Origin not allowed", audit: "network.refused" },
  host_forbidden: { http: 403, rpc: -32000, message: "Forbidden: Host not allowed", audit: "network.refused" },
  body_too_large: { http: 413, rpc: -32600, message: "Request body too large", audit: "network.refused" },
  unsupported_media_type: { http: 415, rpc: -32000, message: "Unsupported Media Type: Content-Type must be application/json", audit: "network.refused" },
  not_acceptable: { http: 406, rpc: -32000, message: "Not Acceptable: client must accept application/json or text/event-stream", audit: "network.refused" },
  method_not_allowed: { http: 405, rpc: -32000, message: "Method not allowed", audit: "network.refused" },
  parse_error: { http: 400, rpc: -32700, message: "Parse error: body is not valid UTF-8 JSON", audit: "network.refused" },
  too_deep: { http: 400, rpc: -32600, message: "Invalid Request: JSON nested too deeply", audit: "network.refused" },
  invalid_message: { http: 400, rpc: -32600, message: "Invalid Request: not one JSON-RPC 2.0 message", audit: "network.refused" },
  batch_refused: { http: 400, rpc: -32600, message: "Invalid Request: batches are not allowed in this protocol version", audit: "network.refused" },
  header_mismatch: { http: 400, rpc: -32020, message: "Header mismatch: MCP headers do not match the request body", audit: "network.refused" },
  unsupported_protocol_version: { http: 400, rpc: -32022, message: "Unsupported protocol version", audit: "network.refused" },
  session_required: { http: 400, rpc: -32000, message: "Bad Request: Mcp-Session-Id header is required", audit: "network.refused" },
  session_not_found: { http: 404, rpc: -32001, message: "Session not found", audit: "session.unknown" },
  session_hijack: { http: 404, rpc: -32001, message: "Session not found", audit: "session.hijack" },
  stream_conflict: { http: 409, rpc: -32000, message: "Conflict: a stream is already open for this session", audit: "network.refused" },
  method_not_found: { http: 404, rpc: -32601, message: "Method not found", audit: "rpc.refused" },
  unknown_name: { http: 200, rpc: -32602, message: "Unknown name", audit: "authz.denied" },
  resource_not_found: { http: 200, rpc: -32602, message: "Resource not found", audit: "rpc.refused" },
  invalid_params: { http: 200, rpc: -32602, message: "Invalid params", audit: "rpc.refused" },
  input_state_invalid: { http: 200, rpc: -32602, message: "Invalid params: requestState is unknown, expired or not yours", audit: "rpc.refused" },
  capability_missing: { http: 400, rpc: -32021, message: "Missing required client capability", audit: "rpc.refused" },
  forbidden: { http: 200, rpc: -32011, message: "Forbidden by policy", audit: "authz.denied" },
  upstream_unavailable: { http: 200, rpc: -32010, message: "Upstream unavailable", audit: "upstream.unavailable" },
  server_busy: { http: 503, rpc: -32000, message: "Service Unavailable: too many sessions", audit: "network.refused" },
  internal: { http: 500, rpc: -32603, message: "Internal error", audit: "gateway.error" },
} as const satisfies Record<string, { http: number; rpc: number; message: string; audit: string }>;

/** A stable refusal code: the keys of {@link REFUSALS}. */
export type RefusalCode = keyof typeof REFUSALS;

/** Base class of every error the gateway raises on purpose; `code` is stable and documented in docs/errors.md. */
export class BastionError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A refused client message. `message` is what the client sees; `reason` is the true reason that
 * goes to the audit log only (it may name internals the client must not learn); `data` is the
 * JSON-RPC `error.data` the client sees.
 */
export class Refusal extends BastionError {
  declare readonly code: RefusalCode;
  readonly http: number;
  readonly rpc: number;
  readonly data: Record<string, unknown> | undefined;
  readonly reason: string;
  /** The request id, when the refused message had a readable one (answers echo it). */
  readonly requestId: string | number | undefined;
  /** HTTP headers the answer must carry (WWW-Authenticate, Retry-After). */
  readonly headers: Record<string, string>;
  /** The audit type when it differs from the code's usual one (a forbidden resource answers "not found" but is audited as authz.denied). */
  private readonly auditOverride: string | undefined;
  constructor(
    code: RefusalCode,
    opts: { message?: string; reason?: string; data?: Record<string, unknown>; http?: number; rpc?: number; requestId?: string | number; headers?: Record<string, string>; audit?: string } = {},
  ) {
    const entry = REFUSALS[code];
    super(code, opts.message ?? entry.message);
    this.http = opts.http ?? entry.http;
    this.rpc = opts.rpc ?? entry.rpc;
    this.data = opts.data;
    this.reason = opts.reason ?? code;
    this.requestId = opts.requestId;
    this.headers = opts.headers ?? {};
    this.auditOverride = opts.audit;
  }

  /** The audit event type this refusal is recorded under. */
  get auditType(): string {
    return this.auditOverride ?? REFUSALS[this.code].audit;
  }

  /** The JSON-RPC error object the client sees. */
  toRpcError(): { code: number; message: string; data?: Record<string, unknown> } {
    return this.data === undefined ? { code: this.rpc, message: this.message } : { code: this.rpc, message: this.message, data: this.data };
  }
}

/**
 * A refusal answered as a result rather than an error: arguments that break a tool's schema get a
 * tool error result the model can correct (SEP-1303). The pipeline audits it and returns `result`.
 */
export class RefusedAsResult extends BastionError {
  constructor(
    readonly result: Record<string, unknown>,
    readonly auditType: string,
    readonly reason: string,
  ) {
    super("refused_as_result", reason);
  }
}

/** A configuration file or command-line problem found at start-up; `problems` lists every one, each with its path. */
export class ConfigError extends BastionError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super("config_invalid", `configuration is invalid:\n  - ${problems.join("\n  - ")}`);
    this.problems = problems;
  }
}

/** An operation the CLI refuses (exit 1): a file that exists, a name that is unknown. */
export class OperationRefused extends BastionError {
  constructor(message: string) {
    super("operation_refused", message);
  }
}
