// Assembles a running gateway from a validated configuration: upstreams, catalog, pipeline, /mcp and the HTTP server.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { AuditLog, loadOrCreateKey } from "./audit/index.ts";
import { auditStage, noAudit } from "./audit/stage.ts";
import { authenticateStage, identifyAnonymous } from "./authn/index.ts";
import { Catalog } from "./catalog/index.ts";
import type { LoadedConfig } from "./config/index.ts";
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
}

/** A running gateway. */
export interface Gateway {
  /** The `/mcp` URL clients use. */
  readonly url: string;
  readonly server: Server;
  readonly upstreams: readonly Upstream[];
  readonly catalog: Catalog;
  readonly sessions: SessionStore;
  readonly audit: AuditLog | undefined;
  /** Resolves when every upstream has finished its first connection attempt (ready or down) and the lists of the ready ones are read. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** Refuses configurations this version cannot run safely; every problem at once. */
function assertRunnable(loaded: LoadedConfig): void {
  const problems: string[] = [];
  const host = loaded.config.server.host;
  if (!isLoopback(host))
    problems.push(`server.host: ${host} is not a loopback address; this version cannot authenticate callers yet, so it only serves this machine (use 127.0.0.1)`);
  if (loaded.config.server.tls !== undefined || loaded.config.server.mtls !== undefined) problems.push("server.tls/mtls: TLS termination is not available in this version");
  if (problems.length > 0) throw new ConfigError(problems);
}

export async function startGateway(loaded: LoadedConfig, options: GatewayOptions = {}): Promise<Gateway> {
  assertRunnable(loaded);
  const { config, baseDir } = loaded;
  const log = options.log ?? createLogger();
  for (const w of loaded.warnings) log.warn(w);
  const limits = config.server.limits;

  const auditLog = config.audit.enabled ? new AuditLog(path.resolve(baseDir, config.audit.path), loadOrCreateKey(path.resolve(baseDir, config.audit.keyFile))) : undefined;
  const audit = auditLog === undefined ? noAudit : auditStage(auditLog);
  if (auditLog === undefined) log.warn("audit logging is disabled (audit.enabled: false or AUDIT_LOG_ENABLED=false)");

  const upstreams = Object.entries(config.upstreams).map(([name, u]) => new Upstream(name, u, baseDir, log));
  const catalog = new Catalog(upstreams, log);
  const hub = new Hub(catalog, upstreams);
  const continuations = new Continuations(limits.inputRequiredSeconds * 1000);
  const sessions = new SessionStore(limits.sessionIdleSeconds * 1000, limits.maxSessions, limits.resumableEvents);

  const methods = createMethodTable({
    catalog,
    hub,
    continuations,
    sessionListener: (ex) => ex.caller.session?.listener,
    lifecycle: lifecycleMethods({ catalog, hub, instructions: config.server.instructions }),
  });
  const pipeline = createPipeline({ guard: guardStage(methods), authenticate: authenticateStage(identifyAnonymous) }, createForward(methods), audit);
  const mirrorsOf = (tool: string) => {
    const route = catalog.resolveTool(tool);
    return route === undefined ? [] : route.upstream.mirrorsOf(route.name);
  };
  const mcp = createMcpEndpoint({ limits, pipeline, identify: identifyAnonymous, sessions, hub, audit, log, mirrorsOf });

  const port = options.port ?? config.server.port;
  // On a loopback bind the Host header must name this machine (DNS rebinding); the port is known only after listen when 0 was asked for.
  let allowedHosts = config.server.allowedHosts?.map((h) => h.toLowerCase());
  const server = createHttpServer({
    allowedOrigins: config.server.allowedOrigins,
    allowedHosts: () => allowedHosts,
    mcp,
    audit,
    readiness: () => {
      const checks = Object.fromEntries(upstreams.map((u) => [u.name, { state: u.state, era: u.era ?? null, restarts: u.restarts, ...(u.lastError === undefined ? {} : { error: u.lastError }) }]));
      return { ready: upstreams.every((u) => u.state === "ready"), checks: { upstreams: checks, sessions: sessions.size } };
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, config.server.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;
  if (allowedHosts === undefined && isLoopback(config.server.host)) allowedHosts = loopbackHosts(actualPort);
  const hostForUrl = config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host;
  const url = config.server.publicUrl ?? `http://${hostForUrl}:${actualPort}/mcp`;
  auditLog?.record({
    type: "config.loaded",
    outcome: "success",
    severity: "info",
    actor: { user: null, ip: null, session: null, via: "cli" },
    target: loaded.file ?? null,
    reason: null,
    details: { upstreams: upstreams.map((u) => u.name), url },
  });
  log.info(`mcp-bastion listening on ${url}`);

  const first = Promise.all(upstreams.map((u) => u.start()));
  return {
    url,
    server,
    upstreams,
    catalog,
    sessions,
    audit: auditLog,
    settled: async () => {
      await first;
      await catalog.idle();
    },
    async close() {
      sessions.closeAll();
      await Promise.all(upstreams.map((u) => u.stop()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      auditLog?.close();
    },
  };
}
