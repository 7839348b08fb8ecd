// RFC 6570 template matching for resources/read routing: what each operator may expand to, literal escaping, and time on adversarial URIs.
import { describe, expect, it } from "vitest";
import { compileTemplate } from "./template.ts";

/** [template, URIs it could have produced, URIs it could not]. Expansions follow RFC 6570 §3.2 and its examples (§1.2). */
const CASES: [string, string[], string[]][] = [
  ["test://template/{id}/data", ["test://template/123/data", "test://template//data", "test://template/a%2Fb/data"], ["test://template/1/2/data", "test://template/123/data/", "xtest://template/1/data", "test://template/1/dat", "test://template/1?x/data"]],
  // Simple expansion (§3.2.2): reserved characters are percent-encoded, so no / ? # in a value.
  ["file:///{name}", ["file:///readme.md", "file:///Hello%20World%21", "file:///"], ["file:///a/b", "file:///a?b", "file:///a#b"]],
  // Reserved expansion (§3.2.3): slashes and query characters pass.
  ["file:///{+path}", ["file:///a/b/c.txt", "file:///a?b=c", "file:///"], ["file://a/b"]],
  // Fragment expansion (§3.2.4).
  ["doc://page{#section}", ["doc://page", "doc://page#intro", "doc://page#a/b"], ["doc://pagex", "doc://page/intro"]],
  // Label expansion (§3.2.5).
  ["x://file{.ext}", ["x://file", "x://file.txt", "x://file.tar.gz"], ["x://file/txt", "x://filetxt"]],
  // Path segments (§3.2.6), exploded lists included.
  ["x://root{/seg*}", ["x://root", "x://root/a", "x://root/a/b/c"], ["x://roota", "x://root?a"]],
  // Path-style parameters (§3.2.7).
  ["x://map{;x,y}", ["x://map", "x://map;x=1;y=2"], ["x://map/x=1"]],
  // Form-style query and continuation (§3.2.8, §3.2.9).
  ["x://search{?q,lang}", ["x://search", "x://search?q=cat&lang=en"], ["x://searchq=cat", "x://search/q"]],
  ["x://search?fixed=1{&q}", ["x://search?fixed=1", "x://search?fixed=1&q=cat"], ["x://search?fixed=2"]],
  // Prefix modifiers (§2.4.1) change nothing about the allowed characters.
  ["x://{var:3}/end", ["x://val/end"], ["x://v/a/end"]],
];

describe("compileTemplate", () => {
  for (const [template, yes, no] of CASES) {
    it(`matches what ${template} can expand to, and nothing else`, () => {
      const match = compileTemplate(template);
      for (const uri of yes) expect(match(uri), uri).toBe(true);
      for (const uri of no) expect(match(uri), uri).toBe(false);
    });
  }

  it("takes the template's literal characters literally (regex metacharacters included)", () => {
    const match = compileTemplate("a.b+c://(x)|[y]^$*?/{id}");
    expect(match("a.b+c://(x)|[y]^$*?/42")).toBe(true);
    expect(match("aXb+c://(x)|[y]^$*?/42")).toBe(false);
    expect(match("a.bbc://(x)|[y]^$*?/42")).toBe(false);
    expect(match("a.b+c://x|[y]^$*?/42")).toBe(false);
    const plain = compileTemplate("test://static-text");
    expect(plain("test://static-text")).toBe(true);
    expect(plain("test://static-textual")).toBe(false);
  });

  it("is anchored at both ends", () => {
    const match = compileTemplate("x://{a}");
    expect(match("y://x://b")).toBe(false);
    expect(match("x://b/extra")).toBe(false);
  });
});

/**
 * Every URI of resources/read is matched against every upstream's templates, and the URI comes
 * from the client: up to the body limit (1 MiB by default). A backtracking match that is more than
 * linear in the URI's length lets one request hold the event loop.
 */
describe("compileTemplate on adversarial URIs", () => {
  const BUDGET_MS = 1000; // generous for a loaded CI machine: linear matching takes tens of ms, quadratic matching takes minutes
  const timed = (template: string, uri: string): { result: boolean; ms: number } => {
    const match = compileTemplate(template);
    const started = performance.now();
    const result = match(uri);
    return { result, ms: performance.now() - started };
  };

  it("a 1 MiB URI against a one-variable template is decided quickly", () => {
    const n = 1 << 20;
    for (const [template, uri, expected] of [
      ["test://template/{id}/data", `test://template/${"a".repeat(n)}/data`, true],
      ["test://template/{id}/data", `test://template/${"a".repeat(n)}/dat`, false],
      ["test://template/{id}/data", `test://template/${"/".repeat(n)}data`, false],
      ["file:///{+path}", `file:///${"a/".repeat(n / 2)}#`, false],
      ["x://root{/seg*}", `x://root${"/a".repeat(n / 2)}?`, false],
      ["x://search{?q,lang}", `x://search?${"q=1&".repeat(n / 4)}#`, false],
    ] as const) {
      const { result, ms } = timed(template, uri);
      expect(result, template).toBe(expected);
      expect(ms, `${template} took ${ms.toFixed(0)} ms`).toBeLessThan(BUDGET_MS);
    }
  });

  // Two expressions side by side (RFC 6570 allows it: `{+path}{?query}`, `{a}{b}`) make a
  // backtracking matcher try every split point of the URI: quadratic time. 20 000 characters is
  // 2 % of the default body limit; a linear matcher decides it in well under a millisecond.
  for (const [template, uri] of [
    ["file:///{+path}{?version}", `file:///${"?".repeat(20_000)}#`],
    ["x://{a}{b}", `x://${"a".repeat(20_000)}/`],
    ["x://{name}{.ext}", `x://${".".repeat(20_000)}/`],
    ["x://{+base}{/path}", `x://${"/".repeat(20_000)}#`],
  ] as const) {
    it(`a 20 000-character URI against ${template} is refused quickly`, () => {
      const { result, ms } = timed(template, uri);
      expect(result).toBe(false);
      expect(ms, `took ${ms.toFixed(0)} ms`).toBeLessThan(BUDGET_MS);
    });
  }
});
