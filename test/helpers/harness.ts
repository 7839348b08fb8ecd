// Starts real gateways in front of real MCP servers for tests, and reads back what they wrote to the audit log.
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { AuditRecord } from "../../src/audit/index.ts";
import { loadConfigObject } from "../../src/config/index.ts";
import { startGateway, type Gateway } from "../../src/gateway.ts";
import { silentLogger, type Logger } from "../../src/log/index.ts";

export const REPO_ROOT = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const FIXTURE = path.join(REPO_ROOT, "test/fixtures/conformance-server.ts");
export const EVERYTHING = path.join(REPO_ROOT, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");

/** The conformance fixture as a stdio upstream (both eras; `protocol` pins one). */
export const fixtureStdio = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ command: process.execPath, args: ["--import", "tsx", FIXTURE, "stdio"], cwd: REPO_ROOT, ...extra });
/** The reference "everything" server from npm as a stdio upstream. */
export const everythingStdio = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ command: process.execPath, args: [EVERYTHING, "stdio"], ...extra });

export interface TestGateway {
  gateway: Gateway;
  url: string;
  dir: string;
  /** Every audit record written so far. */
  audit(): AuditRecord[];
  close(): Promise<void>;
}

/**
 * A gateway on a free loopback port with its own audit log, store and keys in a temp dir; waits
 * until every upstream's first attempt settled. Unless the config says otherwise (`auth`), callers
 * without credentials are let in as anonymous: the tests of identity configure it themselves.
 */
export async function startTestGateway(config: Record<string, unknown>, opts: { log?: Logger; env?: NodeJS.ProcessEnv } = {}): Promise<TestGateway> {
  const dir = mkdtempSync(path.join(tmpdir(), "bastion-test-"));
  // Anonymous callers may use everything unless the test sets its own roles: the policy itself is tested where it is configured.
  const loaded = loadConfigObject({ audit: { path: path.join(dir, "audit.log"), keyFile: path.join(dir, "audit.key") }, auth: { anonymous: true }, roles: { anonymous: { permissions: ["*"] } }, ...config }, opts.env ?? {}, dir);
  // Password hashing at a test cost (N=2^10): logins are exercised, not the hardware.
  const gateway = await startGateway(loaded, { port: 0, log: opts.log ?? silentLogger, env: opts.env ?? {}, scrypt: { ln: 10, r: 8, p: 1 } });
  await gateway.settled();
  return {
    gateway,
    url: gateway.url,
    dir,
    audit: () => {
      const file = path.join(dir, "audit.log");
      if (!existsSync(file)) return [];
      return readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as AuditRecord);
    },
    close: async () => {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until `predicate` holds (polling every 20 ms) or fails after `timeoutMs`. */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Headers of a well-formed 2026-07-28 POST for `method` (and `name`, for tools/call, prompts/get, resources/read). */
export function modernHeaders(method: string, name?: string): Record<string, string> {
  return {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": method,
    ...(name === undefined ? {} : { "mcp-name": name }),
  };
}

/** The `_meta` every 2026-07-28 request carries. */
export const MODERN_META = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };

/** A 2026-07-28 JSON-RPC request body. */
export function modernBody(id: number | string, method: string, params: Record<string, unknown> = {}): string {
  return JSON.stringify({ jsonrpc: "2.0", id, method, params: { ...params, _meta: MODERN_META } });
}

/** Calls the fixture's `stats` tool through a raw 2026-07-28 POST: tool calls it has served, by name. */
export async function upstreamToolCalls(url: string, statsTool = "fixture.stats"): Promise<Record<string, number>> {
  const res = await fetch(url, { method: "POST", headers: modernHeaders("tools/call", statsTool), body: modernBody("stats", "tools/call", { name: statsTool, arguments: {} }) });
  const body = (await res.json()) as { result?: { content?: { text?: string }[] } };
  return JSON.parse(body.result?.content?.[0]?.text ?? "{}") as Record<string, number>;
}

/** server-everything over Streamable HTTP on a free loopback port (it picks the port from PORT; the preload keeps it on 127.0.0.1). */
export async function startEverythingHttp(): Promise<{ url: string; close(): Promise<void> }> {
  const { spawn } = await import("node:child_process");
  const { createServer } = await import("node:net");
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const child = spawn(process.execPath, ["-r", path.join(REPO_ROOT, "test/helpers/loopback-listen.cjs"), EVERYTHING, "streamableHttp"], {
    env: { PATH: process.env["PATH"], HOME: process.env["HOME"], PORT: String(port) },
    stdio: ["ignore", "ignore", "ignore"],
  });
  const url = `http://127.0.0.1:${port}/mcp`;
  await until(async () => {
    try {
      await fetch(url, { method: "GET" });
      return true;
    } catch {
      return false;
    }
  }, 15_000, "server-everything to listen");
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
