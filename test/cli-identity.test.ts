// `bastion user …`, `apikey …` and `token` as users run them, next to a running `bastion serve` on the same store and audit log.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Secret, TOTP, URI } from "otpauth";
import { parseDocument } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../src/audit/index.ts";
import { FIXTURE, modernBody, modernHeaders, REPO_ROOT, until } from "./helpers/harness.ts";

const BIN = path.join(REPO_ROOT, "bin/bastion.js");
let cwd: string;
let serve: ChildProcess | undefined;
let url: string;
let origin: string;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bastion …` in the work folder (asynchronously: the gateway runs beside it), optionally feeding stdin. */
function bastion(args: string[], input?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env["PATH"], HOME: process.env["HOME"] }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(input ?? "");
  });
}

/** One line on stderr, prefixed `bastion:`, no stack trace. */
function expectOneLineError(r: Result): void {
  expect(r.stderr).toMatch(/^bastion: [^\n]+\n$/);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

const audit = (): AuditRecord[] =>
  readFileSync(path.join(cwd, "logs/audit.log"), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as AuditRecord);

/** A 2026-07-28 tools/call of fixture.echo through the running gateway. */
async function callEcho(bearer: string | undefined): Promise<number> {
  const res = await fetch(url, {
    method: "POST",
    headers: { ...modernHeaders("tools/call", "fixture.echo"), ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }) },
    body: modernBody(1, "tools/call", { name: "fixture.echo", arguments: { message: "cli" } }),
  });
  const text = await res.text();
  if (res.status === 200) expect(text).toContain("Echo: cli");
  return res.status;
}

async function passwordLogin(username: string, password: string, totp?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${origin}/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "password", username, password, ...(totp === undefined ? {} : { totp }) }).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The text of the first API key the CLI printed: it must appear nowhere else. */
let createdKey = "";

const PASSWORDS = { alice: "Quartz#Meadow-4711", alice2: "Copper!Lantern-5823", dora: "Harbor?Violet-9034", root: "Summit&Pebble-6145" };

beforeAll(async () => {
  cwd = mkdtempSync(path.join(tmpdir(), "bastion-cli-identity-"));
  const init = await bastion(["init"]);
  expect(init.status, init.stderr).toBe(0);
  // The file init wrote, with a fixed free port (tokens minted by the CLI name it as their audience) and the test fixture as upstream.
  const file = path.join(cwd, "security/config.yaml");
  const doc = parseDocument(readFileSync(file, "utf8"));
  doc.setIn(["server", "port"], await freePort());
  doc.set("upstreams", { fixture: { command: process.execPath, args: ["--import", "tsx", FIXTURE, "stdio"], cwd: REPO_ROOT } });
  doc.set("roles", { admin: { permissions: ["*"] }, reader: { permissions: ["fixture.*"] } });
  writeFileSync(file, doc.toString());

  const child = spawn(process.execPath, [BIN, "serve", "--json"], { cwd, env: { PATH: process.env["PATH"], HOME: process.env["HOME"] }, stdio: ["ignore", "pipe", "pipe"] });
  serve = child;
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      out += c;
      if (out.includes("\n")) resolve(out.split("\n")[0] ?? "");
    });
    child.once("exit", (code) => reject(new Error(`serve exited ${String(code)}: ${err}`)));
  });
  const started = JSON.parse(line) as { url: string; upstreams: { name: string; state: string }[] };
  expect(started.upstreams).toEqual([expect.objectContaining({ name: "fixture", state: "ready" })]);
  url = started.url;
  origin = new URL(url).origin;
});

afterAll(async () => {
  if (serve !== undefined && serve.exitCode === null) {
    const exited = new Promise<void>((r) => serve?.once("exit", () => r()));
    serve.kill("SIGTERM");
    await exited;
  }
  rmSync(cwd, { recursive: true, force: true });
});

describe("bastion user", () => {
  it("add --password-stdin creates the user; the gateway that is already running logs them in", async () => {
    const r = await bastion(["user", "add", "alice", "--role", "reader", "--password-stdin"], `${PASSWORDS.alice}\n`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("created user alice (reader)\n");
    expect(r.stdout).not.toContain(PASSWORDS.alice);
    const login = await passwordLogin("alice", PASSWORDS.alice);
    expect(login.status).toBe(200);
    expect(await callEcho(login.body["access_token"] as string)).toBe(200);
    const json = await bastion(["--json", "user", "add", "dora", "--role", "reader", "--password-stdin"], PASSWORDS.dora);
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ id: expect.any(String) as string, name: "dora", roles: ["reader"] });
  });

  it("refuses a password that breaks the policy with every violation listed, exit 1, and creates nothing", async () => {
    const r = await bastion(["user", "add", "bob", "--role", "reader", "--password-stdin"], "short\n");
    expect(r.status).toBe(1);
    expectOneLineError(r);
    for (const violation of ["Use at least 12 characters.", "Add an upper-case letter.", "Add a digit.", "Add a symbol"]) expect(r.stderr).toContain(violation);
    expect(r.stderr).not.toContain("short");
    expect(r.stdout).toBe("");
    const dup = await bastion(["user", "add", "alice", "--role", "reader", "--password-stdin"], "Another#Password-123");
    expect(dup.status).toBe(1);
    expectOneLineError(dup);
    expect(dup.stderr).toContain("already exists");
  });

  it("never takes a password as an argument: there is no such option, and an extra argument is bad usage (exit 2)", async () => {
    for (const args of [
      ["user", "add", "bob", "--role", "reader", "--password", "Secret#Password-1"],
      ["user", "add", "bob", "Secret#Password-1", "--role", "reader"],
      ["user", "passwd", "alice", "Secret#Password-1"],
    ]) {
      const r = await bastion(args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).not.toContain("Secret#Password-1");
    }
    // Without --password-stdin and without a terminal, nothing is read and nothing is created.
    const noTty = await bastion(["user", "add", "bob", "--role", "reader"], "Secret#Password-1\n");
    expect(noTty.status).toBe(1);
    expectOneLineError(noTty);
    expect(noTty.stderr).toContain("--password-stdin");
  });

  it("list --json shows users without any secret", async () => {
    const r = await bastion(["--json", "user", "list"]);
    expect(r.status, r.stderr).toBe(0);
    const users = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(users.map((u) => u["name"]).sort()).toEqual(["alice", "dora"]);
    for (const u of users) {
      expect(Object.keys(u).sort()).toEqual(["id", "locked", "name", "passwordChangedAt", "roles"]);
      expect(u["locked"]).toBe(false);
      expect(new Date(u["passwordChangedAt"] as string).getTime()).toBeGreaterThan(Date.now() - 600_000);
    }
    expect(r.stdout).not.toMatch(/scrypt|Quartz|Harbor/);
    const human = await bastion(["user", "list"]);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/^alice\s+reader\s+active\s+password \d{4}-/m);
  });

  it("token --user mints a token that works against the running gateway", async () => {
    const r = await bastion(["--json", "token", "--user", "alice"]);
    expect(r.status, r.stderr).toBe(0);
    const minted = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(minted).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "reader" });
    expect(minted).not.toHaveProperty("refresh_token");
    expect(await callEcho(minted["access_token"] as string)).toBe(200);
    expect(await callEcho(undefined)).toBe(401);
    const unknown = await bastion(["token", "--user", "nobody"]);
    expect(unknown.status).toBe(1);
    expectOneLineError(unknown);
  });

  it("passwd changes the password and ends every session the user had, on the gateway's next request", async () => {
    const minted = JSON.parse((await bastion(["--json", "token", "--user", "alice"])).stdout) as { access_token: string };
    const login = await passwordLogin("alice", PASSWORDS.alice);
    expect(await callEcho(minted.access_token)).toBe(200);
    expect(await callEcho(login.body["access_token"] as string)).toBe(200);
    const r = await bastion(["user", "passwd", "alice", "--password-stdin"], `${PASSWORDS.alice2}\n`);
    expect(r.status, r.stderr).toBe(0);
    expect(await callEcho(minted.access_token)).toBe(401);
    expect(await callEcho(login.body["access_token"] as string)).toBe(401);
    expect((await passwordLogin("alice", PASSWORDS.alice2)).status).toBe(200);
  });

  it("lock ends sessions and refuses logins, unlock lets the user in again, delete removes the user", async () => {
    const t = (await passwordLogin("dora", PASSWORDS.dora)).body["access_token"] as string;
    expect(await callEcho(t)).toBe(200);
    const lock = await bastion(["user", "lock", "dora"]);
    expect(lock.status, lock.stderr).toBe(0);
    expect(lock.stdout).toBe("locked dora\n");
    expect(await callEcho(t)).toBe(401);
    expect((await passwordLogin("dora", PASSWORDS.dora)).body["error"]).toBe("invalid_grant");
    const unlock = await bastion(["user", "unlock", "dora"]);
    expect(unlock.status).toBe(0);
    expect(unlock.stdout).toBe("unlocked dora\n");
    const again = await passwordLogin("dora", PASSWORDS.dora);
    expect(again.status).toBe(200);
    const del = await bastion(["--json", "user", "delete", "dora"]);
    expect(del.status).toBe(0);
    expect(JSON.parse(del.stdout)).toEqual({ name: "dora", deleted: true });
    expect(await callEcho(again.body["access_token"] as string)).toBe(401);
    expect((JSON.parse((await bastion(["--json", "user", "list"])).stdout) as { name: string }[]).map((u) => u.name)).not.toContain("dora");
    const missing = await bastion(["user", "unlock", "dora"]);
    expect(missing.status).toBe(1);
    expectOneLineError(missing);
    expect(missing.stderr).toBe("bastion: no user dora\n");
  });

  it("mfa enroll prints an otpauth URI and ten recovery codes; the code of that secret logs an admin in", async () => {
    expect((await bastion(["user", "add", "root", "--role", "admin", "--password-stdin"], PASSWORDS.root)).status).toBe(0);
    expect((await passwordLogin("root", PASSWORDS.root)).body["error"]).toBe("mfa_required");
    const human = await bastion(["user", "mfa", "enroll", "root"]);
    expect(human.status, human.stderr).toBe(0);
    const uri = /otpauth:\/\/totp\/\S+/.exec(human.stdout)?.[0] ?? "";
    expect(uri).toMatch(/^otpauth:\/\/totp\/mcp-bastion:root\?/);
    const codes = human.stdout.match(/^ {2}[a-z2-7]{4}(?:-[a-z2-7]{4}){5}$/gm) ?? [];
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    const totp = URI.parse(uri) as TOTP;
    expect(totp).toBeInstanceOf(TOTP);
    expect(Secret.fromBase32(new URL(uri).searchParams.get("secret") ?? "").bytes.length).toBe(20);
    const ok = await passwordLogin("root", PASSWORDS.root, totp.generate());
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  });
});

describe("bastion apikey", () => {
  let created: { id: string; key: string; user: string; scopes: string[]; expiresAt: string | null };

  it("refuses scopes beyond what the owner's roles permit (exit 1, naming them)", async () => {
    const r = await bastion(["apikey", "create", "--user", "alice", "--scopes", "fixture.echo,*,other.tool"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("bastion: scope other.tool is beyond what alice's roles (reader) permit\n");
  });

  it("create --json prints {id, key, user, scopes, expiresAt} once; the key works on the running gateway", async () => {
    const r = await bastion(["--json", "apikey", "create", "--user", "alice", "--scopes", "fixture.echo, fixture.stats", "--expires", "30d"]);
    expect(r.status, r.stderr).toBe(0);
    created = JSON.parse(r.stdout) as typeof created;
    createdKey = created.key;
    expect(Object.keys(created).sort()).toEqual(["expiresAt", "id", "key", "scopes", "user"]);
    expect(created.key).toMatch(new RegExp(`^mcpb_${created.id}_[\\w-]{43}$`));
    expect(created).toMatchObject({ user: "alice", scopes: ["fixture.echo", "fixture.stats"] });
    const expires = new Date(created.expiresAt ?? "").getTime();
    expect(Math.abs(expires - (Date.now() + 30 * 86_400_000))).toBeLessThan(120_000);
    expect(await callEcho(created.key)).toBe(200);
    const human = await bastion(["apikey", "create", "--user", "alice"]);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/^mcpb_[0-9a-f]{16}_[\w-]{43}\n\(id [0-9a-f]{16}; shown once: store it now\)\n$/);
  });

  it("list never shows a key, in either form", async () => {
    const secret = created.key.slice(created.key.lastIndexOf("_") + 1);
    for (const args of [["apikey", "list"], ["--json", "apikey", "list"]]) {
      const r = await bastion(args);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(created.id);
      expect(r.stdout).not.toContain(secret);
      expect(r.stdout).not.toMatch(/mcpb_[0-9a-f]{16}_/);
      if (args[0] === "--json") for (const k of JSON.parse(r.stdout) as Record<string, unknown>[]) expect(Object.keys(k)).not.toContain("hash");
    }
  });

  it("revoke takes effect on the key's next use; revoking it again is refused", async () => {
    const r = await bastion(["apikey", "revoke", created.id]);
    expect(r.status, r.stderr).toBe(0);
    expect(await callEcho(created.key)).toBe(401);
    const again = await bastion(["apikey", "revoke", created.id]);
    expect(again.status).toBe(1);
    expectOneLineError(again);
    expect(JSON.parse((await bastion(["--json", "apikey", "list"])).stdout)).toContainEqual(expect.objectContaining({ id: created.id, revokedAt: expect.any(String) as string }));
  });

  it("a malformed --expires is bad usage (exit 2), an unknown owner a refusal (exit 1)", async () => {
    const bad = await bastion(["apikey", "create", "--user", "alice", "--expires", "5x"]);
    expectOneLineError(bad);
    expect(bad.status).toBe(2);
    const nobody = await bastion(["apikey", "create", "--user", "nobody"]);
    expect(nobody.status).toBe(1);
    expectOneLineError(nobody);
  });
});

describe("the audit log, shared by the CLI and the running gateway", () => {
  it("every admin action left an admin.action record (failures too), the token an auth.token, and no secret", async () => {
    // While the gateway runs, the CLI's records are spooled and chained by the gateway within about two seconds.
    const last = (): boolean => audit().some((r) => r.type === "admin.action" && r.details["action"] === "apikey.revoke" && r.outcome === "failure");
    await until(last, 10_000, "the CLI's spooled records to be chained");
    const records = audit();
    const actions = records.filter((r) => r.type === "admin.action");
    const seen = new Set(actions.map((r) => `${String(r.details["action"])} ${r.outcome}`));
    for (const a of ["user.add", "user.list", "user.passwd", "user.lock", "user.unlock", "user.delete", "user.mfa.enroll", "apikey.create", "apikey.list", "apikey.revoke"]) expect(seen, a).toContain(`${a} success`);
    for (const a of ["user.add", "user.unlock", "apikey.revoke"]) expect(seen, a).toContain(`${a} failure`);
    for (const r of actions) expect(r.actor.via).toBe("cli");
    expect(records.filter((r) => r.type === "auth.token" && r.outcome === "success").length).toBeGreaterThanOrEqual(2);
    // Both processes wrote: the gateway's own records are there too.
    for (const type of ["config.loaded", "auth.login", "tool.call", "auth.failure"]) expect(records.map((r) => r.type), type).toContain(type);
    const text = readFileSync(path.join(cwd, "logs/audit.log"), "utf8");
    for (const secret of [...Object.values(PASSWORDS), createdKey]) expect(text).not.toContain(secret);
  });

  it("audit verify stays intact while both processes append at the same time", async () => {
    // The gateway appends (a refused credential is one record each) without pause, while the CLI appends from its own process.
    let appending = true;
    let refused = 0;
    const noise = async (): Promise<void> => {
      while (appending) {
        expect(await callEcho("bad-token")).toBe(401);
        refused++;
      }
    };
    const gatewaySide = Promise.all(Array.from({ length: 4 }, noise));
    const statuses: (number | null)[] = [];
    for (const args of [["user", "list"], ["--json", "token", "--user", "alice"], ["user", "lock", "nobody"], ["apikey", "list"]]) statuses.push((await bastion(args)).status);
    appending = false;
    await gatewaySide;
    expect(statuses).toEqual([0, 0, 1, 0]);
    expect(refused).toBeGreaterThan(20);
    const verify = await bastion(["audit", "verify"]);
    expect(verify.stdout).toMatch(/^intact: \d+ records\n$/);
    expect(verify.status).toBe(0);
    const records = audit();
    expect(Number(/intact: (\d+)/.exec(verify.stdout)?.[1])).toBe(records.length);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
  });
});
