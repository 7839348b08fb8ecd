// The audit log (SPEC §4): one JSON object per line, each chained to the one before by HMAC-SHA256 under a key kept off the log.
import { createHmac, timingSafeEqual } from "node:crypto";
import { appendFileSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";

export { loadOrCreateKey } from "../crypto/keyfile.ts";

export type Outcome = "success" | "failure" | "denied" | "error";
export type Severity = "info" | "warning" | "error" | "critical";

/** Who did it: the principal (or `anonymous`), the client address, the MCP session and the channel. */
export interface Actor {
  user: string | null;
  ip: string | null;
  session: string | null;
  via: string | null;
}

/** What a caller of {@link AuditLog.record} gives; sequence, time and chain are added by the log. */
export interface AuditEvent {
  type: string;
  outcome: Outcome;
  severity: Severity;
  actor: Actor;
  target: string | null;
  reason: string | null;
  details: Record<string, unknown>;
}

export interface AuditRecord extends AuditEvent {
  seq: number;
  ts: string;
  prev: string;
  hash: string;
}

/** `prev` of the first record. */
export const GENESIS = "0".repeat(64);
/** Width of the checkpoint line: `{"seq":<up to 16 digits>,"hash":"<64 hex>"}` fits. */
const HEAD_WIDTH = 120;

/** The chain hash of a record: HMAC-SHA256 over its JSON without `hash` (which already contains `prev`). */
export function chainHash(key: Buffer, body: string): string {
  return createHmac("sha256", key).update(body).digest("hex");
}

/** Serializes a record's fields in their fixed order, without `hash`: the exact bytes the chain covers. */
function body(r: Omit<AuditRecord, "hash">): string {
  return JSON.stringify({ seq: r.seq, ts: r.ts, type: r.type, outcome: r.outcome, severity: r.severity, actor: r.actor, target: r.target, reason: r.reason, details: r.details, prev: r.prev });
}

/** Where the chain stood after the last record written: kept beside the log so truncation shows. */
interface Head {
  seq: number;
  hash: string;
}

/** How often (milliseconds) the writer chains what other processes left in the spool. */
const SPOOL_EVERY_MS = 1000;

/**
 * An append-only audit log. Exactly one process chains it — the first to open it (the running
 * gateway), holding `<file>.lock` with its pid. Writes are synchronous appends of whole lines, so
 * a crash loses nothing already recorded; the chain continues across restarts from the last line.
 *
 * Any other process (the CLI while the gateway runs, a second gateway) is a guest: its records go
 * unchained to `<file>.spool`, and the writer chains them within two seconds, each with its own
 * time. Two processes therefore never race for the chain's tip.
 */
export class AuditLog {
  private fd: number | undefined;
  private headFd: number | undefined;
  private seq = 0;
  private prev = GENESIS;
  private readonly listeners: ((r: AuditRecord) => void)[] = [];
  /** Whether this process chains the log (else it spools). */
  readonly writer: boolean;
  private readonly spooler: NodeJS.Timeout | undefined;

  constructor(
    readonly file: string,
    private readonly key: Buffer,
    private readonly now: () => Date = () => new Date(),
  ) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.writer = acquireLock(lockFile(file));
    if (!this.writer) return;
    this.fd = openSync(file, "a", 0o600);
    const last = readLastLine(file);
    if (last !== undefined) {
      const rec = JSON.parse(last) as AuditRecord;
      this.seq = rec.seq;
      this.prev = rec.hash;
    }
    // Kept open and overwritten in place: reopening it every few records cost more than all the appends.
    this.headFd = openSync(headFile(file), existsSync(headFile(file)) ? "r+" : "w", 0o600);
    this.writeHead(); // never an empty checkpoint, not even before the first record
    this.drainSpool(true);
    this.spooler = setInterval(() => this.drainSpool(false), SPOOL_EVERY_MS);
    this.spooler.unref();
  }

  /** Appends one record (a guest spools it for the writer to chain) and returns it. */
  record(event: AuditEvent, at: Date = this.now()): AuditRecord {
    const ts = at.toISOString();
    if (!this.writer) {
      appendFileSync(spoolFile(this.file), `${JSON.stringify({ ts, ...event })}\n`, { mode: 0o600 });
      return { seq: 0, ts, ...event, prev: "", hash: "" };
    }
    const partial = { seq: this.seq + 1, ts, ...event, prev: this.prev };
    const text = body(partial);
    const hash = chainHash(this.key, text);
    const record: AuditRecord = { ...partial, hash };
    if (this.fd !== undefined) writeSync(this.fd, `${text.slice(0, -1)},"hash":"${hash}"}\n`);
    this.seq = record.seq;
    this.prev = hash;
    // Every record moves the checkpoint (one in-place write, a few µs), so cutting even the last record off shows.
    this.writeHead();
    for (const l of this.listeners) l(record);
    return record;
  }

  /** Calls `listener` with every record written from now on (metrics, alerts, tests). */
  subscribe(listener: (r: AuditRecord) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i !== -1) this.listeners.splice(i, 1);
    };
  }

  close(): void {
    if (!this.writer || this.fd === undefined) return;
    clearInterval(this.spooler);
    this.drainSpool(true);
    this.writeHead();
    closeSync(this.fd);
    if (this.headFd !== undefined) closeSync(this.headFd);
    this.fd = undefined;
    this.headFd = undefined;
    releaseLock(lockFile(this.file));
  }

  /**
   * Chains what guests spooled. The spool is renamed first and read a tick later, so a guest's
   * append that raced the rename lands before it is read; `now` reads at once (start, shutdown).
   */
  private drainSpool(now: boolean): void {
    const spool = spoolFile(this.file);
    const draining = `${spool}.draining`;
    if (existsSync(draining)) this.ingest(draining);
    if (!existsSync(spool)) return;
    renameSync(spool, draining);
    if (now) this.ingest(draining);
  }

  private ingest(file: string): void {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (line === "") continue;
      try {
        const { ts, ...event } = JSON.parse(line) as AuditEvent & { ts: string };
        const at = new Date(ts);
        this.record(event, Number.isNaN(at.getTime()) ? this.now() : at);
      } catch {
        // a guest that died mid-line: the rest of its records still count
      }
    }
    unlinkSync(file);
  }

  /** Overwrites the checkpoint in place; padded to a fixed width so a shorter one never leaves a tail behind. */
  private writeHead(): void {
    if (this.headFd === undefined) return;
    const head: Head = { seq: this.seq, hash: this.prev };
    writeSync(this.headFd, `${JSON.stringify(head).padEnd(HEAD_WIDTH)}\n`, 0);
  }
}

