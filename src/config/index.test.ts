// Configuration: the minimal file of SPEC §2 works, every problem is listed with its path, secrets are never echoed, the environment overrides.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "../errors/index.ts";
import { configPath, loadConfigFile, loadConfigObject } from "./index.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "bastion-config-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function problems(raw: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfigObject(raw, env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe("the minimal file of SPEC §2", () => {
  it("loads with every default filled in", () => {
    const file = path.join(dir, "config.yaml");
    writeFileSync(
      file,
      `upstreams:\n  everything:\n    command: npx\n    args: ["-y", "@modelcontextprotocol/server-everything"]\nroles:\n  admin:  { permissions: ["*"] }\n  reader: { permissions: ["everything.echo", "everything.get*"] }\n`,
    );
    const { config, warnings } = loadConfigFile(file, {});
    expect(config.server).toMatchObject({ host: "127.0.0.1", port: 8443, allowedOrigins: [] });
    expect(config.server.limits).toEqual({ maxBodyBytes: 1048576, maxJsonDepth: 64, maxSessions: 10000, sessionIdleSeconds: 1800, resumableEvents: 256, inputRequiredSeconds: 300 });
    expect(config.upstreams["everything"]).toMatchObject({ command: "npx", env: {}, pin: "enforce", protocol: "auto", timeoutMs: 60000, relayRoots: false });
    expect(config.audit).toEqual({ enabled: true, path: "logs/audit.log", keyFile: "security/audit.key" });
    expect(warnings).toEqual([]);
  });
});

describe("problems", () => {
  it("lists every problem at once, each with its path", () => {
    const found = problems({ server: { port: 70000, limits: { maxJsonDepth: 1 } }, upstreams: { ok: { command: "x" }, "bad name": { command: "x" }, both: { command: "x", url: "http://x" } }, bogus: 1 });
    expect(found).toHaveLength(5);
    expect(found.join("\n")).toMatch(/server\.port: .*65535/);
    expect(found.join("\n")).toMatch(/server\.limits\.maxJsonDepth/);
    expect(found.join("\n")).toMatch(/upstreams\["bad name"\]/);
    expect(found.join("\n")).toMatch(/upstreams\.both/);
    expect(found.join("\n")).toMatch(/\(root\): unknown key "bogus"/);
  });

  it("never echoes a value found under a secret-looking key", () => {
    const found = problems({ upstreams: { s: { url: "http://x", headers: { Authorization: 12345678 } } } });
    expect(found.join("\n")).toContain("upstreams.s.headers.Authorization");
    expect(found.join("\n")).not.toContain("12345678");
  });

  it("refuses ${vault:…} until the vault exists, and names unset ${env:…}", () => {
    const found = problems({ upstreams: { s: { command: "x", env: { A: "${vault:gmail}", B: "${env:NOT_SET}" } } } });
    expect(found).toEqual([
      "upstreams.s.env.A: ${vault:gmail} needs the credential vault, which is not available in this version",
      "upstreams.s.env.B: environment variable NOT_SET is not set",
    ]);
  });

  it("reports YAML syntax and duplicate keys with the file name", () => {
    const file = path.join(dir, "dup.yaml");
    writeFileSync(file, "server:\n  port: 1\n  port: 2\n");
    expect(() => loadConfigFile(file, {})).toThrow(/dup\.yaml: Map keys must be unique/);
  });

  it("refuses upstream names that would make prefix.name ambiguous", () => {
    for (const name of ["a.b", "", "x".repeat(65), "spa ce", "ü"]) expect(problems({ upstreams: { [name]: { command: "x" } } }).length, name).toBe(1);
  });

  it("refuses stdio and HTTP fields mixed, and non-http URLs", () => {
    expect(problems({ upstreams: { u: { url: "file:///etc/passwd" } } })).toHaveLength(1);
    expect(problems({ upstreams: { u: { url: "javascript:alert(1)" } } })).toHaveLength(1);
  });
});

describe("substitution and the environment", () => {
  it("substitutes ${env:NAME} anywhere in strings, and keeps __proto__ keys as plain data", () => {
    const { config } = loadConfigObject(JSON.parse('{"upstreams":{"s":{"command":"x","env":{"A":"pre-${env:TOKEN_X}-post","__proto__":"y"}}}}'), { TOKEN_X: "t" });
    expect(config.upstreams["s"]).toMatchObject({ env: { A: "pre-t-post" } });
    expect(({} as Record<string, unknown>)["y"]).toBeUndefined();
  });

  it("lets AUDIT_LOG_ENABLED and AUDIT_LOG_PATH override the file", () => {
    const { config } = loadConfigObject({ audit: { enabled: true, path: "a.log" } }, { AUDIT_LOG_ENABLED: "false", AUDIT_LOG_PATH: "/var/log/b.log" });
    expect(config.audit).toMatchObject({ enabled: false, path: "/var/log/b.log" });
    expect(problems({}, { AUDIT_LOG_ENABLED: "maybe" })).toEqual(['AUDIT_LOG_ENABLED: expected true or false, found "maybe"']);
  });

  it("finds the file through --config, then BASTION_CONFIG, then the default", () => {
    expect(configPath("a.yaml", { BASTION_CONFIG: "b.yaml" })).toBe("a.yaml");
    expect(configPath(undefined, { BASTION_CONFIG: "b.yaml" })).toBe("b.yaml");
    expect(configPath(undefined, {})).toBe("security/config.yaml");
  });
});

describe("JWT_EXPIRATION_HOURS", () => {
  it("overrides auth.jwt.expirationHours, and a non-number is a problem", () => {
    expect(loadConfigObject({}, { JWT_EXPIRATION_HOURS: "2.5" }).config.auth.jwt.expirationHours).toBe(2.5);
    expect(problems({}, { JWT_EXPIRATION_HOURS: "soon" })).toEqual(['JWT_EXPIRATION_HOURS: expected a number of hours, found "soon"']);
  });
});
