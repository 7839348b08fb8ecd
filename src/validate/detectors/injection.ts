// SQL and shell injection: text that changes a query's or a command line's structure, told apart from prose by its syntax.
import { decodeEntities, decodePercent, decodedForms } from "./decode.ts";
import type { DetectorName, Finding } from "./finding.ts";
import type { Detector } from "./index.ts";

interface Rule {
  readonly rule: string;
  readonly pattern: RegExp;
  readonly message: string;
}

/** Rules in order; each is reported once. Every gap is bounded (`{0,8}`), so matching stays linear in the text. */
function scan(detector: DetectorName, rules: readonly Rule[], forms: readonly string[]): Finding[] {
  return rules
    .filter(({ pattern }) => forms.some((form) => pattern.test(form)))
    .map(({ rule, message }) => ({ detector, rule, message }));
}

// ---- SQL ------------------------------------------------------------------------------------------

/**
 * A keyword alone is never enough ("Select the best option", "union of sets", "drop me a line"):
 * each rule needs a quote, a comment, a statement after `;`, or a function call only SQL has.
 */
const SQL_RULES: readonly Rule[] = [
  {
    rule: "tautology",
    pattern: new RegExp(
      [
        // A quote closes the literal, then OR and an operand: ' or 1=1, 'or''=', ") or true--
        String.raw`['"\x60]\s{0,8}\){0,4}\s{0,8}(?:or|xor|\|\|)(?![a-z])\s{0,8}\({0,4}\s{0,8}(?:''|""|true\b|false\b|not\b|\d)`,
        // An operand compared with itself: or 1=1, or 'x'='x, ') or ('x')=('x
        String.raw`(?:^|[^a-z0-9_])(?:or|xor|and)\s{1,8}\({0,4}\s{0,8}(['"]?)([a-z0-9_.]{1,20})\1\s{0,8}\){0,4}\s{0,8}(?:=|like\s)\s{0,8}\({0,4}\s{0,8}\1\2(?![a-z0-9_.])`,
        String.raw`(?:^|[^a-z0-9_])or\s{1,8}true\s{0,8}(?:--|#|\/\*)`,
      ].join("|"),
      "i",
    ),
    message: "The text contains an always-true SQL condition after a closed string.",
  },
  {
    rule: "string-concat",
    pattern: /['"]\s{0,8}\|\|\s{0,8}['"]/,
    message: "The text closes a SQL string and concatenates onto it.",
  },
  {
    rule: "comment-after-quote",
    // The rest of the query is commented out right after a closed literal: admin' --, admin'#, admin'/*
    pattern: /(?:^|[a-z0-9_)])\s{0,8}['"]\s{0,8}\){0,4}\s{0,8};?\s{0,8}(?:(?:--|#)\s{0,8}$|\/\*)/i,
    message: "The text closes a SQL string and comments out the rest of the query.",
  },
  {
    rule: "operator-between-quotes",
    // The whole value is one operator in quotes: inside '<value>' it makes ''-'' (an expression), not a string.
    pattern: /^\s{0,8}(['"])\s{0,8}[-+*/%&|^]\s{0,8}\1\s{0,8}$/,
    message: "The text is a SQL operator between quotes, which joins the two halves of the surrounding string.",
  },
  {
    rule: "union-select",
    pattern: /\bunion(?:\s{1,8}(?:all|distinct))?(?:\s{1,8}|\s{0,8}\(\s{0,8})select\b/i,
    message: "The text contains UNION SELECT, which appends a query of the attacker's.",
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
  },
  {
    rule: "time-based",
    pattern: /(?<![a-z0-9_])(?:sleep|pg_sleep|benchmark)\(\s{0,8}\d|waitfor\s{1,8}delay\s{0,8}['"]|dbms_lock\.sleep|dbms_pipe\.receive_message/i,
    message: "The text contains a SQL delay function used for blind injection.",
  },
  {
    rule: "schema-probe",
    pattern: /\binformation_schema\b|@@version\b|\bsysobjects\b|\bsqlite_master\b|\bmysql\.user\b/i,
    message: "The text reads the database's catalogue or version.",
  },
  {
    rule: "xp-cmdshell",
    pattern: /\bxp_cmdshell\b/i,
    message: "The text calls xp_cmdshell, which runs operating-system commands from SQL Server.",
  },
  {
    rule: "file-access",
    pattern: /\bload_file\s{0,8}\(|\binto\s{1,8}(?:out|dump)file\b/i,
    message: "The text reads or writes server files through SQL.",
  },
  {
    rule: "executable-comment",
    pattern: /\/\*!\d{0,6}/,
    message: "The text contains a MySQL executable comment (/*! ... */).",
  },
];

/** Comments as whitespace, so `UNION` + comment + `SELECT` is `UNION SELECT`. */
function uncomment(text: string): string {
  return text.replace(/\/\*[^]{0,200}?\*\//g, " ");
}

function detectSql(text: string): Finding[] {
  const forms = decodedForms(text, [decodePercent, decodeEntities]);
  return scan("sql", SQL_RULES, [...forms, ...forms.map(uncomment)]);
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
  },
  {
    rule: "pipe-command",
    pattern: new RegExp(String.raw`(?<!\|)\|\s{0,8}(?:${COMMAND})`, "i"),
    message: "The text pipes into a command.",
  },
  {
    rule: "newline-command",
    pattern: new RegExp(String.raw`[\n\r]\s{0,8}(?:${COMMAND})`, "i"),
    message: "The text starts a command on a new line.",
  },
  {
    rule: "command-substitution",
    pattern: new RegExp(String.raw`(?:\$\(|\x60)\s{0,8}(?:${COMMAND})`, "i"),
    message: "The text substitutes a command's output with $(...) or backticks.",
  },
  {
    rule: "ifs-evasion",
    pattern: /\$\{?IFS\}?/,
    message: "The text uses $IFS to write a command without spaces.",
  },
  {
    rule: "dev-tcp",
    pattern: /\/dev\/(?:tcp|udp)\//i,
    message: "The text redirects to or from a /dev/tcp network socket.",
  },
  {
    rule: "payload-command",
    pattern: new RegExp(
      [
        String.raw`\b(?:cat|more|less|head|tail|type)\s{1,8}[^\s;|&]{0,64}\/etc\/(?:passwd|shadow)\b`,
        String.raw`\b(?:wget|curl)\s[^\n|;&]{0,200}?\|\s{0,8}(?:sudo\s{1,8})?(?:ba|z|k|da)?sh\b`,
        String.raw`\bn(?:c|cat|etcat)(?:\s[^\n;|&]{0,100}?)?\s-[a-z]{0,4}[ec]\s{1,8}(?:\/|(?:ba|z|k|da)?sh\b|cmd\b|powershell\b)`,
        String.raw`\b(?:ba|z|k)?sh\s{1,8}-i\b`,
        String.raw`\brm\s{1,8}-[a-z]{0,4}(?:rf|fr)`,
        String.raw`\bmkfifo\s`,
        String.raw`\(\)\s{0,8}\{[^}]{0,40}\}\s{0,8};`,
        String.raw`\b(?:system|exec|popen|passthru|shell_exec|spawn)\s{0,8}\(\s{0,8}['"\x60]\s{0,8}(?:${COMMAND})`,
      ].join("|"),
      "i",
    ),
    message: "The text contains a command typical of attack payloads (reading password files, reverse shells, deleting trees).",
  },
  {
    rule: "ssi-exec",
    pattern: /<!--#\s{0,8}(?:exec|include|echo|config|set)\b/i,
    message: "The text contains a server-side include directive.",
  },
];

/** Literal `\n`, `\r`, `\t` as the characters: arguments are often escaped twice on their way through templates. */
function unescapeControls(text: string): string {
  return text.replace(/\\([nrt])/g, (_m, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : "\t"));
}

/**
 * Markdown table rows (`| id | name |`) with their pipes blanked: a cell named like a command is a
 * column, not a pipe. The tradeoff: a payload dressed as a padded table row is not seen as a pipe
 * (its `;`, `$(...)` and backticks still are); unpadded `|id|` is still a pipe.
 */
function blankTableRows(text: string): string {
  return text.replace(/^[ \t]{0,8}\|(?:[^|\n]{0,200}\|){2,}[ \t]{0,8}$/gm, (row) => (row.includes(" | ") ? row.replace(/\|/g, " ") : row));
}

function detectShell(text: string): Finding[] {
  const forms = decodedForms(text, [decodePercent, decodeEntities, unescapeControls]);
  return scan("shell", SHELL_RULES, forms.map(blankTableRows));
}

/** The shell-injection detector; it does not sanitize (quoting belongs to whoever builds the command line). */
export function shellDetector(): Detector {
  return { name: "shell", detect: detectShell };
}
