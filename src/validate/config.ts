// The `validation` section of security/config.yaml: gateway rules on arguments, detectors, argument conditions and response rules.
import { z } from "zod";
import { isLinearPattern } from "./pattern.ts";


/** A tool selector: an exposed tool name with `*` wildcards (`files.*`, `*`). */
const toolGlob = z.string().min(1).max(256);

/** What a detector does with a finding: refuse the call, repair the text, or only audit it. */
const action = z.enum(["block", "sanitize", "log"]);

/** Where a detector looks; by default every string in every tool's arguments. */
const scope = {
  /** Tools it applies to (globs on exposed names). Default every tool. */
  tools: z.array(toolGlob).min(1).default(["*"]),
  /** Tools it never applies to (globs), e.g. a code-execution tool whose arguments are shell by design. */
  except: z.array(toolGlob).default([]),
};

/** A detector's settings: `block` alone is short for `{action: block}`. */
const detector = <Extra extends z.ZodRawShape>(defaultAction: z.infer<typeof action>, extra: Extra) =>
  z.preprocess((v) => (typeof v === "string" ? { action: v } : v), z.strictObject({ action: action.default(defaultAction), ...scope, ...extra })).prefault({});

/**
 * Per-argument limits, the gateway's own on top of the tool's schema (JSON Schema keyword names).
 * A limit on a string applies to each string where the argument is an array of strings.
 */
export const argumentLimitsSchema = z.strictObject({
  maxLength: z.number().int().min(0).optional(),
  minLength: z.number().int().min(0).optional(),
  /** A regular expression the whole string must match (write `^…$` to anchor it). */
  pattern: z
    .string()
    .min(1)
    .max(1000)
    .refine(isLinearPattern, "not a regular expression in RE2 syntax (checked in linear time: no lookaround, no backreferences)")
    .optional(),
  enum: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).min(1).optional(),
  format: z.enum(["email", "uri", "hostname", "date-time", "date", "ipv4", "ipv6", "uuid"]).optional(),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  maxItems: z.number().int().min(0).optional(),
  maxProperties: z.number().int().min(0).optional(),
});

const toolLimits = z.strictObject({
  /** Deepest nesting of this tool's arguments (the arguments object is depth 1). */
  maxDepth: z.number().int().min(1).max(1000).optional(),
  /** Limits by argument: a top-level name (`to`) or a JSON Pointer (`/message/body`). */
  arguments: z.record(z.string().min(1), argumentLimitsSchema).default({}),
});

/**
 * A condition on a permitted call's arguments (issue: "`gmail.send_email` only to `*@example.com`").
 * Each present test must pass for every value of every named argument; a denied call answers
 * `-32011 forbidden` naming the rule.
 */
export const conditionSchema = z
  .strictObject({
    /** Named in the refusal (`data.rule`) and the audit record. */
    name: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "1–64 characters of A-Z a-z 0-9 _ . : -"),
    /** Tools the rule applies to (globs on exposed names). */
    tool: z.union([toolGlob, z.array(toolGlob).min(1)]).transform((t) => (Array.isArray(t) ? t : [t])),
    /** The arguments it constrains: top-level names or JSON Pointers. An argument that is absent is not constrained. */
    argument: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((a) => (Array.isArray(a) ? a : [a])),
    /** Every address in the value (a list separated by `,` or `;`, `Name <addr>` forms included) is at one of these domains; `*.example.com` takes subdomains. */
    emailDomains: z.array(z.string().min(1)).min(1).optional(),
    /** The value is a path (or file: URL) that resolves under one of these absolute directories. */
    pathUnder: z.array(z.string().regex(/^\//, "an absolute POSIX path")).min(1).optional(),
    /** The value is a URL whose host is public (never loopback, private, link-local or metadata), with one of these schemes. */
    publicUrl: z.union([z.literal(true).transform(() => ({ schemes: ["https"] })), z.strictObject({ schemes: z.array(z.string().regex(/^[a-z][a-z0-9+.-]*$/)).min(1).default(["https"]) })]).optional(),
    /** The whole value matches one of these `*`-wildcard patterns (case-sensitive). */
    match: z.array(z.string()).min(1).optional(),
    /** The value is one of these exactly. */
    oneOf: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).optional(),
    /** `enforce` refuses; `shadow` decides and audits but lets the call through (try a rule before enforcing it). Default enforce. */
    mode: z.enum(["enforce", "shadow"]).default("enforce"),
    /** When the rule cannot decide (a value that is not a string, a name that does not resolve): `closed` denies, `open` allows and audits. Default closed. */
    onError: z.enum(["closed", "open"]).default("closed"),
  })
  .refine((c) => c.emailDomains ?? c.pathUnder ?? c.publicUrl ?? c.match ?? c.oneOf, "a rule needs at least one test: emailDomains, pathUnder, publicUrl, match or oneOf");

