// Assembles a running gateway from a validated configuration: upstreams, catalog, pipeline, /mcp and the HTTP server.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { AuditLog, loadOrCreateKey } from "./audit/index.ts";
import { auditStage, noAudit } from "./audit/stage.ts";
import { createAuthEndpoints } from "./authn/endpoints.ts";
import { conditionsStage } from "./authz/conditions.ts";
import { authorizeStage, Policy } from "./authz/index.ts";
import { validateStage } from "./validate/index.ts";
import { resultScreen } from "./validate/responses.ts";
import { authenticateStage, createIdentify, Identity } from "./authn/index.ts";
import { ExternalIssuers } from "./authn/oauth.ts";
import type { ScryptParams } from "./authn/password.ts";
import { PASSWORD_POLICIES } from "./authn/policy.ts";
import { fileKey, secretKey, TokenService, type SigningKey } from "./authn/tokens.ts";
import { openStore, type Store } from "./store/index.ts";
import { Catalog } from "./catalog/index.ts";
import { PinBook, type FlagFn } from "./integrity/pins.ts";
import { scanTool } from "./integrity/scan.ts";
import type { Config, LoadedConfig } from "./config/index.ts";
import { ConfigError } from "./errors/index.ts";
import { Continuations, createForward, createMethodTable } from "./forward/index.ts";
import { guardStage, isLoopback, loopbackHosts } from "./guard/index.ts";
import { createHttpServer } from "./http/index.ts";
import { createLogger, type Logger } from "./log/index.ts";
import { createPipeline } from "./pipeline/index.ts";
import { createMcpEndpoint } from "./protocol/endpoint.ts";
import { Hub } from "./protocol/hub.ts";
import { lifecycleMethods } from "./protocol/lifecycle.ts";
import { SessionStore } from "./session/index.ts";
import { Upstream } from "./upstream/index.ts";

export interface GatewayOptions {
  log?: Logger;
  /** Listen on this port instead of the configured one (0: any free port). */
  port?: number;
  /** Where JWT_SECRET_KEY and friends are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Password hashing cost; tests only (the default is OWASP's, and the config file cannot lower it). */
  scrypt?: ScryptParams;
  /** Tool pinning: the scanner whose findings withhold a tool (`flag`), and how often approvals are looked for (`pollMs`, default 2000). */
  pins?: { flag?: FlagFn; pollMs?: number };
}

/** A running gateway. */
export interface Gateway {
  /** The `/mcp` URL clients use (also every access token's audience). */
  readonly url: string;
  readonly server: Server;
  readonly upstreams: readonly Upstream[];
  readonly catalog: Catalog;
  readonly sessions: SessionStore;
  readonly identity: Identity;
  readonly store: Store;
  readonly audit: AuditLog | undefined;
  /** Resolves when every upstream has finished its first connection attempt (ready or down) and the lists of the ready ones are read. */
  settled(): Promise<void>;
  /**
   * Applies a new configuration's roles, capabilities and validation from the next request on
   * (`bastion serve` does on SIGHUP); names the sections that changed but need a restart.
   */
  reload(next: LoadedConfig): { restartNeeded: string[] };
  close(): Promise<void>;
}

/** Refuses configurations this version cannot run safely; every problem at once. */
function assertRunnable(loaded: LoadedConfig): void {
  const problems: string[] = [];
  const { server, auth } = loaded.config;
  if (auth.anonymous && !isLoopback(server.host)) problems.push(`auth.anonymous: only allowed on a loopback bind (server.host is ${server.host})`);
  if (server.tls !== undefined || server.mtls !== undefined) problems.push("server.tls/mtls: TLS termination is not available in this version");
  if (problems.length > 0) throw new ConfigError(problems);
}

/** Seconds between sweeps of ended sessions. */
const SWEEP_SECONDS = 60;

