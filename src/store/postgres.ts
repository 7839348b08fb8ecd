// The shared store for several gateway instances: PostgreSQL through a `pg` Pool, every table in one schema, parameterized queries only.
import pg from "pg";
import { count, encodeList, missingParent, pgTransaction, quoteIdent } from "./common.ts";
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
import { migratePostgres } from "./migrations.ts";
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

/** The schema every table lives in unless configured otherwise. */
export const DEFAULT_PG_SCHEMA = "bastion";

/** How long to wait for a connection before failing the call, in milliseconds. Default 10000 (10 seconds); pg's own default waits forever. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Advisory-lock class of recordFailure (the second int is the key's hash); distinct from the migration class. */
const PG_LOCK_FAILURE = 0x6d630002;
/** Advisory-lock class of one upstream's tool rows (the second int is the upstream's hash): pins and observations change one writer at a time. */
const PG_LOCK_TOOLS = 0x6d630003;

const INT8_OID = 20;

/**
 * BIGINT columns and count(*) arrive as strings by default (pg cannot know they fit a double). Every
 * store value does (milliseconds until year 287396, counters, row counts); one that does not is
 * refused instead of silently rounded.
 */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`store: BIGINT ${text} does not fit a JavaScript number`);
  return n;
}

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary" ? parseInt8 : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};


const USER_COLUMNS = "id, name, roles, locked, created_at, password_changed_at, must_change_password";
const API_KEY_COLUMNS = "id, user_id, hash, scopes, created_at, expires_at, last_used_at, revoked_at, label";
const SESSION_COLUMNS = "id, user_id, created_at, last_seen_at, expires_at, revoked_at, method";
const REFRESH_COLUMNS = "hash, family_id, session_id, user_id, created_at, expires_at, used_at, revoked_at";
const PIN_COLUMNS = "name, definition, hash, approved_at, approved_by";
const OBSERVED_COLUMNS = "name, definition, hash, findings, seen_at";


/** Maps PostgreSQL's SQLSTATEs: 23505 unique_violation is a StoreConflict, 23503 foreign_key_violation a plain refusal. */
function translate(err: unknown, what: string, parent: string): never {
  const code = (err as { code?: unknown }).code;
  if (code === "23505") throw new StoreConflict(what);
  if (code === "23503") throw missingParent(parent);
  throw err;
}

export interface PostgresStoreOptions {
  /** A libpq-style URL, e.g. `postgres://bastion@db.internal:5432/bastion`. */
  url: string;
  /** The schema that holds every table; created by `migrate()` when missing. Default {@link DEFAULT_PG_SCHEMA}. */
  schema?: string;
}

/**
 * The PostgreSQL store. Single-statement methods rely on row locks (a conditional UPDATE or DELETE
 * re-checks its WHERE on the newest row version after waiting, so one racer wins); multi-statement
 * ones run in one transaction on one pooled connection.
 */
export class PostgresStore implements Store {
  readonly driver = "postgres";
  readonly schema: string;
  private readonly pool: pg.Pool;
  /** The quoted schema, the only thing ever spliced into SQL text (validated by quoteIdent). */
  private readonly s: string;
  private closed = false;

