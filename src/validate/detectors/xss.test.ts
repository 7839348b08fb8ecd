// The XSS detector: each rule on its own, the encodings it sees through, what it leaves alone, and its allow-list repair.
import { describe, expect, it } from "vitest";
import { xssDetector } from "./xss.ts";

const xss = xssDetector();
const rules = (text: string): string[] => xss.detect(text).map((f) => f.rule);

describe("xssDetector: rules", () => {
  const cases: [rule: string, text: string][] = [
    ["dangerous-tag", "<script>alert(1)</script>"],
    ["dangerous-tag", "<IFRAME SRC=x></iframe>"],
    ["dangerous-tag", "</ScRiPt/"],
    ["dangerous-tag", "<svg/onload=alert(1)>"],
    ["dangerous-tag", "<math><mi>x</mi></math>"],
    ["dangerous-tag", "<object data=x>"],
    ["dangerous-tag", "<embed src=x>"],
    ["event-handler", "<img src=x onerror=alert(1)>"],
    ["event-handler", "<x onxxx=1"],
    ["event-handler", "<img src='1' onerror/=alert(0) />"],
    ["event-handler", '" onfocus=alert(1) autofocus x="'],
    ["event-handler", '"autofocus/onfocus=alert(1)//'],
    ["script-url", "<a href=javascript:alert(1)>x</a>"],
    ["script-url", "JaVaScRiPt:alert(1)"],
    ["script-url", "<img src='vbscript:msgbox(1)'>"],
    ["script-url", 'background: url( "javascript:alert(1)")'],
    ["data-html-url", "data:text/html;base64,PHNjcmlwdD4="],
    ["data-html-url", "data:image/svg+xml,<svg/>"],
    ["meta-http-equiv", '<META HTTP-EQUIV="refresh" CONTENT="0;url=https://evil.example">'],
    ["meta-http-equiv", '<meta/content="0;url=x"http-equiv=refresh>'],
    ["style-expression", '<div style="width: expression(alert(1));">'],
    ["style-expression", "xss:expr/*comment*/ession(alert(1))"],
    ["srcdoc", "<iframe srcdoc='&lt;b&gt;'>"],
    ["js-entity", '<br size="&{alert(1)}">'],
    ["js-breakout", "';alert(String.fromCharCode(88,83,83))//"],
    ["js-breakout", "'-alert(1)-'"],
  ];
  for (const [rule, text] of cases) {
    it(`${rule}: ${JSON.stringify(text)}`, () => {
      expect(rules(text)).toContain(rule);
    });
  }

  it("reports every finding as the xss detector, with a one-sentence message", () => {
    for (const f of xss.detect("<script>x</script><img onerror=y>")) {
      expect(f.detector).toBe("xss");
      expect(f.message).toMatch(/^The text [^.]+\.$/);
    }
  });
});

describe("xssDetector: encodings and normalization", () => {
  it("sees full-width and zero-width-split payloads (normalizeForMatching first)", () => {
    expect(rules("＜ｓｃｒｉｐｔ＞alert(1)＜/ｓｃｒｉｐｔ＞")).toContain("dangerous-tag");
    expect(rules("<a href=java\u200Bscript:alert(1)>")).toContain("script-url");
    expect(rules("<a href=java\u2060scr\uFEFFipt:alert(1)>")).toContain("script-url");
  });

  it("sees schemes split by tabs, newlines and control characters, as the URL parser drops them", () => {
    expect(rules('<img src="jav\tascript:alert(1)">')).toContain("script-url");
    expect(rules('<img src="jav&#x0A;ascript:alert(1)">')).toContain("script-url");
    expect(rules('<div style="background:url(&#1;javascript:alert(1))">')).toContain("script-url");
  });

  it("decodes entities (named, decimal, hex, zero-padded, without semicolons) and reports the hiding", () => {
    for (const text of [
      "&lt;script&gt;alert(1)&lt;/script&gt;",
      "&#60;script&#62;",
      "&#x3c;svg onload=alert(1)&#x3e;",
      "<IMG SRC=&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)>",
    ]) {
      const found = rules(text);
      expect(found, text).toContain("encoded-markup");
      expect(found.length, text).toBeGreaterThan(1);
    }
  });

  it("decodes percent-encoding once and twice, and JavaScript escapes", () => {
    expect(rules("%3Cscript%3E")).toEqual(["dangerous-tag", "encoded-markup"]);
    expect(rules("%253Csvg%253E")).toEqual(["dangerous-tag", "encoded-markup"]);
    expect(rules("\\x3cscript\\x3e")).toEqual(["dangerous-tag", "encoded-markup"]);
  });
});

