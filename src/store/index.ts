// The store's only entry: its types, and openStore, which picks a backend (SQLite by default, PostgreSQL when configured), opens it and migrates it.
import { PostgresStore } from "./postgres.ts";
import { SqliteStore } from "./sqlite.ts";
import type { Store } from "./types.ts";

export type { ApiKeyRecord, Millis, ObservedTool, PinnedTool, RefreshTokenRecord, SessionRecord, Store, ToolApproval, ToolDefinition, ToolFinding, ToolSet, TotpRecord, User } from "./types.ts";
export { StoreConflict } from "./types.ts";
export { DEFAULT_SQLITE_PATH } from "./sqlite.ts";
export { DEFAULT_PG_SCHEMA } from "./postgres.ts";
export { SCHEMA_VERSION } from "./migrations.ts";

/**
 * Where the store lives (config `store`).
 * - `sqlite`: `path` is the database file (SPEC default `data/bastion.db`, see {@link DEFAULT_SQLITE_PATH});
 *   a missing file is created 0600 in a folder created 0700. `:memory:` gives a private, throw-away database.
 * - `postgres`: `url` is a libpq-style URL; every table lives in `schema` (default `bastion`), created when missing.
 */
export type StoreOptions = { driver: "sqlite"; path: string } | { driver: "postgres"; url: string; schema?: string };

/**
 * Opens the store and brings its schema up to date (safe on every start, and from several processes at
 * once). Fails, and leaves nothing open, when the database cannot be reached or migrated.
 */
export async function openStore(options: StoreOptions): Promise<Store> {
  const store =
    options.driver === "sqlite"
      ? new SqliteStore(options.path)
      : new PostgresStore(options.schema === undefined ? { url: options.url } : { url: options.url, schema: options.schema });
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  return store;
}
