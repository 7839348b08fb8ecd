// Cross-site scripting: markup and URLs that run script when an argument ends up in a page, decoded as a browser would first.
import { createRequire } from "node:module";
import type { IFilterXSSOptions } from "xss";
import { decodeEntities, decodeJsEscapes, decodePercent, decodedForms } from "./decode.ts";
import type { Finding } from "./finding.ts";
import type { Detector } from "./index.ts";
import { normalizeForMatching } from "./normalize.ts";
import { hasAll, hasAny } from "./prefilter.ts";

// js-xss is CommonJS and its typings declare globals; require gives the class without default-export guessing.
const require = createRequire(import.meta.url);
const { FilterXSS } = require("xss") as { FilterXSS: new (options: IFilterXSSOptions) => { process(html: string): string } };

interface Rule {
  readonly rule: string;
  readonly pattern: RegExp;
  readonly message: string;
  /**
   * False only when the pattern cannot match: a character every match holds is missing. It tests
   * single characters only, so it holds for the tidied form too (tidying only removes characters).
   */
  readonly may: (text: string) => boolean;
}

/** The quotes the event-handler and js-breakout rules accept. */
const QUOTES = `"'\`\u2018\u2019\u201c\u201d`;

/**
 * Every gap is bounded (`{0,8}`, `{0,400}`) and no quantified group overlaps its neighbour, so each
 * pattern runs in time linear in the text (a ReDoS-guard test feeds 200k-character inputs).
 */
