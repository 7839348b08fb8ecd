// The example input schemas: realistic arguments pass unchanged, and each bound and format refuses what it is there to refuse.
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { DocumentStoreInput, GmailSendInput, WebSearchInput } from "./schemas.ts";

/** The zod issue codes and paths of what `schema` refuses in `value` (empty when it passes). */
function refusals(schema: z.ZodType, value: unknown): string[] {
  const r = schema.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}:${i.code}`);
}

const MiB = 1024 * 1024;

describe("GmailSendInput", () => {
  const mail = { to: ["ana.silva@example.com"], cc: ["ops+alerts@eng.example.org"], bcc: [], subject: "Re: Q3 report — draft 2 (final?)", body: "Hi Ana,\r\n\r\nNumbers attached.\r\n\r\nBo", html: "<p>Hi Ana,</p><p>Numbers <b>attached</b>.</p>" };

  it("accepts a realistic message unchanged (no normalization, CR/LF kept in the body)", () => {
    expect(GmailSendInput.parse(mail)).toEqual(mail);
    expect(GmailSendInput.parse({ to: ["a@example.com"], subject: "", body: "" })).toEqual({ to: ["a@example.com"], subject: "", body: "" });
  });

  it("refuses header injection in the subject: CR, LF, and every other line break or control character", () => {
    for (const brk of ["\r\n", "\n", "\r", "\u0085", "\u2028", "\u2029", "\u000b", "\f", "\u0000", "\u007f"])
      expect(refusals(GmailSendInput, { ...mail, subject: `Hello${brk}Bcc: victim@example.net` }), JSON.stringify(brk)).toEqual(["subject:invalid_format"]);
    expect(refusals(GmailSendInput, { ...mail, subject: "Tab\tis fine" })).toEqual([]);
  });

  it("bounds the subject at 998 characters and the bodies at 1 MiB of UTF-8", () => {
    expect(refusals(GmailSendInput, { ...mail, subject: "s".repeat(998) })).toEqual([]);
    expect(refusals(GmailSendInput, { ...mail, subject: "s".repeat(999) })).toEqual(["subject:too_big"]);
    expect(refusals(GmailSendInput, { ...mail, body: "b".repeat(MiB) })).toEqual([]);
    expect(refusals(GmailSendInput, { ...mail, body: "b".repeat(MiB + 1) })).toEqual(["body:too_big"]);
    // 524,288 two-byte characters are exactly 1 MiB; one more is over, though far below a million characters.
    expect(refusals(GmailSendInput, { ...mail, html: "é".repeat(MiB / 2) })).toEqual([]);
    expect(refusals(GmailSendInput, { ...mail, html: "é".repeat(MiB / 2 + 1) })).toEqual(["html:too_big"]);
  });

  it("requires 1–100 well-formed bare addresses in to, at most 100 in cc and in bcc", () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `user${i}@example.com`);
    expect(refusals(GmailSendInput, { ...mail, to: [] })).toEqual(["to:too_small"]);
    expect(refusals(GmailSendInput, { ...mail, to: many(100), cc: many(100), bcc: many(100) })).toEqual([]);
    for (const list of ["to", "cc", "bcc"]) expect(refusals(GmailSendInput, { ...mail, [list]: many(101) })).toEqual([`${list}:too_big`]);
    for (const bad of ["ana", "Ana <ana@example.com>", "ana@example.com\r\nBcc: x@example.net", "ana@@example.com", `${"a".repeat(250)}@example.com`, "ana@localhost"])
      expect(refusals(GmailSendInput, { ...mail, to: [bad] }), bad).toEqual([bad.length > 254 ? "to.0:too_big" : "to.0:invalid_format"]);
  });

  it("is strict: an unknown key is refused, not dropped; a missing one is named", () => {
    expect(refusals(GmailSendInput, { ...mail, from: "ceo@example.com" })).toEqual([":unrecognized_keys"]);
    expect(refusals(GmailSendInput, { to: ["a@example.com"] })).toEqual(["subject:invalid_type", "body:invalid_type"]);
  });
});

describe("DocumentStoreInput", () => {
  const page = {
    parentId: "59833787-2cf9-4fdf-8782-e53db20768a5",
    title: "Roadmap · Q3 2025",
    path: "Engineering/Plans",
    blocks: [
      { type: "heading_1", text: "Goals" },
      { type: "bulleted_list_item", text: "Ship the gateway" },
      { type: "to_do", text: "Write the docs", checked: true },
      { type: "code", text: "npm start", language: "bash" },
      { type: "divider" },
    ],
  };

  it("accepts a realistic page, filling the defaults", () => {
    expect(DocumentStoreInput.parse(page)).toEqual(page);
    expect(DocumentStoreInput.parse({ parentId: "598337872cf94fdf8782e53db20768a5", title: "x", blocks: [{ type: "to_do", text: "t" }, { type: "code", text: "x" }] })).toEqual({
      parentId: "598337872cf94fdf8782e53db20768a5",
      title: "x",
      blocks: [
        { type: "to_do", text: "t", checked: false },
        { type: "code", text: "x", language: "plain" },
      ],
    });
    expect(DocumentStoreInput.parse({ parentId: page.parentId, title: "x" }).blocks).toEqual([]);
  });

  it("refuses a malformed id, an empty, multi-line or overlong title, and unknown block types or keys", () => {
    for (const id of ["", "59833787", "59833787-2cf9-4fdf-8782-e53db20768a5x", "g9833787-2cf9-4fdf-8782-e53db20768a5", "../59833787"]) expect(refusals(DocumentStoreInput, { ...page, parentId: id }), id).toEqual(["parentId:invalid_format"]);
    expect(refusals(DocumentStoreInput, { ...page, title: "" })).toEqual(["title:too_small"]);
    expect(refusals(DocumentStoreInput, { ...page, title: "a\nb" })).toEqual(["title:invalid_format"]);
    expect(refusals(DocumentStoreInput, { ...page, title: "t".repeat(2001) })).toEqual(["title:too_big"]);
    expect(refusals(DocumentStoreInput, { ...page, blocks: [{ type: "embed", url: "x" }] })).toEqual(["blocks.0.type:invalid_union"]);
    expect(refusals(DocumentStoreInput, { ...page, blocks: [{ type: "divider", text: "x" }] })).toEqual(["blocks.0:unrecognized_keys"]);
    expect(refusals(DocumentStoreInput, { ...page, blocks: [{ type: "code", text: "x", language: "Type Script" }] })).toEqual(["blocks.0.language:invalid_format"]);
  });

  it("bounds the blocks at 100 and each block's text at 2000 characters, and the path at 512", () => {
    expect(refusals(DocumentStoreInput, { ...page, blocks: Array.from({ length: 100 }, () => ({ type: "divider" })) })).toEqual([]);
    expect(refusals(DocumentStoreInput, { ...page, blocks: Array.from({ length: 101 }, () => ({ type: "divider" })) })).toEqual(["blocks:too_big"]);
    expect(refusals(DocumentStoreInput, { ...page, blocks: [{ type: "paragraph", text: "p".repeat(2001) }] })).toEqual(["blocks.0.text:too_big"]);
    expect(refusals(DocumentStoreInput, { ...page, path: "p".repeat(513) })).toEqual(["path:too_big"]);
  });

  it("leaves `..` in a path to the traversal detector (the shape is fine; validateInput blocks it)", () => {
    expect(refusals(DocumentStoreInput, { ...page, path: "../../etc/passwd" })).toEqual([]);
  });
});

describe("WebSearchInput", () => {
  it("accepts realistic searches, filling count and safeSearch", () => {
    expect(WebSearchInput.parse({ query: "MCP authorization spec" })).toEqual({ query: "MCP authorization spec", count: 10, safeSearch: "moderate" });
    const full = { query: "rust async runtime comparison 2025", count: 50, sites: ["docs.rs", "github.com", "xn--bcher-kva.example"], safeSearch: "strict", freshness: "month" };
    expect(WebSearchInput.parse(full)).toEqual(full);
  });

  it("refuses a count outside 1–50 or not an integer (51 results included)", () => {
    for (const count of [51, 0, -1, 1.5, "10", null]) expect(refusals(WebSearchInput, { query: "q", count }), String(count)).toHaveLength(1);
    expect(refusals(WebSearchInput, { query: "q", count: 51 })).toEqual(["count:too_big"]);
  });

  it("bounds the query at 1–400 characters on one line", () => {
    expect(refusals(WebSearchInput, { query: "" })).toEqual(["query:too_small"]);
    expect(refusals(WebSearchInput, { query: "q".repeat(400) })).toEqual([]);
    expect(refusals(WebSearchInput, { query: "q".repeat(401) })).toEqual(["query:too_big"]);
    expect(refusals(WebSearchInput, { query: "a\nb" })).toEqual(["query:invalid_format"]);
  });

  it("takes site restrictions as host names only: no URL, port, path, IP address or single label", () => {
    for (const site of ["https://example.com", "example.com:443", "example.com/docs", "127.0.0.1", "169.254.169.254", "[::1]", "localhost", "-bad.example.com", "exa mple.com", "a..example.com"])
      expect(refusals(WebSearchInput, { query: "q", sites: [site] }), site).toEqual(["sites.0:invalid_format"]);
    expect(refusals(WebSearchInput, { query: "q", sites: [] })).toEqual(["sites:too_small"]);
    expect(refusals(WebSearchInput, { query: "q", sites: Array.from({ length: 21 }, (_, i) => `s${i}.example.com`) })).toEqual(["sites:too_big"]);
  });

  it("takes safeSearch and freshness from their enums only", () => {
    expect(refusals(WebSearchInput, { query: "q", safeSearch: "none" })).toEqual(["safeSearch:invalid_value"]);
    expect(refusals(WebSearchInput, { query: "q", freshness: "hour" })).toEqual(["freshness:invalid_value"]);
  });
});
