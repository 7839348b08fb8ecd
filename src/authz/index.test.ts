// The policy: default deny, permissions by kind with `*` wildcards, credentials' scopes narrowing roles (never widening them).
import { describe, expect, it } from "vitest";
import type { Principal } from "../pipeline/index.ts";
import fc from "fast-check";
import { globMatch, isPermission, Policy } from "./index.ts";

const principal = (roles: string[], scopes?: string[]): Principal => ({ id: "u", name: "u", kind: "user", roles, scopes, sessionId: undefined });

const policy = new Policy({
  admin: { permissions: ["*"] },
  reader: { permissions: ["everything.echo", "everything.get*", "prompt:everything.simple*", "resource:demo://resource/static/*"] },
  tools: { permissions: ["tool:files.*"] },
  empty: { permissions: [] },
});

describe("Policy.allows", () => {
  it("denies by default: no principal, no roles, unknown or empty roles", () => {
    expect(policy.allows(undefined, "tool", "everything.echo")).toBe(false);
    for (const roles of [[], ["nobody"], ["empty"]]) expect(policy.allows(principal(roles), "tool", "everything.echo"), roles.join()).toBe(false);
  });

  it("grants `*` everything of every kind", () => {
    for (const [kind, name] of [["tool", "x.y"], ["prompt", "p.q"], ["resource", "file:///etc/passwd"]] as const) expect(policy.allows(principal(["admin"]), kind, name)).toBe(true);
  });

  it("matches a bare permission against tools only, exactly or by wildcard", () => {
    const reader = principal(["reader"]);
    expect(policy.allows(reader, "tool", "everything.echo")).toBe(true);
    expect(policy.allows(reader, "tool", "everything.get-sum")).toBe(true);
    expect(policy.allows(reader, "prompt", "everything.echo")).toBe(false);
    for (const name of ["everything.echo2", "Everything.echo", "everything.echo ", "xeverything.get-sum", "everything.ech", "everything.e\u200bcho"]) expect(policy.allows(reader, "tool", name), JSON.stringify(name)).toBe(false);
  });

  it("keeps kinds apart: prompt: and resource: permissions grant only their kind", () => {
    const reader = principal(["reader"]);
    expect(policy.allows(reader, "prompt", "everything.simple-prompt")).toBe(true);
    expect(policy.allows(reader, "tool", "everything.simple-prompt")).toBe(false);
    expect(policy.allows(reader, "resource", "demo://resource/static/document/architecture.md")).toBe(true);
    expect(policy.allows(reader, "resource", "demo://resource/dynamic/1")).toBe(false);
    expect(policy.allows(principal(["tools"]), "tool", "files.read_file")).toBe(true);
  });

  it("gives several roles the union of their permissions", () => {
    expect(policy.allows(principal(["reader", "tools"]), "tool", "files.write_file")).toBe(true);
    expect(policy.allows(principal(["reader", "tools"]), "tool", "everything.echo")).toBe(true);
  });

  it("lets scopes narrow roles, never widen them", () => {
    expect(policy.allows(principal(["admin"], ["everything.echo"]), "tool", "everything.echo")).toBe(true);
    expect(policy.allows(principal(["admin"], ["everything.echo"]), "tool", "files.read_file")).toBe(false);
    expect(policy.allows(principal(["reader"], ["*"]), "tool", "files.read_file")).toBe(false);
    expect(policy.allows(principal(["reader"], []), "tool", "everything.echo")).toBe(false);
    expect(policy.allows(principal(["admin"], ["resource:demo://*"]), "resource", "demo://x")).toBe(true);
    expect(policy.allows(principal(["admin"], ["resource:demo://*"]), "tool", "demo.x")).toBe(false);
  });

  it("treats regular-expression characters in permissions literally", () => {
    const p = new Policy({ r: { permissions: ["a.(b)+[c]", "resource:x://a?b=*"] } });
    expect(p.allows(principal(["r"]), "tool", "a.(b)+[c]")).toBe(true);
    expect(p.allows(principal(["r"]), "tool", "aX(b)+[c]")).toBe(false);
    expect(p.allows(principal(["r"]), "resource", "x://a?b=1")).toBe(true);
    expect(p.allows(principal(["r"]), "resource", "x://ab=1")).toBe(false);
  });

  it("matches a long adversarial name in linear time", () => {
    const p = new Policy({ r: { permissions: ["a*a*a*a*a*a*a*b"] } });
    const started = performance.now();
    expect(p.allows(principal(["r"]), "tool", "a".repeat(20_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe("isPermission", () => {
  it("tells gateway permissions from other OAuth scopes", () => {
    for (const s of ["*", "fixture.echo", "everything.get*", "tool:a.b", "prompt:p.q", "resource:file:///x"]) expect(isPermission(s), s).toBe(true);
    for (const s of ["openid", "profile", "mcp:tools", "offline_access", "email"]) expect(isPermission(s), s).toBe(false);
  });
});

describe("globMatch", () => {
  it("agrees with the equivalent regular expression on every small pattern and text", () => {
    const toRegex = (pattern: string): RegExp => new RegExp(`^${pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "s");
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", "b", "*", "."), maxLength: 8 }), fc.string({ unit: fc.constantFrom("a", "b", "."), maxLength: 10 }), (pattern, text) => {
        expect(globMatch(pattern, text)).toBe(toRegex(pattern).test(text));
      }),
      { numRuns: 2000 },
    );
  });
});
