// The `bastion` command (SPEC §1): exit 0 on success, 1 on a refused operation, 2 on bad usage; errors are one line on stderr, never a stack trace.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command, CommanderError } from "commander";
import { loadOrCreateKey, verifyAuditLog } from "../audit/index.ts";
import { configPath, loadConfigFile, DEFAULT_CONFIG_PATH } from "../config/index.ts";
import { BastionError, ConfigError, OperationRefused } from "../errors/index.ts";
import { fileKey } from "../authn/tokens.ts";
import { gatewayUrl, openIdentity, startGateway, type Gateway } from "../gateway.ts";
import { openStore } from "../store/index.ts";
import { GATEWAY_INFO } from "../protocol/versions.ts";
import { identityCommands } from "./identity.ts";
import { scanCommand } from "./scan.ts";
import { toolsCommands } from "./tools.ts";
import { CONFIG_TEMPLATE } from "./template.ts";

/** Where a command writes: stdout for results, stderr for problems (tests pass their own). */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Where passwords are read (`--password-stdin`, or the terminal without echo). */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

const defaultIo: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), cwd: process.cwd(), env: process.env, stdin: process.stdin };

interface Globals {
  config?: string;
  json?: boolean;
}

/** What `init` did to each file: created, or found and kept. */
export interface InitReport {
  created: string[];
  kept: string[];
}

/**
 * Creates what is missing of the working layout — the config, the audit, signing and secrets keys
 * (0600), the store, and the log and sandbox folders — as the (new or existing) config names them;
 * never overwrites anything.
 */
export async function init(cwd: string, file: string, env: NodeJS.ProcessEnv): Promise<InitReport> {
  const report: InitReport = { created: [], kept: [] };
  const note = (name: string, existed: boolean): void => void (existed ? report.kept : report.created).push(name);
  const configFile = path.resolve(cwd, file);
  const hadConfig = existsSync(configFile);
  if (!hadConfig) {
    mkdirSync(path.dirname(configFile), { recursive: true, mode: 0o700 });
    writeFileSync(configFile, CONFIG_TEMPLATE, { mode: 0o600, flag: "wx" });
  }
  note(file, hadConfig);
  const loaded = loadConfigFile(configFile, env, cwd);
  const { config } = loaded;
  const at = (f: string): string => path.resolve(cwd, f);
  for (const keyFile of [config.audit.keyFile, config.auth.secretsKeyFile]) {
    const existed = existsSync(at(keyFile));
    loadOrCreateKey(at(keyFile));
    note(keyFile, existed);
  }
  if (env["JWT_SECRET_KEY"] === undefined || env["JWT_SECRET_KEY"] === "") {
    const existed = existsSync(at(config.auth.jwt.keyFile));
    await fileKey(at(config.auth.jwt.keyFile), config.auth.jwt.algorithm);
    note(config.auth.jwt.keyFile, existed);
  }
  const storeName = config.store.driver === "sqlite" ? config.store.path : `postgres schema ${config.store.schema}`;
  const storeExisted = config.store.driver === "sqlite" && existsSync(at(config.store.path));
  const store = await openStore(config.store.driver === "sqlite" ? { driver: "sqlite", path: at(config.store.path) } : config.store);
  await store.close();
  note(storeName, storeExisted);
  for (const dir of ["logs", "sandbox"]) {
    if (existsSync(at(dir))) continue;
    mkdirSync(at(dir), { recursive: true, mode: 0o700 });
    report.created.push(`${dir}/`);
  }
  const welcome = at("sandbox/README.txt");
  if (!existsSync(welcome)) writeFileSync(welcome, "This folder is what the demo file-system upstream of `bastion quickstart` may read and write.\n", { flag: "wx" });
  return report;
}

/** A password that passes any policy: 144 random bits, plus one character of each class. */
function generatedPassword(): string {
  return `${randomBytes(18).toString("base64url")}-Aa1`;
}

