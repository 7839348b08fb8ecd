// The embedded store (SPEC §1 `data/bastion.db`): better-sqlite3, one synchronous connection, WAL, foreign keys on.
import { closeSync, mkdirSync, openSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { count, encodeList, missingParent } from "./common.ts";
import {
  encodeFindings,
  toApiKey,
  toObserved,
  toPin,
  toRefresh,
  toSession,
  toTotp,
  toUser,
  type ApiKeyRow,
  type ObservedRow,
  type PinRow,
  type RefreshRow,
  type SessionRow,
  type TotpRow,
  type UserRow,
} from "./rows.ts";
import { migrateSqlite } from "./migrations.ts";
import {
  StoreConflict,
  type ApiKeyRecord,
  type Millis,
  type ObservedTool,
  type RefreshTokenRecord,
  type SessionRecord,
  type Store,
  type ToolApproval,
  type ToolDefinition,
  type ToolSet,
  type TotpRecord,
  type User,
} from "./types.ts";

/** Where the store lives unless configured otherwise, relative to the working directory (SPEC §1). */
export const DEFAULT_SQLITE_PATH = "data/bastion.db";

/** How long a write waits for another process's write lock before failing, in milliseconds. Default 5000 (5 seconds). */
const BUSY_TIMEOUT_MS = 5000;


const USER_COLUMNS = "id, name, roles, locked, created_at, password_changed_at, must_change_password";
const PIN_COLUMNS = "name, definition, hash, approved_at, approved_by";
const OBSERVED_COLUMNS = "name, definition, hash, findings, seen_at";


/** better-sqlite3 binds no booleans. */
const bit = (b: boolean): number => (b ? 1 : 0);

/** Maps SQLite's constraint errors to the store's: a duplicate is a StoreConflict, a dangling reference a plain refusal. */
function translate(err: unknown, what: string, parent: string): never {
  const code = (err as { code?: unknown }).code;
  if (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") throw new StoreConflict(what);
  if (code === "SQLITE_CONSTRAINT_FOREIGNKEY") throw missingParent(parent);
  throw err;
}

/**
 * Creates the folder (0700) and the file (0600) before SQLite opens it: SQLite would create the file with
 * the process umask (often world-readable), and it holds password hashes. The WAL and shared-memory
 * files SQLite adds take the database file's mode. An existing file keeps its mode (`bastion check` reports it).
 */
function prepareFile(file: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, "a", 0o600));
}

/**
 * The SQLite store. Every method runs synchronously inside its promise, so concurrent callers in one
 * process are serialized by the event loop; multi-statement writes use BEGIN IMMEDIATE, so they are
 * atomic against other processes on the same file too.
 */
export class SqliteStore implements Store {
  readonly driver = "sqlite";
  private readonly db: Database.Database;
  /** Statements are compiled once per SQL text; preparation costs more than running a point lookup. */
  private readonly statements = new Map<string, Database.Statement>();
  private closed = false;

  /**
   * @param file The database file, or `:memory:` for a private in-memory database (tests). Default
   * {@link DEFAULT_SQLITE_PATH} is applied by the caller (config), not here.
   */
  constructor(file: string) {
    if (file !== ":memory:" && file !== "") prepareFile(file);
    this.db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    // WAL: readers never wait for the writer. An in-memory database stays in "memory" mode.
    this.db.pragma("journal_mode = WAL");
    // NORMAL with WAL: a commit survives a process crash; an OS crash or power cut may lose the last few
    // commits (never corrupts). FULL would fsync on every session touch, which is on the request path.
    this.db.pragma("synchronous = NORMAL");
    // deleteUser's cascade and the dangling-row refusals depend on it. better-sqlite3's bundled build turns it
    // on (SQLITE_DEFAULT_FOREIGN_KEYS=1), stock SQLite does not: said here so a rebuild against a system SQLite keeps it.
    this.db.pragma("foreign_keys = ON");
  }

