// Ready input schemas for the three upstream kinds of the original design: a mail sender, a document store, a web search.
import { z } from "zod";

// Every schema here is strict (an unknown key is refused, not dropped) and bounds every length and
// count, so no argument can be larger than a few MiB. Lengths count UTF-16 code units of the text as
// sent: nothing is normalized (NFKC can lengthen a string), the detectors of validateInput match on
// the normalized form themselves, and the handler receives exactly what was sent.

/**
 * One line: no C0 control character but tab, no DEL, no NEL, no Unicode line or paragraph separator.
 * CR and LF in a mail header start a new header (header injection, RFC 5322 §2.2); the others are
 * line breaks to some mail libraries and renderers.
 */
const ONE_LINE = /^[^\u0000-\u0008\u000A-\u001F\u007F\u0085\u2028\u2029]*$/;
const oneLine = (max: number) => z.string().max(max).regex(ONE_LINE, "must be one line, without control characters or line breaks");

/** A mailbox address, bare (`user@example.com`, no display name): at most 254 characters (RFC 5321 §4.5.3.1.3). */
const mailbox = z.email().max(254);

/** 1 MiB, the bound of a mail body (text or HTML), in bytes of UTF-8. */
const MAIL_BODY_BYTES = 1024 * 1024;

/**
 * Text of at most {@link MAIL_BODY_BYTES} bytes of UTF-8: the character bound (listed as `maxLength`,
 * and cheap) first, then the byte count for text within it, so an oversized body is one violation.
 */
const mailBody = z
  .string()
  .max(MAIL_BODY_BYTES)
  .superRefine((text, ctx) => {
    if (text.length <= MAIL_BODY_BYTES && Buffer.byteLength(text, "utf8") > MAIL_BODY_BYTES) ctx.addIssue({ code: "too_big", origin: "string", maximum: MAIL_BODY_BYTES, inclusive: true, message: `must be at most ${MAIL_BODY_BYTES} bytes of UTF-8` });
  });

/** Recipients per list at most. Gmail accepts more (500 per message); an assistant sending to more than 100 at once is a mass mailing, not a message. */
const MAX_RECIPIENTS = 100;

/**
 * Arguments of a mail-sending tool (the original design's Gmail upstream): `to` (1–100 addresses),
 * optional `cc` and `bcc` (up to 100 each), `subject` (at most 998 characters, RFC 5322 §2.1.1's
 * line limit, one line: CR/LF would inject headers), `body` (plain text, at most 1 MiB of UTF-8) and
 * optional `html` (the HTML alternative, same bound; run validateInput with `xss: "sanitize"` to
 * have it filtered through an allow-list).
 *
 * @example
 * { to: ["ana@example.com"], subject: "Q3 report", body: "Attached is the summary." }
 */
export const GmailSendInput = z.strictObject({
  to: z.array(mailbox).min(1).max(MAX_RECIPIENTS),
  cc: z.array(mailbox).max(MAX_RECIPIENTS).optional(),
  bcc: z.array(mailbox).max(MAX_RECIPIENTS).optional(),
  subject: oneLine(998),
  body: mailBody,
  html: mailBody.optional(),
});
export type GmailSendArgs = z.output<typeof GmailSendInput>;

/** A document-store object id (Notion's form): 32 hexadecimal digits, plain or as a dashed UUID. */
const objectId = z.string().regex(/^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i, "must be 32 hexadecimal digits, plain or as a UUID");

/** Text of one block: Notion's limit for one rich-text object is 2000 characters. */
const blockText = z.string().max(2000);

/** One content block: text blocks, a to-do, code with its language, a divider. */
const block = z.discriminatedUnion("type", [
  z.strictObject({ type: z.enum(["paragraph", "heading_1", "heading_2", "heading_3", "bulleted_list_item", "numbered_list_item", "quote"]), text: blockText }),
  z.strictObject({ type: z.literal("to_do"), text: blockText, checked: z.boolean().default(false) }),
  z.strictObject({ type: z.literal("code"), text: blockText, language: z.string().regex(/^[a-z0-9+#-]{1,32}$/, "a language name such as typescript or c++").default("plain") }),
  z.strictObject({ type: z.literal("divider") }),
]);

/**
 * Arguments of a document-store tool that creates a page (the original design's Notion upstream):
 * `parentId` (the page or database it goes under), `title` (1–2000 characters, one line), optional
 * `path` (where the page is filed in the store, folder names separated by `/`: at most 512
 * characters, one line), and `blocks` (at most 100 content blocks, Notion's per-request limit; each
 * block's text at most 2000 characters). A `..` segment in `path` (or anywhere) is not the schema's
 * to judge: validateInput's traversal detector refuses it, under every encoding, as `blocked_input`.
 *
 * @example
 * { parentId: "59833787-2cf9-4fdf-8782-e53db20768a5", title: "Roadmap", path: "Engineering/Plans",
 *   blocks: [{ type: "heading_1", text: "Q3" }, { type: "to_do", text: "Ship the gateway" }] }
 */
export const DocumentStoreInput = z.strictObject({
  parentId: objectId,
  title: oneLine(2000).min(1),
  path: oneLine(512).min(1).optional(),
  blocks: z.array(block).max(100).default([]),
});
export type DocumentStoreArgs = z.output<typeof DocumentStoreInput>;

/**
 * A DNS host name to restrict a search to (`docs.example.com`): letters, digits and hyphens in
 * labels of at most 63, at least two labels, an alphabetic (or `xn--`) top-level label, 253 at most.
 * No scheme, port, path or IP address: a site restriction names a public site.
 */
const siteName = z
  .string()
  .max(253)
  .regex(/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/i, "must be a host name such as docs.example.com (no scheme, port, path or IP address)");

/**
 * Arguments of a web-search tool (the original design's search upstream): `query` (1–400
 * characters, one line; search APIs cap queries near there), `count` (results, 1–50, default 10),
 * optional `sites` (at most 20 host names to search within), `safeSearch` (`off`, `moderate` or
 * `strict`, default `moderate`) and optional `freshness` (`day`, `week`, `month` or `year`).
 *
 * @example
 * { query: "MCP authorization spec", count: 5, sites: ["modelcontextprotocol.io"] }
 */
export const WebSearchInput = z.strictObject({
  query: oneLine(400).min(1),
  count: z.number().int().min(1).max(50).default(10),
  sites: z.array(siteName).min(1).max(20).optional(),
  safeSearch: z.enum(["off", "moderate", "strict"]).default("moderate"),
  freshness: z.enum(["day", "week", "month", "year"]).optional(),
});
export type WebSearchArgs = z.output<typeof WebSearchInput>;
