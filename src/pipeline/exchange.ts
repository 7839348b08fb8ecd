// What travels down the pipeline: one client message, who sent it, in which protocol era, and how to talk back while it is handled.
import type { IncomingHttpHeaders } from "node:http";
import type { Params, RpcNotification, RpcRequest } from "../jsonrpc/index.ts";
import type { Era, LogLevel } from "../protocol/versions.ts";
import type { Session } from "../session/index.ts";

/** Who a caller is once authenticated. `id` is what sessions and limits are keyed on; `name` is what the audit log shows. */
export interface Principal {
  id: string;
  name: string;
  kind: "anonymous" | "user" | "apikey" | "oauth" | "mtls";
  roles: readonly string[];
  /** Permissions the credential narrows the roles to (API-key or OAuth scopes); undefined: the roles' own. */
  scopes: readonly string[] | undefined;
  /** The gateway session an access token belongs to. */
  sessionId: string | undefined;
}

/** The client side of an exchange: address, era, and what the client declared about itself. */
export interface Caller {
  readonly ip: string;
  readonly era: Era;
  readonly protocolVersion: string;
  readonly capabilities: Record<string, unknown>;
  readonly clientInfo: Record<string, unknown> | undefined;
  /** 2026-07-28: the request's `_meta` log level; session era: the session's `logging/setLevel`. Unset: see logPolicy. */
  readonly logLevel: LogLevel | undefined;
  /** The session-era session the message belongs to. */
  readonly session: Session | undefined;
}

/** How the gateway talks back to the client while one request is handled. */
export interface Channel {
  /** Aborted when the client cancels (session era: notifications/cancelled; 2026-07-28: the stream closed). */
  readonly signal: AbortSignal;
  /** Sends a notification that belongs to this request (progress, log). */
  notify(notification: RpcNotification): void;
  /** Sends a server→client request on this request's stream and waits for the answer; absent where the era or the client cannot carry one. */
  readonly request: ((method: string, params: Params | undefined) => Promise<Record<string, unknown>>) | undefined;
}

/** One client message on its way through the pipeline. */
export interface Exchange {
  readonly message: RpcRequest | RpcNotification;
  readonly caller: Caller;
  readonly headers: IncomingHttpHeaders;
  readonly channel: Channel;
  /** Set by the authenticate stage. */
  principal: Principal | undefined;
  /** What the message acts on, for the audit record (e.g. `everything.echo`, a resource URI). */
  target: string | undefined;
  /** Upstream that served it, for the audit record. */
  upstream: string | undefined;
  readonly startedAt: number;
  /** What checks noticed and let pass (a shadow rule's denial, a detector in `log` mode): added to the exchange's one audit record. */
  readonly notices: Notice[];
}

/** A check's finding that did not stop the exchange. */
export interface Notice {
  /** The check: a rule's name, or `detector:<name>`. */
  check: string;
  /** What it decided or found (`deny`, `undecided`, a detector's rule id, `sanitized`). */
  rule: string;
  /** Where in the arguments, as a JSON Pointer. */
  path?: string;
}

/** One pipeline stage: returns (or resolves) to pass the exchange on, throws a Refusal to stop it. */
export type Stage = (exchange: Exchange) => void | Promise<void>;
