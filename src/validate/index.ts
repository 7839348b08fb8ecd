// The validate stage: every tools/call's arguments checked against the tool's own inputSchema before anything leaves the gateway.
import { createRequire } from "node:module";
import type { ErrorObject, ValidateFunction } from "ajv";
import { RefusedAsResult } from "../errors/index.ts";
import type { Catalog } from "../catalog/index.ts";
import type { ValidationConfig } from "./config.ts";
import { GatewayLimits } from "./limits.ts";
import { linearRegExp } from "./pattern.ts";
import { ArgumentScreen } from "./screen.ts";
import type { Logger } from "../log/index.ts";
import type { Stage } from "../pipeline/index.ts";

// ajv and ajv-formats are CommonJS; require gives their constructors without default-export guessing.
const require = createRequire(import.meta.url);
const Ajv2020 = (require("ajv/dist/2020") as { default: new (opts: object) => AjvInstance }).default;
const AjvDraft7 = (require("ajv") as { default: new (opts: object) => AjvInstance }).default;
const addFormats = (require("ajv-formats") as { default: (ajv: AjvInstance) => void }).default;

interface AjvInstance {
  compile(schema: object): ValidateFunction;
}

/** One problem with a call's arguments, as the model that made the call can act on it. */
export interface Violation {
  /** JSON Pointer into the arguments ("" for the arguments object itself). */
  path: string;
  /** The schema keyword or gateway rule that failed. */
  rule: string;
  message: string;
}

/** Violations reported per call at most: enough to fix the call, never a response as large as a hostile input. */
const MAX_VIOLATIONS = 20;

const OPTIONS = {
  // Upstream schemas use keywords and formats this gateway does not know; they constrain nothing here, and refusing the tool for them would break it.
  strict: false,
  allErrors: true,
  // No $data references and no remote $refs: a schema is checked as it stands.
  $data: false,
  loadSchema: undefined,
  verbose: false,
};

/**
 * Compiled validators, one per schema object: the catalog replaces a tool's objects when its list
 * is read again, so a changed schema is compiled afresh and an old one is dropped with its object.
 */
export class SchemaValidators {
  private readonly ajv2020: AjvInstance;
  private readonly ajv7: AjvInstance;
  private readonly compiled = new WeakMap<object, ValidateFunction | Error>();

  constructor(private readonly log: Logger) {
    const options = { ...OPTIONS, code: { regExp: linearRegExp(log) } };
    this.ajv2020 = new Ajv2020(options);
    this.ajv7 = new AjvDraft7(options);
    addFormats(this.ajv2020);
    addFormats(this.ajv7);
  }

  /**
   * The violations of `args` against `schema` (empty when valid). JSON Schema 2020-12 is MCP's
   * default dialect; a schema that declares draft-07 (or older) is checked as such. A schema that
   * does not compile refuses every call (fail closed) and is logged once.
   */
  check(tool: string, schema: unknown, args: unknown): Violation[] {
    if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return [];
    let validate = this.compiled.get(schema);
    if (validate === undefined) {
      try {
        const dialect = (schema as { $schema?: unknown }).$schema;
        const draft7 = typeof dialect === "string" && /draft-0[4-7]/.test(dialect);
        // The $schema and $id keywords would bind the schema to a dialect or register it by id: checked per tool, by object.
        const { $schema: _s, $id: _i, ...body } = schema as Record<string, unknown>;
        validate = (draft7 ? this.ajv7 : this.ajv2020).compile(body);
      } catch (err) {
        validate = err instanceof Error ? err : new Error(String(err));
        this.log.warn(`tool ${tool}: its inputSchema does not compile (${validate.message.slice(0, 200)}); calls to it are refused`);
      }
      this.compiled.set(schema, validate);
    }
    if (validate instanceof Error) return [{ path: "", rule: "schema", message: "the tool's input schema cannot be checked; the call is refused" }];
    if (validate(args ?? {})) return [];
    // `if` only says which branch failed; the branch's own error names the problem.
    return (validate.errors ?? []).filter((e) => e.keyword !== "if").slice(0, MAX_VIOLATIONS).map(describe);
  }
}