export const validationSchema = z
  .strictObject({
    /** Check every tools/call against the tool's own inputSchema. Default true. */
    inputSchema: z.boolean().default(true),
    /** Deepest nesting of any call's arguments. Default 32. */
    maxDepth: z.number().int().min(1).max(1000).default(32),
    /** Gateway limits by tool (globs on exposed names; every matching entry applies). */
    tools: z.record(toolGlob, toolLimits).default({}),
    /**
     * Detectors run on every string in a call's arguments, after NFKC normalization. Each takes an
     * action (`block` | `sanitize` | `log`) or `{action, tools, except, …}`. Defaults: block what
     * is rarely legitimate in an argument (path traversal, internal URLs, secrets), log the rest.
     */
    detectors: z
      .strictObject({
        /** HTML/XSS; `sanitize` filters HTML through an allow-list. */
        xss: detector("log", {}),
        sql: detector("log", {}),
        shell: detector("log", {}),
        /** `..` segments, encoded dots, NUL bytes; with `roots`, absolute paths outside them. */
        traversal: detector("block", { roots: z.array(z.string().regex(/^\//)).optional() }),
        /** URLs to loopback, private, link-local or metadata addresses, in any encoding; host names are resolved. */
        ssrf: detector("block", {
          resolve: z.boolean().default(true),
          /** Hosts or CIDRs allowed although private (an intranet service the tools may reach). */
          allow: z.array(z.string()).default([]),
          timeoutMs: z.number().int().min(10).max(30_000).default(2000),
          /**
           * A host name the gateway cannot resolve: `log` (default) notes it, `block` treats it as a
           * finding. The gateway's resolver may not be the upstream's (split DNS, no internet), so
           * blocking by default would refuse ordinary URLs on such machines.
           */
          onUnresolvable: z.enum(["log", "block"]).default("log"),
        }),
        /** Prompt-injection markers and invisible characters; `sanitize` removes them. */
        promptInjection: detector("log", {}),
        /** API-key, token and private-key shapes leaving through arguments; `sanitize` redacts them. */
        secrets: detector("block", {}),
      })
      .prefault({}),
    /** Conditions on permitted calls' arguments, checked in order; see conditionSchema. */
    rules: z.array(conditionSchema).default([]),
    /** Rules on what tools return. */
    responses: z
      .strictObject({
        /** Largest tool result passed back, in bytes of JSON; larger becomes a tool error. Default 4 MiB. */
        maxBytes: z.number().int().min(1024).default(4 * 1024 * 1024),
        /** Redact secrets (key, token and private-key shapes) in tool results. Default true. */
        redactSecrets: z.boolean().default(true),
        /** Also redact personal data in tool results: emails, phone numbers, card numbers. Default none. */
        redactPii: z.array(z.enum(["email", "phone", "card"])).default([]),
        /** Check structuredContent against the tool's outputSchema: `enforce` replaces a bad result with a tool error, `warn` audits. Default enforce. */
        outputSchema: z.enum(["enforce", "warn", "off"]).default("enforce"),
      })
      .prefault({}),
  })
  .prefault({})
  .superRefine((v, ctx) => {
    // Repairing SQL, shell, traversal or URLs would change what the call means: those can only block or log.
    for (const name of ["sql", "shell", "traversal", "ssrf"] as const)
      if (v.detectors[name].action === "sanitize") ctx.addIssue({ code: "custom", path: ["detectors", name, "action"], message: `${name} cannot sanitize (repairing it would change what the call does): use block or log` });
    const names = new Set<string>();
    v.rules.forEach((r, i) => {
      if (names.has(r.name)) ctx.addIssue({ code: "custom", path: ["rules", i, "name"], message: `rule name ${r.name} is used twice` });
      names.add(r.name);
    });
  });

export type ValidationConfig = z.infer<typeof validationSchema>;
export type ArgumentLimits = z.infer<typeof argumentLimitsSchema>;
export type Condition = z.infer<typeof conditionSchema>;