const lockFile = (file: string): string => `${file}.lock`;
const spoolFile = (file: string): string => `${file}.spool`;

/** Takes the writer's lock (a file holding our pid); a lock whose process is gone is taken over. */
function acquireLock(lock: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx", mode: 0o600 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number(readFileSync(lock, "utf8").trim());
      if (pid === process.pid) return false; // another AuditLog of this process writes: this one is a guest
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) return false;
      rmSync(lock, { force: true }); // stale: its writer died
    }
  }
  return false;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function releaseLock(lock: string): void {
  try {
    if (readFileSync(lock, "utf8").trim() === String(process.pid)) unlinkSync(lock);
  } catch {
    // already gone
  }
}

const headFile = (file: string): string => `${file}.head`;

/** The outcome of {@link verifyAuditLog}: intact, or the first record (1-based line) that breaks the chain and why. */
export type VerifyResult = { ok: true; records: number } | { ok: false; records: number; line: number; seq: number | null; problem: string };

/**
 * Recomputes the chain of `file` under `key`. Catches an edited, deleted, inserted or reordered
 * record anywhere, and truncation of the tail when the head checkpoint is ahead of the file.
 */
export function verifyAuditLog(file: string, key: Buffer): VerifyResult {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let prev = GENESIS;
  let expectedSeq = 1;
  for (let i = 0; i < lines.length; i++) {
    const fail = (problem: string, seq: number | null = null): VerifyResult => ({ ok: false, records: i, line: i + 1, seq, problem });
    let rec: AuditRecord;
    try {
      rec = JSON.parse(lines[i] ?? "") as AuditRecord;
    } catch {
      return fail("not JSON");
    }
    if (typeof rec !== "object" || rec === null || typeof rec.hash !== "string") return fail("not an audit record");
    if (rec.seq !== expectedSeq) return fail(`sequence ${String(rec.seq)} where ${expectedSeq} was expected (a record was removed, inserted or moved)`, rec.seq);
    if (rec.prev !== prev) return fail("does not chain to the record before it", rec.seq);
    const expected = Buffer.from(chainHash(key, body(rec)), "hex");
    const given = Buffer.from(rec.hash, "hex");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return fail("hash does not match its content (the record was altered)", rec.seq);
    prev = rec.hash;
    expectedSeq++;
  }
  const count = lines.length;
  if (existsSync(headFile(file))) {
    try {
      const head = JSON.parse(readFileSync(headFile(file), "utf8")) as Head;
      if (head.seq > count) return { ok: false, records: count, line: count + 1, seq: count + 1, problem: `the log ends at record ${count} but ${head.seq} were written (truncated)` };
    } catch {
      return { ok: false, records: count, line: count, seq: null, problem: "the head checkpoint is unreadable" };
    }
  }
  return { ok: true, records: count };
}

/** The last non-empty line of a file, read from the end (the log may be large). */
function readLastLine(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    let pos = size;
    let tail = "";
    while (pos > 0) {
      const n = Math.min(65536, pos);
      pos -= n;
      const buf = Buffer.alloc(n);
      readSync(fd, buf, 0, n, pos);
      tail = buf.toString("utf8") + tail;
      const trimmed = tail.replace(/\n+$/, "");
      const nl = trimmed.lastIndexOf("\n");
      if (nl !== -1) return trimmed.slice(nl + 1);
      if (pos === 0) return trimmed === "" ? undefined : trimmed;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
