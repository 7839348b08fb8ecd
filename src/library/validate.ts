// validateInput for authors of MCP servers on the SDK: arguments parsed by a zod schema, then screened by the gateway's own detectors.
import type { z } from "zod";
import { ConfigError } from "../errors/index.ts";
import type { Notice } from "../pipeline/index.ts";
import { validationSchema, type ValidationConfig } from "../validate/config.ts";
import { invalidArguments, type Violation } from "../validate/index.ts";
import { pointerSegment } from "../validate/pointer.ts";
import { ArgumentScreen } from "../validate/screen.ts";

type DetectorConfig = ValidationConfig["detectors"];

/**
 * Detector settings, the shape of the gateway's `validation.detectors`: per detector an action
 * (`"block" | "sanitize" | "log"`) or `{action, tools, except, …}`. What is left out keeps the
 * gateway's default: block traversal, SSRF and secrets; log XSS, SQL, shell and prompt injection.
 */
export type DetectorSettings = { readonly [K in keyof DetectorConfig]?: DetectorConfig[K]["action"] | Partial<DetectorConfig[K]> };

/** Options of {@link validateInput}. */
export interface ValidateInputOptions {
  /**
   * Detector settings, parsed by the gateway's own configuration schema so its defaults and rules
   * apply (SQL, shell, traversal and SSRF cannot `sanitize`). Default: the gateway's defaults.
   * Note that `ssrf.resolve` (default true) resolves host names of URLs found in arguments with DNS;
   * a name that does not resolve is noted (`ssrf.onUnresolvable: "block"` refuses it).
   */
  readonly detectors?: DetectorSettings;
  /** The tool's name, matched against the detectors' `tools` and `except` globs. Default `""`, which only `*` matches. */
  readonly tool?: string;
  /** Called with what screening noticed and let pass: findings of detectors set to `log`, and repairs made. Default: dropped. */
  readonly onNotice?: (notices: readonly Notice[]) => void;
}

/**
 * A tool error result the model can correct (SPEC §3), the gateway's shape: every violation named by
 * JSON Pointer, rule and message. A type literal so that it fits the SDKs' CallToolResult.
 */
export type InputRefusal = {
  isError: true;
  content: { type: "text"; text: string }[];
  structuredContent: { reason: "invalid_params" | "blocked_input"; violations: Violation[] };
};

function detectorsFrom(settings: DetectorSettings | undefined): DetectorConfig {
  const parsed = validationSchema.safeParse({ detectors: settings ?? {} });
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `validateInput: ${i.path.map(String).join(".")}: ${i.message}`));
  return parsed.data.detectors;
}

const pointer = (path: readonly PropertyKey[]): string => path.map((k) => `/${pointerSegment(typeof k === "symbol" ? (k.description ?? "") : k)}`).join("");

/** Violations from zod issues: the issue's path as a JSON Pointer, its code as the rule; an unknown key is named in the path, as the gateway does. */
function violationsOf(error: z.ZodError): Violation[] {
  return error.issues.flatMap((issue): Violation[] =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: `${pointer(issue.path)}/${pointerSegment(key)}`, rule: issue.code, message: "unknown property" }))
      : [{ path: pointer(issue.path), rule: issue.code, message: issue.message }],
  );
}

const refuse = (violations: Violation[], kind: "invalid_params" | "blocked_input"): InputRefusal =>
  // The gateway's own builder, so a server behind the gateway and a server using this wrapper answer alike.
  invalidArguments(violations, kind, kind).result as unknown as InputRefusal;

/**
 * Wraps a tool handler so that it receives only arguments that `schema` accepts and the detectors
 * pass (the original design's `@validate_input(GmailToolInput)`): the arguments are parsed with the
 * zod schema, then every string is screened by the gateway's detectors (traversal, SSRF, secrets,
 * XSS, SQL, shell, prompt injection), each acting as configured in {@link ValidateInputOptions.detectors}.
 *
 * - A shape the schema refuses: a tool error result `{reason: "invalid_params", violations}`, each
 *   violation's path a JSON Pointer from the zod issue's path and its rule the zod issue code.
 * - A detector set to `block` that finds something: the same result with `reason: "blocked_input"`.
 * - A detector set to `sanitize` repairs the text; the repaired arguments are parsed once more (a
 *   repair that breaks the schema, e.g. escaping past a length limit, is `invalid_params`) and are
 *   what the handler receives. Use schemas whose transforms give the same result when applied twice.
 *
 * The handler is not called on a refusal. Its arguments are typed `z.output<typeof schema>`. The
 * wrapper works with both SDK generations: the context (the last argument) is passed through as is.
 * Register the tool with an `inputSchema` (the same schema, or a looser one): without one, the SDKs
 * call the handler with the context alone. With the same schema, the SDK refuses a bad shape first,
 * with its own message; this wrapper's checks are then the second line and the detectors the gain.
 *
 * @throws ConfigError at wrap time when `options.detectors` is not a valid detector configuration.
 *
 * @example
 * server.registerTool("search", { inputSchema: WebSearchInput },
 *   validateInput(WebSearchInput, async ({ query, count }) => ({ content: [{ type: "text", text: await search(query, count) }] })));
 */
export function validateInput<S extends z.ZodType<Record<string, unknown>>, C, R>(
  schema: S,
  handler: (args: z.output<S>, ctx: C) => R | Promise<R>,
  options: ValidateInputOptions = {},
): (args: unknown, ctx: C) => Promise<R | InputRefusal> {
  const screen = new ArgumentScreen(detectorsFrom(options.detectors));
  const tool = options.tool ?? "";
  return async (args: unknown, ctx: C): Promise<R | InputRefusal> => {
    const parsed = await schema.safeParseAsync(args);
    if (!parsed.success) return refuse(violationsOf(parsed.error), "invalid_params");
    const screened = await screen.screen(tool, parsed.data);
    if (screened.tooMany !== undefined) return refuse([screened.tooMany], "invalid_params");
    if (screened.blocked.length > 0) return refuse(screened.blocked, "blocked_input");
    if (screened.notices.length > 0) options.onNotice?.(screened.notices);
    if (screened.args === parsed.data) return handler(parsed.data, ctx);
    const repaired = await schema.safeParseAsync(screened.args);
    if (!repaired.success) return refuse(violationsOf(repaired.error), "invalid_params");
    return handler(repaired.data, ctx);
  };
}
