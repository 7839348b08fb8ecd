// The argument screen: which detectors run for which tool, what each action does, and that the client's object is never changed in place.
import { describe, expect, it } from "vitest";
import { validationSchema } from "./config.ts";
import { ArgumentScreen } from "./screen.ts";

const screenWith = (detectors: unknown): ArgumentScreen => new ArgumentScreen(validationSchema.parse({ detectors }).detectors);

describe("ArgumentScreen", () => {
  it("blocks, repairs or notes, per detector, with JSON Pointer paths", async () => {
    const screen = screenWith({ xss: "sanitize", sql: "log", traversal: "block" });
    const args = { a: { "x/y": ["<img src=x onerror=alert(1)>"] }, q: "' OR 1=1 --" };
    const r = await screen.screen("t.t", args);
    expect(r.blocked).toEqual([]);
    expect(r.notices).toEqual([
      { check: "detector:sql", rule: expect.any(String) as string, path: "/q" },
      { check: "detector:xss", rule: "sanitized", path: "/a/x~1y/0" },
    ]);
    expect(JSON.stringify(r.args)).not.toMatch(/onerror/i);
    expect(args.a["x/y"][0]).toBe("<img src=x onerror=alert(1)>"); // the client's object is untouched
    const blocked = await screen.screen("t.t", { p: "../../etc/passwd" });
    expect(blocked.blocked.map((v) => [v.path, v.rule.split(":")[0]])).toEqual([["/p", "traversal"]]);
  });

  it("runs a detector only for the tools it names, minus its exceptions", async () => {
    const screen = screenWith({ traversal: { action: "block", tools: ["files.*"], except: ["files.raw"] } });
    expect((await screen.screen("files.read", { p: "../x" })).blocked).toHaveLength(1);
    expect((await screen.screen("files.raw", { p: "../x" })).blocked).toHaveLength(0);
    expect((await screen.screen("mail.send", { p: "../x" })).blocked).toHaveLength(0);
  });

  it("notes a host name the gateway cannot resolve unless told to block it, and resolves names to catch loopback", async () => {
    const url = { u: "https://bastion-screen-test.invalid/x" }; // RFC 6761: never resolves
    const noted = await screenWith({}).screen("t.t", url);
    expect(noted.blocked).toEqual([]);
    expect(noted.notices).toEqual([{ check: "detector:ssrf", rule: "unresolvable", path: "/u" }]);
    expect((await screenWith({ ssrf: { action: "block", onUnresolvable: "block" } }).screen("t.t", url)).blocked[0]?.rule).toBe("ssrf:unresolvable");
    expect((await screenWith({}).screen("t.t", { u: "http://localhost:6379/" })).blocked[0]?.rule).toBe("ssrf:loopback");
  });

  it("reports the depth of the deepest object, and stops walking past the deepest limit a config can set", async () => {
    let deep: unknown = "../leaf";
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const r = await screenWith({}).screen("t.t", { deep });
    expect(r.depth).toBe(1001); // anything deeper than every configurable maxDepth (≤ 1000) is refused as too deep
    let shallow: unknown = "../leaf";
    for (let i = 0; i < 10; i++) shallow = [shallow];
    const s = await screenWith({}).screen("t.t", { shallow });
    expect([s.depth, s.blocked[0]?.path]).toEqual([11, `/shallow${"/0".repeat(10)}`]);
    expect((await screenWith({}).screen("t.t", { a: 1 })).depth).toBe(1);
  });

  it("refuses, rather than half-screens, arguments with more strings than it reads", async () => {
    const many = Array.from({ length: 10_001 }, (_, i) => (i === 10_000 ? "../../etc/passwd" : "ok"));
    const r = await screenWith({}).screen("t.t", { many });
    expect(r.tooMany).toEqual({ path: "", rule: "maxStrings", message: "arguments hold more than 10000 strings" });
    expect((await screenWith({}).screen("t.t", { few: many.slice(0, 100) })).tooMany).toBeUndefined();
  });
});
