// The encodings payloads hide in (percent, %u, overlong UTF-8, HTML entities, JS escapes), undone before detectors match.
import { StringMemo, normalizeForMatching } from "./normalize.ts";

/**
 * Bytes as text, with the overlong UTF-8 forms that old servers decoded (`C0 AF` = `/`, `C1 9C` = `\`,
 * `E0 80 AE` = `.`) turned into the ASCII they encode: a strict decoder would make them U+FFFD and hide
 * the `../` they spell. Any other invalid sequence becomes U+FFFD.
 */
function bytesToText(bytes: readonly number[]): string {
  let out = "";
  let pending: number[] = [];
  const flush = (): void => {
    if (pending.length > 0) out += Buffer.from(pending).toString("utf8");
    pending = [];
  };
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    const next = bytes[i + 1];
    if ((b === 0xc0 || b === 0xc1) && next !== undefined) {
      flush();
      // A continuation byte is decoded; an ASCII byte after C0 (the `%c0%2f` variant) stands for itself.
      out += String.fromCharCode(next >= 0x80 ? ((b & 1) << 6) | (next & 0x3f) : next);
      i += 1;
    } else if (b === 0xe0 && next !== undefined && next >= 0x80 && next <= 0x9f && (bytes[i + 2] ?? 0) >= 0x80) {
      flush();
      out += String.fromCharCode(((next & 0x3f) << 6) | ((bytes[i + 2] ?? 0) & 0x3f));
      i += 2;
    } else {
      pending.push(b);
    }
  }
  flush();
  return out;
}

/** One round of percent-decoding (`%2e`, `%u002e`); invalid escapes such as `%zz` or a lone `%` stay as they are. */
export function decodePercent(text: string): string {
  return text.includes("%") ? percentDecoded.get(text, percentRound) : text;
}

function percentRound(text: string): string {
  return text
    .replace(/%u([0-9a-f]{4})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/(?:%[0-9a-f]{2})+/gi, (run) => bytesToText(run.slice(1).split("%").map((h) => parseInt(h, 16))));
}

/** Rounds of the decoders several detectors share, kept for the next detector that decodes the same text. */
const percentDecoded = new StringMemo(2);
const entitiesDecoded = new StringMemo(2);

/** Named references browsers decode that payload lists use; the rest of HTML's 2,000 names rarely carry markup. */
const NAMED: Readonly<Record<string, string>> = {
  lt: "<", gt: ">", amp: "&", quot: '"', apos: "'", nbsp: " ", colon: ":", semi: ";", comma: ",",
  period: ".", sol: "/", bsol: "\\", lpar: "(", rpar: ")", lsqb: "[", rsqb: "]", lbrack: "[", rbrack: "]",
  lcub: "{", rcub: "}", lbrace: "{", rbrace: "}", equals: "=", num: "#", excl: "!", quest: "?",
  grave: "`", tab: "\t", newline: "\n", plus: "+", percnt: "%", dollar: "$", vert: "|", verbar: "|",
  ast: "*", midast: "*", hyphen: "-", dash: "-", lowbar: "_", commat: "@", hat: "^", Hat: "^",
};

/** Names that browsers decode even without the closing `;` (`&ltscript` is `<script`). */
const LEGACY = /^(lt|gt|amp|quot)/i;

function fromCodePoint(code: number): string {
  if (!Number.isSafeInteger(code) || code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return "\uFFFD";
  return String.fromCodePoint(code);
}

/** One round of HTML character references: decimal and hex (any number of leading zeros, `;` optional) and the common names. */
export function decodeEntities(text: string): string {
  return text.includes("&") ? entitiesDecoded.get(text, entitiesRound) : text;
}

function entitiesRound(text: string): string {
  return text.replace(/&(?:#(\d+)|#x([0-9a-f]+)|([a-z][a-z0-9]{1,15}))(;?)/gi, (m, dec?: string, hex?: string, name?: string, semi?: string) => {
    if (dec !== undefined) return fromCodePoint(parseInt(dec.replace(/^0+(?=\d)/, ""), 10));
    if (hex !== undefined) return fromCodePoint(parseInt(hex.replace(/^0+(?=[0-9a-f])/i, ""), 16));
    const n = name ?? "";
    const exact = NAMED[n] ?? NAMED[n.toLowerCase()];
    if (exact !== undefined) return exact;
    const legacy = semi === "" ? LEGACY.exec(n) : null;
    if (legacy !== null) return (NAMED[(legacy[1] ?? "").toLowerCase()] ?? "") + n.slice(legacy[0].length);
    return m;
  });
}

/** JavaScript and CSS-in-JS escapes (`\x3c`, `\u003c`, `\u{3c}`), which a script sink decodes for the attacker. */
export function decodeJsEscapes(text: string): string {
  if (!text.includes("\\")) return text;
  return text.replace(/\\(?:x([0-9a-f]{2})|u\{([0-9a-f]{1,6})\}|u([0-9a-f]{4}))/gi, (_m, x?: string, braced?: string, u?: string) =>
    fromCodePoint(parseInt(x ?? braced ?? u ?? "", 16)),
  );
}

/** How many decoding rounds are undone: double encoding (`%252e`) is common, triple is rare, and each round is a linear pass. */
export const MAX_ROUNDS = 3;

/**
 * The distinct forms of `text` a detector should match: the normalized text, then the result of each
 * round of `decoders` (each round re-normalized, so `%uff0e` becomes `.`), stopping when a round
 * changes nothing. At most `MAX_ROUNDS + 1` strings, none longer than the normalized text by more
 * than the few characters NFKC can add: matching them all stays linear.
 */
export function decodedForms(text: string, decoders: readonly ((s: string) => string)[]): string[] {
  const forms = [normalizeForMatching(text)];
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const last = forms[forms.length - 1] ?? "";
    const next = normalizeForMatching(decoders.reduce((s, decode) => decode(s), last));
    if (next === last) break;
    forms.push(next);
  }
  return forms;
}
