// Prompt injection: instructions addressed to a model, chat-template markers and invisible text, planted in a call's arguments.
import { INVISIBLE, invisibleCharacters, isAscii, normalizeForMatching } from "./normalize.ts";
import type { Finding } from "./finding.ts";
import type { Detector } from "./index.ts";
import { hasAll, hasWord } from "./prefilter.ts";

interface Rule {
  readonly rule: string;
  readonly pattern: RegExp;
  readonly message: string;
  /** False only when the pattern cannot match the text: a word or character every match holds is missing. */
  readonly may: (text: string) => boolean;
}

/** Every gap is a bounded `\s{1,8}` and filler words are a bounded list: matching is linear in the text. */
const RULES: readonly Rule[] = [
  {
    rule: "ignore-instructions",
    pattern:
      /\b(?:ignore|disregard|forget|override|bypass)\s{1,8}(?:(?:all|any|of|the|your|my|these|those|every)\s{1,8}){0,3}(?:previous|prior|above|earlier|preceding|former|original|initial|existing|system|safety|all)\s{1,8}(?:instructions?|prompts?|rules|directions|directives|guidelines|guardrails|context|messages|commands|policies)\b/i,
    message: "The text tells the model to ignore its earlier instructions.",
    // The verbs, each by a part that starts with a letter rarer in prose than its first.
    may: (t) => hasWord(t, "gnore", "gard", "forget", "verrid", "bypass"),
  },
  {
    rule: "role-reassignment",
    // "You are now subscribed" is a notification; "you are now DAN" or "…now an unrestricted assistant" is not.
    pattern:
      /\byou\s{1,8}are\s{1,8}now\s{1,8}(?:in\s{1,8})?(?:(?:a|an|the|my)\s{1,8})?(?:(?:new|different|evil|unrestricted|unfiltered|uncensored|jailbroken|free|rogue)\b|dan\b|developer\s{1,8}mode|no\s{1,8}longer|(?:ai|assistant|model|chatbot|bot|agent|system|admin|administrator|root)\b)|\bfrom\s{1,8}now\s{1,8}on,?\s{1,8}you\s{1,8}(?:are|will|must)\b|\bnew\s{1,8}(?:system\s{1,8})?instructions\s{0,8}:/i,
    message: "The text tries to give the model a new role or new instructions.",
    // "you are now" or "from now on, you", else "new instructions:".
    may: (t) => (hasWord(t, "you") && hasWord(t, "now")) || (t.includes(":") && hasWord(t, "uctions")),
  },
  {
    rule: "system-prompt",
    pattern:
      /\b(?:reveal|print|show|output|repeat|leak|display|dump|disclose|tell\s{1,8}me|what\s{1,8}(?:is|are))\s{1,8}(?:(?:me|us|your|the|its|full|entire|hidden|original)\s{1,8}){0,3}(?:system\s{0,8}prompt|initial\s{1,8}instructions|hidden\s{1,8}instructions)\b|^\s{0,8}system\s{0,8}prompt\s{0,8}:/im,
    message: "The text asks for or sets the model's system prompt.",
    // Every phrase names a system prompt or instructions.
    may: (t) => hasWord(t, "ystem", "uctions"),
  },
  {
    rule: "chat-template-marker",
    pattern: /<\|(?:im_start|im_end|im_sep|system|user|assistant|endoftext|begin_of_text|start_header_id|end_header_id|eot_id)\|>|\[\/?INST\]|<<\/?SYS>>|(?:^|\n)\s{0,8}###\s{0,8}(?:instruction|system)\s{0,8}:|\n\n(?:Human|Assistant)\s{0,8}:/i,
    message: "The text contains a chat-template marker that opens a new message or role.",
    // `<|`, `[INST]`, `<<SYS>>`, or a `###` or `\n\n` role ending in `:`.
    may: (t) =>
      t.includes("<|") ||
      (t.includes("[") && hasWord(t, "inst]")) ||
      (t.includes("<<") && hasWord(t, "sys>>")) ||
      (t.includes(":") && ((t.includes("###") && hasWord(t, "instruction", "ystem")) || (t.includes("\n\n") && hasWord(t, "human", "assistant")))),
  },
  {
    rule: "pseudo-tag",
    // Tool-poisoning payloads wrap their orders in tags a model treats as authoritative.
    pattern: /<\/?\s{0,8}(?:important|system|system[-_]prompt|instructions?|sys|override)\s{0,8}>/i,
    message: "The text contains an <IMPORTANT>- or <system>-style tag addressed to the model.",
    may: (t) => hasAll(t, "<>"),
  },
  {
    rule: "conceal-from-user",
    pattern:
      /\b(?:do\s{1,8}not|don['\u2019]?t|never|without)\s{1,8}(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|reveal(?:ing)?|notify(?:ing)?|alert(?:ing)?|show(?:ing)?|let(?:ting)?)\s{1,8}(?:(?:this|that|it|anything|to|on|know|about)\s{1,8}){0,3}(?:the\s{1,8})?user\b|\b(?:hide|keep|conceal)\s{1,8}(?:this|that|it)\s{1,8}(?:secret\s{1,8})?from\s{1,8}(?:the\s{1,8})?user\b/i,
    message: "The text tells the model to keep something from the user.",
    // Both branches end in "user".
    may: (t) => hasWord(t, "user"),
  },
];

/**
 * Sequences in which invisible characters are part of ordinary emoji: variation selectors after a
 * pictograph or keycap base, zero-width joiners inside ZWJ sequences (man, ZWJ, woman, ZWJ, girl),
 * and the tag characters of subdivision flags (black flag, tags, cancel tag; tried first, as the black
 * flag alone is a pictograph). Each repetition starts with a fixed character, so the pattern is
 * linear. Anything invisible outside these is reported.
 */
const EMOJI = /\u{1F3F4}[\u{E0030}-\u{E0039}\u{E0061}-\u{E007A}]{2,7}\u{E007F}|\p{Extended_Pictographic}[\u{1F3FB}-\u{1F3FF}]?[\uFE0E\uFE0F]?(?:\u200D\p{Extended_Pictographic}[\u{1F3FB}-\u{1F3FF}]?[\uFE0E\uFE0F]?)*|[#*0-9][\uFE0E\uFE0F]?\u20E3/gu;

/** The invisible characters in `text` that are not part of an emoji sequence. */
function hiddenCharacters(text: string): string[] {
  // ASCII holds no invisible character; nor does well-formed text without one, once whole emoji are cut out of it.
  if (isAscii(text) || (text.isWellFormed() && !hasInvisible(text))) return [];
  return invisibleCharacters(text.replace(EMOJI, ""));
}

const INVISIBLE_ONE = new RegExp(INVISIBLE.source, "u");
const hasInvisible = (text: string): boolean => INVISIBLE_ONE.test(text);

function detect(text: string): Finding[] {
  const findings: Finding[] = [];
  const hidden = hiddenCharacters(text);
  if (hidden.length > 0)
    findings.push({ detector: "promptInjection", rule: "invisible-characters", message: `The text contains invisible characters (${hidden.join(", ")}).` });
  const normalized = normalizeForMatching(text);
  for (const { rule, pattern, message, may } of RULES) if (may(normalized) && pattern.test(normalized)) findings.push({ detector: "promptInjection", rule, message });
  return findings;
}

/** Emoji sequences kept whole, other invisible characters dropped. */
const EMOJI_OR_INVISIBLE = new RegExp(`(${EMOJI.source})|${INVISIBLE.source}`, "gu");

/** The phrase rules again, global, for sanitize to replace every occurrence. */
const GLOBAL_RULES = RULES.map(({ rule, pattern }) => ({ rule, pattern: new RegExp(pattern.source, `${pattern.flags}g`) }));

/**
 * Text with the injection defused rather than refused: invisible characters are removed (emoji
 * sequences kept), and each marker the rules find is replaced by `[removed: <rule>]`, so
 * `<IMPORTANT>` and "ignore all previous instructions" no longer reach the model while the rest of
 * the text does. The result is NFKC-normalized and gives no findings.
 */
function sanitize(text: string): string {
  // Invisible characters go first, so "ig\u200Bnore previous instructions" is one phrase when the rules run.
  let out = text.replace(EMOJI_OR_INVISIBLE, (m, emoji?: string) => (emoji !== undefined ? m : "")).normalize("NFKC");
  for (const { rule, pattern } of GLOBAL_RULES) out = out.replace(pattern, `[removed: ${rule}]`);
  return out;
}

/** The prompt-injection detector; `sanitize` removes invisible characters and replaces each marker found. */
export function promptInjectionDetector(): Detector {
  return { name: "promptInjection", detect, sanitize };
}
