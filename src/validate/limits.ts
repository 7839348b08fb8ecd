// The gateway's own limits on arguments (validation.tools), written as JSON Schema so one validator checks them and the tool's schema alike.
import { globMatch } from "../authz/index.ts";
import type { ArgumentLimits, ValidationConfig } from "./config.ts";

/** Keywords that constrain a string; on an array argument they apply to each element. */
const ELEMENT_KEYWORDS = ["maxLength", "minLength", "pattern", "format", "enum"] as const;

/**
 * One argument's limits as a schema. String keywords and `enum` apply to the value, or to each
 * element when the value is an array (so `to: [a, b]` is limited like `to: a`); `maxItems` to arrays,
 * `minimum`/`maximum` to numbers, `maxProperties` to objects, as JSON Schema scopes them by type.
 */
function limitSchema(limits: ArgumentLimits): Record<string, unknown> {
  const element: Record<string, unknown> = {};
  const whole: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(limits)) {
    if (value === undefined) continue;
    ((ELEMENT_KEYWORDS as readonly string[]).includes(key) ? element : whole)[key] = value;
  }
  if (Object.keys(element).length === 0) return whole;
  return { ...whole, if: { type: "array" }, then: { items: element }, else: element };
}

/** Wraps `inner` so it applies at `ref` (a top-level name or a JSON Pointer) inside the arguments object. */
function at(ref: string, inner: Record<string, unknown>): Record<string, unknown> {
  const steps = ref.startsWith("/") ? ref.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~")) : [ref];
  return steps.reduceRight<Record<string, unknown>>((schema, step) => ({ properties: { [step]: schema } }), inner);
}

/** The gateway's limits for one tool: one schema (undefined when no entry applies) and the depth allowed. */
export interface ToolLimits {
  schema: Record<string, unknown> | undefined;
  maxDepth: number;
}

/**
 * The gateway's limits by tool: every `validation.tools` entry whose pattern matches the name,
 * merged once per tool and kept, so the validator compiles each tool's limits once.
 */
export class GatewayLimits {
  private readonly byTool = new Map<string, ToolLimits>();

  constructor(private readonly config: ValidationConfig) {}

  for(tool: string): ToolLimits {
    let limits = this.byTool.get(tool);
    if (limits === undefined) {
      limits = this.merge(tool);
      if (this.byTool.size > 10_000) this.byTool.clear();
      this.byTool.set(tool, limits);
    }
    return limits;
  }

  private merge(tool: string): ToolLimits {
    const parts: Record<string, unknown>[] = [];
    let maxDepth = this.config.maxDepth;
    for (const [pattern, entry] of Object.entries(this.config.tools)) {
      if (!globMatch(pattern, tool)) continue;
      if (entry.maxDepth !== undefined) maxDepth = Math.min(maxDepth, entry.maxDepth);
      for (const [ref, limits] of Object.entries(entry.arguments)) parts.push(at(ref, limitSchema(limits)));
    }
    return { schema: parts.length === 0 ? undefined : { allOf: parts }, maxDepth };
  }
}
