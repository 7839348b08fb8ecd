// SQL and shell injection: text that changes a query's or a command line's structure, told apart from prose by its syntax.
import { decodeEntities, decodePercent, decodedForms } from "./decode.ts";
import type { DetectorName, Finding } from "./finding.ts";
import type { Detector } from "./index.ts";
import { hasAny, hasWord } from "./prefilter.ts";

interface Rule {
  readonly rule: string;
  /** A regular expression, or alternatives tried one by one (see anyOf). */
  readonly pattern: { test(text: string): boolean };
  readonly message: string;
  /** False only when the pattern cannot match the text: a character or word every match holds is missing. */
  readonly may: (text: string) => boolean;
}

/**
 * The alternation `a|b|…` of `alternatives`, as a test: each alternative runs only when its own
 * prefilter lets it, so prose that has a quote but no `--` runs only the alternatives that need a
 * quote. The alternation matches exactly when one alternative does (none holds a capturing group
 * another refers to), so the rule finds what the single pattern found.
 */
function anyOf(flags: string, ...alternatives: readonly [source: string, may: (text: string) => boolean][]): Rule["pattern"] {
  const tests = alternatives.map(([source, may]) => ({ pattern: new RegExp(source, flags), may }));
  return { test: (text) => tests.some(({ pattern, may }) => may(text) && pattern.test(text)) };
}

/**
 * Rules in order; each is reported once. Every gap is bounded (`{0,8}`), so matching stays linear in the text.
 * `forms` are distinct (a repeated form could add nothing), and a rule runs only on forms it may match.
 */
function scan(detector: DetectorName, rules: readonly Rule[], forms: readonly string[]): Finding[] {
  const findings: Finding[] = [];
  for (const { rule, message, pattern, may } of rules)
    if (forms.some((form) => may(form) && pattern.test(form))) findings.push({ detector, rule, message });
  return findings;
}

// ---- SQL ------------------------------------------------------------------------------------------

/**
 * A keyword alone is never enough ("Select the best option", "union of sets", "drop me a line"):
 * each rule needs a quote, a comment, a statement after `;`, or a function call only SQL has.
 */
