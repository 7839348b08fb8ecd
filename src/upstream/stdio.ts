// An upstream MCP server as a child process: newline-delimited JSON-RPC on stdin/stdout, stderr to the gateway's log.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import type { StdioUpstreamConfig } from "../config/index.ts";
import type { RpcMessage } from "../jsonrpc/index.ts";
import type { Logger } from "../log/index.ts";
import { Peer, type PendingCall, type PeerWire, type UnattributedHandler } from "./peer.ts";
import type { Link } from "./link.ts";

/** Largest single message accepted from a child, in bytes; a child that sends more is stopped. Default 32 MiB. */
const MAX_LINE_BYTES = 32 * 1024 * 1024;
/** stderr lines logged per second per child before the rest are counted and dropped. */
const STDERR_LINES_PER_SECOND = 50;

/**
 * The variables a child inherits from the gateway (the set the MCP SDK uses, plus locale and
 * temp dir). Nothing else of the gateway's environment — in particular none of its secrets —
 * reaches a child; the config's `env` adds what the server needs.
 */
const INHERITED_ENV = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LC_ALL", "TZ", "TMPDIR"] as const;

/** The environment a child process starts with: the inherited allow-list plus the upstream's own `env`. */
export function childEnvironment(configured: Record<string, string>, parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const v = parent[name];
    if (v !== undefined) env[name] = v;
  }
  return { ...env, ...configured };
}

export class StdioLink implements Link, PeerWire {
  readonly peer: Peer;
  private readonly child: ChildProcessWithoutNullStreams;
  private pendingChunks: Buffer[] = [];
  private pendingBytes = 0;
  private closed = false;
  private stderrBudget = STDERR_LINES_PER_SECOND;
  private stderrDropped = 0;
  private readonly stderrTimer: NodeJS.Timeout;
  private stderrPartial = "";

  constructor(
    private readonly name: string,
    config: StdioUpstreamConfig,
    baseDir: string,
    private readonly log: Logger,
    onUnattributed: UnattributedHandler,
    private readonly onClose: (reason: string) => void,
  ) {
    this.peer = new Peer(this, onUnattributed, () => `upstream ${name}`);
    const cwd = config.cwd === undefined ? baseDir : path.resolve(baseDir, config.cwd);
    log.info(`upstream ${name}: starting ${[config.command, ...config.args].join(" ")} (cwd ${cwd})`);
    this.child = spawn(config.command, config.args, { cwd, env: childEnvironment(config.env), stdio: ["pipe", "pipe", "pipe"], shell: false });
    this.child.stdout.on("data", (chunk: Buffer) => this.onStdout(chunk));
    this.child.stderr.setEncoding("utf8");
    this.child.stderr.on("data", (chunk: string) => this.onStderr(chunk));
    this.child.stdin.on("error", () => {
      /* EPIPE after the child died: the exit handler reports it */
    });
    this.child.on("error", (err) => this.finish(`could not start: ${err.message}`));
    this.child.on("exit", (code, signal) => this.finish(signal !== null ? `exited on ${signal}` : `exited with code ${code ?? "?"}`));
    this.stderrTimer = setInterval(() => this.refillStderr(), 1000);
    this.stderrTimer.unref();
  }

  /** Process id of the child (for tests and /readyz). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  send(message: RpcMessage): void {
    if (this.closed) throw new Error("process is not running");
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  cancel(call: PendingCall, reason: string): void {
    if (!this.closed) this.peer.notify("notifications/cancelled", { requestId: call.id, reason });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.stdin.end();
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 2000);
    await exited;
    clearTimeout(timer);
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.stderrTimer);
    this.peer.failAll(`upstream ${this.name} ${reason}`);
    this.onClose(reason);
  }

  private onStdout(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      let line = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.pendingBytes > 0) {
        this.pendingChunks.push(line);
        line = Buffer.concat(this.pendingChunks);
        this.pendingChunks = [];
        this.pendingBytes = 0;
      }
      this.onLine(line);
      if (this.closed) return;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.pendingChunks.push(rest);
      this.pendingBytes += rest.length;
      if (this.pendingBytes > MAX_LINE_BYTES) {
        this.log.error(`upstream ${this.name}: a message exceeded ${MAX_LINE_BYTES} bytes; stopping it`);
        this.pendingChunks = [];
        this.pendingBytes = 0;
        this.child.kill("SIGKILL");
      }
    }
  }

  private onLine(line: Buffer): void {
    if (line.length === 0 || (line.length === 1 && line[0] === 0x0d)) return;
    let message: unknown;
    try {
      message = JSON.parse(line.toString("utf8"));
    } catch {
      this.log.warn(`upstream ${this.name}: ignored a stdout line that is not JSON (${line.length} bytes)`);
      return;
    }
    if (typeof message !== "object" || message === null || Array.isArray(message)) {
      this.log.warn(`upstream ${this.name}: ignored a stdout line that is not one JSON-RPC message`);
      return;
    }
    try {
      this.peer.receive(message as RpcMessage);
    } catch (err) {
      this.log.warn(`upstream ${this.name}: could not handle a message: ${(err as Error).message}`);
    }
  }

  private onStderr(chunk: string): void {
    const lines = (this.stderrPartial + chunk).split("\n");
    this.stderrPartial = (lines.pop() ?? "").slice(0, 4096);
    for (const line of lines) {
      if (line.trim() === "") continue;
      if (this.stderrBudget > 0) {
        this.stderrBudget--;
        this.log.info(`upstream ${this.name} stderr: ${line.slice(0, 2000)}`);
      } else this.stderrDropped++;
    }
  }

  private refillStderr(): void {
    if (this.stderrDropped > 0) this.log.warn(`upstream ${this.name}: dropped ${this.stderrDropped} stderr lines (more than ${STDERR_LINES_PER_SECOND}/s)`);
    this.stderrDropped = 0;
    this.stderrBudget = STDERR_LINES_PER_SECOND;
  }
}
