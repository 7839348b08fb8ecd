// What checking a call's arguments and screening its result cost per call, in process: the validate stage (schema, limits,
// detectors), the argument conditions and the response rules, on a realistic mail-send call and on a 64 KiB document.
import type { Catalog } from "../src/catalog/index.ts";
import { silentLogger } from "../src/log/index.ts";
import type { Exchange } from "../src/pipeline/index.ts";

export interface ValidationCost {
  what: string;
  us: number;
}

const SEND_SCHEMA = {
  type: "object",
  properties: {
    to: { type: "array", items: { type: "string", format: "email" }, maxItems: 50 },
    subject: { type: "string", maxLength: 998 },
    body: { type: "string" },
    html: { type: "string" },
  },
  required: ["to", "subject", "body"],
  additionalProperties: false,
};

const MAIL = {
  to: ["ann@example.com", "bob@example.com"],
  subject: "Quarterly numbers, as promised",
  body: "Hi both,\n\nAttached are the numbers we discussed on Tuesday. Revenue is up 4% on the quarter; costs are flat. ".repeat(8),
  html: "<p>Hi both,</p><p>Attached are the <b>numbers</b> we discussed. <a href=\"https://example.com/q3\">Q3 report</a></p>",
};

const DOCUMENT = { to: ["ann@example.com"], subject: "The long one", body: "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(1170) };

function exchange(args: Record<string, unknown>): Exchange {
  return {
    message: { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "mail.send", arguments: args } },
    caller: { ip: "127.0.0.1", era: "modern", protocolVersion: "2026-07-28", capabilities: {}, clientInfo: undefined, logLevel: undefined, session: undefined },
    headers: {},
    channel: { signal: new AbortController().signal, notify: () => {}, request: undefined },
    principal: undefined,
    target: undefined,
    upstream: undefined,
    startedAt: 0,
    notices: [],
  };
}

export async function validationCost(): Promise<ValidationCost[]> {
  const { validationSchema } = await import("../src/validate/config.ts");
  const { validateStage } = await import("../src/validate/index.ts");
  const { resultScreen } = await import("../src/validate/responses.ts");
  const { conditionsStage } = await import("../src/authz/conditions.ts");
  // The stage reads only the tool's definition from the catalog.
  const catalog = { tool: () => ({ name: "mail.send", inputSchema: SEND_SCHEMA }) } as unknown as Catalog;
  const off = { xss: "log", sql: "log", shell: "log", traversal: "log", ssrf: "log", promptInjection: "log", secrets: "log" };
  const configs = {
    "schema only": validationSchema.parse({ detectors: Object.fromEntries(Object.keys(off).map((k) => [k, { action: "log", tools: ["none"] }])) }),
    "schema + default detectors": validationSchema.parse({ detectors: { ssrf: { action: "block", resolve: false } } }),
  };
  const out: ValidationCost[] = [];
  const time = async (what: string, n: number, fn: () => Promise<unknown> | unknown): Promise<void> => {
    for (let i = 0; i < Math.min(200, n); i++) await fn();
    const start = performance.now();
    for (let i = 0; i < n; i++) await fn();
    out.push({ what, us: ((performance.now() - start) * 1000) / n });
  };
  for (const [name, config] of Object.entries(configs)) {
    const stage = validateStage(catalog, config, silentLogger);
    await time(`validate, ${name}, 1 KiB mail`, 5000, () => stage(exchange(MAIL)));
    await time(`validate, ${name}, 64 KiB body`, 300, () => stage(exchange(DOCUMENT)));
  }
  const rules = validationSchema.parse({ rules: [{ name: "internal", tool: "mail.*", argument: "to", emailDomains: ["example.com"] }] }).rules;
  const conditions = conditionsStage(rules);
  if (conditions !== undefined) await time("argument condition (emailDomains), 1 KiB mail", 20000, () => conditions(exchange(MAIL)));
  const respond = resultScreen(catalog, validationSchema.parse({}).responses, silentLogger);
  const result = { content: [{ type: "text", text: MAIL.body }] };
  await time("response rules (size, secret redaction), 1 KiB result", 5000, () => respond(exchange(MAIL), result));
  return out;
}

/**
 * Each input detector alone, and all seven on one string as the screen runs them, on the mail's body (1 KiB of prose),
 * its HTML part and the 64 KiB document. Every call gets a text of its own (a counter appended), so no detector is
 * timed on a text whose normalized or decoded forms an earlier call left in the detectors' memo.
 */
export async function detectorCost(): Promise<ValidationCost[]> {
  const detectors = await import("../src/validate/detectors/index.ts");
  const { ssrfDetector } = await import("../src/validate/detectors/ssrf.ts");
  const all: [string, { detect(text: string): unknown }][] = [
    ["xss", detectors.xssDetector()],
    ["sql", detectors.sqlDetector()],
    ["shell", detectors.shellDetector()],
    ["traversal", detectors.traversalDetector()],
    ["secrets", detectors.secretsDetector()],
    ["promptInjection", detectors.promptInjectionDetector()],
    ["ssrf (resolve: false)", ssrfDetector({ resolve: false })],
  ];
  const texts: [string, string, number][] = [
    ["1 KiB mail body", MAIL.body, 3000],
    ["short HTML with a URL", MAIL.html, 3000],
    ["64 KiB document", DOCUMENT.body, 100],
  ];
  let serial = 0;
  const time = async (n: number, run: (text: string) => Promise<void> | void, base: string): Promise<number> => {
    for (let i = 0; i < Math.min(200, n); i++) await run(`${base}${serial++}`);
    const start = performance.now();
    for (let i = 0; i < n; i++) await run(`${base}${serial++}`);
    return ((performance.now() - start) * 1000) / n;
  };
  const settle = async (found: unknown): Promise<void> => void (Array.isArray(found) ? found : await found);
  const out: ValidationCost[] = [];
  for (const [textName, text, n] of texts) {
    for (const [name, d] of all) out.push({ what: `detector ${name}, ${textName}`, us: await time(n, (t) => settle(d.detect(t)), text) });
    const together = async (t: string): Promise<void> => {
      for (const [, d] of all) await settle(d.detect(t));
    };
    out.push({ what: `all seven detectors on one string, ${textName}`, us: await time(n, together, text) });
  }
  return out;
}

// `node --import tsx bench/validation.ts`: just these numbers.
if (process.argv[1] !== undefined && import.meta.url === (await import("node:url")).pathToFileURL(process.argv[1]).href) {
  for (const c of await validationCost()) process.stdout.write(`${c.what}: ${c.us.toFixed(1)} µs\n`);
  for (const c of await detectorCost()) process.stdout.write(`${c.what}: ${c.us.toFixed(1)} µs\n`);
}
