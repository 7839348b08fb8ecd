// Tool poisoning: every text of a tool definition a model reads, scanned for instructions hidden in it.
import { invisibleCharacters, normalizeForMatching } from "../validate/detectors/normalize.ts";

/** One suspicious text in one tool definition. */
export interface ToolFlag {
  tool: string;
  /** JSON Pointer inside the tool definition, e.g. "/description" or "/inputSchema/properties/path/description" */
  path: string;
  rule: string;
  message: string;
}

/** A description longer than this is no documentation: it is room to hide instructions in. */
const MAX_DESCRIPTION = 10_000;
/** A run of base64 characters longer than this in a description is a payload, not prose. */
const MIN_BASE64_RUN = 200;
/**
 * Bounds on a schema walk, so a hostile definition costs at most this much: nesting past MAX_DEPTH,
 * more than MAX_NODES objects and arrays, MAX_STRINGS strings or MAX_CHARS characters are not
 * walked, and the definition is flagged "oversized-schema" instead (nothing that large is a
 * tool's honest documentation, and what was not read cannot be vouched for).
 */
const MAX_DEPTH = 64;
const MAX_NODES = 50_000;
const MAX_STRINGS = 20_000;
const MAX_CHARS = 16 * 1024 * 1024;
/** Decoded payloads (base64, `\u` runs, tag characters) scanned per text, and their size. */
const MAX_DECODED = 8;
const MAX_DECODED_CHARS = 64 * 1024;

/** What a text is: names and property names are read as words (`ignore_previous_instructions`), descriptions get the length and payload checks. */
type Kind = "name" | "key" | "description" | "text";

interface Text {
  path: string;
  value: string;
  kind: Kind;
}

