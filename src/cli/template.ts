// The commented security/config.yaml that `bastion init` and `bastion quickstart` write.

/**
 * The starting configuration: two real MCP servers that need no credentials (the reference
 * "everything" server, and a file-system server confined to ./sandbox), every section documented.
 */
export const CONFIG_TEMPLATE = `# mcp-bastion configuration (SPEC §2). Validated at start: a bad file stops the gateway
# with every problem listed. Any value may reference \${env:NAME}; the environment variables
# JWT_SECRET_KEY, JWT_EXPIRATION_HOURS, RATE_LIMIT_REQUESTS, RATE_LIMIT_WINDOW,
# SECURITY_VAULT_PASSWORD, ENCRYPTION_KEY, TLS_*, AUDIT_LOG_ENABLED and AUDIT_LOG_PATH override
# the file where this version uses them.

server:
  host: 127.0.0.1
  port: 8443
  # publicUrl: https://mcp.example.com/mcp   # the URL clients use, when behind a proxy
  # Browser pages allowed to call /mcp (exact origins). A request with any other Origin gets 403.
  allowedOrigins: []
  # Host headers accepted. Default on a loopback bind: localhost, 127.0.0.1, [::1] (with the port).
  # allowedHosts: ["mcp.internal:8443"]
  # instructions: "Tools of the ACME gateway. Mail tools send real mail."
  limits:
    maxBodyBytes: 1048576        # bigger bodies get HTTP 413
    maxJsonDepth: 64             # deeper JSON gets HTTP 400
    maxSessions: 10000           # session-era sessions; the least recently used is evicted
    sessionIdleSeconds: 1800     # idle sessions end after this
    resumableEvents: 256         # events kept per session for Last-Event-ID
    inputRequiredSeconds: 300    # how long a question to a client may stay unanswered

# Upstream MCP servers. Tool T of upstream U is exposed as U.T (prompts likewise); resources
# keep their URIs. Per upstream:
#   command/args/env/cwd   a child process over stdio (only these come from config, never from clients;
#                          the child sees PATH, HOME, locale and this env, none of the gateway's secrets)
#   url/headers            a Streamable HTTP server
#   prefix                 namespace of its names (default: the upstream's name); false = names unchanged
#   protocol               auto (default: try 2026-07-28, fall back to initialize) | modern | legacy
#   timeoutMs              per request (default 60000); connectTimeoutMs for the first handshake (30000)
#   relayRoots             let the upstream ask a calling client for its roots (default false)
#   pin                    the rug-pull defense (default enforce). The tool set seen first is pinned (canonical
#                          SHA-256 per tool, in the store); a tool that is new or changed later, or that the
#                          scanner flags, is hidden and refused until \`bastion tools approve NAME\` (see \`bastion
#                          tools diff NAME\`). warn: expose it, but audit (tool.changed) and log. off: no pinning.
upstreams:
  everything:
    command: npx
    args: ["-y", "@modelcontextprotocol/server-everything", "stdio"]
  files:
    command: npx
    args: ["-y", "@modelcontextprotocol/server-filesystem", "./sandbox"]
  # search:
  #   url: https://search.internal/mcp
  #   headers: { Authorization: "Bearer \${env:SEARCH_TOKEN}" }

# Users, roles, API keys and sessions live here (bastion user …, bastion apikey …).
store:
  driver: sqlite
  path: data/bastion.db
  # driver: postgres
  # url: postgres://bastion@db.internal:5432/bastion
  # schema: bastion

# Who may call /mcp. Credentials: the gateway's access tokens (POST /auth/token), API keys
# (Authorization: Bearer mcpb_…), or tokens of the OAuth issuers listed below.
auth:
  anonymous: false               # true lets credential-less callers in as "anonymous" (loopback only)
  jwt:
    expirationHours: 1           # JWT_EXPIRATION_HOURS overrides; JWT_SECRET_KEY (≥ 32 bytes) switches to HS256
    algorithm: EdDSA             # or ES256: the gateway's own key, published at /.well-known/jwks.json
    keyFile: security/jwt.key
  sessions:
    idleMinutes: 30
    absoluteHours: 12
    refreshDays: 14
  passwordPolicy: default        # default (12+ chars, 4 classes, 90 days, last 5) | nist | { minLength: 15, … }
  lockout:
    threshold: 5                 # failures from one address in the window lock the account for that address
    windowMinutes: 15
    durationMinutes: 15
    accountThreshold: 100        # failures from everywhere that lock the account everywhere
  mfa:
    requiredRoles: [admin]       # these roles must add a TOTP code to password logins
    issuer: mcp-bastion
  oauth:
    issuers: []
    # - issuer: https://login.example.com/
    #   jwksUrl: https://login.example.com/.well-known/jwks.json
    #   audience: https://mcp.example.com/mcp        # default: this gateway's /mcp URL
    #   roleClaim: groups
    #   roleMap: { mcp-admins: [admin], staff: [reader] }
    #   requiredScopes: [mcp:tools]                   # else 403 insufficient_scope

# Roles and their permissions (U.T or tool:U.T for a tool, prompt:U.P, resource:<uri pattern>,
# * wildcards; * alone is everything). Default deny: a user sees and may call only what a role grants.
# Credentials without a role match nothing; auth.anonymous callers hold the role "anonymous".
roles:
  admin:  { permissions: ["*"] }
  reader: { permissions: ["everything.echo", "everything.get*", "files.read*", "files.list*"] }

# Capability names (the original design's gmail.send) and the permissions each stands for; a role
# or an API-key scope may then name the capability.
capabilities: {}
#   gmail.send: [gmail.send_email, gmail.reply_email]
#   docs.read:  ["notion.search", "notion.get_*", "resource:notion://*"]

# What a call's arguments may carry, and what a tool's result may bring back.
validation:
  inputSchema: true              # check every tools/call against the tool's own inputSchema
  maxDepth: 32                   # deepest nesting of any call's arguments
  # Gateway limits by tool (globs) and argument (a name or a JSON Pointer), JSON Schema keywords:
  # maxLength, minLength, pattern, enum, format (email, uri, hostname, date-time, …), minimum,
  # maximum, maxItems, maxProperties. On an array, string limits apply to each element. Patterns
  # are RE2 syntax (linear time: no lookaround, no backreferences).
  tools: {}
  #   "files.*":
  #     maxDepth: 4
  #     arguments:
  #       path: { maxLength: 4096 }
  #   "gmail.send_email":
  #     arguments:
  #       to: { format: email, maxItems: 20 }
  #       subject: { maxLength: 200 }
  # Detectors over every string in a call's arguments (after NFKC normalization): block (refuse the
  # call with the findings), sanitize (repair the text; xss, promptInjection, secrets only) or log
  # (note it in the audit record). Each may also be { action, tools: [globs], except: [globs] }.
  detectors:
    traversal: block             # .., encoded dots, NUL bytes; add roots: [/srv/shared] to refuse absolute paths elsewhere
    ssrf: block                  # URLs to loopback, private, link-local, metadata addresses (any encoding; names resolved;
                                 # { action: block, allow: [intranet.example, 10.1.0.0/16], onUnresolvable: log | block })
    secrets: block               # API keys, tokens, private keys leaving through arguments
    xss: log                     # sanitize filters HTML through an allow-list
    sql: log
    shell: log
    promptInjection: log         # "ignore previous instructions", <IMPORTANT> blocks, invisible characters
  # Conditions on permitted calls: a denial answers -32011 forbidden naming the rule.
  # Tests: emailDomains, pathUnder, publicUrl, match (globs), oneOf. mode: enforce | shadow (audit
  # only); onError: closed (deny when the rule cannot decide) | open.
  rules: []
  #   - name: mail-stays-internal
  #     tool: gmail.send_email
  #     argument: [to, cc, bcc]
  #     emailDomains: [example.com]
  #   - name: shared-files-only
  #     tool: "files.*"
  #     argument: path
  #     pathUnder: [/srv/shared]
  #   - name: public-web-only
  #     tool: search.fetch
  #     argument: url
  #     publicUrl: { schemes: [https] }
  #     mode: shadow
  responses:
    maxBytes: 4194304            # larger tool results become a tool error
    redactSecrets: true          # key, token and private-key shapes in results become [REDACTED]
    redactPii: []                # any of: email, phone, card
    outputSchema: enforce        # check structuredContent against the tool's outputSchema: enforce | warn | off

audit:
  enabled: true
  path: logs/audit.log           # one JSON record per line, hash-chained
  keyFile: security/audit.key    # the chain key (0600); keep it off the log's volume in production
`;
