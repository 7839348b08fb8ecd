// Helpers shared by the SQLite and PostgreSQL stores: identifier quoting, JSON array columns, transactions, and the errors both raise alike.
import type { Pool, PoolClient } from "pg";

/**
 * A PostgreSQL schema name, refused unless it is a plain identifier (letters, digits, `_`, at most 63
 * bytes: the server would silently truncate a longer one). Only this name is ever spliced into SQL;
 * values always travel as parameters.
 */
export function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new Error(`store: schema name ${JSON.stringify(name)} must match [A-Za-z_][A-Za-z0-9_]{0,62}`);
  return `"${name}"`;
}

/** Roles and scopes as JSON text: exact for every string (quotes, unicode, control characters). */
export const encodeList = (list: readonly string[]): string => JSON.stringify(list);

/** Reads a column written by {@link encodeList}; anything else means the database was edited by hand. */
export function decodeList(text: string, column: string): string[] {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === "string")) {
    throw new Error(`store: column ${column} holds ${text.slice(0, 40)}…, not a JSON array of strings`);
  }
  return value;
}

/** A count argument (`keep`, `n`): a non-negative integer, or the call is a programming error. */
export function count(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`store: ${name} must be a non-negative integer, got ${n}`);
  return n;
}

/** A row refused because the user or session it belongs to does not exist (a foreign key). */
export const missingParent = (what: string): Error => new Error(`store: ${what} refers to a user or session that does not exist`);

/**
 * Runs `fn` inside BEGIN … COMMIT on one pooled connection; ROLLBACK on any error. A connection whose
 * ROLLBACK itself failed is in an unknown state, so it is destroyed instead of going back to the pool.
 */
export async function pgTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    try {
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch((rollbackErr: unknown) => {
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      });
      throw err;
    }
  } finally {
    client.release(broken);
  }
}
