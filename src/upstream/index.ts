// One configured upstream: connect (either transport), settle the era, adapt every call to it, restart with backoff when it dies.
import { EventEmitter } from "node:events";
import { isStdio, type UpstreamConfig } from "../config/index.ts";
import { Refusal } from "../errors/index.ts";
import type { Params, RpcNotification, RpcRequest } from "../jsonrpc/index.ts";
import type { Logger } from "../log/index.ts";
import {
  GATEWAY_INFO,
  LATEST_LEGACY_VERSION,
  LEGACY_VERSIONS,
  META_CLIENT_CAPABILITIES,
  META_CLIENT_INFO,
  META_LOG_LEVEL,
  META_PROTOCOL_VERSION,
  MODERN_VERSION,
  withoutReservedMeta,
  type Era,
  type LogLevel,
} from "../protocol/versions.ts";
import { mirrorsOf, type Mirror } from "../protocol/param-headers.ts";
import { HttpLink } from "./http.ts";
import type { Link } from "./link.ts";
import { UpstreamRpcError, type CallHooks } from "./peer.ts";
import { StdioLink } from "./stdio.ts";

export { CallCancelled, UpstreamRpcError, toRpcError } from "./peer.ts";
export type { CallHooks, ServerRequest } from "./peer.ts";
export { childEnvironment } from "./stdio.ts";

/** What the calling client declared about itself; a 2026-07-28 upstream receives it per request. */
export interface CallerMeta {
  capabilities: Record<string, unknown>;
  clientInfo: Record<string, unknown> | undefined;
  logLevel: LogLevel | undefined;
}

/** What the gateway offers to relay from upstreams to clients; each call checks its own client's capabilities. Roots only where `relayRoots` is set. */
const RELAYED_CAPABILITIES = { sampling: {}, elicitation: { form: {}, url: {} } };
const clientCapabilitiesFor = (config: UpstreamConfig): Record<string, unknown> => (config.relayRoots ? { ...RELAYED_CAPABILITIES, roots: {} } : RELAYED_CAPABILITIES);

export type UpstreamState = "starting" | "ready" | "down" | "stopped";

/** First restart delay in milliseconds; doubles per failure up to {@link MAX_BACKOFF_MS}. */
const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;
/** A connection that stayed up this long resets the backoff. */
const STABLE_MS = 60_000;

export interface UpstreamEvents {
  ready: [];
  down: [reason: string];
  /** Traffic that belongs to no call: list changes, resource updates, subscription acknowledgements. */
  notification: [message: RpcNotification];
}

/** A configured upstream MCP server and its connection; `call` is the only way the gateway talks to it. */
export class Upstream extends EventEmitter<UpstreamEvents> {
  state: UpstreamState = "starting";
  era: Era | undefined;
  protocolVersion: string | undefined;
  capabilities: Record<string, unknown> = {};
  serverInfo: Record<string, unknown> | undefined;
  instructions: string | undefined;
  lastError: string | undefined;
  restarts = 0;
  private link: Link | undefined;
  private backoffMs = MIN_BACKOFF_MS;
  private retryAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private connectedAt = 0;
  private listenAbort: AbortController | undefined;
  private subscribedUris: string[] = [];
  /** Tools' mirrored arguments (x-mcp-header), learned from tools/list, by upstream tool name. */
  private readonly mirrors = new Map<string, Mirror[]>();

  /** The namespace of this upstream's tools and prompts, or false when names are exposed unchanged. */
  readonly prefix: string | false;

  constructor(
    readonly name: string,
    readonly config: UpstreamConfig,
    private readonly baseDir: string,
    private readonly log: Logger,
  ) {
    super();
    this.prefix = config.prefix === undefined ? name : config.prefix;
  }

  /** Starts connecting; resolves once the first attempt settled (ready or down — a down upstream keeps retrying). */
  start(): Promise<void> {
    return this.connect();
  }

  async stop(): Promise<void> {
    this.state = "stopped";
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.listenAbort?.abort();
    const link = this.link;
    this.link = undefined;
    await link?.close();
  }

  /** Process id of a stdio upstream's current child (readiness report, tests). */
  get pid(): number | undefined {
    return this.link instanceof StdioLink ? this.link.pid : undefined;
  }