  constructor(options: PostgresStoreOptions) {
    this.schema = options.schema ?? DEFAULT_PG_SCHEMA;
    this.s = quoteIdent(this.schema);
    this.pool = new pg.Pool({ connectionString: options.url, types, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    // An idle connection that dies (server restart, network cut) is reported here; pg has already
    // dropped it from the pool and the next query opens a fresh one. Without a listener Node would
    // crash the gateway on this event; the outage itself surfaces through ping() and failed calls.
    this.pool.on("error", () => {});
  }

  /**
   * A named statement is parsed and planned once per pooled connection, then only executed: the
   * request-path lookups (getSession, getApiKey) save a round of parsing on every call.
   */
  private async q<R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>({ name, text, values });
  }

  async migrate(): Promise<void> {
    await migratePostgres(this.pool, this.schema);
  }

  async ping(): Promise<boolean> {
    try {
      await this.pool.query("SELECT 1");
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  // ---- users -------------------------------------------------------------------------------

  async createUser(user: User): Promise<void> {
    try {
      await this.q(
        "user_create",
        `INSERT INTO ${this.s}.users (id, name, roles, locked, created_at, password_hash, password_changed_at, must_change_password)
         VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)`,
        [user.id, user.name, encodeList(user.roles), user.locked, user.createdAt, user.passwordChangedAt, user.mustChangePassword],
      );
    } catch (err) {
      const byName = (err as { constraint?: unknown }).constraint === "users_name_key";
      translate(err, byName ? `user ${JSON.stringify(user.name)}` : `user id ${JSON.stringify(user.id)}`, "user");
    }
  }

  async getUser(id: string): Promise<User | undefined> {
    const { rows } = await this.q<UserRow>("user_get", `SELECT ${USER_COLUMNS} FROM ${this.s}.users WHERE id = $1`, [id]);
    return rows[0] && toUser(rows[0]);
  }

  async getUserByName(name: string): Promise<User | undefined> {
    const { rows } = await this.q<UserRow>("user_by_name", `SELECT ${USER_COLUMNS} FROM ${this.s}.users WHERE name = $1`, [name]);
    return rows[0] && toUser(rows[0]);
  }

  async listUsers(): Promise<User[]> {
    // COLLATE "C": byte (code-point) order whatever the database locale, the same order as SQLite's.
    const { rows } = await this.q<UserRow>("user_list", `SELECT ${USER_COLUMNS} FROM ${this.s}.users ORDER BY name COLLATE "C"`, []);
    return rows.map(toUser);
  }

  async updateUser(id: string, patch: Partial<Pick<User, "roles" | "locked" | "passwordChangedAt" | "mustChangePassword">>): Promise<void> {
    // Column names come from this fixed list, never from the caller; values are parameters.
    const sets: [column: string, value: string | number | boolean | null][] = [];
    if (patch.roles !== undefined) sets.push(["roles", encodeList(patch.roles)]);
    if (patch.locked !== undefined) sets.push(["locked", patch.locked]);
    if (patch.passwordChangedAt !== undefined) sets.push(["password_changed_at", patch.passwordChangedAt]);
    if (patch.mustChangePassword !== undefined) sets.push(["must_change_password", patch.mustChangePassword]);
    if (sets.length === 0) return;
    const assignments = sets.map(([c], i) => `${c} = $${i + 2}`).join(", ");
    await this.pool.query(`UPDATE ${this.s}.users SET ${assignments} WHERE id = $1`, [id, ...sets.map(([, v]) => v)]);
  }

  async deleteUser(id: string): Promise<void> {
    // Everything else of the user goes by ON DELETE CASCADE, in this one statement.
    await this.q("user_delete", `DELETE FROM ${this.s}.users WHERE id = $1`, [id]);
  }

  // ---- passwords ---------------------------------------------------------------------------

  async setPassword(userId: string, hash: string, at: Millis, keep: number): Promise<void> {
    const limit = Math.max(1, count(keep, "keep"));
    await pgTransaction(this.pool, async (c) => {
      // The UPDATE locks the user's row first, so two changes of one user's password run one after the other.
      const updated = await c.query(`UPDATE ${this.s}.users SET password_hash = $2, password_changed_at = $3 WHERE id = $1`, [userId, hash, at]);
      if (updated.rowCount === 0) throw missingParent("password");
      await c.query(`INSERT INTO ${this.s}.password_history (user_id, hash, set_at) VALUES ($1, $2, $3)`, [userId, hash, at]);
      // Ordered by insertion (seq), not by `at`: two changes in the same millisecond keep their order.
      await c.query(
        `DELETE FROM ${this.s}.password_history WHERE user_id = $1 AND seq NOT IN
           (SELECT seq FROM ${this.s}.password_history WHERE user_id = $1 ORDER BY seq DESC LIMIT $2)`,
        [userId, limit],
      );
    });
  }

  async getPassword(userId: string): Promise<string | undefined> {
    const { rows } = await this.q<{ password_hash: string | null }>("password_get", `SELECT password_hash FROM ${this.s}.users WHERE id = $1`, [userId]);
    return rows[0]?.password_hash ?? undefined;
  }

  async passwordHistory(userId: string, n: number): Promise<string[]> {
    if (count(n, "n") === 0) return [];
    const { rows } = await this.q<{ hash: string }>(
      "password_history",
      `SELECT hash FROM ${this.s}.password_history WHERE user_id = $1 ORDER BY seq DESC LIMIT $2`,
      [userId, n],
    );
    return rows.map((r) => r.hash);
  }

  // ---- API keys ----------------------------------------------------------------------------

  async createApiKey(key: ApiKeyRecord): Promise<void> {
    try {
      await this.q(
        "apikey_create",
        `INSERT INTO ${this.s}.api_keys (${API_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [key.id, key.userId, key.hash, encodeList(key.scopes), key.createdAt, key.expiresAt, key.lastUsedAt, key.revokedAt, key.label],
      );
    } catch (err) {
      translate(err, `API key ${JSON.stringify(key.id)}`, "API key");
    }
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await this.q<ApiKeyRow>("apikey_get", `SELECT ${API_KEY_COLUMNS} FROM ${this.s}.api_keys WHERE id = $1`, [id]);
    return rows[0] && toApiKey(rows[0]);
  }

  async listApiKeys(userId?: string): Promise<ApiKeyRecord[]> {
    const { rows } =
      userId === undefined
        ? await this.q<ApiKeyRow>("apikey_list", `SELECT ${API_KEY_COLUMNS} FROM ${this.s}.api_keys ORDER BY created_at, id COLLATE "C"`, [])
        : await this.q<ApiKeyRow>(
            "apikey_list_user",
            `SELECT ${API_KEY_COLUMNS} FROM ${this.s}.api_keys WHERE user_id = $1 ORDER BY created_at, id COLLATE "C"`,
            [userId],
          );
    return rows.map(toApiKey);
  }

  async touchApiKey(id: string, at: Millis): Promise<void> {
    // Only forward: concurrent requests finishing out of order never move "last used" back.
    await this.q(
      "apikey_touch",
      `UPDATE ${this.s}.api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`,
      [id, at],
    );
  }

  async revokeApiKey(id: string, at: Millis): Promise<boolean> {
    const r = await this.q("apikey_revoke", `UPDATE ${this.s}.api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, [id, at]);
    return r.rowCount === 1;
  }

  // ---- sessions ----------------------------------------------------------------------------

  async createSession(session: SessionRecord): Promise<void> {
    try {
      await this.q(
        "session_create",
        `INSERT INTO ${this.s}.sessions (${SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [session.id, session.userId, session.createdAt, session.lastSeenAt, session.expiresAt, session.revokedAt, session.method],
      );
    } catch (err) {
      translate(err, `session ${JSON.stringify(session.id)}`, "session");
    }
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.q<SessionRow>("session_get", `SELECT ${SESSION_COLUMNS} FROM ${this.s}.sessions WHERE id = $1`, [id]);
    return rows[0] && toSession(rows[0]);
  }

  async touchSession(id: string, at: Millis): Promise<void> {
    await this.q("session_touch", `UPDATE ${this.s}.sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2`, [id, at]);
  }

  async revokeSession(id: string, at: Millis): Promise<void> {
    // One statement, so one atomic step: both updates commit together or not at all.
    await this.q(
      "session_revoke",
      `WITH s AS (UPDATE ${this.s}.sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL)
       UPDATE ${this.s}.refresh_tokens SET revoked_at = $2 WHERE session_id = $1 AND revoked_at IS NULL`,
      [id, at],
    );
  }

  async revokeUserSessions(userId: string, at: Millis): Promise<number> {
    const { rows } = await this.q<{ n: number }>(
      "session_revoke_user",
      `WITH s AS (
         UPDATE ${this.s}.sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 RETURNING 1
       ), t AS (
         UPDATE ${this.s}.refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL
       )
       SELECT count(*) AS n FROM s`,
      [userId, at],
    );
    return rows[0]?.n ?? 0;
  }

  async sweepSessions(before: Millis): Promise<number> {
    // Refresh tokens go with their session (ON DELETE CASCADE).
    const r = await this.q("session_sweep", `DELETE FROM ${this.s}.sessions WHERE expires_at < $1 OR revoked_at < $1`, [before]);
    return r.rowCount ?? 0;
  }

  // ---- refresh tokens ----------------------------------------------------------------------

  async createRefreshToken(token: RefreshTokenRecord): Promise<void> {
    try {
      await this.q(
        "refresh_create",
        `INSERT INTO ${this.s}.refresh_tokens (${REFRESH_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [token.hash, token.familyId, token.sessionId, token.userId, token.createdAt, token.expiresAt, token.usedAt, token.revokedAt],
      );
    } catch (err) {
      translate(err, "refresh token", "refresh token");
    }
  }

  async getRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined> {
    const { rows } = await this.q<RefreshRow>("refresh_get", `SELECT ${REFRESH_COLUMNS} FROM ${this.s}.refresh_tokens WHERE hash = $1`, [hash]);
    return rows[0] && toRefresh(rows[0]);
  }

  async spendRefreshToken(hash: string, at: Millis): Promise<boolean> {
    // A racer blocks on the row lock, then re-checks the WHERE against the winner's committed row: used_at is set, so 0 rows.
    const r = await this.q(
      "refresh_spend",
      `UPDATE ${this.s}.refresh_tokens SET used_at = $2 WHERE hash = $1 AND used_at IS NULL AND revoked_at IS NULL`,
      [hash, at],
    );
    return r.rowCount === 1;
  }

  async revokeFamily(familyId: string, at: Millis): Promise<void> {
    await this.q("refresh_revoke_family", `UPDATE ${this.s}.refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL`, [
      familyId,
      at,
    ]);
  }

  // ---- MFA ---------------------------------------------------------------------------------

  async setTotp(record: TotpRecord, recoveryHashes: string[]): Promise<void> {
    try {
      await pgTransaction(this.pool, async (c) => {
        // Deleting the enrollment cascades to its recovery codes.
        await c.query(`DELETE FROM ${this.s}.totp WHERE user_id = $1`, [record.userId]);
        await c.query(`INSERT INTO ${this.s}.totp (user_id, secret, last_counter, confirmed, created_at) VALUES ($1, $2, $3, $4, $5)`, [
          record.userId,
          record.secret,
          record.lastCounter,
          record.confirmed,
          record.createdAt,
        ]);
        // pg sends the JS array as a text[] parameter (each element quoted and escaped by the driver).
        await c.query(`INSERT INTO ${this.s}.recovery_codes (user_id, hash) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, [
          record.userId,
          recoveryHashes,
        ]);
      });
    } catch (err) {
      translate(err, "TOTP enrollment", "TOTP enrollment");
    }
  }

  async getTotp(userId: string): Promise<TotpRecord | undefined> {
    const { rows } = await this.q<TotpRow>(
      "totp_get",
      `SELECT user_id, secret, last_counter, confirmed, created_at FROM ${this.s}.totp WHERE user_id = $1`,
      [userId],
    );
    return rows[0] && toTotp(rows[0]);
  }

  async confirmTotp(userId: string): Promise<void> {
    await this.q("totp_confirm", `UPDATE ${this.s}.totp SET confirmed = TRUE WHERE user_id = $1`, [userId]);
  }

  async advanceTotpCounter(userId: string, counter: number): Promise<boolean> {
    const r = await this.q("totp_advance", `UPDATE ${this.s}.totp SET last_counter = $2 WHERE user_id = $1 AND last_counter < $2`, [userId, counter]);
    return r.rowCount === 1;
  }

  async spendRecoveryCode(userId: string, hash: string): Promise<boolean> {
    const r = await this.q("recovery_spend", `DELETE FROM ${this.s}.recovery_codes WHERE user_id = $1 AND hash = $2`, [userId, hash]);
    return r.rowCount === 1;
  }

  async recoveryCodesLeft(userId: string): Promise<number> {
    const { rows } = await this.q<{ n: number }>("recovery_left", `SELECT count(*) AS n FROM ${this.s}.recovery_codes WHERE user_id = $1`, [userId]);
    return rows[0]?.n ?? 0;
  }

  // ---- lockout counters ----------------------------------------------------------------------

  async recordFailure(key: string, at: Millis, windowStart: Millis): Promise<number> {
    return pgTransaction(this.pool, async (c) => {
      // Racing failures of one key queue here. Without the lock, each transaction's count would miss
      // the others' uncommitted rows and twenty parallel guesses could all read "1".
      await c.query("SELECT pg_advisory_xact_lock($1::int, hashtext($2))", [PG_LOCK_FAILURE, key]);
      await c.query(`DELETE FROM ${this.s}.failures WHERE key = $1 AND at < $2`, [key, windowStart]);
      await c.query(`INSERT INTO ${this.s}.failures (key, at) VALUES ($1, $2)`, [key, at]);
      // A new statement, so a new snapshot: it sees every failure committed by those that held the lock before.
      const { rows } = await c.query<{ n: number }>(`SELECT count(*) AS n FROM ${this.s}.failures WHERE key = $1 AND at >= $2`, [key, windowStart]);
      return rows[0]?.n ?? 0;
    });
  }

  async failureCount(key: string, windowStart: Millis): Promise<number> {
    const { rows } = await this.q<{ n: number }>("failure_count", `SELECT count(*) AS n FROM ${this.s}.failures WHERE key = $1 AND at >= $2`, [
      key,
      windowStart,
    ]);
    return rows[0]?.n ?? 0;
  }

  async clearFailures(key: string): Promise<void> {
    await this.q("failure_clear", `DELETE FROM ${this.s}.failures WHERE key = $1`, [key]);
  }

  async setLock(key: string, until: Millis | null): Promise<void> {
    if (until === null) await this.q("lock_clear", `DELETE FROM ${this.s}.locks WHERE key = $1`, [key]);
    else
      await this.q("lock_set", `INSERT INTO ${this.s}.locks (key, until) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET until = EXCLUDED.until`, [
        key,
        until,
      ]);
  }

  async getLock(key: string): Promise<Millis | null> {
    const { rows } = await this.q<{ until: number }>("lock_get", `SELECT until FROM ${this.s}.locks WHERE key = $1`, [key]);
    return rows[0]?.until ?? null;
  }

  async sweepFailures(before: Millis): Promise<number> {
    const { rows } = await this.q<{ n: number }>(
      "failure_sweep",
      `WITH f AS (DELETE FROM ${this.s}.failures WHERE at < $1 RETURNING 1),
            l AS (DELETE FROM ${this.s}.locks WHERE until < $1 RETURNING 1)
       SELECT (SELECT count(*) FROM f) + (SELECT count(*) FROM l) AS n`,
      [before],
    );
    return rows[0]?.n ?? 0;
  }

  // ---- pinned tool sets ----------------------------------------------------------------------

  async listToolSets(): Promise<string[]> {
    const { rows } = await this.q<{ upstream: string }>("toolset_list", `SELECT upstream FROM ${this.s}.tool_sets ORDER BY upstream COLLATE "C"`, []);
    return rows.map((r) => r.upstream);
  }

  async getToolSet(upstream: string): Promise<ToolSet | undefined> {
    // One statement, so one snapshot: the set row and its pins agree even while an approval commits.
    const { rows } = await this.q<{ revision: number; first_seen_at: number; pins: PinRow[] | null }>(
      "toolset_get",
      `SELECT s.revision, s.first_seen_at,
              (SELECT json_agg(json_build_object('name', p.name, 'definition', p.definition, 'hash', p.hash, 'approved_at', p.approved_at, 'approved_by', p.approved_by)
                               ORDER BY p.name COLLATE "C")
                 FROM ${this.s}.tool_pins p WHERE p.upstream = s.upstream) AS pins
         FROM ${this.s}.tool_sets s WHERE s.upstream = $1`,
      [upstream],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return { upstream, revision: row.revision, firstSeenAt: row.first_seen_at, pins: (row.pins ?? []).map(toPin) };
  }

  async toolSetRevision(upstream: string): Promise<number | undefined> {
    const { rows } = await this.q<{ revision: number }>("toolset_revision", `SELECT revision FROM ${this.s}.tool_sets WHERE upstream = $1`, [upstream]);
    return rows[0]?.revision;
  }

  async pinFirstSight(upstream: string, tools: readonly ToolDefinition[], at: Millis): Promise<boolean> {
    return pgTransaction(this.pool, async (c) => {
      await c.query("SELECT pg_advisory_xact_lock($1::int, hashtext($2))", [PG_LOCK_TOOLS, upstream]);
      const set = await c.query(`INSERT INTO ${this.s}.tool_sets (upstream, revision, first_seen_at) VALUES ($1, 1, $2) ON CONFLICT (upstream) DO NOTHING`, [upstream, at]);
      if (set.rowCount === 0) return false;
      // pg sends each JS array as one array parameter: one statement for the whole set.
      await c.query(
        `INSERT INTO ${this.s}.tool_pins (upstream, ${PIN_COLUMNS})
         SELECT $1, t.name, t.definition, t.hash, $2, NULL FROM unnest($3::text[], $4::text[], $5::text[]) AS t (name, definition, hash)`,
        [upstream, at, tools.map((t) => t.name), tools.map((t) => t.definition), tools.map((t) => t.hash)],
      );
      return true;
    });
  }

  async replaceObserved(upstream: string, tools: readonly Omit<ObservedTool, "seenAt">[], at: Millis): Promise<ObservedTool[]> {
    return pgTransaction(this.pool, async (c) => {
      // Racing gateways queue here: the second reads what the first wrote, so one change is reported once.
      await c.query("SELECT pg_advisory_xact_lock($1::int, hashtext($2))", [PG_LOCK_TOOLS, upstream]);
      const { rows } = await c.query<ObservedRow>(`SELECT ${OBSERVED_COLUMNS} FROM ${this.s}.tool_observed WHERE upstream = $1 ORDER BY name COLLATE "C"`, [upstream]);
      const prior = rows.map(toObserved);
      const since = new Map(prior.map((p) => [p.name, p]));
      await c.query(`DELETE FROM ${this.s}.tool_observed WHERE upstream = $1`, [upstream]);
      const seen = tools.map((t) => {
        const before = since.get(t.name);
        return before !== undefined && before.hash === t.hash ? before.seenAt : at;
      });
      await c.query(
        `INSERT INTO ${this.s}.tool_observed (upstream, ${OBSERVED_COLUMNS})
         SELECT $1, t.name, t.definition, t.hash, t.findings, t.seen_at FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[]) AS t (name, definition, hash, findings, seen_at)`,
        [upstream, tools.map((t) => t.name), tools.map((t) => t.definition), tools.map((t) => t.hash), tools.map((t) => encodeFindings(t.findings)), seen],
      );
      return prior;
    });
  }

  async getObserved(upstream: string): Promise<ObservedTool[]> {
    const { rows } = await this.q<ObservedRow>("observed_get", `SELECT ${OBSERVED_COLUMNS} FROM ${this.s}.tool_observed WHERE upstream = $1 ORDER BY name COLLATE "C"`, [upstream]);
    return rows.map(toObserved);
  }

  async approveTools(upstream: string, approvals: readonly ToolApproval[], by: string, at: Millis): Promise<boolean> {
    return pgTransaction(this.pool, async (c) => {
      // The same lock as replaceObserved: no observation can land between the check and the pin.
      await c.query("SELECT pg_advisory_xact_lock($1::int, hashtext($2))", [PG_LOCK_TOOLS, upstream]);
      const { rows } = await c.query<{ name: string; hash: string }>(`SELECT name, hash FROM ${this.s}.tool_observed WHERE upstream = $1 AND name = ANY($2::text[])`, [
        upstream,
        approvals.map((a) => a.name),
      ]);
      const observed = new Map(rows.map((r) => [r.name, r.hash]));
      if (!approvals.every((a) => (observed.get(a.name) ?? null) === a.hash)) return false;
      await c.query(
        `INSERT INTO ${this.s}.tool_sets AS s (upstream, revision, first_seen_at) VALUES ($1, 1, $2) ON CONFLICT (upstream) DO UPDATE SET revision = s.revision + 1`,
        [upstream, at],
      );
      const pinned = approvals.filter((a) => a.hash !== null).map((a) => a.name);
      const forgotten = approvals.filter((a) => a.hash === null).map((a) => a.name);
      await c.query(
        `INSERT INTO ${this.s}.tool_pins (upstream, ${PIN_COLUMNS})
         SELECT upstream, name, definition, hash, $3, $4 FROM ${this.s}.tool_observed WHERE upstream = $1 AND name = ANY($2::text[])
         ON CONFLICT (upstream, name) DO UPDATE SET definition = EXCLUDED.definition, hash = EXCLUDED.hash, approved_at = EXCLUDED.approved_at, approved_by = EXCLUDED.approved_by`,
        [upstream, pinned, at, by],
      );
      await c.query(`DELETE FROM ${this.s}.tool_pins WHERE upstream = $1 AND name = ANY($2::text[])`, [upstream, forgotten]);
      return true;
    });
  }
}
