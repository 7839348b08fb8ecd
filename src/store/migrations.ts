// Versioned schema migrations for both dialects: one logical schema, applied in order inside one transaction, recorded in `schema_version`.
import type { Database } from "better-sqlite3";
import type { Pool } from "pg";
import { pgTransaction, quoteIdent } from "./common.ts";

/** The few type names that differ between the dialects; everything else in the DDL is shared SQL. */
export interface Dialect {
  readonly name: "sqlite" | "postgres";
  /** Milliseconds and counters: 64-bit (times up to 2^53 must round-trip). */
  readonly int64: string;
  readonly bool: string;
  /** An insertion-ordered surrogate key (history and failure rows are ordered by it, not by the caller's clock). */
  readonly serial: string;
  /** SQLite STRICT tables refuse a value of the wrong type instead of storing it, as PostgreSQL does. */
  readonly tableSuffix: string;
}

const SQLITE: Dialect = { name: "sqlite", int64: "INTEGER", bool: "INTEGER", serial: "INTEGER PRIMARY KEY", tableSuffix: " STRICT" };
const POSTGRES: Dialect = {
  name: "postgres",
  int64: "BIGINT",
  bool: "BOOLEAN",
  serial: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
  tableSuffix: "",
};

export interface Migration {
  /** 1, 2, 3, …: applied in this order, each once; never renumber or edit one that has shipped. */
  readonly version: number;
  readonly name: string;
  readonly up: (d: Dialect) => readonly string[];
}

/** Arrays (roles, scopes) are JSON text; booleans are 0/1 in SQLite and BOOLEAN in PostgreSQL. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "identity",
    up: (d) => [
      `CREATE TABLE users (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        roles TEXT NOT NULL,
        locked ${d.bool} NOT NULL,
        created_at ${d.int64} NOT NULL,
        password_hash TEXT,
        password_changed_at ${d.int64},
        must_change_password ${d.bool} NOT NULL
      )${d.tableSuffix}`,
      `CREATE TABLE password_history (
        seq ${d.serial},
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        set_at ${d.int64} NOT NULL
      )${d.tableSuffix}`,
      `CREATE INDEX password_history_user ON password_history (user_id, seq)`,
      `CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        scopes TEXT NOT NULL,
        created_at ${d.int64} NOT NULL,
        expires_at ${d.int64},
        last_used_at ${d.int64},
        revoked_at ${d.int64},
        label TEXT NOT NULL
      )${d.tableSuffix}`,
      `CREATE INDEX api_keys_user ON api_keys (user_id)`,
      `CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at ${d.int64} NOT NULL,
        last_seen_at ${d.int64} NOT NULL,
        expires_at ${d.int64} NOT NULL,
        revoked_at ${d.int64},
        method TEXT NOT NULL
      )${d.tableSuffix}`,
      `CREATE INDEX sessions_user ON sessions (user_id)`,
      // sweepSessions filters on either end.
      `CREATE INDEX sessions_expires ON sessions (expires_at)`,
      `CREATE INDEX sessions_revoked ON sessions (revoked_at)`,
      `CREATE TABLE refresh_tokens (
        hash TEXT PRIMARY KEY,
        family_id TEXT NOT NULL,
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at ${d.int64} NOT NULL,
        expires_at ${d.int64} NOT NULL,
        used_at ${d.int64},
        revoked_at ${d.int64}
      )${d.tableSuffix}`,
      `CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id)`,
      `CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)`,
      `CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id)`,
      `CREATE TABLE totp (
        user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        secret TEXT NOT NULL,
        last_counter ${d.int64} NOT NULL,
        confirmed ${d.bool} NOT NULL,
        created_at ${d.int64} NOT NULL
      )${d.tableSuffix}`,
      // Tied to the enrollment, not the user: replacing the TOTP secret drops the old codes with it.
      `CREATE TABLE recovery_codes (
        user_id TEXT NOT NULL REFERENCES totp (user_id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        PRIMARY KEY (user_id, hash)
      )${d.tableSuffix}`,
      `CREATE TABLE failures (
        seq ${d.serial},
        key TEXT NOT NULL,
        at ${d.int64} NOT NULL
      )${d.tableSuffix}`,
      `CREATE INDEX failures_key_at ON failures (key, at)`,
      `CREATE INDEX failures_at ON failures (at)`,
      `CREATE TABLE locks (
        key TEXT PRIMARY KEY,
        until ${d.int64} NOT NULL
      )${d.tableSuffix}`,
      `CREATE INDEX locks_until ON locks (until)`,
    ],
  },
  {
    version: 2,
    name: "tool pins",
    // Tool names come from upstreams: any text (the pin book refuses NUL, lone surrogates and names
    // over 512 characters before they get here). Definitions are canonical JSON, which escapes both.
    up: (d) => [
      // One row per upstream ever seen, even with no tools: its existence ends "first sight".
      `CREATE TABLE tool_sets (
        upstream TEXT PRIMARY KEY,
        revision ${d.int64} NOT NULL,
        first_seen_at ${d.int64} NOT NULL
      )${d.tableSuffix}`,
      // approved_by NULL: pinned by the gateway on first sight, not reviewed by anyone.
      `CREATE TABLE tool_pins (
        upstream TEXT NOT NULL REFERENCES tool_sets (upstream) ON DELETE CASCADE,
        name TEXT NOT NULL,
        definition TEXT NOT NULL,
        hash TEXT NOT NULL,
        approved_at ${d.int64} NOT NULL,
        approved_by TEXT,
        PRIMARY KEY (upstream, name)
      )${d.tableSuffix}`,
      // What the gateways last saw, so the CLI can diff without connecting; findings are JSON text.
      `CREATE TABLE tool_observed (
        upstream TEXT NOT NULL,
        name TEXT NOT NULL,
        definition TEXT NOT NULL,
        hash TEXT NOT NULL,
        findings TEXT NOT NULL,
        seen_at ${d.int64} NOT NULL,
        PRIMARY KEY (upstream, name)
      )${d.tableSuffix}`,
    ],
  },
];

/** The version this build expects: the last migration's. */
export const SCHEMA_VERSION = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);

