// The shape of security/config.yaml (SPEC §2), validated with zod; defaults live here and nowhere else.
import { z } from "zod";
import { passwordPolicySchema } from "../authn/policy.ts";
import { validationSchema } from "../validate/config.ts";

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

/** Where users, keys and sessions live: SQLite by default, PostgreSQL when configured. */
const store = z
  .discriminatedUnion("driver", [
    z.strictObject({ driver: z.literal("sqlite"), path: z.string().min(1).default("data/bastion.db") }),
    z.strictObject({ driver: z.literal("postgres"), url: z.string().regex(/^postgres(ql)?:\/\//, "a postgres:// URL"), schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).default("bastion") }),
  ])
  .default({ driver: "sqlite", path: "data/bastion.db" });

const minutes = (max: number) => z.number().positive().max(max);

/** An external OAuth 2.1 authorization server whose access tokens the gateway accepts (the MCP authorization spec). */
const issuer = z.strictObject({
  /** Exact `iss` of its tokens. */
  issuer: z.url(),
  /** Where its signing keys are published (fetched with a timeout, cached, refetched at most every 30 s on an unknown kid). */
  jwksUrl: z.url({ protocol: /^https?$/ }),
  /** The `aud` its tokens must carry; default: the gateway's canonical /mcp URL. Tokens for anyone else are refused (RFC 8707). */
  audience: z.string().min(1).optional(),
  /** Signature algorithms accepted from this issuer (never `none`, never HS*: a shared secret is not an issuer's key). */
  algorithms: z.array(z.enum(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"])).min(1).default(["RS256", "ES256", "EdDSA"]),
  /** Claim holding the subject's roles or groups (a string, space-separated string, or array). Default "roles". */
  roleClaim: z.string().min(1).default("roles"),
  /** Claim value → gateway roles. A value not listed grants nothing. */
  roleMap: z.record(z.string(), z.array(z.string())).default({}),
  /** Claim naming the user in the audit log. Default "sub". */
  nameClaim: z.string().min(1).default("sub"),
  /** Scopes every token of this issuer must carry to use /mcp; a token lacking one gets 403 insufficient_scope naming them. Default none. */
  requiredScopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, "an RFC 6749 scope token")).default([]),
});

const auth = z
  .strictObject({
    /**
     * Let callers without credentials in as `anonymous` (no roles). Only on a loopback bind; for
     * local development and tests. Default false: no credentials, HTTP 401.
     */
    anonymous: z.boolean().default(false),
    jwt: z
      .strictObject({
        /** Access-token lifetime in hours (JWT_EXPIRATION_HOURS). Default 1. */
        expirationHours: z.number().positive().max(720).default(1),
        /** Asymmetric algorithm of the gateway's own key when JWT_SECRET_KEY is not set. Default EdDSA (Ed25519). */
        algorithm: z.enum(["EdDSA", "ES256"]).default("EdDSA"),
        /** The signing key (PKCS#8 PEM, 0600), created by init. Default security/jwt.key. */
        keyFile: z.string().default("security/jwt.key"),
        /** Seconds of clock skew tolerated. Default 30. */
        leewaySeconds: z.number().int().min(0).max(300).default(30),
      })
      .prefault({}),
    sessions: z
      .strictObject({
        /** A session unused this long ends. Default 30 minutes. */
        idleMinutes: minutes(7 * 24 * 60).default(30),
        /** A session ends this long after login, however active. Default 12 hours. */
        absoluteHours: z.number().positive().max(24 * 90).default(12),
        /** Refresh tokens live this long unless rotated or revoked first (bounded by the session anyway). Default 14 days. */
        refreshDays: z.number().positive().max(365).default(14),
      })
      .prefault({}),
    /** "default" (the original design: 12+ characters, four classes, 90 days, last 5), "nist", or overrides. */
    passwordPolicy: passwordPolicySchema.optional(),
    lockout: z
      .strictObject({
        /** Failures from one address in the window that lock the account for that address. Default 5. */
        threshold: z.number().int().min(1).max(100).default(5),
        windowMinutes: minutes(24 * 60).default(15),
        durationMinutes: minutes(7 * 24 * 60).default(15),
        /** Failures from all addresses in the window that lock the account everywhere (NIST: at most 100). Default 100. */
        accountThreshold: z.number().int().min(1).max(100).default(100),
      })
      .prefault({}),
    mfa: z
      .strictObject({
        /** Roles whose users must log in with a TOTP code. Default ["admin"]. */
        requiredRoles: z.array(z.string()).default(["admin"]),
        /** Issuer name shown in authenticator apps. Default "mcp-bastion". */
        issuer: z.string().min(1).max(64).default("mcp-bastion"),
      })
      .prefault({}),
    oauth: z.strictObject({ issuers: z.array(issuer).default([]) }).prefault({}),
    /** The key sealing TOTP secrets at rest (0600), until the vault keeps it. Default security/identity.key. */
    secretsKeyFile: z.string().default("security/identity.key"),
  })
  .prefault({});

/** Sections whose stages land with later work: accepted and reported at start-up as not enforced. */
const pending = z.record(z.string(), z.unknown()).optional();

export const configSchema = z.strictObject({
  server,
  upstreams: z.record(upstreamName, z.union([stdioUpstream, httpUpstream])).default({}),
  roles: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), role).default({}),
  /**
   * Capability names of the original design (`gmail.send`) and the permissions each stands for
   * (`[gmail.send_email, gmail.reply]`): a role or scope granting the capability grants those.
   */
  capabilities: z.record(z.string().regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+$/, "a capability name like gmail.send"), z.array(z.string().min(1)).min(1)).default({}),
  audit,
  store,
  state: pending,
  auth,
  validation: validationSchema,
  rateLimits: pending,
  vault: pending,
  alerts: pending,
  metrics: pending,
});

export type Config = z.infer<typeof configSchema>;
export type ServerLimits = Config["server"]["limits"];

/** Config sections that are parsed but whose pipeline stage is not built yet; start-up names them so nobody believes they are enforced. */
export const PENDING_SECTIONS = ["state", "rateLimits", "vault", "alerts", "metrics"] as const;

export const isStdio = (u: UpstreamConfig): u is StdioUpstreamConfig => "command" in u;
