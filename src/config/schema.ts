// The shape of security/config.yaml (SPEC §2), validated with zod; defaults live here and nowhere else.
import { z } from "zod";

/** An upstream's name: it becomes the default tool prefix, so it may not contain the `.` that separates prefix and tool. */
const upstreamName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "1–64 characters of A-Z a-z 0-9 _ -");

const upstreamCommon = {
  /** Namespace of the upstream's tools and prompts (`prefix.tool`); `false` exposes names unchanged. Default: the upstream's name. */
  prefix: z.union([upstreamName, z.literal(false)]).optional(),
  /** Rug-pull defense mode (enforced by the pinning stage). */
  pin: z.enum(["enforce", "warn", "off"]).default("enforce"),
  /** Protocol era to speak to this upstream; `auto` probes `server/discover` and falls back to `initialize`. */
  protocol: z.enum(["auto", "modern", "legacy"]).default("auto"),
  /** Milliseconds a forwarded request may take before the caller gets `upstream_unavailable`. Default 60000. */
  timeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
  /** Milliseconds allowed for the first handshake (process start included). Default 30000. */
  connectTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  /**
   * Whether to tell this upstream that clients can list roots. Default false: a shared upstream
   * (e.g. a file-system server) would otherwise take its scope from whichever client answered last;
   * its scope belongs in its own configuration. When true, `roots/list` asked during a call is
   * relayed to that call's client.
   */
  relayRoots: z.boolean().default(false),
};

const stdioUpstream = z.strictObject({
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  /** The child's whole environment besides PATH and HOME: the gateway's own variables are never passed on. */
  env: z.record(z.string(), z.string()).default({}),
  cwd: z.string().optional(),
  ...upstreamCommon,
});

const httpUpstream = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  headers: z.record(z.string(), z.string()).default({}),
  ...upstreamCommon,
});

export type StdioUpstreamConfig = z.infer<typeof stdioUpstream>;
export type HttpUpstreamConfig = z.infer<typeof httpUpstream>;
export type UpstreamConfig = StdioUpstreamConfig | HttpUpstreamConfig;

const limits = z
  .strictObject({
    /** Largest request body accepted, in bytes; larger gets HTTP 413. Default 1048576 (1 MiB). */
    maxBodyBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
    /** Deepest JSON nesting accepted in a request body. Default 64. */
    maxJsonDepth: z.number().int().min(4).max(1000).default(64),
    /** Most MCP sessions (session era) held at once; the least recently used idle one is evicted first. Default 10000. */
    maxSessions: z.number().int().min(1).default(10_000),
    /** Seconds a session may stay idle before it is evicted. Default 1800 (30 minutes). */
    sessionIdleSeconds: z.number().int().min(10).default(1800),
    /** Events kept per session for `Last-Event-ID` resumption. Default 256. */
    resumableEvents: z.number().int().min(0).max(100_000).default(256),
    /** Seconds an input-required round trip may wait for the client's answer. Default 300. */
    inputRequiredSeconds: z.number().int().min(1).max(86_400).default(300),
  })
  .prefault({});

const server = z
  .strictObject({
    host: z.string().min(1).default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(8443),
    /** The canonical URL clients use for `/mcp` (token audience, resource metadata). Default: built from host and port. */
    publicUrl: z.url().optional(),
    /** Origins allowed to call `/mcp` from a browser; a request whose Origin is not listed gets 403. Default: none. */
    allowedOrigins: z.array(z.string()).default([]),
    /** Host header values accepted; default on a loopback bind: localhost, 127.0.0.1 and [::1] with the port. */
    allowedHosts: z.array(z.string()).optional(),
    /** Text for clients' models describing the gateway (initialize / server/discover `instructions`). */
    instructions: z.string().optional(),
    tls: z.unknown().optional(),
    mtls: z.unknown().optional(),
    trustedProxies: z.array(z.string()).default([]),
    limits,
  })
  .prefault({});

const audit = z
  .strictObject({
    /** Default true; AUDIT_LOG_ENABLED overrides. */
    enabled: z.boolean().default(true),
    /** Default logs/audit.log; AUDIT_LOG_PATH overrides. */
    path: z.string().default("logs/audit.log"),
    /** File holding the chain key (0600) until the vault keeps it. Default security/audit.key. */
    keyFile: z.string().default("security/audit.key"),
  })
  .prefault({});

const role = z.strictObject({ permissions: z.array(z.string()).default([]), description: z.string().optional() });

/** Sections whose stages land with later work: accepted and reported at start-up as not enforced. */
const pending = z.record(z.string(), z.unknown()).optional();

export const configSchema = z.strictObject({
  server,
  upstreams: z.record(upstreamName, z.union([stdioUpstream, httpUpstream])).default({}),
  roles: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), role).default({}),
  audit,
  store: pending,
  state: pending,
  auth: pending,
  validation: pending,
  rateLimits: pending,
  vault: pending,
  alerts: pending,
  metrics: pending,
});

export type Config = z.infer<typeof configSchema>;
export type ServerLimits = Config["server"]["limits"];

/** Config sections that are parsed but whose pipeline stage is not built yet; start-up names them so nobody believes they are enforced. */
export const PENDING_SECTIONS = ["roles", "store", "state", "auth", "validation", "rateLimits", "vault", "alerts", "metrics"] as const;

export const isStdio = (u: UpstreamConfig): u is StdioUpstreamConfig => "command" in u;
