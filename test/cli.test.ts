// The `bastion` command as users run it: exit codes, one-line errors, init that never overwrites, serve and audit verify.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfigFile } from "../src/config/index.ts";
import { REPO_ROOT } from "./helpers/harness.ts";

const BIN = path.join(REPO_ROOT, "bin/bastion.js");
let cwd: string;

function bastion(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env["PATH"], HOME: process.env["HOME"], ...env }, encoding: "utf8", timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeEach(() => {
  cwd = mkdtempSync(path.join(tmpdir(), "bastion-cli-"));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

describe("bastion init", () => {
  it("creates the layout, private files first, and never overwrites", () => {
    const first = bastion(["init"]);
    expect(first.status).toBe(0);
    expect(first.stdout).toContain("created security/config.yaml");
    expect(statSync(path.join(cwd, "security/config.yaml")).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(cwd, "security/audit.key")).mode & 0o777).toBe(0o600);
    writeFileSync(path.join(cwd, "security/config.yaml"), "# mine\n");
    const second = bastion(["init"]);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain("kept    security/config.yaml (exists)");
    expect(readFileSync(path.join(cwd, "security/config.yaml"), "utf8")).toBe("# mine\n");
  });

  it("writes a config that loads as written, with the demo upstreams", () => {
    bastion(["init"]);
    const loaded = loadConfigFile(path.join(cwd, "security/config.yaml"), {}, cwd);
    expect(Object.keys(loaded.config.upstreams)).toEqual(["everything", "files"]);
    expect(loaded.config.server.host).toBe("127.0.0.1");
  });
});

describe("usage and configuration errors", () => {
  it("exits 2 on an unknown command or option", () => {
    expect(bastion(["frobnicate"]).status).toBe(2);
    expect(bastion(["serve", "--no-such-flag"]).status).toBe(2);
  });

  it("lists every problem of a bad config with its path, on stderr, without a stack trace, and exits 1", () => {
    writeFileSync(
      path.join(cwd, "bad.yaml"),
      ["server: { port: 'eighty', host: 0.0.0.0, colour: blue }", "upstreams:", "  'a.b': { command: x }", "  web: { url: 'ftp://example.com' }", "  s: { command: x, env: { TOKEN: '${env:MISSING_VAR}' } }"].join("\n"),
    );
    const r = bastion(["serve", "--config", "bad.yaml"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    for (const fragment of ["server.port", 'server: unknown key "colour"', 'upstreams["a.b"]', "upstreams.web.url", "upstreams.s.env.TOKEN: environment variable MISSING_VAR is not set"]) expect(r.stderr).toContain(fragment);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses anonymous callers on a non-loopback bind", () => {
    writeFileSync(path.join(cwd, "open.yaml"), "server: { host: 0.0.0.0, port: 0 }\nauth: { anonymous: true }\n");
    const r = bastion(["serve", "--config", "open.yaml"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("auth.anonymous: only allowed on a loopback bind (server.host is 0.0.0.0)");
  });

  it("says which file is missing", () => {
    const r = bastion(["serve", "--config", "nope.yaml"]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(2);
    expect(r.stderr).toContain("nope.yaml: cannot read (ENOENT)");
  });
});

describe("bastion serve", () => {
  it("reports a port in use in one line and exits 1", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as { port: number }).port;
    writeFileSync(path.join(cwd, "c.yaml"), `server: { port: ${port} }\n`);
    const r = bastion(["serve", "--config", "c.yaml"]);
    blocker.close();
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`^(.*\\n)*bastion: port ${port} is in use: set server.port in .*c\\.yaml$`));
  });

  it("serves, reports itself with --json, and stops cleanly on SIGTERM", async () => {
    writeFileSync(path.join(cwd, "c.yaml"), "server: { port: 0 }\nupstreams: {}\n");
    const child = spawn(process.execPath, [BIN, "serve", "--json", "--config", "c.yaml"], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (c: string) => {
        out += c;
        if (out.includes("\n")) resolve(out.split("\n")[0] ?? "");
      });
      child.once("exit", () => reject(new Error("exited early")));
    });
    const { url } = JSON.parse(line) as { url: string };
    expect((await fetch(url.replace(/\/mcp$/, "/healthz"))).status).toBe(200);
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});

describe("bastion audit verify", () => {
  it("exits 0 on an intact log and 1 naming the first broken record", async () => {
    bastion(["init"]);
    writeFileSync(path.join(cwd, "security/config.yaml"), "server: { port: 0 }\nupstreams: {}\n");
    // Two starts write two config.loaded records.
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, [BIN, "serve", "--json"], { cwd, stdio: ["ignore", "pipe", "ignore"] });
      await new Promise<void>((r) => child.stdout.once("data", () => r()));
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      await exited;
    }
    const ok = bastion(["audit", "verify"]);
    expect(ok.stdout).toBe("intact: 2 records\n");
    expect(ok.status).toBe(0);
    const log = path.join(cwd, "logs/audit.log");
    writeFileSync(log, readFileSync(log, "utf8").replace('"via":"cli"', '"via":"cl1"'));
    const broken = bastion(["audit", "verify", "--json"]);
    expect(broken.status).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ ok: false, line: 1, seq: 1 });
  });
});