function describe(e: ErrorObject): Violation {
  const missing = e.keyword === "required" ? (e.params as { missingProperty?: string }).missingProperty : undefined;
  const extra = e.keyword === "additionalProperties" ? (e.params as { additionalProperty?: string }).additionalProperty : undefined;
  const path = missing !== undefined ? `${e.instancePath}/${missing}` : extra !== undefined ? `${e.instancePath}/${extra}` : e.instancePath;
  return { path, rule: e.keyword, message: e.message ?? e.keyword };
}

/**
 * A tool error result the model can correct (SEP-1303: input errors are tool results, not protocol
 * errors), listing every violation; the call never reaches the upstream. `blocked_input` when a
 * detector refused the content, `invalid_params` when the shape or a limit was wrong.
 */
export function invalidArguments(violations: Violation[], reason: string, kind: "invalid_params" | "blocked_input" = "invalid_params"): RefusedAsResult {
  const shown = violations.slice(0, MAX_VIOLATIONS);
  const lead = kind === "blocked_input" ? "Blocked input" : "Invalid arguments";
  const text = `${lead}: ${shown.map((v) => `${v.path || "(arguments)"}: ${v.message}`).join("; ")}`;
  return new RefusedAsResult(
    { isError: true, content: [{ type: "text", text }], structuredContent: { reason: kind, violations: shown } },
    kind === "blocked_input" ? "input.blocked" : "validation.failed",
    reason,
  );
}

const summary = (violations: readonly Violation[]): string => violations.map((v) => `${v.path} ${v.rule}`).join(", ").slice(0, 300);

/**
 * The pipeline stage for `tools/call`, in order: the arguments are an object no deeper than the
 * limit; detectors screen every string (refusing, repairing or noting); then the (repaired)
 * arguments are checked against the gateway's limits and the tool's own inputSchema. The call
 * forwarded carries the repaired arguments.
 */
export function validateStage(catalog: Catalog, config: ValidationConfig, log: Logger): Stage {
  const validators = new SchemaValidators(log);
  const screen = new ArgumentScreen(config.detectors);
  const toolLimits = new GatewayLimits(config);
  return async (ex) => {
    if (ex.message.method !== "tools/call") return;
    const params = ex.message.params;
    const name = params?.["name"];
    if (params === undefined || typeof name !== "string") return;
    const tool = catalog.tool(name);
    if (tool === undefined) return; // forward answers an unknown tool
    const given = params["arguments"] === undefined ? {} : params["arguments"];
    if (typeof given !== "object" || given === null || Array.isArray(given))
      throw invalidArguments([{ path: "", rule: "type", message: "arguments must be an object" }], "arguments not an object");
    const limits = toolLimits.for(name);
    const screened = await screen.screen(name, given as Record<string, unknown>);
    if (screened.depth > limits.maxDepth)
      throw invalidArguments([{ path: "", rule: "maxDepth", message: `arguments nest deeper than ${limits.maxDepth} levels` }], `arguments nest ${screened.depth} deep, limit ${limits.maxDepth}`);
    if (screened.tooMany !== undefined) throw invalidArguments([screened.tooMany], screened.tooMany.message);
    if (screened.blocked.length > 0) throw invalidArguments(screened.blocked, `blocked by detectors: ${summary(screened.blocked)}`, "blocked_input");
    ex.notices.push(...screened.notices);
    const violations = [
      ...(limits.schema === undefined ? [] : validators.check(`gateway limits of ${name}`, limits.schema, screened.args)),
      ...(config.inputSchema ? validators.check(name, tool["inputSchema"], screened.args) : []),
    ];
    if (violations.length > 0) throw invalidArguments(violations, `${violations.length} violation(s) of ${name}'s limits or inputSchema: ${summary(violations)}`);
    if (screened.args !== given) params["arguments"] = screened.args;
  };
}