export async function startGateway(loaded: LoadedConfig, options: GatewayOptions = {}): Promise<Gateway> {
  assertRunnable(loaded);
  const { config, baseDir } = loaded;
  const env = options.env ?? process.env;
  const log = options.log ?? createLogger();
  for (const w of loaded.warnings) log.warn(w);
  const limits = config.server.limits;
  const at = (file: string): string => path.resolve(baseDir, file);

  const auditLog = config.audit.enabled ? new AuditLog(at(config.audit.path), loadOrCreateKey(at(config.audit.keyFile))) : undefined;
  const audit = auditLog === undefined ? noAudit : auditStage(auditLog);
  if (auditLog === undefined) log.warn("audit logging is disabled (audit.enabled: false or AUDIT_LOG_ENABLED=false)");
  // Listen first: the gateway's own URL (token audience, resource metadata) needs the port it got.
  const { server, install } = createHttpServer();
  const port = options.port ?? config.server.port;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, config.server.host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((err: unknown) => {
    auditLog?.close();
    throw err;
  });
  const actualPort = (server.address() as AddressInfo).port;
  const url = gatewayUrl(loaded, actualPort);
  const origin = new URL(url).origin;
  const { store, tokens, identity } = await openIdentity(loaded, env, url, { ...(options.scrypt === undefined ? {} : { scrypt: options.scrypt }) });
  const issuers = new ExternalIssuers(config.auth.oauth.issuers, url);
  const identify = createIdentify({ identity, issuers, anonymous: config.auth.anonymous, resourceMetadataUrl: `${origin}/.well-known/oauth-protected-resource/mcp` });
  if (config.auth.anonymous) log.warn("auth.anonymous is on: callers without credentials are let in as 'anonymous' (loopback only; for development)");

  const upstreams = Object.entries(config.upstreams).map(([name, u]) => new Upstream(name, u, baseDir, log));
  const pins = new PinBook({
    store,
    modes: new Map(Object.entries(config.upstreams).map(([name, u]) => [name, u.pin])),
    log,
    ...(auditLog === undefined ? {} : { audit: auditLog }),
    // Tool poisoning: a definition the scanner flags is held back like a changed one until approved.
    flag: options.pins?.flag ?? scanTool,
    ...(options.pins?.pollMs === undefined ? {} : { pollMs: options.pins.pollMs }),
  });
  const catalog = new Catalog(upstreams, log, pins);
  const hub = new Hub(catalog, upstreams);
  const continuations = new Continuations(limits.inputRequiredSeconds * 1000);
  const sessions = new SessionStore(limits.sessionIdleSeconds * 1000, limits.maxSessions, limits.resumableEvents);

  const policy = new Policy(config.roles, config.capabilities);
  const methods = createMethodTable({
    catalog,
    policy,
    hub,
    continuations,
    sessionListener: (ex) => ex.caller.session?.listener,
    lifecycle: lifecycleMethods({ catalog, hub, policy, instructions: config.server.instructions }),
  });
  // What a reload replaces: the stages built from roles and validation (the rest needs a restart).
  const policyStages = (c: Config) => ({
    authorize: authorizeStage(policy, conditionsStage(c.validation.rules)),
    validate: validateStage(catalog, c.validation, log),
    respond: resultScreen(catalog, c.validation.responses, log),
  });
  let current = policyStages(config);
  let active = loaded;
  const pipeline = createPipeline(
    { guard: guardStage(methods), authenticate: authenticateStage, authorize: (ex) => current.authorize(ex), validate: (ex) => current.validate(ex) },
    createForward(methods),
    audit,
    (ex, result) => current.respond(ex, result),
  );
  const mirrorsOf = (tool: string) => {
    const route = catalog.resolveTool(tool);
    return route === undefined ? [] : route.upstream.mirrorsOf(route.name);
  };
  const mcp = createMcpEndpoint({ limits, pipeline, identify, sessions, hub, audit, log, mirrorsOf });

  // On a loopback bind the Host header must name this machine (DNS rebinding).
  const allowedHosts = config.server.allowedHosts?.map((h) => h.toLowerCase()) ?? (isLoopback(config.server.host) ? loopbackHosts(actualPort) : undefined);
  let storeUp = true;
  const probe = setInterval(() => void store.ping().then((ok) => (storeUp = ok), () => (storeUp = false)), 5_000);
  probe.unref();
  install({
    allowedOrigins: config.server.allowedOrigins,
    allowedHosts: () => allowedHosts,
    mcp,
    audit,
    auth: createAuthEndpoints({ identity, tokens, audit, resource: url, issuer: origin, externalIssuers: config.auth.oauth.issuers.map((i) => i.issuer) }),
    readiness: () => {
      const checks = Object.fromEntries(upstreams.map((u) => [u.name, { state: u.state, era: u.era ?? null, restarts: u.restarts, ...(u.lastError === undefined ? {} : { error: u.lastError }) }]));
      return { ready: storeUp && upstreams.every((u) => u.state === "ready"), checks: { upstreams: checks, sessions: sessions.size, store: { driver: store.driver, up: storeUp } } };
    },
  });
  const sweeper = setInterval(() => void identity.sweep().catch((err: unknown) => log.warn(`session sweep failed: ${(err as Error).message}`)), SWEEP_SECONDS * 1000);
  sweeper.unref();
  const configLoaded = (file: string | undefined, via: string, details: Record<string, unknown>): void =>
    audit.event({ type: "config.loaded", outcome: "success", severity: "info", actor: { user: null, ip: null, session: null, via }, target: file ?? null, reason: null, details });
  configLoaded(loaded.file, "cli", { upstreams: upstreams.map((u) => u.name), url, store: store.driver, signing: tokens.algorithm });
  log.info(`mcp-bastion listening on ${url}`);

  const first = Promise.all(upstreams.map((u) => u.start()));
  return {
    url,
    server,
    upstreams,
    catalog,
    sessions,
    identity,
    store,
    audit: auditLog,
    settled: async () => {
      await first;
      await catalog.idle();
    },
    reload(next) {
      const restartNeeded = (["server", "upstreams", "store", "auth", "audit"] as const).filter((k) => JSON.stringify(next.config[k]) !== JSON.stringify(active.config[k]));
      active = next;
      policy.update(next.config.roles, next.config.capabilities);
      current = policyStages(next.config);
      // Every list may look different to someone now: clients that listen re-read them.
      for (const kind of ["tools", "prompts", "resources"] as const) catalog.emit("changed", kind);
      configLoaded(next.file, "signal", { reload: true, ...(restartNeeded.length === 0 ? {} : { restartNeeded }) });
      if (restartNeeded.length > 0) log.warn(`configuration reloaded: roles, capabilities and validation apply now; ${restartNeeded.join(", ")} changed and apply after a restart`);
      else log.info("configuration reloaded: roles, capabilities and validation apply now");
      return { restartNeeded };
    },
    async close() {
      clearInterval(sweeper);
      clearInterval(probe);
      pins.close();
      sessions.closeAll();
      await Promise.all(upstreams.map((u) => u.stop()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
      auditLog?.close();
    },
  };
}

/** The canonical URL of /mcp: `server.publicUrl`, else built from the bind address and `port`. */
export function gatewayUrl(loaded: LoadedConfig, port: number): string {
  const { host, publicUrl } = loaded.config.server;
  return publicUrl ?? `http://${host.includes(":") ? `[${host}]` : host}:${port}/mcp`;
}

/**
 * The identity layer on its own (the gateway uses it; so do the CLI's user, apikey and token
 * commands): the store, the token service for `url`, and the service over them.
 */
export async function openIdentity(
  loaded: LoadedConfig,
  env: NodeJS.ProcessEnv,
  url: string,
  testing: { now?: () => number; scrypt?: ScryptParams } = {},
): Promise<{ store: Store; tokens: TokenService; identity: Identity }> {
  const { now } = testing;
  const { config, baseDir } = loaded;
  const at = (file: string): string => path.resolve(baseDir, file);
  const key = await signingKeyFor(loaded, env);
  const store = await openStore(config.store.driver === "sqlite" ? { driver: "sqlite", path: at(config.store.path) } : config.store);
  const tokens = new TokenService({ issuer: new URL(url).origin, audience: url, ttlSeconds: Math.round(config.auth.jwt.expirationHours * 3600), leewaySeconds: config.auth.jwt.leewaySeconds, key, ...(now === undefined ? {} : { now }) });
  const identity = new Identity({
    store,
    tokens,
    policy: config.auth.passwordPolicy ?? PASSWORD_POLICIES.default,
    lockout: { threshold: config.auth.lockout.threshold, windowMs: config.auth.lockout.windowMinutes * 60_000, durationMs: config.auth.lockout.durationMinutes * 60_000, accountThreshold: config.auth.lockout.accountThreshold },
    sessions: { idleMs: config.auth.sessions.idleMinutes * 60_000, absoluteMs: config.auth.sessions.absoluteHours * 3_600_000, refreshMs: config.auth.sessions.refreshDays * 86_400_000 },
    mfa: config.auth.mfa,
    secretsKey: loadOrCreateKey(at(config.auth.secretsKeyFile)),
    roles: config.roles,
    capabilities: config.capabilities,
    ...(now === undefined ? {} : { now }),
    ...(testing.scrypt === undefined ? {} : { scrypt: testing.scrypt }),
  });
  return { store, tokens, identity };
}

/** HS256 with JWT_SECRET_KEY (≥ 256 bits), else the gateway's own asymmetric key file. */
function signingKeyFor(loaded: LoadedConfig, env: NodeJS.ProcessEnv): Promise<SigningKey> {
  const secret = env["JWT_SECRET_KEY"];
  if (secret !== undefined && secret !== "") return Promise.resolve(secretKey(secret));
  return fileKey(path.resolve(loaded.baseDir, loaded.config.auth.jwt.keyFile), loaded.config.auth.jwt.algorithm);
}