interface Hit {
  rule: string;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// The rules. Every pattern is a chain of literals and bounded quantifiers: matching is linear.

/** Rules that one match proves: the first match is reported. */
const PATTERN_RULES: readonly { rule: string; what: string; patterns: readonly RegExp[] }[] = [
  {
    rule: "ignore-instructions",
    what: "tells the model to set its instructions aside",
    patterns: [
      /\b(?:ignore|disregard|forget|override)\s{1,5}(?:(?:all|any|every)\s{1,5})?(?:(?:of\s{1,5})?(?:the|your|my|these|those)\s{1,5})?(?:previous|prior|above|earlier|preceding|former|original|system|other)\s{1,5}(?:instructions?|rules|prompts?|guidelines|directions|directives|guidance|context)\b/i,
      /\b(?:ignore|disregard|forget)\s{1,5}(?:all|any|every|your)\s{1,5}(?:instructions?|rules|prompts?|guidelines)\b/i,
      /\b(?:ignore|disregard|forget)\s{1,5}(?:everything|anything|all)\s{1,5}(?:above|before|previously|you\s{1,3}were\s{1,3}told)\b/i,
    ],
  },
  {
    rule: "hidden-block",
    what: "contains a block addressed to the model rather than the user",
    patterns: [
      /<\s{0,3}\/?\s{0,3}(?:important|system|instructions?|secret|hidden|admin|critical)\b[^<>\n]{0,200}>/i,
      /\[\s{0,3}\/?\s{0,3}(?:system|inst|instructions?|important|admin)\s{0,3}\]/i,
      /<!--/,
      /<\|\s{0,3}(?:im_start|im_end|im_sep|system|user|assistant|endoftext)\s{0,3}\|>/i,
      /<<\s{0,3}\/?SYS\s{0,3}>>/i,
    ],
  },
  {
    rule: "secrecy",
    what: "asks the model to keep something from the user",
    patterns: [
      /\b(?:do\s{1,3}not|don['’]?t|never|must\s{1,3}not|should\s{1,3}not)\s{1,3}(?:tell|mention|reveal|inform|notify|alert|disclose|let)\b[^.!?\n]{0,80}?\b(?:the\s{1,3})?users?\b(?!['’]s)/i,
      /\b(?:do\s{1,3}not|don['’]?t|never)\s{1,3}mention\s{1,3}(?:that|this|these|it)\b/i,
      /\bwithout\s{1,3}(?:the\s{1,3})?user(?:['’]s)?\s{1,3}(?:knowing|knowledge|noticing|seeing|awareness|being\s{1,3}aware|consent|permission|approval)\b/i,
      /\b(?:the\s{1,3})?user\s{1,3}(?:must|should)\s{1,3}(?:not|never)\s{1,3}(?:know|see|notice|find\s{1,3}out|be\s{1,3}(?:told|informed|notified))\b/i,
      /\b(?:keep|hide)\s{1,3}(?:this|it|these)\s{1,3}(?:secret|hidden|confidential)\b/i,
      /\b(?:secretly|covertly|surreptitiously)\b/i,
    ],
  },
  {
    rule: "cross-tool",
    what: "gives instructions about other tools",
    patterns: [
      /\bbefore\s{1,3}(?:using|calling|invoking|running|executing)\s{1,3}(?:any|all|every|each|other|another)\s{1,3}(?:other\s{1,3})?(?:tools?|functions?)\b/i,
      /\b(?:instead\s{1,3}of|rather\s{1,3}than)\s{1,3}(?:using|calling|invoking)\b/i,
      // "when the send_email tool is called", "when (mcp_whatsapp) send_message is invoked"; not "when this tool is called".
      /\bwhen(?:ever)?\s{1,3}(?:(?:the|a|any)\s{1,3})?(?:\([\w.-]{1,40}\)\s{0,3})?(?!(?:this|that|the|it|a|any)\b)(?:[\w.-]{1,60}\s{1,3}(?:tool|function)|[a-z0-9]{0,30}[_.:/-][\w.:/-]{0,60})\s{1,3}(?:is|gets|are)\s{1,3}(?:called|invoked|used|executed|run|triggered)\b/i,
      // Tampering with another call's arguments: "change the recipient to +1…".
      /\b(?:change|modify|replace|redirect|override|rewrite)\s{1,3}(?:the\s{1,3})?(?:recipient|receiver|destination|to[\s_-]?address|e-?mail\s{1,3}address|phone\s{1,3}number|webhook)s?\s{1,3}(?:to|with)\b/i,
    ],
  },
];

/** Files whose contents are credentials or configuration of the client itself. */
const SENSITIVE_FILE =
  /\.ssh\b|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\bauthorized_keys\b|(?<![\w.])\.env\b|\/etc\/(?:passwd|shadow|sudoers)\b|\bmcp\.json\b|\.aws\b|\bcredentials\.(?:json|csv|db)\b|\.git-credentials\b|\.netrc\b|\.npmrc\b|\.pypirc\b|\.docker\/config\.json\b|\.kube\/config\b|\.cursor\/|\.claude(?:\.json\b|\/)|\bclaude_desktop_config\.json\b|\.config\/gcloud\b|\.gnupg\b|\bprivate[_ ]key\b|\.(?:bash|zsh)_history\b|\bwallet\.dat\b|\.kdbx\b/i;
const READ_VERB = /\b(?:read|cat|open|load|access|retrieve|fetch|obtain|extract|copy|upload|include|send|dump|print|collect|pass|grab|attach|get)\b/i;

const EXFIL_VERB = /\b(?:send|forward|transmit|upload|post|include|pass|embed|append|attach|leak|exfiltrate|copy|bcc)\b/gi;
const EXFIL_VERB_ANYWHERE = new RegExp(EXFIL_VERB.source, "i");
/** What is worth stealing: secrets, the conversation, or the contents of something just read ("its content", "the contents of"). */
const EXFIL_OBJECT =
  /\b(?:api[\s_-]?keys?|keys?|tokens?|secrets?|passwords?|credentials|cookies?|conversation|chat\s{1,3}history|message\s{1,3}history|(?:last|previous|past|recent|all)\s{1,3}messages|system\s{1,3}prompt|env(?:ironment)?\s{1,3}variables)\b|\b(?:its|their|whose|file['’]?s?)\s{1,3}(?:contents?|data)\b|\b(?:contents?|data)\s{1,3}of\b/gi;
/** Where it goes: a parameter or field of a call, a URL, an e-mail address or phone number, a quoted argument name. */
const EXFIL_SINK =
  /\b(?:parameters?|params?|arguments?|fields?|url|uri|query\s{1,3}string|webhook|e-?mail|sidenote)\b|\b(?:as|in|into|to|via)\s{1,3}(?:the\s{1,3})?[`'"‘“][\w.-]{1,40}[`'"’”]|https?:\/\/|\+\d{7,15}\b|\b[\w.+-]{1,64}@[\w-]{1,63}\.[a-z]{2,24}\b/gi;

/** Sentences (or clauses): a read-and-send instruction lives in one. Dots inside paths (`~/.ssh`, `mcp.json`) do not end one; one character of lookahead keeps a run of dots linear. */
const SENTENCE_END = /[.!?;](?=\s|$)|\n[ \t]{0,20}\n/;

/** Legitimate uses of invisible characters: emoji presentation selectors, emoji ZWJ sequences and tag-spelled subdivision flags. */
const EMOJI_SEQUENCES = /(?<=\p{Extended_Pictographic}\p{Emoji_Modifier}?)[\uFE0E\uFE0F]?\u200D(?=\p{Extended_Pictographic})|(?<=\p{Extended_Pictographic})[\uFE0E\uFE0F]|\u{1F3F4}[\u{E0061}-\u{E007A}]{2,6}\u{E007F}/gu;
/** Unicode tag characters that spell ASCII ("ASCII smuggling"): invisible to the user, read by the model. */
const TAG_RUN = /[\u{E0020}-\u{E007E}]{1,4096}/gu;

// ---------------------------------------------------------------------------------------------
// Scanning one text

function excerpt(s: string): string {
  return JSON.stringify(s.replace(/\s+/g, " ").slice(0, 60));
}

/** The instruction rules (everything but the encoding and length checks) over one normalized text. */
function instructionHits(text: string, via = ""): Hit[] {
  const hits: Hit[] = [];
  for (const { rule, what, patterns } of PATTERN_RULES) {
    for (const pattern of patterns) {
      const m = pattern.exec(text);
      if (m !== null) {
        hits.push({ rule, message: `${what}${via} (${excerpt(m[0])})` });
        break;
      }
    }
  }
  // Sentences are cut only when the whole text holds what a rule needs: a text of a million empty lines costs one scan.
  let sensitive: string | undefined;
  let exfiltration: string | undefined;
  let needSensitive = SENSITIVE_FILE.test(text) && READ_VERB.test(text);
  let needExfiltration = EXFIL_VERB_ANYWHERE.test(text);
  const sentences = needSensitive || needExfiltration ? text.split(SENTENCE_END) : [];
  for (const sentence of sentences) {
    if (sentence.length < 6) continue;
    const file = needSensitive ? SENSITIVE_FILE.exec(sentence) : null;
    if (file !== null && READ_VERB.test(sentence)) {
      sensitive = file[0];
      needSensitive = false;
    }
    exfiltration = needExfiltration ? sendsOut(sentence) : exfiltration;
    if (exfiltration !== undefined) needExfiltration = false;
    if (!needSensitive && !needExfiltration) break;
  }
  if (sensitive !== undefined) hits.push({ rule: "read-sensitive-file", message: `tells the model to read a sensitive file${via} (${excerpt(sensitive)})` });
  if (exfiltration !== undefined) hits.push({ rule: "exfiltration", message: `tells the model to send data out through a call${via} (${excerpt(exfiltration)})` });
  return hits;
}

/**
 * A verb of sending, then something worth stealing, then a place it goes, in that order within
 * one sentence. Taking the earliest of each in turn finds such a triple whenever one exists, with
 * three linear scans.
 */
function sendsOut(sentence: string): string | undefined {
  const find = (re: RegExp, from: number) => {
    re.lastIndex = from;
    return re.exec(sentence);
  };
  const verb = find(EXFIL_VERB, 0);
  if (verb === null) return undefined;
  const object = find(EXFIL_OBJECT, verb.index + verb[0].length);
  if (object === null) return undefined;
  const sink = find(EXFIL_SINK, object.index + object[0].length);
  if (sink === null) return undefined;
  return sentence.slice(verb.index, sink.index + sink[0].length);
}

/** Names are identifiers: `ignore_previous_instructions` and `ignorePreviousInstructions` read as words. */
function asWords(name: string): string {
  return name.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/[_\-.]+/g, " ");
}

/** Decoded payloads hidden in a description: long base64 runs and `\uXXXX`/`\xXX` escape runs. */
function encodedPayloads(text: string): { kind: string; decoded: string | undefined }[] {
  const found: { kind: string; decoded: string | undefined }[] = [];
  for (const run of base64Runs(text)) {
    if (found.length >= MAX_DECODED) return found;
    found.push({ kind: `a ${run.length}-character base64 run`, decoded: printable(Buffer.from(run.slice(0, MAX_DECODED_CHARS), "base64").toString("utf8")) });
  }
  for (const m of text.matchAll(/(?:\\u[0-9a-fA-F]{4}){4,4096}|(?:\\x[0-9a-fA-F]{2}){8,4096}/g)) {
    if (found.length >= MAX_DECODED) break;
    const decoded = m[0].replace(/\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})/g, (_, u?: string, x?: string) => String.fromCharCode(Number.parseInt(u ?? x ?? "0", 16)));
    found.push({ kind: "a run of escaped characters", decoded });
  }
  return found;
}

/** Runs of base64 (or base64url) characters longer than MIN_BASE64_RUN, found in one pass. */
function base64Runs(text: string): string[] {
  const runs: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0;
    const inRun = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 47 || c === 45 || c === 95 || c === 61;
    if (inRun && start === -1) start = i;
    else if (!inRun && start !== -1) {
      if (i - start > MIN_BASE64_RUN) runs.push(text.slice(start, i));
      start = -1;
      if (runs.length >= MAX_DECODED) break;
    }
  }
  return runs;
}

/** A decoded payload worth reading as text: mostly printable. Binary (an image, a hash) is not scanned further. */
function printable(s: string): string | undefined {
  if (s.length === 0) return undefined;
  let ok = 0;
  for (const ch of s) if (/[\p{L}\p{N}\p{P}\p{Zs}\n\t]/u.test(ch)) ok++;
  return ok / s.length >= 0.9 ? s : undefined;
}

function scanText(t: Text): Hit[] {
  const hits: Hit[] = [];
  const where = t.kind === "key" ? " in a property name" : "";
  const hidden = invisibleCharacters(t.value.replace(EMOJI_SEQUENCES, ""));
  if (hidden.length > 0) hits.push({ rule: "invisible-characters", message: `contains invisible characters${where} (${hidden.join(", ")})` });
  if (t.kind === "description" && t.value.length > MAX_DESCRIPTION)
    hits.push({ rule: "excessive-length", message: `is ${t.value.length} characters long (over ${MAX_DESCRIPTION})` });

  const normalized = normalizeForMatching(t.value);
  hits.push(...instructionHits(t.kind === "name" || t.kind === "key" ? asWords(normalized) : normalized, where));

  // ASCII smuggled in tag characters: normalization removed it, the model still reads it.
  let tags = 0;
  for (const m of t.value.matchAll(TAG_RUN)) {
    if (++tags > MAX_DECODED) break;
    const ascii = String.fromCharCode(...[...m[0]].map((ch) => (ch.codePointAt(0) ?? 0xe0020) - 0xe0000));
    hits.push(...instructionHits(normalizeForMatching(ascii), " in text hidden in Unicode tag characters"));
  }
  if (t.kind === "description") {
    for (const payload of encodedPayloads(normalized)) {
      hits.push({ rule: "encoded-payload", message: `contains ${payload.kind}` });
      if (payload.decoded !== undefined) hits.push(...instructionHits(normalizeForMatching(payload.decoded), ` in ${payload.kind}, decoded`));
    }
  }
  return hits;
}

// ---------------------------------------------------------------------------------------------
// Walking a tool definition

function pointer(parent: string, key: string | number): string {
  return `${parent}/${String(key).replace(/~/g, "~0").replace(/\//g, "~1")}`;
}

/**
 * The texts of a definition a model reads: name, title, description, the annotations' title, and
 * every string and object key in inputSchema and outputSchema, walked with an explicit stack
 * within the bounds above. `overflow` says where and why the walk stopped early.
 */
function collectTexts(tool: Record<string, unknown>): { texts: Text[]; overflow?: { path: string; message: string } } {
  const texts: Text[] = [];
  const top: [string, unknown, Kind][] = [
    ["/name", tool["name"], "name"],
    ["/title", tool["title"], "text"],
    ["/description", tool["description"], "description"],
    ["/annotations/title", isObject(tool["annotations"]) ? tool["annotations"]["title"] : undefined, "text"],
  ];
  for (const [path, value, kind] of top) if (typeof value === "string") texts.push({ path, value, kind });

  let nodes = 0;
  let chars = 0;
  const stack: { value: unknown; path: string; depth: number }[] = [];
  for (const key of ["outputSchema", "inputSchema"]) if (tool[key] !== undefined) stack.push({ value: tool[key], path: `/${key}`, depth: 0 });
  const addText = (text: Text) => {
    texts.push(text);
    chars += text.value.length;
  };
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop() as { value: unknown; path: string; depth: number };
    if (typeof value !== "object" || value === null) continue;
    if (depth > MAX_DEPTH) return { texts, overflow: { path, message: `the schema nests deeper than ${MAX_DEPTH} levels; the rest was not scanned` } };
    if (++nodes > MAX_NODES) return { texts, overflow: { path, message: `the schemas hold more than ${MAX_NODES} objects and arrays; the rest was not scanned` } };
    const children: { value: unknown; path: string; depth: number }[] = [];
    const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    for (const [key, child] of entries) {
      const at = pointer(path, key);
      if (typeof key === "string") addText({ path: at, value: key, kind: "key" });
      if (typeof child === "string") addText({ path: at, value: child, kind: key === "description" ? "description" : "text" });
      else if (typeof child === "object" && child !== null) children.push({ value: child, path: at, depth: depth + 1 });
      if (texts.length > MAX_STRINGS || chars > MAX_CHARS)
        return { texts, overflow: { path: at, message: `the schemas hold more than ${MAX_STRINGS} strings or ${MAX_CHARS} characters; the rest was not scanned` } };
    }
    // Reversed onto the stack: children are visited in document order.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as (typeof children)[number]);
  }
  return { texts };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every text in a tool definition a model reads (name, title, description, annotations' title, and every string in inputSchema/outputSchema: descriptions, titles, defaults, examples, enum values, property NAMES too), checked for hidden instructions. */
export function scanTool(tool: Record<string, unknown>): ToolFlag[] {
  const name = typeof tool["name"] === "string" ? tool["name"] : "(unnamed)";
  const { texts, overflow } = collectTexts(tool);
  const flags: ToolFlag[] = [];
  const seen = new Set<string>();
  for (const text of texts) {
    for (const hit of scanText(text)) {
      const key = `${text.path}\u0000${hit.rule}`;
      if (seen.has(key)) continue;
      seen.add(key);
      flags.push({ tool: name, path: text.path, rule: hit.rule, message: hit.message });
    }
  }
  if (overflow !== undefined) flags.push({ tool: name, path: overflow.path, rule: "oversized-schema", message: overflow.message });
  return flags;
}

export function scanTools(tools: readonly Record<string, unknown>[]): ToolFlag[] {
  return tools.flatMap((tool) => scanTool(tool));
}