const RULES: readonly Rule[] = [
  {
    rule: "dangerous-tag",
    // Elements that run script or load active content by themselves; `<b>` or `<img>` alone is harmless.
    pattern: /<\/?(?:script|i?frame|frameset|object|embed|applet|svg|math|style|link|base|xml|import|i?layer|bgsound|isindex|portal|noscript|template)(?![\w-])/i,
    message: "The text contains an HTML element that can run script or load active content.",
    // Every match opens with `<`.
    may: (t) => t.includes("<"),
  },
  {
    rule: "event-handler",
    // Inside a tag, or after a quote that closes an attribute ("onmouseover=… breaks out of value="…").
    pattern: /<[a-z/!?](?:[^<>]{0,400}?[\s/"'`])?on[a-z]{3,40}[\s/]{0,8}=|["'`\u2018\u2019\u201c\u201d](?:[^<>"'`\s]{0,60}?[\s/])?on[a-z]{3,40}[\s/]{0,8}=/i,
    message: "The text contains an HTML event-handler attribute.",
    // Both branches end in `=`.
    may: (t) => t.includes("="),
  },
  {
    rule: "script-url",
    // A scheme followed by code; "JavaScript: the good parts" (a space after the colon) is prose, not a URL.
    pattern: /(?<![a-z0-9+.-])(?:java|vb|live)script:(?!\s)|(?:[=(]|url\()\s{0,8}["'`]?\s{0,8}(?:(?:java|vb|live)script|mocha)\s{0,8}:/i,
    message: "The text contains a javascript:, vbscript: or similar script URL.",
    // Both branches end in `:`.
    may: (t) => t.includes(":"),
  },
  {
    rule: "data-html-url",
    pattern: /(?<![a-z0-9+.-])data:\s{0,8}(?:text\/(?:html|javascript|xml)|application\/(?:x-)?(?:javascript|ecmascript|xhtml)|image\/svg\+xml)/i,
    message: "The text contains a data: URL carrying HTML, SVG or script.",
    may: (t) => t.includes(":"),
  },
  {
    rule: "meta-http-equiv",
    pattern: /<meta(?![\w-])[^<>]{0,400}?http-equiv|http-equiv\s{0,8}=\s{0,8}["'`]?\s{0,8}refresh/i,
    message: "The text contains a <meta http-equiv> element (refresh, cookies or charset switching).",
    // Both branches spell `http-equiv`.
    may: (t) => t.includes("-"),
  },
  {
    rule: "style-expression",
    pattern: /(?::|=\s{0,8}["'`]?)\s{0,8}expression\s{0,8}\(|-moz-binding\s{0,8}:|behavior\s{0,8}:\s{0,8}url/i,
    message: "The text contains a CSS expression(), binding or behavior that runs script.",
    // `expression(`, or `-moz-binding:` and `behavior:`.
    may: (t) => hasAny(t, "(:"),
  },
  {
    rule: "srcdoc",
    pattern: /srcdoc\s{0,8}=/i,
    message: "The text contains an iframe srcdoc attribute, which embeds a whole document.",
    may: (t) => t.includes("="),
  },
  {
    rule: "js-entity",
    // Netscape's JavaScript entities: `<br size="&{alert(1)}">`.
    pattern: /=\s{0,8}["'`]?\s{0,8}&\{/,
    message: "The text contains a JavaScript entity (&{...}) in an attribute.",
    // `=`, `&` and `{` one by one: tidying may bring `&` and `{` together.
    may: (t) => hasAll(t, "=&{"),
  },
  {
    rule: "js-breakout",
    // A quote that closes a script string, an operator, then a call: `';alert(1)//`, `'-alert(1)-'`.
    pattern: /["'`\u2018\u2019\u201c\u201d]\s{0,8}[-+*/;,)|&^]{1,3}\s{0,8}(?:alert|prompt|confirm|eval|settimeout|setinterval|function|fetch|import)\s{0,8}[(`]/i,
    message: "The text closes a script string and calls a function.",
    // A quote, and the call's `(` or backtick.
    may: (t) => hasAny(t, QUOTES) && hasAny(t, "(`"),
  },
];

/**
 * Without control characters (tab and newline included), which the URL parser drops, so `jav&#x09;ascript:`
 * is `javascript:`; and without CSS comments, so `expr` + comment + `ession` is `expression`.
 */
function tidy(text: string): string {
  const bare = text.replace(/[\x00-\x1f\x7f]/g, "");
  return bare.includes("/*") ? bare.replace(/\/\*[^]{0,200}?\*\//g, "") : bare;
}

/** The rules matching `form` or its tidied form (tidied only once a rule may match and the form alone did not). */
function matches(form: string): Set<string> {
  const hits = new Set<string>();
  let tidied: string | undefined;
  for (const { rule, pattern, may } of RULES) {
    if (!may(form)) continue;
    if (pattern.test(form)) hits.add(rule);
    else {
      tidied ??= tidy(form);
      if (tidied !== form && pattern.test(tidied)) hits.add(rule);
    }
  }
  return hits;
}

const DECODERS = [decodePercent, decodeEntities, decodeJsEscapes];

function detect(text: string): Finding[] {
  const [plain = "", ...decoded] = decodedForms(text, DECODERS);
  const direct = matches(plain);
  const hidden = new Set<string>();
  for (const form of decoded) for (const rule of matches(form)) if (!direct.has(rule)) hidden.add(rule);
  const findings: Finding[] = RULES.filter((r) => direct.has(r.rule) || hidden.has(r.rule)).map((r) => ({ detector: "xss", rule: r.rule, message: r.message }));
  if (hidden.size > 0)
    findings.push({ detector: "xss", rule: "encoded-markup", message: "The text hides markup or a script URL behind percent, entity or escape encoding." });
  return findings;
}

/** Tags whose content is dropped with them: their text is script or styles, never prose. */
const STRIP_BODY = ["script", "style", "iframe", "object", "embed", "applet", "svg", "math", "noscript", "template", "xml", "frameset", "noembed", "noframes"];

/** js-xss with its default allow-list; tags outside it are removed rather than escaped, so no `&lt;script&gt;` is left to decode again. */
const filter = new FilterXSS({ stripIgnoreTag: true, stripIgnoreTagBody: STRIP_BODY, allowCommentTag: false });

/**
 * The text-level forms the allow-list filter leaves alone (they are not markup yet, but become it in an
 * attribute or after decoding), broken so no rule matches: `javascript:` becomes `javascript-blocked:`,
 * `onload=` becomes `onload_=`; stray angle brackets become ‹ and ›.
 */
function defang(text: string): string {
  return tidy(text)
    .replace(/((?:java|vb|live)script|mocha)(\s{0,8}):/gi, "$1-blocked$2:")
    .replace(/(data:\s{0,8})(?=text|application|image)/gi, "data-blocked:")
    .replace(/\b(on[a-z]{3,40})(?=[\s/]{0,8}=)/gi, "$1_")
    .replace(/(expression|-moz-binding|behavior|srcdoc)(?=\s{0,8}[(:=])/gi, "$1_")
    .replace(/http-equiv/gi, "http_equiv")
    .replace(/&\{/g, "&_{")
    .replace(/(alert|prompt|confirm|eval|settimeout|setinterval|function|fetch|import)(?=\s{0,8}[(`])/gi, "$1_")
    .replace(/</g, "\u2039")
    .replace(/>/g, "\u203a");
}

/** `text` with every layer of encoding undone. */
function lastForm(text: string): string {
  const forms = decodedForms(text, DECODERS);
  return forms[forms.length - 1] ?? "";
}

/** Rounds of decode-filter-defang before giving up on repair: each round removes a layer of encoding. */
const SANITIZE_ROUNDS = 4;

/**
 * Allow-listed HTML: js-xss keeps harmless markup (`<b>`, `<a href="https://…">`) and removes script,
 * event handlers and script URLs. When the filtered text would still be found (markup hidden behind
 * encodings, an unclosed `<script`, or script URLs as plain text), it is decoded, filtered again,
 * decoded once more (so the filter's own `&lt;` cannot come back as `<`) and defanged, until clean:
 * such text comes back as plain text with ‹ › for angle brackets.
 * The result is in normalized form (NFKC, no invisible characters).
 */
function sanitize(text: string): string {
  let out = filter.process(normalizeForMatching(text));
  for (let round = 0; round < SANITIZE_ROUNDS && detect(out).length > 0; round++) {
    out = defang(lastForm(filter.process(lastForm(out))));
  }
  return out;
}

/** The XSS detector; `sanitize` repairs by allow-list filtering. */
export function xssDetector(): Detector {
  return { name: "xss", detect, sanitize };
}