describe("xssDetector: what it leaves alone", () => {
  const benign = [
    "Use the <b>bold</b> and <i>italic</i> tags, or <a href=\"https://example.com\">a link</a>.",
    "<img src=\"https://example.com/cat.png\" alt=\"a cat\">",
    "x < y and y > z; I <3 you",
    "JavaScript: The Good Parts",
    "Tom & Jerry, AT&T, R&D",
    "Online = true means reachable; once = 1 means run once.",
    "The expression (a + b) * c is evaluated left to right.",
    "John Smith <john@example.com>",
    "https://example.com/search?q=data&lang=en",
    "He said 'yes' - and left.",
  ];
  for (const text of benign) it(JSON.stringify(text), () => expect(xss.detect(text)).toEqual([]));
});

describe("xssDetector: sanitize", () => {
  const sanitize = (text: string): string => {
    if (xss.sanitize === undefined) throw new Error("xssDetector has no sanitize");
    return xss.sanitize(text);
  };

  it("keeps allow-listed markup and drops script, handlers and script URLs", () => {
    expect(sanitize("<b>hi</b> <script>alert(1)</script>there")).toBe("<b>hi</b> there");
    expect(sanitize('<img src="https://example.com/a.png" onerror="alert(1)">')).toBe('<img src="https://example.com/a.png">');
    expect(sanitize('<a href="javascript:alert(1)">x</a>')).toBe("<a href>x</a>");
  });

  it("leaves text without markup as it is", () => {
    for (const text of ["Plain text, 3 < 4.", "Tom & Jerry", "O'Reilly"]) expect(xss.detect(sanitize(text))).toEqual([]);
    expect(sanitize("Plain text")).toBe("Plain text");
  });

  it("repairs payloads hidden behind encodings, unclosed tags and plain-text script URLs until nothing is found", () => {
    for (const text of [
      "&lt;script&gt;alert(1)&lt;/script&gt;",
      "%253Cscript%253Ealert(1)",
      '<script src="data:&comma;alert(1)//',
      "<scr<script>ipt>alert(1)</scr</script>ipt>",
      "javascript:alert(document.cookie)",
      '"onmouseover=alert(1)//',
      "＜ｓｃｒｉｐｔ＞alert(1)",
    ]) {
      const repaired = sanitize(text);
      expect(xss.detect(repaired), `${text} → ${repaired}`).toEqual([]);
    }
  });
});

/**
 * Each rule runs only on forms holding a character every match needs (a prefilter, asked once for a
 * form and its tidied form). These payloads show that character only after decoding, or spell their
 * keyword only once tidying has removed a control character or a comment.
 */
describe("prefilters skip no match", () => {
  const cases: [rules: string[], text: string][] = [
    [["dangerous-tag", "encoded-markup"], "%3Cscript%3Ealert(1)%3C/script%3E"],
    [["dangerous-tag", "event-handler", "encoded-markup"], "&#x3C;svg onload=alert(1)&#x3E;"],
    [["dangerous-tag", "encoded-markup"], "\\u003cscript\\u003e"],
    [["dangerous-tag"], "＜ｓｃｒｉｐｔ＞"],
    [["js-entity"], '<br size="&\n{alert(1)}">'],
    [["script-url"], "jav\tascript:alert(1)"],
    [["script-url", "encoded-markup"], "java&#x0A;script:alert(1)"],
    [["style-expression"], 'style="x:expr/**/ession(alert(1))"'],
    [["js-breakout"], "a=\u2019;alert(1)//"],
    [["data-html-url"], "DATA:TEXT/HTML;base64,PHNjcmlwdD4="],
    [["meta-http-equiv"], '<META HTTP-EQUIV="refresh" content="0;url=x">'],
    [["dangerous-tag", "srcdoc"], '<iframe SRCDOC="x">'],
  ];
  for (const [rules, text] of cases) it(`${rules.join(", ")}: ${JSON.stringify(text)}`, () => expect(xss.detect(text).map((f) => f.rule)).toEqual(rules));
});
