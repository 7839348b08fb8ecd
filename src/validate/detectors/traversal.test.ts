// The traversal detector: `..` under every encoding the payload lists use, NUL bytes, and roots for absolute paths.
import { describe, expect, it } from "vitest";
import { canonicalPath, traversalDetector } from "./traversal.ts";

const traversal = traversalDetector();
const rules = (text: string, roots?: readonly string[]): string[] =>
  (roots === undefined ? traversal : traversalDetector({ roots })).detect(text).map((f) => f.rule);

describe("traversalDetector: dot-dot segments", () => {
  const plain = ["../etc/passwd", "..\\..\\windows\\win.ini", "a/b/../../c", "/var/www/..", "..", "....//....//etc/passwd", "..;/admin", "/\\../x", "cd ../../etc", 'open("../secret")', "path=../x"];
  for (const text of plain) it(`dot-dot: ${JSON.stringify(text)}`, () => expect(rules(text)).toEqual(["dot-dot"]));

  const encoded = [
    "%2e%2e%2fetc%2fpasswd",
    "%2e%2e/",
    "%252e%252e%252f",
    "..%c0%afetc",
    "..%c1%9cwindows",
    "%c0%ae%c0%ae/",
    "%u002e%u002e/",
    "%uff0e%uff0e/",
    "..%u2215etc",
    "0x2e0x2e/",
    "%%32%65%%32%65/",
    "&#46;&#46;/",
  ];
  for (const text of encoded) it(`encoded-dot-dot: ${JSON.stringify(text)}`, () => expect(rules(text)).toEqual(["encoded-dot-dot"]));

  it("sees full-width dots and solidi after NFKC, and zero-width splits", () => {
    expect(rules("．．／etc／passwd")).toEqual(["dot-dot"]);
    expect(rules(".\u200B./etc")).toEqual(["dot-dot"]);
  });

  const benign = ["Loading...", "...", "notes..txt", "See https://docs.example.com/guide/... for details", "./src/index.ts", "a.b.c", "/home/alice/x.txt", "v1..v2 range", "Wait .. what?", "to be continued ...", "Hmm..\nOK ..."];
  for (const text of benign) it(`leaves alone: ${JSON.stringify(text)}`, () => expect(rules(text)).toEqual([]));
});

describe("traversalDetector: NUL bytes", () => {
  it("finds raw and percent-encoded NUL, once or twice encoded", () => {
    expect(rules("report.pdf\0.png")).toEqual(["nul-byte"]);
    expect(rules("/etc/passwd%00.jpg")).toEqual(["nul-byte"]);
    expect(rules("http://a/%%30%30")).toEqual(["nul-byte"]);
    expect(rules("../../etc/passwd%00")).toEqual(["dot-dot", "nul-byte"]);
  });
});

describe("traversalDetector: roots", () => {
  const roots = ["/srv/data", "C:\\Users\\alice", "\\\\fileserver\\share"];

  it("is silent about absolute paths when no roots are configured", () => {
    for (const text of ["/etc/passwd", "C:\\boot.ini", "file:///etc/shadow", "\\\\host\\c$\\x"]) expect(rules(text)).toEqual([]);
  });

  it("accepts paths inside a root, however they are spelled", () => {
    for (const text of ["/srv/data", "/srv/data/reports/q1.csv", "/srv/data/./a/b", "c:/users/ALICE/notes.txt", "file:///srv/data/x", "\\\\FileServer\\share\\doc.txt", "relative/path.txt"])
      expect(rules(text, roots), text).toEqual([]);
  });

  it("reports absolute paths that resolve outside every root", () => {
    for (const text of ["/etc/passwd", "/srv/database/x", "C:\\Windows\\win.ini", "D:\\Users\\alice", "file:///etc/shadow", "file:///C:/boot.ini", "\\\\evil\\share\\x", "/srv/data%2f..%2f..%2fetc"])
      expect(rules(text, roots), text).toContain("outside-root");
  });

  it("resolves `..` before comparing, so it cannot climb out of a root", () => {
    expect(rules("/srv/data/../../etc/passwd", roots)).toEqual(["dot-dot", "outside-root"]);
    expect(rules("C:\\Users\\alice\\..\\bob", roots)).toEqual(["dot-dot", "outside-root"]);
  });

  it("refuses a root that is not absolute (fails at start-up, not per call)", () => {
    expect(() => traversalDetector({ roots: ["data"] })).toThrow(TypeError);
  });

  it("canonicalizes POSIX, drive, UNC and file: forms", () => {
    expect(canonicalPath("/a/./b/../c/")).toBe("/a/c");
    expect(canonicalPath("C:\\A\\b\\..\\C")).toBe("c:/a/c");
    expect(canonicalPath("\\\\Host\\Share\\x\\..\\y")).toBe("//host/share/y");
    expect(canonicalPath("file:///C:/x")).toBe("c:/x");
    expect(canonicalPath("file://localhost/etc/x")).toBe("/etc/x");
    expect(canonicalPath("relative")).toBeUndefined();
  });
});

describe("traversalDetector", () => {
  it("finds `..` that shows only after best-fit mapping, decoding or NFKC", () => {
    expect(traversal.detect("0x2e0x2e/etc/passwd").map((f) => f.rule)).toEqual(["encoded-dot-dot"]);
    expect(traversal.detect("..\u2215etc").map((f) => f.rule)).toEqual(["encoded-dot-dot"]);
    expect(traversal.detect("．．／etc").map((f) => f.rule)).toEqual(["dot-dot"]);
  });

  it("has no sanitize: a path with `..` removed names some other file", () => {
    expect(traversal.sanitize).toBeUndefined();
  });

  it("never quotes the path in its messages", () => {
    for (const f of traversalDetector({ roots: ["/srv"] }).detect("/etc/passwd%00/../x")) expect(f.message).not.toContain("passwd");
  });
});