  /** Seconds until the next reconnection attempt, for `retryAfter` (at least 1). */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.retryAt - Date.now()) / 1000));
  }

  /**
   * Sends one request in this upstream's era: a 2026-07-28 upstream gets the caller's capabilities,
   * info and log level in `_meta`; a session-era upstream gets `_meta` without the reserved keys.
   */
  call(method: string, params: Params | undefined, hooks: CallHooks, caller?: CallerMeta): Promise<Record<string, unknown>> {
    const link = this.link;
    if (this.state !== "ready" || link === undefined) return Promise.reject(this.unavailable());
    const pending = link.peer.request(method, this.adapt(params, caller), hooks);
    return method === "tools/list" ? pending.then((r) => this.learnMirrors(r, params)) : pending;
  }

  /** The `Mcp-Param-*` mirrors of one of this upstream's tools (empty when it declares none). */
  mirrorsOf(tool: string): readonly Mirror[] {
    return this.mirrors.get(tool) ?? [];
  }

  private learnMirrors(result: Record<string, unknown>, params: Params | undefined): Record<string, unknown> {
    if (params?.["cursor"] === undefined) this.mirrors.clear();
    const tools = result["tools"];
    if (Array.isArray(tools))
      for (const t of tools as Record<string, unknown>[]) {
        const m = mirrorsOf(t["inputSchema"]);
        if (typeof t["name"] === "string" && m.length > 0) this.mirrors.set(t["name"], m);
      }
    return result;
  }

  /** Forwards a client notification (cancellations are handled by the call's signal instead). */
  notify(method: string, params?: Params): void {
    if (this.state === "ready") this.link?.peer.notify(method, params);
  }

  /** Sets the resource URIs the gateway wants update notifications for (the union of its clients' subscriptions). */
  async setResourceSubscriptions(uris: string[]): Promise<void> {
    const before = new Set(this.subscribedUris);
    this.subscribedUris = [...new Set(uris)].sort();
    if (this.state !== "ready") return;
    if (this.era === "modern") return this.listen();
    const after = new Set(this.subscribedUris);
    const hooks = { timeoutMs: this.config.timeoutMs };
    for (const uri of after) if (!before.has(uri)) await this.call("resources/subscribe", { uri }, hooks).catch(() => undefined);
    for (const uri of before) if (!after.has(uri)) await this.call("resources/unsubscribe", { uri }, hooks).catch(() => undefined);
  }

  private adapt(params: Params | undefined, caller: CallerMeta | undefined): Params | undefined {
    const raw = params?.["_meta"];
    const meta = typeof raw === "object" && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
    if (this.era === "modern") {
      const own: Record<string, unknown> = meta === undefined ? {} : { ...withoutReservedMeta(meta) };
      own[META_PROTOCOL_VERSION] = MODERN_VERSION;
      own[META_CLIENT_CAPABILITIES] = caller?.capabilities ?? {};
      if (caller?.clientInfo !== undefined) own[META_CLIENT_INFO] = caller.clientInfo;
      if (caller?.logLevel !== undefined) own[META_LOG_LEVEL] = caller.logLevel;
      return { ...params, _meta: own };
    }
    if (meta === undefined) return params;
    const own = withoutReservedMeta(meta);
    return own === meta ? params : { ...params, _meta: own };
  }

  private unavailable(): Refusal {
    return new Refusal("upstream_unavailable", {
      reason: `upstream ${this.name} is ${this.state}${this.lastError === undefined ? "" : `: ${this.lastError}`}`,
      data: { reason: "upstream_unavailable", retryAfter: this.retryAfterSeconds },
    });
  }

  private async connect(): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "starting";
    const onClose = (reason: string): void => this.onLinkClosed(link, reason);
    const onMessage = (m: RpcNotification | RpcRequest): void => {
      if (!("id" in m)) this.emit("notification", m);
    };
    const link: Link = isStdio(this.config)
      ? new StdioLink(this.name, this.config, this.baseDir, this.log, onMessage, onClose)
      : new HttpLink(this.name, this.config, this.log, onMessage, onClose, (tool) => this.mirrorsOf(tool));
    this.link = link;
    try {
      await this.handshake(link);
    } catch (err) {
      const reason = err instanceof UpstreamRpcError ? `handshake refused: ${err.message}` : (err as Error).message;
      if (this.link === link) {
        this.link = undefined;
        await link.close().catch(() => undefined);
        this.onLinkClosed(link, reason);
      }
      return;
    }
    if (this.link !== link || (this.state as UpstreamState) === "stopped") return;
    this.state = "ready";
    this.connectedAt = Date.now();
    this.lastError = undefined;
    this.log.info(`upstream ${this.name}: ready (${this.era} era, protocol ${this.protocolVersion ?? "?"}, ${String(this.serverInfo?.["name"] ?? "unnamed server")})`);
    this.emit("ready");
    if (this.era === "modern") void this.listen();
    else if (this.subscribedUris.length > 0) {
      const uris = this.subscribedUris;
      this.subscribedUris = [];
      void this.setResourceSubscriptions(uris);
    }
  }

  /** Settles the era: `server/discover` first (unless pinned legacy), `initialize` when the upstream does not know it. */
  private async handshake(link: Link): Promise<void> {
    const hooks = { timeoutMs: this.config.connectTimeoutMs };
    const mode = this.config.protocol;
    if (mode !== "legacy") {
      try {
        const discover = await link.peer.request(
          "server/discover",
          { _meta: { [META_PROTOCOL_VERSION]: MODERN_VERSION, [META_CLIENT_CAPABILITIES]: clientCapabilitiesFor(this.config), [META_CLIENT_INFO]: GATEWAY_INFO } },
          hooks,
        );
        const versions = discover["supportedVersions"];
        if (Array.isArray(versions) && versions.includes(MODERN_VERSION)) {
          this.settle(link, "modern", MODERN_VERSION, discover);
          return;
        }
        if (mode === "modern") throw new Error(`does not support protocol ${MODERN_VERSION}`);
      } catch (err) {
        // A session-era server refuses the probe (an error, an HTTP 4xx) or ignores it; if the
        // connection itself is gone, initialize fails next and reports that.
        if (mode === "modern") throw err;
      }
    }
    link.setEra?.("legacy", LATEST_LEGACY_VERSION);
    const init = await link.peer.request(
      "initialize",
      { protocolVersion: LATEST_LEGACY_VERSION, capabilities: clientCapabilitiesFor(this.config), clientInfo: GATEWAY_INFO },
      hooks,
    );
    const version = init["protocolVersion"];
    if (typeof version !== "string" || !(LEGACY_VERSIONS as readonly string[]).includes(version))
      throw new Error(`answered initialize with unsupported protocol version ${String(version).slice(0, 40)}`);
    this.settle(link, "legacy", version, init);
    link.peer.notify("notifications/initialized");
  }

  private settle(link: Link, era: Era, version: string, result: Record<string, unknown>): void {
    this.era = era;
    this.protocolVersion = version;
    link.setEra?.(era, version);
    const caps = result["capabilities"];
    this.capabilities = typeof caps === "object" && caps !== null ? (caps as Record<string, unknown>) : {};
    const info = era === "modern" ? (result["_meta"] as Record<string, unknown> | undefined)?.["io.modelcontextprotocol/serverInfo"] : result["serverInfo"];
    this.serverInfo = typeof info === "object" && info !== null ? (info as Record<string, unknown>) : undefined;
    this.instructions = typeof result["instructions"] === "string" ? result["instructions"] : undefined;
  }

  /**
   * 2026-07-28 upstreams announce changes only on a `subscriptions/listen` stream: the gateway keeps
   * one open per upstream, asking for list changes and the resources its clients subscribed to.
   */
  private async listen(): Promise<void> {
    this.listenAbort?.abort();
    const caps = this.capabilities;
    const wants = (k: string, f: string): boolean => (caps[k] as Record<string, unknown> | undefined)?.[f] === true;
    const filter: Record<string, unknown> = {};
    if (wants("tools", "listChanged")) filter["toolsListChanged"] = true;
    if (wants("prompts", "listChanged")) filter["promptsListChanged"] = true;
    if (wants("resources", "listChanged")) filter["resourcesListChanged"] = true;
    if (wants("resources", "subscribe") && this.subscribedUris.length > 0) filter["resourceSubscriptions"] = this.subscribedUris;
    if (Object.keys(filter).length === 0) return;
    const abort = new AbortController();
    this.listenAbort = abort;
    await this.call("subscriptions/listen", { notifications: filter }, { timeoutMs: 0, signal: abort.signal, internal: true, onNotification: (n) => this.emit("notification", n) }).catch(
      (err: unknown) => {
        if (!abort.signal.aborted && this.state === "ready") this.log.debug(`upstream ${this.name}: subscription stream ended: ${(err as Error).message}`);
      },
    );
  }

  private onLinkClosed(link: Link, reason: string): void {
    if (this.link !== undefined && this.link !== link) return;
    this.link = undefined;
    this.listenAbort?.abort();
    if (this.state === "stopped") return;
    const wasReady = this.state === "ready";
    this.state = "down";
    this.lastError = reason;
    if (wasReady && Date.now() - this.connectedAt > STABLE_MS) this.backoffMs = MIN_BACKOFF_MS;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.retryAt = Date.now() + delay;
    this.log.warn(`upstream ${this.name}: down (${reason}); restarting in ${delay} ms`);
    this.emit("down", reason);
    this.retryTimer = setTimeout(() => {
      this.restarts++;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }
}