  private st(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  async migrate(): Promise<void> {
    migrateSqlite(this.db);
  }

  async ping(): Promise<boolean> {
    try {
      return this.st("SELECT 1 AS ok").get() !== undefined;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    this.db.close();
  }

  // ---- users -------------------------------------------------------------------------------

  async createUser(user: User): Promise<void> {
    try {
      this.st(
        `INSERT INTO users (id, name, roles, locked, created_at, password_hash, password_changed_at, must_change_password)
         VALUES (?, ?, ?, ?, ?, NULL, ?, ?)`,
      ).run(user.id, user.name, encodeList(user.roles), bit(user.locked), user.createdAt, user.passwordChangedAt, bit(user.mustChangePassword));
    } catch (err) {
      const byName = err instanceof Error && err.message.includes("users.name");
      translate(err, byName ? `user ${JSON.stringify(user.name)}` : `user id ${JSON.stringify(user.id)}`, "user");
    }
  }

  async getUser(id: string): Promise<User | undefined> {
    const row = this.st(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`).get(id) as UserRow | undefined;
    return row && toUser(row);
  }

  async getUserByName(name: string): Promise<User | undefined> {
    const row = this.st(`SELECT ${USER_COLUMNS} FROM users WHERE name = ?`).get(name) as UserRow | undefined;
    return row && toUser(row);
  }

  async listUsers(): Promise<User[]> {
    // BINARY collation compares UTF-8 bytes: code-point order, the same as PostgreSQL's COLLATE "C".
    return (this.st(`SELECT ${USER_COLUMNS} FROM users ORDER BY name`).all() as UserRow[]).map(toUser);
  }

  async updateUser(id: string, patch: Partial<Pick<User, "roles" | "locked" | "passwordChangedAt" | "mustChangePassword">>): Promise<void> {
    // Column names come from this fixed list, never from the caller; values are bound.
    const sets: [column: string, value: string | number | null][] = [];
    if (patch.roles !== undefined) sets.push(["roles", encodeList(patch.roles)]);
    if (patch.locked !== undefined) sets.push(["locked", bit(patch.locked)]);
    if (patch.passwordChangedAt !== undefined) sets.push(["password_changed_at", patch.passwordChangedAt]);
    if (patch.mustChangePassword !== undefined) sets.push(["must_change_password", bit(patch.mustChangePassword)]);
    if (sets.length === 0) return;
    this.st(`UPDATE users SET ${sets.map(([c]) => `${c} = ?`).join(", ")} WHERE id = ?`).run(...sets.map(([, v]) => v), id);
  }

  async deleteUser(id: string): Promise<void> {
    this.st("DELETE FROM users WHERE id = ?").run(id);
  }

  // ---- passwords ---------------------------------------------------------------------------

  async setPassword(userId: string, hash: string, at: Millis, keep: number): Promise<void> {
    const limit = Math.max(1, count(keep, "keep"));
    this.db
      .transaction(() => {
        const changed = this.st("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?").run(hash, at, userId).changes;
        if (changed === 0) throw missingParent("password");
        this.st("INSERT INTO password_history (user_id, hash, set_at) VALUES (?, ?, ?)").run(userId, hash, at);
        // Ordered by insertion (seq), not by `at`: two changes in the same millisecond keep their order.
        this.st(
          `DELETE FROM password_history WHERE user_id = ? AND seq NOT IN
             (SELECT seq FROM password_history WHERE user_id = ? ORDER BY seq DESC LIMIT ?)`,
        ).run(userId, userId, limit);
      })
      .immediate();
  }

  async getPassword(userId: string): Promise<string | undefined> {
    const row = this.st("SELECT password_hash FROM users WHERE id = ?").get(userId) as { password_hash: string | null } | undefined;
    return row?.password_hash ?? undefined;
  }

  async passwordHistory(userId: string, n: number): Promise<string[]> {
    if (count(n, "n") === 0) return [];
    const rows = this.st("SELECT hash FROM password_history WHERE user_id = ? ORDER BY seq DESC LIMIT ?").all(userId, n) as { hash: string }[];
    return rows.map((r) => r.hash);
  }

  // ---- API keys ----------------------------------------------------------------------------

  async createApiKey(key: ApiKeyRecord): Promise<void> {
    try {
      this.st(
        `INSERT INTO api_keys (id, user_id, hash, scopes, created_at, expires_at, last_used_at, revoked_at, label)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(key.id, key.userId, key.hash, encodeList(key.scopes), key.createdAt, key.expiresAt, key.lastUsedAt, key.revokedAt, key.label);
    } catch (err) {
      translate(err, `API key ${JSON.stringify(key.id)}`, "API key");
    }
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    const row = this.st("SELECT * FROM api_keys WHERE id = ?").get(id) as ApiKeyRow | undefined;
    return row && toApiKey(row);
  }

  async listApiKeys(userId?: string): Promise<ApiKeyRecord[]> {
    const rows =
      userId === undefined
        ? this.st("SELECT * FROM api_keys ORDER BY created_at, id").all()
        : this.st("SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at, id").all(userId);
    return (rows as ApiKeyRow[]).map(toApiKey);
  }

  async touchApiKey(id: string, at: Millis): Promise<void> {
    // Only forward: concurrent requests finishing out of order never move "last used" back.
    this.st("UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)").run(at, id, at);
  }

  async revokeApiKey(id: string, at: Millis): Promise<boolean> {
    return this.st("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(at, id).changes === 1;
  }

  // ---- sessions ----------------------------------------------------------------------------

  async createSession(session: SessionRecord): Promise<void> {
    try {
      this.st(
        `INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, revoked_at, method)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(session.id, session.userId, session.createdAt, session.lastSeenAt, session.expiresAt, session.revokedAt, session.method);
    } catch (err) {
      translate(err, `session ${JSON.stringify(session.id)}`, "session");
    }
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const row = this.st("SELECT * FROM sessions WHERE id = ?").get(id) as SessionRow | undefined;
    return row && toSession(row);
  }

  async touchSession(id: string, at: Millis): Promise<void> {
    this.st("UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?").run(at, id, at);
  }

  async revokeSession(id: string, at: Millis): Promise<void> {
    this.db
      .transaction(() => {
        this.st("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(at, id);
        this.st("UPDATE refresh_tokens SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL").run(at, id);
      })
      .immediate();
  }

  async revokeUserSessions(userId: string, at: Millis): Promise<number> {
    return this.db
      .transaction(() => {
        const n = this.st("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?").run(at, userId, at).changes;
        this.st("UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL").run(at, userId);
        return n;
      })
      .immediate();
  }

  async sweepSessions(before: Millis): Promise<number> {
    // Refresh tokens go with their session (ON DELETE CASCADE).
    return this.st("DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?").run(before, before).changes;
  }

  // ---- refresh tokens ----------------------------------------------------------------------

  async createRefreshToken(token: RefreshTokenRecord): Promise<void> {
    try {
      this.st(
        `INSERT INTO refresh_tokens (hash, family_id, session_id, user_id, created_at, expires_at, used_at, revoked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(token.hash, token.familyId, token.sessionId, token.userId, token.createdAt, token.expiresAt, token.usedAt, token.revokedAt);
    } catch (err) {
      translate(err, "refresh token", "refresh token");
    }
  }

  async getRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined> {
    const row = this.st("SELECT * FROM refresh_tokens WHERE hash = ?").get(hash) as RefreshRow | undefined;
    return row && toRefresh(row);
  }

  async spendRefreshToken(hash: string, at: Millis): Promise<boolean> {
    // One conditional UPDATE: the check and the mark are a single step, so only one caller sees a change.
    return this.st("UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL AND revoked_at IS NULL").run(at, hash).changes === 1;
  }

  async revokeFamily(familyId: string, at: Millis): Promise<void> {
    this.st("UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL").run(at, familyId);
  }

  // ---- MFA ---------------------------------------------------------------------------------

  async setTotp(record: TotpRecord, recoveryHashes: string[]): Promise<void> {
    try {
      this.db
        .transaction(() => {
          // Deleting the enrollment cascades to its recovery codes.
          this.st("DELETE FROM totp WHERE user_id = ?").run(record.userId);
          this.st("INSERT INTO totp (user_id, secret, last_counter, confirmed, created_at) VALUES (?, ?, ?, ?, ?)").run(
            record.userId,
            record.secret,
            record.lastCounter,
            bit(record.confirmed),
            record.createdAt,
          );
          const insert = this.st("INSERT OR IGNORE INTO recovery_codes (user_id, hash) VALUES (?, ?)");
          for (const hash of recoveryHashes) insert.run(record.userId, hash);
        })
        .immediate();
    } catch (err) {
      translate(err, "TOTP enrollment", "TOTP enrollment");
    }
  }

  async getTotp(userId: string): Promise<TotpRecord | undefined> {
    const row = this.st("SELECT * FROM totp WHERE user_id = ?").get(userId) as TotpRow | undefined;
    return row && toTotp(row);
  }

  async confirmTotp(userId: string): Promise<void> {
    this.st("UPDATE totp SET confirmed = 1 WHERE user_id = ?").run(userId);
  }

  async advanceTotpCounter(userId: string, counter: number): Promise<boolean> {
    return this.st("UPDATE totp SET last_counter = ? WHERE user_id = ? AND last_counter < ?").run(counter, userId, counter).changes === 1;
  }

  async spendRecoveryCode(userId: string, hash: string): Promise<boolean> {
    return this.st("DELETE FROM recovery_codes WHERE user_id = ? AND hash = ?").run(userId, hash).changes === 1;
  }

  async recoveryCodesLeft(userId: string): Promise<number> {
    return (this.st("SELECT count(*) AS n FROM recovery_codes WHERE user_id = ?").get(userId) as { n: number }).n;
  }

  // ---- lockout counters ----------------------------------------------------------------------

  async recordFailure(key: string, at: Millis, windowStart: Millis): Promise<number> {
    return this.db
      .transaction(() => {
        this.st("DELETE FROM failures WHERE key = ? AND at < ?").run(key, windowStart);
        this.st("INSERT INTO failures (key, at) VALUES (?, ?)").run(key, at);
        return (this.st("SELECT count(*) AS n FROM failures WHERE key = ? AND at >= ?").get(key, windowStart) as { n: number }).n;
      })
      .immediate();
  }

  async failureCount(key: string, windowStart: Millis): Promise<number> {
    return (this.st("SELECT count(*) AS n FROM failures WHERE key = ? AND at >= ?").get(key, windowStart) as { n: number }).n;
  }

  async clearFailures(key: string): Promise<void> {
    this.st("DELETE FROM failures WHERE key = ?").run(key);
  }

  async setLock(key: string, until: Millis | null): Promise<void> {
    if (until === null) this.st("DELETE FROM locks WHERE key = ?").run(key);
    else this.st("INSERT INTO locks (key, until) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET until = excluded.until").run(key, until);
  }

  async getLock(key: string): Promise<Millis | null> {
    const row = this.st("SELECT until FROM locks WHERE key = ?").get(key) as { until: number } | undefined;
    return row === undefined ? null : row.until;
  }

  async sweepFailures(before: Millis): Promise<number> {
    return this.db
      .transaction(() => {
        const failures = this.st("DELETE FROM failures WHERE at < ?").run(before).changes;
        return failures + this.st("DELETE FROM locks WHERE until < ?").run(before).changes;
      })
      .immediate();
  }

  // ---- pinned tool sets ----------------------------------------------------------------------

  async listToolSets(): Promise<string[]> {
    return (this.st("SELECT upstream FROM tool_sets ORDER BY upstream").all() as { upstream: string }[]).map((r) => r.upstream);
  }

  async getToolSet(upstream: string): Promise<ToolSet | undefined> {
    // One read transaction: the set row and its pins from the same snapshot.
    return this.db.transaction(() => {
      const set = this.st("SELECT revision, first_seen_at FROM tool_sets WHERE upstream = ?").get(upstream) as { revision: number; first_seen_at: number } | undefined;
      if (set === undefined) return undefined;
      const pins = this.st(`SELECT ${PIN_COLUMNS} FROM tool_pins WHERE upstream = ? ORDER BY name`).all(upstream) as PinRow[];
      return { upstream, revision: set.revision, firstSeenAt: set.first_seen_at, pins: pins.map(toPin) };
    })();
  }

  async toolSetRevision(upstream: string): Promise<number | undefined> {
    return (this.st("SELECT revision FROM tool_sets WHERE upstream = ?").get(upstream) as { revision: number } | undefined)?.revision;
  }

  async pinFirstSight(upstream: string, tools: readonly ToolDefinition[], at: Millis): Promise<boolean> {
    return this.db
      .transaction(() => {
        if (this.st("INSERT INTO tool_sets (upstream, revision, first_seen_at) VALUES (?, 1, ?) ON CONFLICT (upstream) DO NOTHING").run(upstream, at).changes === 0) return false;
        const insert = this.st(`INSERT INTO tool_pins (upstream, ${PIN_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL)`);
        for (const t of tools) insert.run(upstream, t.name, t.definition, t.hash, at);
        return true;
      })
      .immediate();
  }

  async replaceObserved(upstream: string, tools: readonly Omit<ObservedTool, "seenAt">[], at: Millis): Promise<ObservedTool[]> {
    return this.db
      .transaction(() => {
        const prior = (this.st(`SELECT ${OBSERVED_COLUMNS} FROM tool_observed WHERE upstream = ? ORDER BY name`).all(upstream) as ObservedRow[]).map(toObserved);
        const since = new Map(prior.map((p) => [p.name, p]));
        this.st("DELETE FROM tool_observed WHERE upstream = ?").run(upstream);
        const insert = this.st(`INSERT INTO tool_observed (upstream, ${OBSERVED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`);
        for (const t of tools) {
          const before = since.get(t.name);
          insert.run(upstream, t.name, t.definition, t.hash, encodeFindings(t.findings), before !== undefined && before.hash === t.hash ? before.seenAt : at);
        }
        return prior;
      })
      .immediate();
  }

  async getObserved(upstream: string): Promise<ObservedTool[]> {
    return (this.st(`SELECT ${OBSERVED_COLUMNS} FROM tool_observed WHERE upstream = ? ORDER BY name`).all(upstream) as ObservedRow[]).map(toObserved);
  }

  async approveTools(upstream: string, approvals: readonly ToolApproval[], by: string, at: Millis): Promise<boolean> {
    return this.db
      .transaction(() => {
        const observed = this.st("SELECT hash FROM tool_observed WHERE upstream = ? AND name = ?");
        for (const a of approvals) {
          const row = observed.get(upstream, a.name) as { hash: string } | undefined;
          if ((row?.hash ?? null) !== a.hash) return false;
        }
        this.st("INSERT INTO tool_sets (upstream, revision, first_seen_at) VALUES (?, 1, ?) ON CONFLICT (upstream) DO UPDATE SET revision = revision + 1").run(upstream, at);
        const pin = this.st(
          `INSERT INTO tool_pins (upstream, ${PIN_COLUMNS})
           SELECT upstream, name, definition, hash, ?, ? FROM tool_observed WHERE upstream = ? AND name = ?
           ON CONFLICT (upstream, name) DO UPDATE SET definition = excluded.definition, hash = excluded.hash, approved_at = excluded.approved_at, approved_by = excluded.approved_by`,
        );
        const forget = this.st("DELETE FROM tool_pins WHERE upstream = ? AND name = ?");
        for (const a of approvals) {
          if (a.hash === null) forget.run(upstream, a.name);
          else pin.run(at, by, upstream, a.name);
        }
        return true;
      })
      .immediate();
  }
}