const SQL_RULES: readonly Rule[] = [
  {
    rule: "tautology",
    pattern: anyOf(
      "i",
      // A quote closes the literal, then OR and an operand: ' or 1=1, 'or''=', ") or true--
      [String.raw`['"\x60]\s{0,8}\){0,4}\s{0,8}(?:or|xor|\|\|)(?![a-z])\s{0,8}\({0,4}\s{0,8}(?:''|""|true\b|false\b|not\b|\d)`, (t) => hasAny(t, "'\"`")],
      // An operand compared with itself: or 1=1, or 'x'='x, ') or ('x')=('x
      [
        String.raw`(?:^|[^a-z0-9_])(?:or|xor|and)\s{1,8}\({0,4}\s{0,8}(['"]?)([a-z0-9_.]{1,20})\1\s{0,8}\){0,4}\s{0,8}(?:=|like\s)\s{0,8}\({0,4}\s{0,8}\1\2(?![a-z0-9_.])`,
        (t) => t.includes("=") || (hasWord(t, "ke") && hasWord(t, "like")),
      ],
      [String.raw`(?:^|[^a-z0-9_])or\s{1,8}true\s{0,8}(?:--|#|\/\*)`, (t) => (t.includes("#") || t.includes("--") || t.includes("/*")) && hasWord(t, "true")],
    ),
    message: "The text contains an always-true SQL condition after a closed string.",
    // Each alternative has its own; this is their union, so a form with none of them costs nothing further.
    may: (t) => hasAny(t, "'\"`=#") || t.includes("--") || t.includes("/*") || (hasWord(t, "ke") && hasWord(t, "like")),
  },
  {
    rule: "string-concat",
    pattern: /['"]\s{0,8}\|\|\s{0,8}['"]/,
    message: "The text closes a SQL string and concatenates onto it.",
    may: (t) => t.includes("||"),
  },
  {
    rule: "comment-after-quote",
    // The rest of the query is commented out right after a closed literal: admin' --, admin'#, admin'/*
    pattern: /(?:^|[a-z0-9_)])\s{0,8}['"]\s{0,8}\){0,4}\s{0,8};?\s{0,8}(?:(?:--|#)\s{0,8}$|\/\*)/i,
    message: "The text closes a SQL string and comments out the rest of the query.",
    // A quote, and `/*`, or `--` or `#` ending the text (`$` is the end of the input: there is no `m` flag).
    may: (t) => hasAny(t, "'\"") && (t.includes("/*") || endsWithLineComment(t)),
  },
  {
    rule: "operator-between-quotes",
    // The whole value is one operator in quotes: inside '<value>' it makes ''-'' (an expression), not a string.
    pattern: /^\s{0,8}(['"])\s{0,8}[-+*/%&|^]\s{0,8}\1\s{0,8}$/,
    message: "The text is a SQL operator between quotes, which joins the two halves of the surrounding string.",
    may: (t) => hasAny(t, "'\""),
  },
  {
    rule: "union-select",
    pattern: /\bunion(?:\s{1,8}(?:all|distinct))?(?:\s{1,8}|\s{0,8}\(\s{0,8})select\b/i,
    message: "The text contains UNION SELECT, which appends a query of the attacker's.",
    may: (t) => hasWord(t, "union"),
  },
  {
    rule: "stacked-query",
    pattern: new RegExp(
      [
        // Statements no sentence contains, after any `;`
        String.raw`;\s{0,8}(?:drop\s{1,8}(?:table|database|schema|view|index|user|procedure|function)\b|truncate\s{1,8}table\b|exec(?:ute)?\s{1,8}(?:xp_|sp_|master\.|@)|declare\s{1,8}@|shutdown\s{0,8}(?:--|#|;|$))`,
        // Statements prose can resemble ("finish; delete from the draft"), only after a closed literal, a paren or a number
        String.raw`['")\d]\s{0,8};\s{0,8}(?:delete\s{1,8}from|insert\s{1,8}into|update\s{1,8}[\w."\x60\[\]]{1,64}\s{1,8}set|select\s[^;]{0,200}?\bfrom|(?:create|alter)\s{1,8}(?:table|user|database|login)|grant\s)\b`,
      ].join("|"),
      "i",
    ),
    message: "The text ends one SQL statement and starts another.",
    // Both branches hold the `;`.
    may: (t) => t.includes(";"),
  },
  {
    rule: "time-based",
    pattern: /(?<![a-z0-9_])(?:sleep|pg_sleep|benchmark)\(\s{0,8}\d|waitfor\s{1,8}delay\s{0,8}['"]|dbms_lock\.sleep|dbms_pipe\.receive_message/i,
    message: "The text contains a SQL delay function used for blind injection.",
    // `sleep(` or `benchmark(`, a quote after waitfor delay, or `dbms_lock.sleep`, `dbms_pipe…`.
    may: (t) => hasAny(t, "('\"_") && hasWord(t, "sleep", "benchmark", "waitfor", "dbms_pipe"),
  },
  {
    rule: "schema-probe",
    pattern: /\binformation_schema\b|@@version\b|\bsysobjects\b|\bsqlite_master\b|\bmysql\.user\b/i,
    message: "The text reads the database's catalogue or version.",
    may: (t) => hasAny(t, "_@") || hasWord(t, "ysobjects", "ysql.user"),
  },
  {
    rule: "xp-cmdshell",
    pattern: /\bxp_cmdshell\b/i,
    message: "The text calls xp_cmdshell, which runs operating-system commands from SQL Server.",
    may: (t) => t.includes("_"),
  },
  {
    rule: "file-access",
    pattern: /\bload_file\s{0,8}\(|\binto\s{1,8}(?:out|dump)file\b/i,
    message: "The text reads or writes server files through SQL.",
    // `load_file(`, or into outfile or dumpfile.
    may: (t) => t.includes("_") || (hasWord(t, "file") && hasWord(t, "outfile", "dumpfile")),
  },
  {
    rule: "executable-comment",
    pattern: /\/\*!\d{0,6}/,
    message: "The text contains a MySQL executable comment (/*! ... */).",
    may: (t) => t.includes("/*!"),
  },
];

/** True when `text` ends in `--` or `#` and whitespace (the `\s` that trimEnd removes). */
function endsWithLineComment(text: string): boolean {
  const end = text.trimEnd();
  return end.endsWith("--") || end.endsWith("#");
}

/** Comments as whitespace, so `UNION` + comment + `SELECT` is `UNION SELECT`. */
function uncomment(text: string): string {
  return text.includes("/*") ? text.replace(/\/\*[^]{0,200}?\*\//g, " ") : text;
}

const SQL_DECODERS = [decodePercent, decodeEntities];

function detectSql(text: string): Finding[] {
  const forms = decodedForms(text, SQL_DECODERS);
  for (const form of forms.map(uncomment)) if (!forms.includes(form)) forms.push(form);
  return scan("sql", SQL_RULES, forms);
}

/** The SQL-injection detector; it does not sanitize (a query cannot be repaired by deleting characters). */
export function sqlDetector(): Detector {
  return { name: "sql", detect: detectSql };
}

// ---- Shell ----------------------------------------------------------------------------------------

/**
 * What may follow a separator to make it a command: an absolute or bin/ path, a no-argument probe
 * (`id`, `whoami`) followed by another metacharacter or the end, or a known program followed by an
 * argument that looks like one (a flag, a path, a URL, a number; a host name for network tools). "Tom & Jerry", "salt & pepper" and
 * "cats; cat food" stay prose.
 */
const COMMAND = [
  String.raw`\/?(?:usr\/)?(?:local\/)?s?bin\/[a-z0-9_.+-]{1,32}`,
  String.raw`(?:id|whoami|uname|ifconfig|ipconfig|netstat|hostname|systeminfo|printenv|env|pwd)(?:\s{1,8}-[a-z]{1,8}){0,3}(?=\s{0,8}(?:$|[;|&\x60)'"\n\r<>]))`,
  String.raw`(?:cat|tac|head|tail|more|less|touch|rm|cp|mv|chmod|chown|ls|find|wget|curl|nc|ncat|netcat|socat|telnet|bash|sh|zsh|ksh|dash|python[23]?|perl|ruby|php|node|ping|sleep|nslookup|dig|kill|ps|echo|printf|base64|xxd|nohup|sudo|su|mkfifo|crontab|tftp|ftp|ssh|scp|powershell|pwsh|cmd(?:\.exe)?|certutil|whoami|uname|id)\s{1,8}(?:-|\/|~|\.{1,2}\/|\$|https?:|\d|['"]\/)`,
  String.raw`(?:nc|ncat|netcat|socat|telnet|ssh|ping|nslookup|dig|wget|curl)\s{1,8}[a-z0-9-]{1,63}\.[a-z]`,
].join("|");

const SHELL_RULES: readonly Rule[] = [
  {
    rule: "command-separator",
    pattern: new RegExp(String.raw`(?:;|&&?|\|\|)\s{0,8}(?:${COMMAND})`, "i"),
    message: "The text ends a command with ;, & or || and starts another.",
    may: (t) => hasAny(t, ";&") || t.includes("||"),
  },
  {
    rule: "pipe-command",
    pattern: new RegExp(String.raw`(?<!\|)\|\s{0,8}(?:${COMMAND})`, "i"),
    message: "The text pipes into a command.",
    may: (t) => t.includes("|"),
  },
  {
    rule: "newline-command",
    pattern: new RegExp(String.raw`[\n\r]\s{0,8}(?:${COMMAND})`, "i"),
    message: "The text starts a command on a new line.",
    may: (t) => hasAny(t, "\n\r"),
  },
  {
    rule: "command-substitution",
    pattern: new RegExp(String.raw`(?:\$\(|\x60)\s{0,8}(?:${COMMAND})`, "i"),
    message: "The text substitutes a command's output with $(...) or backticks.",
    may: (t) => t.includes("$(") || t.includes("`"),
  },
  {
    rule: "ifs-evasion",
    pattern: /\$\{?IFS\}?/,
    message: "The text uses $IFS to write a command without spaces.",
    may: (t) => t.includes("IFS"),
  },
  {
    rule: "dev-tcp",
    pattern: /\/dev\/(?:tcp|udp)\//i,
    message: "The text redirects to or from a /dev/tcp network socket.",
    may: (t) => t.includes("/") && hasWord(t, "/dev/"),
  },
  {
    rule: "payload-command",
    pattern: anyOf(
      "i",
      [String.raw`\b(?:cat|more|less|head|tail|type)\s{1,8}[^\s;|&]{0,64}\/etc\/(?:passwd|shadow)\b`, (t) => t.includes("/") && hasWord(t, "/etc/")],
      [String.raw`\b(?:wget|curl)\s[^\n|;&]{0,200}?\|\s{0,8}(?:sudo\s{1,8})?(?:ba|z|k|da)?sh\b`, (t) => t.includes("|") && hasWord(t, "wget", "curl")],
      [
        String.raw`\bn(?:c|cat|etcat)(?:\s[^\n;|&]{0,100}?)?\s-[a-z]{0,4}[ec]\s{1,8}(?:\/|(?:ba|z|k|da)?sh\b|cmd\b|powershell\b)`,
        (t) => t.includes("-") && hasWord(t, "nc", "netcat"),
      ],
      [String.raw`\b(?:ba|z|k)?sh\s{1,8}-i\b`, (t) => t.includes("-") && hasWord(t, "-i")],
      [String.raw`\brm\s{1,8}-[a-z]{0,4}(?:rf|fr)`, (t) => t.includes("-") && hasWord(t, "rm")],
      [String.raw`\bmkfifo\s`, (t) => hasWord(t, "fifo")],
      [String.raw`\(\)\s{0,8}\{[^}]{0,40}\}\s{0,8};`, (t) => t.includes("()")],
      [
        String.raw`\b(?:system|exec|popen|passthru|shell_exec|spawn)\s{0,8}\(\s{0,8}['"\x60]\s{0,8}(?:${COMMAND})`,
        (t) => t.includes("(") && hasAny(t, "'\"`") && hasWord(t, "system", "exec", "popen", "passthru", "spawn"),
      ],
    ),
    message: "The text contains a command typical of attack payloads (reading password files, reverse shells, deleting trees).",
    // Each alternative holds `/`, `|`, `-` or `(`, except `mkfifo`; each has its own, finer prefilter too.
    may: (t) => hasAny(t, "/|-(") || hasWord(t, "fifo"),
  },
  {
    rule: "ssi-exec",
    pattern: /<!--#\s{0,8}(?:exec|include|echo|config|set)\b/i,
    message: "The text contains a server-side include directive.",
    may: (t) => t.includes("<!--#"),
  },
];

/** Literal `\n`, `\r`, `\t` as the characters: arguments are often escaped twice on their way through templates. */
function unescapeControls(text: string): string {
  if (!text.includes("\\")) return text;
  return text.replace(/\\([nrt])/g, (_m, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : "\t"));
}

/**
 * Markdown table rows (`| id | name |`) with their pipes blanked: a cell named like a command is a
 * column, not a pipe. The tradeoff: a payload dressed as a padded table row is not seen as a pipe
 * (its `;`, `$(...)` and backticks still are); unpadded `|id|` is still a pipe.
 */
function blankTableRows(text: string): string {
  if (!text.includes("|")) return text;
  return text.replace(/^[ \t]{0,8}\|(?:[^|\n]{0,200}\|){2,}[ \t]{0,8}$/gm, (row) => (row.includes(" | ") ? row.replace(/\|/g, " ") : row));
}

const SHELL_DECODERS = [decodePercent, decodeEntities, unescapeControls];

function detectShell(text: string): Finding[] {
  const forms: string[] = [];
  for (const form of decodedForms(text, SHELL_DECODERS).map(blankTableRows)) if (!forms.includes(form)) forms.push(form);
  return scan("shell", SHELL_RULES, forms);
}

/** The shell-injection detector; it does not sanitize (quoting belongs to whoever builds the command line). */
export function shellDetector(): Detector {
  return { name: "shell", detect: detectShell };
}