/**
 * The first user of a fresh store: `admin`, with a generated password and an API key, both printed
 * once by quickstart. Returns undefined when the store already has users.
 */
async function firstAdmin(io: Io, globals: Globals): Promise<{ password: string; key: string } | undefined> {
  const loaded = loadConfigFile(path.resolve(io.cwd, configPath(globals.config, io.env)), io.env, io.cwd);
  const { store, identity } = await openIdentity(loaded, io.env, gatewayUrl(loaded, loaded.config.server.port));
  try {
    if ((await identity.listUsers()).length > 0) return undefined;
    const password = generatedPassword();
    await identity.addUser("admin", ["admin"], password);
    const { key } = await identity.createApiKey("admin", ["*"], null, "created by quickstart");
    return { password, key };
  } finally {
    await store.close();
  }
}

/** A ready-to-paste command that lists tools through the gateway (2026-07-28, no SDK needed). */
export function listToolsCommand(url: string, key = "$BASTION_KEY"): string {
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } });
  return [
    `curl -s ${url} \\`,
    `  -H 'authorization: Bearer ${key}' \\`,
    `  -H 'content-type: application/json' -H 'accept: application/json' \\`,
    `  -H 'mcp-protocol-version: 2026-07-28' -H 'mcp-method: tools/list' \\`,
    `  -d '${body}'`,
  ].join("\n");
}

async function serve(io: Io, globals: Globals, banner: boolean, admin?: { password: string; key: string }): Promise<Gateway> {
  const loaded = loadConfigFile(path.resolve(io.cwd, configPath(globals.config, io.env)), io.env, io.cwd);
  const gateway = await startGateway(loaded).catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new OperationRefused(`port ${loaded.config.server.port} is in use: set server.port in ${loaded.file ?? "the config"}`);
    if (code === "EACCES") throw new OperationRefused(`not allowed to listen on port ${loaded.config.server.port}`);
    throw err;
  });
  const stop = (): void => {
    void gateway.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // SIGHUP re-reads the file: roles, capabilities and validation apply from the next request. A bad file changes nothing.
  process.on("SIGHUP", () => {
    try {
      gateway.reload(loadConfigFile(path.resolve(io.cwd, configPath(globals.config, io.env)), io.env, io.cwd));
    } catch (err) {
      io.err(`bastion: reload refused, the running configuration stays: ${err instanceof BastionError ? err.message : String(err)}\n`);
    }
  });
  await gateway.settled();
  const upstreams = gateway.upstreams.map((u) => ({ name: u.name, state: u.state, era: u.era ?? null, ...(u.lastError === undefined ? {} : { error: u.lastError }) }));
  if (globals.json) io.out(`${JSON.stringify({ url: gateway.url, upstreams })}\n`);
  else if (banner) {
    const lines = [
      "",
      `mcp-bastion ${GATEWAY_INFO.version} is running.`,
      "",
      `  MCP endpoint  ${gateway.url}`,
      `  upstreams     ${upstreams.map((u) => `${u.name} (${u.state}${u.era === null ? "" : `, ${u.era}`})`).join(", ")}`,
      `  audit log     ${gateway.audit?.file ?? "disabled"}`,
      "",
      ...(admin === undefined
        ? ["Callers need credentials: `bastion apikey create --user NAME` prints an API key.", "", "List the tools through the gateway (with BASTION_KEY set to an API key):", "", listToolsCommand(gateway.url)]
        : [
            "Created the first user, shown once — store them now:",
            `  user      admin`,
            `  password  ${admin.password}   (role admin: password logins also need TOTP, see bastion user mfa enroll admin)`,
            `  API key   ${admin.key}`,
            "",
            "List the tools through the gateway:",
            "",
            listToolsCommand(gateway.url, admin.key),
          ]),
      "",
      "Or point any MCP client (Streamable HTTP) at the endpoint. Ctrl-C stops the gateway.",
      "",
    ];
    io.out(`${lines.join("\n")}\n`);
  }
  return gateway;
}

