// `bastion user …`, `bastion apikey …` and `bastion token`: administration of the identity store, every action audited as admin.action.
import path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { AuditLog, loadOrCreateKey } from "../audit/index.ts";
import { IdentityRefused, type Identity } from "../authn/index.ts";
import { configPath, loadConfigFile, type LoadedConfig } from "../config/index.ts";
import { OperationRefused } from "../errors/index.ts";
import { gatewayUrl, openIdentity } from "../gateway.ts";
import type { Io } from "./main.ts";

interface Globals {
  config?: string;
  json?: boolean;
}

/** `30d`, `12h`, `90m` → milliseconds; anything else is a usage error (exit 2). */
export function parseDuration(text: string): number {
  const m = /^(\d{1,6})([dhm])$/.exec(text);
  if (m === null) throw new InvalidArgumentError(`must look like 30d, 12h or 90m, not ${text.slice(0, 20)}`);
  return Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as "d" | "h" | "m"];
}

/** Reads a new password: all of stdin with --password-stdin (one trailing newline dropped), else the terminal without echo. */
async function readPassword(io: Io, fromStdin: boolean, prompt: string): Promise<string> {
  if (fromStdin) {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
  }
  if (!io.stdin.isTTY) throw new OperationRefused("no terminal to ask for the password: use --password-stdin (passwords are never taken as arguments)");
  const first = await promptHidden(io, prompt);
  const second = await promptHidden(io, "again: ");
  if (first !== second) throw new OperationRefused("the two passwords differ");
  return first;
}

/** One line from the terminal with echo off. */
function promptHidden(io: Io, prompt: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  io.err(prompt);
  return new Promise((resolve) => {
    let text = "";
    stdin.setRawMode(true);
    stdin.resume();
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off("data", onData);
          io.err("\n");
          resolve(text);
          return;
        }
        if (ch === "\u0003") process.exit(130);
        text = ch === "\u007f" ? text.slice(0, -1) : text + ch;
      }
    };
    stdin.on("data", onData);
  });
}

/** Opens the identity layer (and the audit log) for one command, and closes them after. */
async function withIdentity<T>(io: Io, globals: Globals, action: string, target: string, run: (identity: Identity, loaded: LoadedConfig) => Promise<T>): Promise<T> {
  const loaded = loadConfigFile(path.resolve(io.cwd, configPath(globals.config, io.env)), io.env, io.cwd);
  const { store, identity } = await openIdentity(loaded, io.env, gatewayUrl(loaded, loaded.config.server.port));
  const audit = loaded.config.audit.enabled ? new AuditLog(path.resolve(loaded.baseDir, loaded.config.audit.path), loadOrCreateKey(path.resolve(loaded.baseDir, loaded.config.audit.keyFile))) : undefined;
  const record = (outcome: "success" | "failure", reason: string | null): void =>
    void audit?.record({ type: action === "token" ? "auth.token" : "admin.action", outcome, severity: "info", actor: { user: process.env["USER"] ?? null, ip: null, session: null, via: "cli" }, target, reason, details: { action } });
  try {
    const result = await run(identity, loaded);
    record("success", null);
    return result;
  } catch (err) {
    record("failure", err instanceof Error ? err.message.slice(0, 200) : "failed");
    if (err instanceof IdentityRefused) throw new OperationRefused(err.message);
    throw err;
  } finally {
    audit?.close();
    await store.close();
  }
}

