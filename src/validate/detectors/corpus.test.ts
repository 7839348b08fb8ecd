// The detectors against outside corpora: penetration testers' payload lists (detection rates) and ordinary text (no findings).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { promptInjectionDetector, secretsDetector, shellDetector, sqlDetector, traversalDetector, xssDetector } from "./index.ts";
import type { Detector } from "./index.ts";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** swisskyrepo/PayloadsAllTheThings @ f9fa514 (MIT), copied into test/vectors/payloads (see its README). */
const VECTORS = path.resolve(repoRoot, "test/vectors");

/** The payloads of one list: every non-empty line that is not a comment. Fails, never skips, when the list is missing. */
function payloads(file: string): string[] {
  const full = path.join(VECTORS, "payloads", file);
  if (!existsSync(full))
    throw new Error(`payload list ${full} not found`);
  return readFileSync(full, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"));
}

const flagged = (detector: Detector, texts: readonly string[]): string[] => texts.filter((t) => detector.detect(t).length > 0);
const rate = (detector: Detector, texts: readonly string[]): number => flagged(detector, texts).length / texts.length;

interface ListCase {
  file: string;
  detector: Detector;
  /** The rate asserted: the measured rate, rounded down. */
  min: number;
  /** What was measured, and why the rest is not flagged. */
  why: string;
}

const ROOTS = ["/srv/data"];

const LISTS: ListCase[] = [
  { file: "xss-brutelogic.txt", detector: xssDetector(), min: 1, why: "110/110" },
  { file: "xss-intruders.txt", detector: xssDetector(), min: 1, why: "179/179" },
  { file: "xss-polyglots.txt", detector: xssDetector(), min: 1, why: "16/16" },
  {
    file: "xss-rsnake.txt",
    detector: xssDetector(),
    min: 0.93,
    why: "68/73: the five left are halves of multi-line payloads, harmless alone (`a=\"get\";`, `<HTML><BODY>`, `<? echo('<SCR)';`, a CSS fragment, and a line cut inside `&#106;` so it spells `avascript:`)",
  },
  { file: "sqli-auth-bypass.txt", detector: sqlDetector(), min: 0.97, why: "76/78: `' '` and `\" \"` (a quoted space) are ordinary values" },
  {
    file: "sqli-generic-fuzz.txt",
    detector: sqlDetector(),
    min: 0.41,
    why: "5/12: `1`, `1'`, `1\"`, `[1]`, `1\\``, `1\\` and `1/*'*/` are error-provoking probes with no injected structure; flagging a lone quote would flag O'Reilly",
  },
  { file: "sqli-polyglots.txt", detector: sqlDetector(), min: 1, why: "2/2" },
  { file: "command-injection-unix.txt", detector: shellDetector(), min: 0.98, why: "82/83: `|nid\\n` pipes into `nid`, which is no command (a typo in the list)" },
  {
    file: "traversal-exotic-encoding.txt",
    detector: traversalDetector(),
    min: 0.98,
    why: "871/887 without roots: the 16 left (`/./\\/./{FILE}`, `/.\\/\\.\\{FILE}` …) have `.` segments only and name `/{FILE}`, absolute, not a traversal",
  },
  { file: "traversal-exotic-encoding.txt", detector: traversalDetector({ roots: ROOTS }), min: 1, why: "887/887 with roots: the absolute `/{FILE}` lies outside them" },
  {
    file: "traversal.txt",
    detector: traversalDetector(),
    min: 0.85,
    why: "119/140 without roots: 13 are absolute paths with no `..` (`C:\\boot.ini`, `/./././etc/passwd`, `%0a/bin/cat /etc/passwd`), findings only against roots; 8 as below",
  },
  {
    file: "traversal.txt",
    detector: traversalDetector({ roots: ROOTS }),
    min: 0.94,
    why: "132/140 with roots: the 8 left are relative paths without `..` (`.htaccess`, `././.htaccess` and encodings of them, `.\\\\./.\\\\./etc/passwd`), which stay below the root",
  },
];

describe("payload lists (PayloadsAllTheThings)", () => {
  for (const { file, detector, min, why } of LISTS) {
    it(`${detector.name} finds ≥ ${min * 100}% of ${file} (${why.split(":")[0]})`, () => {
      expect(rate(detector, payloads(file))).toBeGreaterThanOrEqual(min);
    });
  }

  it("xss: sanitize leaves no finding in any payload of the xss lists", () => {
    const xss = xssDetector();
    for (const file of ["xss-brutelogic.txt", "xss-intruders.txt", "xss-polyglots.txt", "xss-rsnake.txt"]) {
      for (const line of payloads(file)) {
        const repaired = xss.sanitize?.(line) ?? line;
        expect(xss.detect(repaired), `${file}: ${line} → ${repaired}`).toEqual([]);
      }
    }
  });
});

/** Ordinary arguments: sentences, names, prices, paths, addresses, JSON, markdown. No detector may find anything. */
const BENIGN: readonly string[] = [
  "Select the best option from the menu.",
  "I'll update you tomorrow; drop me a line if anything changes.",
  "The union of two sets contains every element of either set.",
  "Tim O'Reilly founded O'Reilly Media; ask Sinéad O'Connor's agent.",
  "In Boolean algebra it's 1=1 in math, and that's fine.",
  "Tom & Jerry is a classic cartoon.",
  "| id | name | role |\n| --- | --- | --- |\n| 1 | Alice | admin |\n| 2 | Bob | ops |",
  "In the truth table, a | b is true when either input is.",
  "The price: $5, or $4.50 with the coupon (that's 10% off).",
  "Meet me at 10:30 to discuss Q&A, R&D and M&A with AT&T.",
  "Please email jane.doe+news@example.com or call +1 (555) 010-0199.",
  "https://example.com/search?q=union+station&lang=en&page=2&online=true",
  "/home/alice/projects/report-2024.pdf",
  "C:\\Users\\alice\\Documents\\budget.xlsx",
  "./src/index.ts",
  '{"name": "Alice", "age": 30, "tags": ["admin", "ops"], "online": true}',
  '{"query": "coffee shops near me", "limit": 10, "password_min_length": 12}',
  "# Release notes\n\n- Faster startup\n- **Bold** claims, _italic_ hedges\n\n> Quoted wisdom.",
  "Loading... please wait...",
  "See https://docs.example.com/guide/... for the details.",
  "JavaScript: The Good Parts is a short book.",
  'Use the <b>bold</b> and <i>italic</i> tags, or <a href="https://example.com">a link</a>.',
  "x < y and y > z, so x < z; <3",
  "You are now subscribed to the weekly newsletter.",
  "Please ignore the typo in my previous message.",
  "Our system prompts users to change passwords every 90 days.",
  "The password must be at least 12 characters long.",
  "Set the secret santa budget to $20.",
  "max_tokens=4096, temperature=0.7, top_p=1",
  "Today's menu: fish & chips, salt & pepper squid, and cat-shaped cookies.",
  "The expression (a + b) * c is evaluated left to right.",
  "I'm 100% sure the meeting is at 3pm.",
  "Dear team, the Q3 report is attached. Best, Sam",
  "Café, naïve, résumé, and ﬁne typography ﬂows.",
  "Emoji are fine: 👍🏽 ❤️ 👨‍👩‍👧 🇺🇸 1️⃣ 🏴󠁧󠁢󠁳󠁣󠁴󠁿",
  "The ratio was 3:1 and the final score 2-1.",
  "Call me at 9; I'm free until noon. Sleep (8 hours) matters.",
  "Order #12345 ships Monday; tracking 1Z999AA10123456784.",
  "Don't tell anyone about the surprise party!",
  "Weather: sunny | Wind: 5 km/h | Humidity: 40%",
  "It's a rock & roll show; cats & dogs welcome, and the dog & cat food is free.",
  "The sk-learn package and the AKIA prefix are documented elsewhere.",
  "Files: notes..txt, archive.tar.gz, photo.jpeg",
  "Online = true means the device is reachable; once = 1 means run once.",
  "Go to Settings > Privacy > Location and choose 'Only while using'.",
];

const ALL: readonly Detector[] = [
  xssDetector(),
  sqlDetector(),
  shellDetector(),
  traversalDetector(),
  traversalDetector({ roots: ["/home/alice", "C:\\Users\\alice"] }),
  secretsDetector(),
  promptInjectionDetector(),
];

describe("ordinary text", () => {
  for (const detector of ALL) {
    it(`${detector.name}: no finding in ${BENIGN.length} ordinary arguments`, () => {
      expect(flagged(detector, BENIGN)).toEqual([]);
    });
  }
});
