// validateInput on real McpServers of both SDK generations: bad shapes named, attack payloads blocked, HTML repaired, the handler reached only by what passed.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError } from "../errors/index.ts";
import type { Notice } from "../pipeline/index.ts";
import { DocumentStoreInput, GmailSendInput, WebSearchInput } from "./schemas.ts";
import { counted, SDKS, type WireResponse } from "./sdk.case.ts";
import { validateInput, type ValidateInputOptions } from "./validate.ts";

/**
 * The SDK is given a schema that takes any object, so what reaches validateInput is what the client
 * sent (given the example schema itself, the SDK would refuse a bad shape first, in its own words).
 */
const Anything = z.looseObject({});

const PARENT = "59833787-2cf9-4fdf-8782-e53db20768a5";
const MAIL = { to: ["ana@example.com"], cc: ["ops@example.org"], subject: "Q3 report — draft", body: "Hello Ana,\r\n\r\nThe summary is below.\r\n\r\n— Bo" };

const resultOf = (wire: WireResponse): Record<string, unknown> => {
  if (!("result" in wire)) throw new Error(`expected a result, got error ${JSON.stringify(wire.error)}`);
  return wire.result;
};

describe.each(SDKS)("validateInput on a $name McpServer", (sdk) => {
  /** Serves one tool wrapping a counting handler in validateInput(schema), calls it once with `args`. */
  async function callWith(schema: z.ZodType<Record<string, unknown>>, args: Record<string, unknown>, options: ValidateInputOptions = {}) {
    const { calls, handler } = counted();
    const served = await sdk.serve({ tool: { inputSchema: Anything, handler: validateInput(schema, handler, options) } });
    try {
      const { wire } = await served.call("tool", args);
      return { result: resultOf(wire), calls };
    } finally {
      await served.close();
    }
  }

  it("passes arguments the schema accepts and the detectors clear, parsed (defaults applied), to the handler", async () => {
    const { result, calls } = await callWith(WebSearchInput, { query: "MCP authorization spec", sites: ["modelcontextprotocol.io"] });
    expect(calls).toEqual([{ query: "MCP authorization spec", sites: ["modelcontextprotocol.io"], count: 10, safeSearch: "moderate" }]);
    expect(result["isError"]).toBeUndefined();
    expect((await callWith(GmailSendInput, MAIL)).calls).toEqual([MAIL]);
  });

  it("refuses a bad shape with invalid_params, every violation by JSON Pointer and zod issue code, the handler not called", async () => {
    const { result, calls } = await callWith(GmailSendInput, { to: ["ana@example.com", "not an address"], subject: "Hi", body: 5, priority: "high" });
    expect(result).toEqual({
      isError: true,
      content: [{ type: "text", text: "Invalid arguments: /to/1: Invalid email address; /body: Invalid input: expected string, received number; /priority: unknown property" }],
      structuredContent: {
        reason: "invalid_params",
        violations: [
          { path: "/to/1", rule: "invalid_format", message: "Invalid email address" },
          { path: "/body", rule: "invalid_type", message: "Invalid input: expected string, received number" },
          { path: "/priority", rule: "unrecognized_keys", message: "unknown property" },
        ],
      },
    });
    expect(calls).toEqual([]);
  });

  it("refuses header injection in a subject, a 51-result search and an oversized body", async () => {
    const violations = async (schema: z.ZodType<Record<string, unknown>>, args: Record<string, unknown>) => {
      const { result, calls } = await callWith(schema, args);
      expect(calls).toEqual([]);
      return (result["structuredContent"] as { violations: unknown[] }).violations;
    };
    expect(await violations(GmailSendInput, { ...MAIL, subject: "Hello\r\nBcc: everyone@example.net" })).toEqual([
      { path: "/subject", rule: "invalid_format", message: "must be one line, without control characters or line breaks" },
    ]);
    expect(await violations(WebSearchInput, { query: "mcp", count: 51 })).toEqual([{ path: "/count", rule: "too_big", message: "Too big: expected number to be <=50" }]);
    expect(await violations(GmailSendInput, { ...MAIL, body: "a".repeat(1024 * 1024 + 1) })).toEqual([{ path: "/body", rule: "too_big", message: "Too big: expected string to have <=1048576 characters" }]);
    // Fewer characters than the bound, more bytes: 400 Ki three-byte characters.
    expect(await violations(GmailSendInput, { ...MAIL, html: "€".repeat(400 * 1024) })).toEqual([{ path: "/html", rule: "too_big", message: "must be at most 1048576 bytes of UTF-8" }]);
  });

  it("blocks a traversal payload in a document-store path with blocked_input", async () => {
    const { result, calls } = await callWith(DocumentStoreInput, { parentId: PARENT, title: "Notes", path: "../../etc/passwd" });
    expect(result).toEqual({
      isError: true,
      content: [{ type: "text", text: "Blocked input: /path: The text contains a parent-directory (..) path segment." }],
      structuredContent: { reason: "blocked_input", violations: [{ path: "/path", rule: "traversal:dot-dot", message: "The text contains a parent-directory (..) path segment." }] },
    });
    expect(calls).toEqual([]);
  });

  it("blocks a URL to a cloud metadata address in a search query, and a traversal hidden in a nested block", async () => {
    const ssrf = await callWith(WebSearchInput, { query: "fetch http://169.254.169.254/latest/meta-data/iam for me" });
    expect(ssrf.result["structuredContent"]).toEqual({ reason: "blocked_input", violations: [{ path: "/query", rule: "ssrf:metadata", message: "host 169.254.169.254 is a cloud metadata service" }] });
    expect(ssrf.calls).toEqual([]);
    const nested = await callWith(DocumentStoreInput, { parentId: PARENT, title: "x", blocks: [{ type: "paragraph", text: "ok" }, { type: "code", text: "cat %2e%2e/%2e%2e/etc/shadow", language: "bash" }] });
    expect(nested.result["structuredContent"]).toMatchObject({ reason: "blocked_input", violations: [{ path: "/blocks/1/text", rule: "traversal:encoded-dot-dot" }] });
    expect(nested.calls).toEqual([]);
  });

  it("with xss: sanitize, hands the handler the repaired HTML and reports the repair", async () => {
    const notices: Notice[] = [];
    const html = '<p>Hi <b>Ana</b></p><script>alert(document.cookie)</script><img src=x onerror="alert(1)">';
    const { calls } = await callWith(GmailSendInput, { ...MAIL, html }, { detectors: { xss: "sanitize" }, onNotice: (n) => notices.push(...n) });
    expect(calls).toEqual([{ ...MAIL, html: "<p>Hi <b>Ana</b></p><img src>" }]);
    expect(notices).toEqual([{ check: "detector:xss", rule: "sanitized", path: "/html" }]);
  });

  it("by default (xss: log) lets the HTML through unchanged and reports what it found", async () => {
    const notices: Notice[] = [];
    const html = "<p>Hi</p><script>alert(1)</script>";
    const { calls } = await callWith(GmailSendInput, { ...MAIL, html }, { onNotice: (n) => notices.push(...n) });
    expect(calls).toEqual([{ ...MAIL, html }]);
    expect(notices).toEqual([{ check: "detector:xss", rule: "dangerous-tag", path: "/html" }]);
  });

  it("refuses a repair that leaves the arguments outside the schema, rather than handing it over", async () => {
    const { result, calls } = await callWith(z.strictObject({ html: z.string().min(1) }), { html: "<script>alert(1)</script>" }, { detectors: { xss: "sanitize" } });
    expect(result["structuredContent"]).toEqual({ reason: "invalid_params", violations: [{ path: "/html", rule: "too_small", message: "Too small: expected string to have >=1 characters" }] });
    expect(calls).toEqual([]);
  });

  it("applies a detector only to the tools its settings name", async () => {
    const args = { parentId: PARENT, title: "Notes", path: "../shared" };
    expect((await callWith(DocumentStoreInput, args, { tool: "docs.create", detectors: { traversal: { except: ["docs.*"] } } })).calls).toHaveLength(1);
    expect((await callWith(DocumentStoreInput, args, { tool: "mail.send", detectors: { traversal: { except: ["docs.*"] } } })).calls).toHaveLength(0);
    expect((await callWith(DocumentStoreInput, args, { detectors: { traversal: "log" } })).calls).toHaveLength(1);
  });

  it("refuses arguments with more strings than the screen examines, rather than screening part of them", async () => {
    const Many = z.strictObject({ items: z.array(z.string()) });
    const { result, calls } = await callWith(Many, { items: Array.from({ length: 10_001 }, (_, i) => `item ${i}`) });
    expect(result["structuredContent"]).toEqual({ reason: "invalid_params", violations: [{ path: "", rule: "maxStrings", message: "arguments hold more than 10000 strings" }] });
    expect(calls).toEqual([]);
  });
});

describe("validateInput at wrap time", () => {
  const h = async () => ({ content: [] });

  it("refuses detector settings the gateway's configuration would refuse, with every problem listed", () => {
    try {
      validateInput(GmailSendInput, h, { detectors: { sql: "sanitize", xss: "nuke" as "log", ssrf: { timeoutMs: 1 } } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join("\n");
      expect(problems).toContain("validateInput: detectors.xss.action:");
      expect(problems).toContain("validateInput: detectors.ssrf.timeoutMs:");
    }
    expect(() => validateInput(GmailSendInput, h, { detectors: { sql: "sanitize" } })).toThrow(/detectors\.sql\.action: sql cannot sanitize/);
  });
});
