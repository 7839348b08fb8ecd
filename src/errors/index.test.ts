// The refusal registry: stable, unique and documented codes (docs/errors.md), and refusals that never carry internals to the client.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { REFUSALS, Refusal, type RefusalCode } from "./index.ts";

const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
const documented = [...doc.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);

describe("the refusal registry", () => {
  it("documents every code in docs/errors.md, and nothing stale", () => {
    expect([...documented].sort()).toEqual(Object.keys(REFUSALS).sort());
  });

  it("documents each code's JSON-RPC error as registered", () => {
    for (const [code, entry] of Object.entries(REFUSALS)) {
      const row = doc.split("\n").find((l) => l.startsWith(`| \`${code}\` |`));
      expect(row, code).toContain(String(entry.rpc));
      expect(row, code).toContain(entry.audit);
    }
  });

  it("keeps client messages to one sentence without internals", () => {
    for (const entry of Object.values(REFUSALS)) {
      expect(entry.message).not.toMatch(/\n|at \w+ \(|\/src\/|node_modules/);
      expect(entry.message.length).toBeLessThan(120);
    }
  });

  it("gives the client the message and data, and keeps the true reason for the audit log", () => {
    const r = new Refusal("upstream_unavailable", { reason: "upstream files exited with code 1 at /srv/x", data: { reason: "upstream_unavailable", retryAfter: 2 } });
    expect(r.toRpcError()).toEqual({ code: -32010, message: "Upstream unavailable", data: { reason: "upstream_unavailable", retryAfter: 2 } });
    expect(JSON.stringify(r.toRpcError())).not.toContain("/srv/x");
    expect(r.auditType).toBe("upstream.unavailable");
    expect(r.http).toBe(200);
  });

  it("lets a refusal override status, code and message without changing its identity", () => {
    const r = new Refusal("resource_not_found" satisfies RefusalCode, { rpc: -32002, message: "Resource not found: x" });
    expect(r.code).toBe("resource_not_found");
    expect(r.toRpcError()).toEqual({ code: -32002, message: "Resource not found: x" });
  });
});
