// `Mcp-Param-*` headers (SEP-2243): tool arguments a tool's schema marks with `x-mcp-header` travel mirrored in headers; both copies must agree.
import { Refusal } from "../errors/index.ts";
import { decodeHeaderValue, encodeHeaderValue } from "./headers.ts";

/** One mirrored argument: the top-level property and the header suffix that carries it. */
export interface Mirror {
  property: string;
  header: string;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The mirrored arguments a tool's `inputSchema` declares (only direct top-level properties count). */
export function mirrorsOf(inputSchema: unknown): Mirror[] {
  const props = (inputSchema as { properties?: unknown } | undefined)?.properties;
  if (typeof props !== "object" || props === null) return [];
  const out: Mirror[] = [];
  for (const [property, schema] of Object.entries(props as Record<string, unknown>)) {
    const header = (schema as Record<string, unknown> | null)?.["x-mcp-header"];
    if (typeof header === "string" && TOKEN.test(header)) out.push({ property, header });
  }
  return out;
}

/** How an argument value is written in its header: strings as they are, booleans lower case, numbers in decimal. */
function render(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  // Integers only within the safe range (SEP-2243): a larger one would already be rounded in the JSON.
  if (typeof value === "number" && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value))) return String(value);
  return undefined;
}

const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Whether a header's decoded text carries `value`: numbers compare as numbers (SEP-2243), the rest as text. */
function carries(text: string, value: unknown): boolean {
  if (typeof value === "number") return DECIMAL.test(text) && Number(text) === value;
  return render(value) === text;
}

/** The `Mcp-Param-*` headers a request carrying `args` to a tool with `mirrors` must send. */
export function paramHeaders(mirrors: readonly Mirror[], args: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of mirrors) {
    const v = render(args?.[m.property]);
    if (v !== undefined) out[`mcp-param-${m.header.toLowerCase()}`] = encodeHeaderValue(v);
  }
  return out;
}

/**
 * Refuses (400, -32020) a call whose mirrored headers are missing, malformed, unexpected or differ
 * from the arguments: policy reads the body, and whatever routed on the headers must have seen the same.
 */
export function assertParamHeaders(headers: Record<string, string | string[] | undefined>, mirrors: readonly Mirror[], args: Record<string, unknown> | undefined): void {
  for (const m of mirrors) {
    const raw = headers[`mcp-param-${m.header.toLowerCase()}`];
    if (Array.isArray(raw)) throw new Refusal("header_mismatch", { reason: `Mcp-Param-${m.header} given more than once` });
    const value = args?.[m.property];
    if (value === undefined || value === null) {
      if (raw !== undefined) throw new Refusal("header_mismatch", { reason: `Mcp-Param-${m.header} sent without the argument` });
      continue;
    }
    if (render(value) === undefined) {
      // Objects, arrays and unsafe integers are never mirrored: a header claiming to carry one is a mismatch.
      if (raw !== undefined) throw new Refusal("header_mismatch", { reason: `Mcp-Param-${m.header} differs from the argument` });
      continue;
    }
    if (raw === undefined) throw new Refusal("header_mismatch", { reason: `Mcp-Param-${m.header} missing` });
    const text = decodeHeaderValue(raw.trim());
    if (text === undefined || !carries(text, value)) throw new Refusal("header_mismatch", { reason: `Mcp-Param-${m.header} differs from the argument` });
  }
}