/** Builds the command tree; exported for tests, which run it in process. */
export function program(io: Io = defaultIo): Command {
  const cmd = new Command("bastion")
    .description("mcp-bastion: a security gateway for MCP servers")
    .version(GATEWAY_INFO.version)
    .option("--config <path>", `configuration file (default: $BASTION_CONFIG or ${DEFAULT_CONFIG_PATH})`)
    .option("--json", "machine-readable output")
    .exitOverride()
    // Usage errors are one line like every other error: "bastion: …".
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: (text, write) => write(`bastion: ${text.replace(/^error: /, "")}`) });
  const globals = (): Globals => cmd.opts<Globals>();

  cmd
    .command("init")
    .description("write a commented security/config.yaml and the audit key; never overwrites an existing file")
    .action(async () => {
      const report = await init(io.cwd, configPath(globals().config, io.env), io.env);
      if (globals().json) io.out(`${JSON.stringify(report)}\n`);
      else {
        for (const f of report.created) io.out(`created ${f}\n`);
        for (const f of report.kept) io.out(`kept    ${f} (exists)\n`);
      }
    });

  cmd
    .command("serve")
    .description("run the gateway")
    .action(async () => {
      await serve(io, globals(), true);
    });

  cmd
    .command("quickstart")
    .description("init where needed, then serve the demo upstreams and print how to reach them")
    .action(async () => {
      const report = await init(io.cwd, configPath(globals().config, io.env), io.env);
      if (!globals().json) for (const f of report.created) io.out(`created ${f}\n`);
      const admin = await firstAdmin(io, globals());
      await serve(io, globals(), true, admin);
    });

  identityCommands(cmd, io, globals);
  toolsCommands(cmd, io, globals);
  scanCommand(cmd, io, globals);

  const audit = cmd.command("audit").description("the audit log");
  audit
    .command("verify [file]")
    .description("verify the hash chain; exit 0 intact, 1 with the first broken record named")
    .action((file: string | undefined) => {
      const loaded = loadConfigFile(path.resolve(io.cwd, configPath(globals().config, io.env)), io.env, io.cwd);
      const log = path.resolve(io.cwd, file ?? loaded.config.audit.path);
      const key = loadOrCreateKeyReadOnly(path.resolve(io.cwd, loaded.config.audit.keyFile));
      const result = verifyAuditLog(log, key);
      if (globals().json) io.out(`${JSON.stringify(result)}\n`);
      else if (result.ok) io.out(`intact: ${result.records} records\n`);
      else io.out(`broken at line ${result.line}${result.seq === null ? "" : ` (seq ${result.seq})`}: ${result.problem}\n`);
      if (!result.ok) throw new Reported();
    });
  return cmd;
}

/** A refusal whose explanation was already printed as the command's output: exit 1, nothing more on stderr. */
class Reported extends OperationRefused {
  constructor() {
    super("");
  }
}

/** The chain key, which verification must never create: a missing key is a refusal. */
function loadOrCreateKeyReadOnly(file: string): Buffer {
  if (!existsSync(file)) throw new OperationRefused(`audit key ${file} does not exist`);
  return loadOrCreateKey(file);
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. Long-running commands resolve when started. */
export async function run(argv: string[], io: Io = defaultIo): Promise<number> {
  try {
    await program(io).parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof BastionError) {
      // A bad configuration lists every problem (ConfigError's message is one line per problem); the rest is one line.
      if (!(err instanceof Reported)) io.err(`bastion: ${err instanceof ConfigError ? err.message : err.message.split("\n")[0]}\n`);
      return 1;
    }
    io.err(`bastion: ${(err as Error).message.split("\n")[0] ?? "failed"}\n`);
    return 1;
  }
}

const invokedDirectly = process.argv[1] !== undefined && /(?:bastion(?:\.js)?|cli[\\/]main\.[jt]s)$/.test(process.argv[1]);
if (invokedDirectly) {
  const code = await run(process.argv.slice(2));
  if (code !== 0) process.exit(code);
}