const day = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function identityCommands(cmd: Command, io: Io, globals: () => Globals): void {
  const out = (human: string, json: unknown): void => io.out(globals().json ? `${JSON.stringify(json)}\n` : `${human}\n`);
  const user = cmd.command("user").description("users of the gateway");

  user
    .command("add <name>")
    .description("create a user (password by prompt or --password-stdin, never as an argument)")
    .requiredOption("--role <role...>", "role(s) of the user")
    .option("--password-stdin", "read the password from standard input")
    .option("--no-password", "no password: the user authenticates with API keys only")
    .action(async (name: string, opts: { role: string[]; passwordStdin?: boolean; password: boolean }) => {
      const password = opts.password ? await readPassword(io, opts.passwordStdin === true, `password for ${name}: `) : undefined;
      const created = await withIdentity(io, globals(), "user.add", name, (identity) => identity.addUser(name, opts.role, password));
      out(`created user ${created.name} (${created.roles.join(", ")})`, { id: created.id, name: created.name, roles: created.roles });
    });

  user
    .command("list")
    .description("list users")
    .action(async () => {
      const users = await withIdentity(io, globals(), "user.list", "*", (identity) => identity.listUsers());
      if (globals().json) return out("", users.map((u) => ({ id: u.id, name: u.name, roles: u.roles, locked: u.locked, passwordChangedAt: day(u.passwordChangedAt) })));
      for (const u of users) io.out(`${u.name.padEnd(24)} ${u.roles.join(",").padEnd(24)} ${u.locked ? "locked" : "active"}  password ${day(u.passwordChangedAt) ?? "none"}\n`);
    });

  user
    .command("passwd <name>")
    .description("set a user's password; every session of the user ends")
    .option("--password-stdin", "read the password from standard input")
    .action(async (name: string, opts: { passwordStdin?: boolean }) => {
      const password = await readPassword(io, opts.passwordStdin === true, `new password for ${name}: `);
      await withIdentity(io, globals(), "user.passwd", name, (identity) => identity.setPassword(name, password));
      out(`password of ${name} changed; its sessions ended`, { name, changed: true });
    });

  for (const [verb, description] of [
    ["lock", "lock a user: every session ends now"],
    ["unlock", "unlock a user, and end every automatic lockout of the account"],
    ["delete", "delete a user and everything of theirs"],
  ] as const) {
    user
      .command(`${verb} <name>`)
      .description(description)
      .action(async (name: string) => {
        await withIdentity(io, globals(), `user.${verb}`, name, (identity) => (verb === "lock" ? identity.lock(name) : verb === "unlock" ? identity.unlock(name) : identity.deleteUser(name)));
        out(`${verb === "delete" ? "deleted" : `${verb}ed`} ${name}`, { name, [verb === "delete" ? "deleted" : `${verb}ed`]: true });
      });
  }

  user
    .command("mfa")
    .description("multi-factor authentication")
    .command("enroll <name>")
    .description("enroll TOTP: prints the otpauth:// URI and ten single-use recovery codes, once")
    .action(async (name: string) => {
      const e = await withIdentity(io, globals(), "user.mfa.enroll", name, (identity) => identity.enrollTotp(name));
      out(
        [`scan or paste into an authenticator app:`, `  ${e.uri}`, `recovery codes (each works once; store them offline):`, ...e.recoveryCodes.map((c) => `  ${c}`), `the first valid code confirms the enrollment`].join("\n"),
        { uri: e.uri, recoveryCodes: e.recoveryCodes },
      );
    });

  const apikey = cmd.command("apikey").description("API keys");
  apikey
    .command("create")
    .description("create an API key; it is printed once and only its hash is kept")
    .requiredOption("--user <name>", "owner of the key")
    .option("--scopes <list>", "comma-separated permissions (a subset of the owner's); default: * (all the owner's roles permit)", "*")
    .option("--expires <duration>", "lifetime such as 30d, 12h or 90m; default: no expiry", parseDuration)
    .option("--label <text>", "a note shown by apikey list")
    .action(async (opts: { user: string; scopes?: string; expires?: number; label?: string }) => {
      const scopes = (opts.scopes ?? "*").split(",").map((s) => s.trim()).filter((s) => s !== "");
      const expiresAt = opts.expires === undefined ? null : Date.now() + opts.expires;
      const { record, key } = await withIdentity(io, globals(), "apikey.create", opts.user, (identity) => identity.createApiKey(opts.user, scopes, expiresAt, opts.label ?? ""));
      out(`${key}\n(id ${record.id}; shown once: store it now)`, { id: record.id, key, user: opts.user, scopes: record.scopes, expiresAt: day(record.expiresAt) });
    });

  apikey
    .command("list")
    .description("list API keys (never the keys themselves)")
    .action(async () => {
      const keys = await withIdentity(io, globals(), "apikey.list", "*", (identity) => identity.listApiKeys());
      if (globals().json) return out("", keys.map((k) => ({ id: k.id, userId: k.userId, scopes: k.scopes, createdAt: day(k.createdAt), expiresAt: day(k.expiresAt), lastUsedAt: day(k.lastUsedAt), revokedAt: day(k.revokedAt), label: k.label })));
      for (const k of keys) io.out(`${k.id}  ${k.revokedAt !== null ? "revoked" : "live   "}  scopes ${k.scopes.join(",") || "-"}  expires ${day(k.expiresAt) ?? "never"}  last used ${day(k.lastUsedAt) ?? "never"}  ${k.label}\n`);
    });

  apikey
    .command("revoke <id>")
    .description("revoke an API key (takes effect on its next use)")
    .action(async (id: string) => {
      await withIdentity(io, globals(), "apikey.revoke", id, (identity) => identity.revokeApiKey(id));
      out(`revoked ${id}`, { id, revoked: true });
    });

  cmd
    .command("token")
    .description("mint an access token for a user (admin convenience; audited)")
    .requiredOption("--user <name>", "the user")
    .action(async (opts: { user: string }) => {
      const t = await withIdentity(io, globals(), "token", opts.user, (identity) => identity.mintToken(opts.user));
      out(t.access_token, t);
    });
}
