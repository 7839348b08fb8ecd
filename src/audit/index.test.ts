// The audit chain detects every kind of tampering SPEC §4 names: edited, deleted, inserted, reordered and truncated records.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuditLog, GENESIS, loadOrCreateKey, verifyAuditLog, type AuditEvent } from "./index.ts";

let dir: string;
let file: string;
let key: Buffer;

const event = (i: number): AuditEvent => ({
  type: "tool.call",
  outcome: "success",
  severity: "info",
  actor: { user: `user${i}`, ip: "127.0.0.1", session: null, via: "mcp/2026-07-28" },
  target: "fixture.echo",
  reason: null,
  details: { i },
});

/** Writes `n` records with a fixed clock and returns the file's lines. */
function writeLog(n: number): string[] {
  const log = new AuditLog(file, key, () => new Date("2026-11-27T12:00:00Z"));
  for (let i = 1; i <= n; i++) log.record(event(i));
  log.close();
  return readFileSync(file, "utf8").trimEnd().split("\n");
}

const rewrite = (lines: string[]): void => writeFileSync(file, `${lines.join("\n")}\n`);

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "bastion-audit-"));
  file = path.join(dir, "logs", "audit.log");
  key = loadOrCreateKey(path.join(dir, "security", "audit.key"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("the chain key", () => {
  it("is created once, 256 bits, readable only by its owner", () => {
    const keyFile = path.join(dir, "security", "audit.key");
    expect(key.length).toBe(32);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(loadOrCreateKey(keyFile).equals(key)).toBe(true);
  });

  it("refuses a key file that does not hold 64 hex digits", () => {
    const bad = path.join(dir, "bad.key");
    for (const content of ["", "abc", "z".repeat(64), "0".repeat(63)]) {
      writeFileSync(bad, content);
      expect(() => loadOrCreateKey(bad)).toThrow(/does not hold a 256-bit hex key/);
    }
  });
});

describe("AuditLog", () => {
  it("writes one JSON record per line with seq, prev and hash chained from the genesis", () => {
    const lines = writeLog(3);
    const records = lines.map((l) => JSON.parse(l) as { seq: number; prev: string; hash: string; ts: string });
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(records[0]?.prev).toBe(GENESIS);
    expect(records[1]?.prev).toBe(records[0]?.hash);
    expect(records[2]?.prev).toBe(records[1]?.hash);
    expect(Object.keys(JSON.parse(lines[0] ?? "{}") as object)).toEqual(["seq", "ts", "type", "outcome", "severity", "actor", "target", "reason", "details", "prev", "hash"]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("continues the chain across restarts", () => {
    writeLog(2);
    const log = new AuditLog(file, key);
    log.record(event(3));
    log.close();
    expect(verifyAuditLog(file, key)).toEqual({ ok: true, records: 3 });
  });

  it("verifies an intact log, and an empty or absent one", () => {
    writeLog(5);
    expect(verifyAuditLog(file, key)).toEqual({ ok: true, records: 5 });
    expect(verifyAuditLog(path.join(dir, "none.log"), key)).toEqual({ ok: true, records: 0 });
  });
});

describe("tampering", () => {
  it("an edited record is named", () => {
    const lines = writeLog(4);
    rewrite(lines.map((l, i) => (i === 2 ? l.replace('"user3"', '"admin"') : l)));
    expect(verifyAuditLog(file, key)).toMatchObject({ ok: false, line: 3, seq: 3, problem: expect.stringMatching(/altered/) as unknown });
  });

  it("a deleted record is named", () => {
    const lines = writeLog(4);
    rewrite(lines.filter((_, i) => i !== 1));
    expect(verifyAuditLog(file, key)).toMatchObject({ ok: false, line: 2, problem: expect.stringMatching(/removed, inserted or moved/) as unknown });
  });

  it("an inserted record is named, even one re-chained without the key", () => {
    const lines = writeLog(3);
    const forged = JSON.parse(lines[1] ?? "{}") as Record<string, unknown>;
    forged["seq"] = 3;
    forged["prev"] = (JSON.parse(lines[1] ?? "{}") as { hash: string }).hash;
    const renumbered = lines.map((l, i) => (i < 2 ? l : l.replace(`"seq":${i + 1}`, `"seq":${i + 2}`)));
    rewrite([...renumbered.slice(0, 2), JSON.stringify(forged), ...renumbered.slice(2)]);
    expect(verifyAuditLog(file, key)).toMatchObject({ ok: false, line: 3 });
  });

  it("reordered records are named", () => {
    const lines = writeLog(4);
    rewrite([lines[0], lines[2], lines[1], lines[3]].map(String));
    expect(verifyAuditLog(file, key)).toMatchObject({ ok: false, line: 2 });
  });

  it("a truncated tail is caught by the head checkpoint", () => {
    const lines = writeLog(4);
    rewrite(lines.slice(0, 2));
    expect(verifyAuditLog(file, key)).toMatchObject({ ok: false, problem: expect.stringMatching(/truncated/) as unknown });
  });

  it("a record chained under another key fails", () => {
    writeLog(2);
    expect(verifyAuditLog(file, Buffer.alloc(32, 7))).toMatchObject({ ok: false, line: 1 });
  });

  it("garbage lines fail without throwing", () => {
    writeLog(1);
    for (const garbage of ["not json", "null", "42", '{"seq":1}', "[]"]) {
      writeFileSync(file, `${garbage}\n`);
      expect(verifyAuditLog(file, key).ok).toBe(false);
    }
  });
});

describe("the head checkpoint", () => {
  it("catches even the last record cut off", () => {
    const lines = writeLog(3);
    rewrite(lines.slice(0, 2));
    expect(verifyAuditLog(file, key)).toMatchObject({ ok: false, problem: "the log ends at record 2 but 3 were written (truncated)" });
  });
});

describe("one writer, guests spool", () => {
  it("chains a guest's records (with their own time) after the writer's, and the chain stays intact", () => {
    const writer = new AuditLog(file, key);
    const guest = new AuditLog(file, key);
    expect(writer.writer).toBe(true);
    expect(guest.writer).toBe(false);
    writer.record(event(1));
    guest.record(event(2), new Date("2026-01-02T03:04:05.000Z"));
    writer.record(event(3));
    writer.close(); // drains the spool
    const records = readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as { seq: number; ts: string; details: { i: number } });
    expect(records.map((r) => r.details.i)).toEqual([1, 3, 2]);
    expect(records[2]?.ts).toBe("2026-01-02T03:04:05.000Z");
    expect(verifyAuditLog(file, key)).toEqual({ ok: true, records: 3 });
  });

  it("takes over the lock of a writer that died", () => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(`${file}.lock`, "999999999");
    const log = new AuditLog(file, key);
    expect(log.writer).toBe(true);
    log.close();
  });
});
