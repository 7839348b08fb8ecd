// Path traversal: `..` segments under any encoding, NUL bytes, and absolute paths that leave the roots a tool may touch.
import path from "node:path";
import { decodeEntities, decodePercent, decodedForms } from "./decode.ts";
import { isAscii } from "./normalize.ts";
import type { Finding } from "./finding.ts";
import type { Detector } from "./index.ts";

/** Options of {@link traversalDetector}. */
export interface TraversalOptions {
  /**
   * Directories a path argument must stay inside (POSIX `/srv/data`, Windows `C:\data` or UNC
   * `\\host\share`). When given, an absolute path (or `file://` URL) that resolves outside every root
   * is a finding; when absent (the default), an absolute path alone is not.
   */
  readonly roots?: readonly string[];
}

/**
 * Characters that IIS-era servers mapped to a slash by "best fit" (division slash, set minus, fraction
 * slash, and the private-use U+EFC8 and U+F025 of the exotic-encoding lists), and the literal
 * `0x2e`/`0x2f`/`0x5c` some filters decode: after this, `..%u2215` and `0x2e0x2e/` spell `../`.
 */
function bestFit(text: string): string {
  if (!text.includes("0x") && !text.includes("0X") && (isAscii(text) || !BEST_FIT_SLASHES.test(text))) return text;
  return text
    .replace(/[\u2215\u2044\u29F8\uEFC8]/g, "/")
    .replace(/[\u2216\u29F5\u29F9\uF025]/g, "\\")
    .replace(/0x(2e|2f|5c)/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The characters bestFit maps to a slash: text without them (and without `0x`) is left as it is. */
const BEST_FIT_SLASHES = /[\u2215\u2044\u29F8\uEFC8\u2216\u29F5\u29F9\uF025]/;

const DECODERS = [decodePercent, decodeEntities, bestFit];

/**
 * A segment of two or more dots ending at a separator: `../`, `..\`, `....//` (which a filter deleting
 * `../` turns into `../`), `..;/` (Tomcat's path parameter), at the start of a value, after a separator,
 * or at the start of a word (`cd ../x`, `file="../x"`); and exactly `..` ending a value or line (`/var/..`).
 * After decoding, `%` counts as a separator too (an escape left over by a double encoding). Ellipses
 * ("Loading...", "to be continued ...", "…/guide/... for details") are not segments.
 */
function dotDot(ends: string): RegExp {
  return new RegExp(String.raw`(?:^|[/\\])(?:\.{2,}(?=[${ends}])|\.\.$)|[\s"'=:,(\[]\.{2,}(?=[${ends}])`, "m");
}
const DOT_DOT = dotDot(String.raw`/\\;\0`);
const DECODED_DOT_DOT = dotDot(String.raw`/\\;%\0`);

/**
 * A value as a canonical absolute path, or undefined when it is not absolute. POSIX paths resolve as
 * they are; Windows drive paths become `c:/…` and UNC paths `//host/share/…` (lower-cased: both
 * systems compare case-insensitively), each resolved below its own prefix so `..` cannot climb out of it.
 */
export function canonicalPath(value: string): string | undefined {
  let p = value.trim();
  if (/^file:/i.test(p)) p = p.replace(/^file:(?:\/\/(?:localhost)?)?/i, "");
  p = p.replace(/\\/g, "/");
  if (/^\/[a-z]:\//i.test(p)) p = p.slice(1); // file:///C:/x
  const drive = /^([a-z]):(\/.*|$)/i.exec(p);
  if (drive !== null) return `${(drive[1] ?? "").toLowerCase()}:${path.posix.resolve("/", drive[2] ?? "/").toLowerCase()}`;
  const unc = /^\/\/([^/]+)\/([^/]+)(\/.*|$)/.exec(p);
  if (unc !== null) return `//${unc[1] ?? ""}/${unc[2] ?? ""}${path.posix.resolve("/", unc[3] ?? "/")}`.toLowerCase().replace(/\/$/, "");
  if (p.startsWith("/")) return path.posix.resolve(p);
  return undefined;
}

function inside(candidate: string, root: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith("/") ? root : `${root}/`);
}

const MESSAGES = {
  "dot-dot": "The text contains a parent-directory (..) path segment.",
  "encoded-dot-dot": "The text contains a parent-directory (..) segment hidden behind percent, overlong UTF-8 or Unicode encoding.",
  "nul-byte": "The text contains a NUL byte, which truncates paths in many file APIs.",
  "outside-root": "The text names an absolute path outside the directories this tool may use.",
} as const;

type TraversalRule = keyof typeof MESSAGES;

/** The traversal detector; it does not sanitize (a path with `..` removed names some other file). */
export function traversalDetector(options: TraversalOptions = {}): Detector {
  const roots = (options.roots ?? []).map((root) => {
    const canonical = canonicalPath(root);
    if (canonical === undefined) throw new TypeError(`traversal root must be an absolute path: ${JSON.stringify(root)}`);
    return canonical;
  });

  function detect(text: string): Finding[] {
    const [plain = "", ...decoded] = decodedForms(text, DECODERS);
    const hits = new Set<TraversalRule>();
    // Both patterns match only at a `..`.
    if (plain.includes("..") && DOT_DOT.test(plain)) hits.add("dot-dot");
    else if (decoded.some((form) => form.includes("..") && DECODED_DOT_DOT.test(form))) hits.add("encoded-dot-dot");
    if ([plain, ...decoded].some((form) => form.includes("\0"))) hits.add("nul-byte");
    if (roots.length > 0) {
      const final = decoded[decoded.length - 1] ?? plain;
      const candidate = canonicalPath(final.replace(/\0[^]*$/, ""));
      if (candidate !== undefined && !roots.some((root) => inside(candidate, root))) hits.add("outside-root");
    }
    return [...hits].map((rule) => ({ detector: "traversal", rule, message: MESSAGES[rule] }));
  }

  return { name: "traversal", detect };
}
