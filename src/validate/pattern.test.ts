// Schema patterns run in linear time: an upstream's `^(a+)+$` cannot freeze the gateway, and the gateway's own patterns must be RE2.
import { describe, expect, it } from "vitest";
import { validationSchema } from "./config.ts";
import { SchemaValidators } from "./index.ts";

function validators(): { v: SchemaValidators; warnings: string[] } {
  const warnings: string[] = [];
  return { v: new SchemaValidators({ debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} }), warnings };
}
const schema = (pattern: string) => ({ type: "object", properties: { s: { type: "string", pattern } } });

describe("schema patterns", () => {
  it("check an exponential-backtracking pattern against a hostile string in linear time", () => {
    const { v } = validators();
    const started = performance.now();
    const violations = v.check("t", schema("^(a+)+$"), { s: `${"a".repeat(100_000)}!` });
    // A ReDoS guard, not a speed goal: a backtracking engine would not finish this in years.
    expect(performance.now() - started).toBeLessThan(5000);
    expect(violations.map((x) => x.rule)).toEqual(["pattern"]);
    expect(v.check("t", schema("^(a+)+$"), { s: "aaaa" })).toEqual([]);
  });

  it("keep ECMA-262 meaning for ordinary patterns: unanchored unless anchored, unicode classes, escapes", () => {
    const { v } = validators();
    expect(v.check("t", schema("[0-9]"), { s: "abc1" })).toEqual([]);
    expect(v.check("t", schema("^[0-9]+$"), { s: "12a" })).toHaveLength(1);
    expect(v.check("t", schema("^\\p{L}+$"), { s: "héllo" })).toEqual([]);
    expect(v.check("t", schema("^a\\.b$"), { s: "aXb" })).toHaveLength(1);
  });

  it("leave a lookaround pattern to the upstream, logged once, instead of running it on a backtracking engine", () => {
    const { v, warnings } = validators();
    expect(v.check("t", schema("^(?=.*[A-Z]).{8,}$"), { s: "no capitals" })).toEqual([]);
    v.check("t2", schema("^(?=.*[A-Z]).{8,}$"), { s: "x" });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("lookaround or backreference");
  });

  it("refuse a gateway limit pattern that is not RE2 at configuration time", () => {
    const bad = validationSchema.safeParse({ tools: { "*": { arguments: { s: { pattern: "^(?=a)a$" } } } } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toContain("RE2");
    expect(validationSchema.safeParse({ tools: { "*": { arguments: { s: { pattern: "^(a+)+$" } } } } }).success).toBe(true);
  });
});