function pending(current: number): Migration[] {
  if (current > SCHEMA_VERSION) {
    // A newer build migrated this store: running older code on it could write rows the new schema forbids.
    throw new Error(`store schema version ${current} is newer than this build's ${SCHEMA_VERSION}: upgrade mcp-bastion`);
  }
  return [...MIGRATIONS].sort((a, b) => a.version - b.version).filter((m) => m.version > current);
}

const versionTable = (d: Dialect): string =>
  `CREATE TABLE IF NOT EXISTS schema_version (version ${d.int64} PRIMARY KEY, name TEXT NOT NULL, applied_at ${d.int64} NOT NULL)${d.tableSuffix}`;

/**
 * Brings a SQLite database to {@link SCHEMA_VERSION}. BEGIN IMMEDIATE takes the write lock before the
 * version is read, so a second process waits (busy timeout) and then finds nothing left to do.
 */
export function migrateSqlite(db: Database): void {
  db.transaction(() => {
    db.exec(versionTable(SQLITE));
    const row = db.prepare("SELECT coalesce(max(version), 0) AS v FROM schema_version").get() as { v: number };
    const insert = db.prepare("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)");
    for (const m of pending(row.v)) {
      for (const sql of m.up(SQLITE)) db.exec(sql);
      insert.run(m.version, m.name, Date.now());
    }
  }).immediate();
}

/** Advisory-lock class of migrations (the two-int key space; the second int is the schema's hash). */
export const PG_LOCK_MIGRATE = 0x6d630001;

/**
 * Brings a PostgreSQL schema to {@link SCHEMA_VERSION}: one transaction that first takes a
 * transaction-scoped advisory lock per schema, so concurrent starts run one after the other (without it,
 * two `CREATE … IF NOT EXISTS` race into a unique violation). DDL is transactional here: a failed
 * migration leaves nothing behind.
 */
export async function migratePostgres(pool: Pool, schema: string): Promise<void> {
  const ident = quoteIdent(schema);
  await pgTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock($1::int, hashtext($2))", [PG_LOCK_MIGRATE, schema]);
    // Checked before CREATE: CREATE SCHEMA IF NOT EXISTS still demands the CREATE privilege on the database.
    const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${ident}`);
    // Transaction-scoped: the DDL below is unqualified and lands in the schema; the pooled connection is not left changed.
    await client.query(`SET LOCAL search_path TO ${ident}`);
    await client.query(versionTable(POSTGRES));
    const { rows } = await client.query<{ v: unknown }>("SELECT coalesce(max(version), 0) AS v FROM schema_version");
    for (const m of pending(Number(rows[0]?.v ?? 0))) {
      for (const sql of m.up(POSTGRES)) await client.query(sql);
      await client.query("INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)", [m.version, m.name, Date.now()]);
    }
  });
}
