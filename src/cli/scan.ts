// `bastion scan [UPSTREAM]` (SPEC §1): connects to the configured upstreams as the gateway would, reads their tools, and reports hidden instructions (tool poisoning).
import path from "node:path";
import type { Command } from "commander";
import { configPath, loadConfigFile } from "../config/index.ts";
import { OperationRefused } from "../errors/index.ts";
import { scanTools, type ToolFlag } from "../integrity/scan.ts";
import type { Logger } from "../log/index.ts";
import { Upstream } from "../upstream/index.ts";
import type { Io } from "./main.ts";
import { visible } from "./tools.ts";

interface Globals {
  config?: string;
  json?: boolean;
}

/** What scanning one upstream found. */
interface UpstreamScan {
  upstream: string;
  /** Set when the upstream could not be reached or listed: nothing about it is known. */
  error?: string;
  tools: number;
  flags: ToolFlag[];
}

/** Pages of tools/list read per upstream at most (the gateway's own bound). */
const MAX_PAGES = 100;

async function listTools(upstream: Upstream): Promise<Record<string, unknown>[]> {
  const tools: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await upstream.call("tools/list", cursor === undefined ? {} : { cursor }, { timeoutMs: upstream.config.timeoutMs });
    const got = result["tools"];
    if (Array.isArray(got)) for (const t of got) if (typeof t === "object" && t !== null) tools.push(t as Record<string, unknown>);
    const next = result["nextCursor"];
    if (typeof next !== "string" || next === "" || next === cursor) break;
    cursor = next;
  }
  return tools;
}

async function scanOne(name: string, upstream: Upstream): Promise<UpstreamScan> {
  try {
    await upstream.start();
    if (upstream.state !== "ready") return { upstream: name, error: upstream.lastError ?? "not reachable", tools: 0, flags: [] };
    if (upstream.capabilities["tools"] === undefined) return { upstream: name, tools: 0, flags: [] };
    const tools = await listTools(upstream);
    return { upstream: name, tools: tools.length, flags: scanTools(tools) };
  } catch (err) {
    return { upstream: name, error: (err as Error).message.split("\n")[0] ?? "failed", tools: 0, flags: [] };
  } finally {
    await upstream.stop();
  }
}

export function scanCommand(cmd: Command, io: Io, globals: () => Globals): void {
  cmd
    .command("scan [upstream]")
    .description("report tool descriptions and schemas that carry hidden instructions (tool poisoning); exit 1 when anything is flagged or an upstream cannot be read")
    .action(async (only: string | undefined) => {
      const loaded = loadConfigFile(path.resolve(io.cwd, configPath(globals().config, io.env)), io.env, io.cwd);
      const names = only === undefined ? Object.keys(loaded.config.upstreams) : [only];
      const baseDir = loaded.file === undefined ? io.cwd : path.dirname(path.dirname(loaded.file));
      // The upstreams' own chatter (stderr, restarts) is not the report.
      const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
      const upstreams = names.map((name) => {
        const config = loaded.config.upstreams[name];
        if (config === undefined || !Object.hasOwn(loaded.config.upstreams, name)) throw new OperationRefused(`no upstream named ${name} in the configuration`);
        return new Upstream(name, config, baseDir, quiet);
      });
      const scans = await Promise.all(upstreams.map((u) => scanOne(u.name, u)));
      if (globals().json) io.out(`${JSON.stringify(scans)}\n`);
      else
        for (const s of scans) {
          if (s.error !== undefined) {
            io.out(`${s.upstream}: not scanned: ${s.error}\n`);
            continue;
          }
          io.out(`${s.upstream}: ${s.tools} tool${s.tools === 1 ? "" : "s"}, ${s.flags.length === 0 ? "nothing flagged" : `${s.flags.length} finding${s.flags.length === 1 ? "" : "s"}`}\n`);
          for (const f of s.flags) io.out(`  ${visible(f.tool)}  ${f.path}  ${f.rule}: ${visible(f.message)}\n`);
        }
      const failed = scans.filter((s) => s.error !== undefined || s.flags.length > 0);
      if (failed.length > 0) throw new OperationRefused(`flagged or not scanned: ${failed.map((s) => s.upstream).join(", ")}`);
    });
}
