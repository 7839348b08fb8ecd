// Child processes for the benchmark (fixture, gateway, bridges): start, wait until ready, measure CPU, stop.
// Every server runs in its own process group, so stopping one also stops what it spawned (a gateway's
// stdio upstream, a bridge's child); the load generator stays in this process, apart from the servers.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
export const FIXTURE = path.join(REPO_ROOT, "test/fixtures/conformance-server.ts");
export const BASTION = path.join(REPO_ROOT, "bin/bastion.js");
export const MCP_PROXY = path.join(REPO_ROOT, "node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs");
export const SUPERGATEWAY = path.join(REPO_ROOT, "node_modules/supergateway/dist/index.js");

/** The fixture as a stdio command line, for the gateway's config and for the bridges. */
export const FIXTURE_STDIO = [process.execPath, "--import", "tsx", FIXTURE, "stdio"];

export interface Server {
  readonly label: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Last few KB of stderr and stdout, to explain a failure. */
  tail(): string;
  stop(): Promise<void>;
}

const running = new Set<Server>();

// A crash or Ctrl-C of the benchmark must not leave servers behind; "exit" handlers can only do synchronous work, hence SIGKILL.
process.once("exit", () => {
  for (const s of running) killGroup(s.pid, "SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping servers\n`);
    process.exit(130);
  });

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export interface StartOptions {
  label: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Resolves with a value once the server is ready, given everything it printed on stdout so far; undefined = not yet. */
  ready: (stdout: string) => string | undefined;
  timeoutMs?: number;
}

/** Starts a server in its own process group and waits until `ready` recognises its output; resolves with that value. */
export async function startServer(opts: StartOptions): Promise<{ server: Server; ready: string }> {
  const child = spawn(opts.command, opts.args, { cwd: REPO_ROOT, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  if (child.pid === undefined) throw new Error(`${opts.label}: could not spawn ${opts.command}`);
  const pid = child.pid;
  let tail = "";
  let stdout = "";
  let readyValue: string | undefined;
  const keep = (chunk: string): void => {
    tail = (tail + chunk).slice(-4096);
  };
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const server: Server = {
    label: opts.label,
    pid,
    child,
    tail: () => tail,
    async stop() {
      if (!running.delete(server)) return;
      // SIGTERM first: the gateway closes cleanly on it (and only then writes a --cpu-prof profile).
      killGroup(pid, "SIGTERM");
      const timer = setTimeout(() => killGroup(pid, "SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      // Whatever the leader left in its group (a bridge's grandchild) goes too.
      killGroup(pid, "SIGKILL");
    },
  };
  running.add(server);
  child.stderr.setEncoding("utf8").on("data", keep);
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    keep(chunk);
    // Only the start-up output matters; afterwards the pipe is just drained.
    if (readyValue === undefined) stdout += chunk;
  });

  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    try {
      readyValue = opts.ready(stdout);
    } catch (err) {
      // The server said it started but not as wanted (say, an upstream down): it must not outlive the error.
      await server.stop();
      throw new Error(`${opts.label}: ${(err as Error).message}\n${tail}`);
    }
    if (readyValue !== undefined) break;
    if (child.exitCode !== null || child.signalCode !== null) {
      running.delete(server);
      throw new Error(`${opts.label} exited during start-up (${String(child.exitCode ?? child.signalCode)}):\n${tail}`);
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`${opts.label} not ready after ${opts.timeoutMs ?? 60_000} ms:\n${tail}`);
    }
    await delay(25);
  }
  stdout = "";
  return { server, ready: readyValue };
}

/** A port nobody listens on right now, for servers that cannot report the port they were given 0 for. */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => probe.once("error", reject).listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Resolves once something accepts TCP connections on the port. */
export async function waitForPort(port: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => socket.end(() => resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await delay(50);
  }
}

// ---- CPU accounting from /proc: where the machine's two cores go during a measured run ----------

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux build that matters (getconf CLK_TCK).

/** User+system CPU of one process in ms, or undefined once it is gone. */
function cpuMsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may contain spaces and parentheses; the fields after the last ')' are positional.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (text !== "") kids.push(...text.split(" ").map(Number));
    }
  } catch {
    // Gone, or a kernel without the children file: the process's own CPU is still counted.
  }
  return kids;
}

/** CPU ms of a server: its own process, and everything it spawned (a gateway's stdio upstream, a bridge's child). */
export interface TreeCpu {
  own: number;
  descendants: number;
}

export function treeCpu(pid: number): TreeCpu {
  let descendants = 0;
  const queue = childrenOf(pid);
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    descendants += cpuMsOf(next) ?? 0;
    queue.push(...childrenOf(next));
  }
  return { own: cpuMsOf(pid) ?? 0, descendants };
}

/** CPU ms the whole machine spent busy (all cores, every process), from /proc/stat; with our own processes subtracted, what noisy neighbours took. */
export function machineBusyMs(): number {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    // cpu  user nice system idle iowait irq softirq steal …: everything but idle and iowait is work.
    const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).map(Number);
    return ((user + nice + system + irq + softirq + steal) * 1000) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** CPU used by this process (the load generator) in ms. */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
