// The conformance suite on SQLite (a fresh :memory: database per test), then what only a database file has: modes, WAL, several processes.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { openStore, SCHEMA_VERSION } from "./index.ts";
import { runStoreSuite } from "./store.case.ts";

runStoreSuite("sqlite", () => openStore({ driver: "sqlite", path: ":memory:" }));

describe("sqlite store on a file", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "bastion-store-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("creates the folder 0700 and the database 0600 (its WAL files too), in WAL mode", async () => {
    const file = path.join(dir, "fresh", "data", "bastion.db");
    const store = await openStore({ driver: "sqlite", path: file });
    await store.setLock("k", 1); // a write, so the WAL file exists
    expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    expect(statSync(`${file}-shm`).mode & 0o777).toBe(0o600);
    await store.close();
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, "fresh")).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    raw.close();
  });

  it("keeps the data across reopening and migrates an existing file without loss", async () => {
    const file = path.join(dir, "reopen.db");
    const first = await openStore({ driver: "sqlite", path: file });
    await first.createUser({ id: "u1", name: "alice", roles: ["admin"], locked: false, createdAt: 1, passwordChangedAt: null, mustChangePassword: false });
    await first.close();
    const second = await openStore({ driver: "sqlite", path: file });
    expect((await second.getUserByName("alice"))?.id).toBe("u1");
    await second.close();
  });

  it("refuses a database migrated by a newer build instead of writing into a schema it does not know", async () => {
    const file = path.join(dir, "future.db");
    await (await openStore({ driver: "sqlite", path: file })).close();
    const raw = new Database(file);
    raw.prepare("INSERT INTO schema_version (version, name, applied_at) VALUES (99, 'future', 0)").run();
    raw.close();
    await expect(openStore({ driver: "sqlite", path: file })).rejects.toThrow(`store schema version 99 is newer than this build's ${SCHEMA_VERSION}: upgrade mcp-bastion`);
  });

  it("lets four processes migrate one new file at once, and each then writes", async () => {
    const file = path.join(dir, "race.db");
    const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), "index.ts");
    // Each child loads the code, waits for a common start time (so the migrations really overlap),
    // opens (and so migrates) the same file, then creates its own user.
    const start = Date.now() + 2_000;
    const script = `const { openStore } = await import(${JSON.stringify(entry)});
      await new Promise((go) => setTimeout(go, ${start} - Date.now()));
      const s = await openStore({ driver: "sqlite", path: ${JSON.stringify(file)} });
      await s.createUser({ id: process.argv[1], name: process.argv[1], roles: [], locked: false, createdAt: 1, passwordChangedAt: null, mustChangePassword: false });
      await s.close();`;
    const run = promisify(execFile);
    await Promise.all(["p1", "p2", "p3", "p4"].map((name) => run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, name])));
    const store = await openStore({ driver: "sqlite", path: file });
    expect((await store.listUsers()).map((u) => u.name)).toEqual(["p1", "p2", "p3", "p4"]);
    await store.close();
    const raw = new Database(file, { readonly: true });
    expect(raw.prepare("SELECT version FROM schema_version ORDER BY version").all()).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
    raw.close();
  });
});
