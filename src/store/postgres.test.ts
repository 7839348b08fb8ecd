// The conformance suite on a real PostgreSQL (BASTION_TEST_PG_URL, default the local server), in a throw-away schema per run that is emptied before each test and dropped at the end.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { openStore, SCHEMA_VERSION, type Store } from "./index.ts";
import { PostgresStore } from "./postgres.ts";
import { runStoreSuite } from "./store.case.ts";

const url = process.env.BASTION_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
/** The schema of this run; the migration tests add `${run}_1`, `${run}_2`, …, so cleanup finds them all (and only them). */
const run = `bastion_test_${randomBytes(5).toString("hex")}`;
let schemas = 0;
const nextSchema = (): string => `${run}_${++schemas}`;

/** One connection of the test's own, beside the stores' pools: emptying tables, dropping schemas, peeking. */
const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });

/** Fails the whole file, loudly, when there is no server: a skipped backend would pass CI untested. */
async function connectOrExplain(): Promise<void> {
  try {
    await admin.connect();
    await admin.query("SELECT 1");
  } catch (err) {
    await admin.end().catch(() => {});
    const where = url.replace(/\/\/[^@/]*@/, "//…@");
    throw new Error(
      `PostgreSQL is not reachable at ${where} (${(err as Error).message}). These tests need a server: start one (CI does) or set BASTION_TEST_PG_URL.`,
    );
  }
}

async function dropSchemas(): Promise<void> {
  const { rows } = await admin.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname = $1 OR starts_with(nspname, $2)", [run, `${run}_`]);
  // One statement: one commit for the whole run instead of one per schema.
  if (rows.length > 0) await admin.query(`DROP SCHEMA ${rows.map((r) => `"${r.nspname}"`).join(", ")} CASCADE`);
}

/**
 * Opens (and migrates: a no-op after the first test) the run's schema, then empties every table, so
 * each test starts from a store as new as a fresh schema. DELETE rather than TRUNCATE: on tables this
 * small it is ~2 ms instead of ~40 ms (TRUNCATE swaps every table's files).
 */
async function openEmpty(): Promise<Store> {
  const store = await openStore({ driver: "postgres", url, schema: run });
  const { rows } = await admin.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_version'", [run]);
  await admin.query(rows.map((r) => `DELETE FROM "${run}"."${r.tablename}";`).join(" "));
  return store;
}

await connectOrExplain();
afterAll(() => admin.end());

runStoreSuite("postgres", openEmpty, dropSchemas);

describe("postgres store: schema and migrations", () => {
  afterAll(dropSchemas);

  it("lets four stores migrate one new schema at once (the advisory lock), then each writes", async () => {
    const schema = nextSchema();
    const stores = Array.from({ length: 4 }, () => new PostgresStore({ url, schema }));
    await Promise.all(stores.map((s) => s.migrate()));
    await Promise.all(
      stores.map((s, i) => s.createUser({ id: `u${i}`, name: `p${i}`, roles: [], locked: false, createdAt: 1, passwordChangedAt: null, mustChangePassword: false })),
    );
    expect((await stores[0]!.listUsers()).map((u) => u.name)).toEqual(["p0", "p1", "p2", "p3"]);
    await Promise.all(stores.map((s) => s.close()));
    const { rows } = await admin.query(`SELECT version::int AS version FROM "${schema}".schema_version ORDER BY version`);
    expect(rows).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
    const { rows: tables } = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1", [schema]);
    expect(tables[0]?.n).toBe(13); // schema_version, the 9 tables of migration 1 and the 3 of migration 2: nothing leaked into another schema
  });

  it("refuses a schema migrated by a newer build instead of writing into a schema it does not know", async () => {
    const schema = nextSchema();
    await (await openStore({ driver: "postgres", url, schema })).close();
    await admin.query(`INSERT INTO "${schema}".schema_version (version, name, applied_at) VALUES (99, 'future', 0)`);
    await expect(openStore({ driver: "postgres", url, schema })).rejects.toThrow(`store schema version 99 is newer than this build's ${SCHEMA_VERSION}: upgrade mcp-bastion`);
  });

  it("refuses a schema name that is not a plain identifier", async () => {
    for (const bad of ['x"; DROP SCHEMA public; --', "a b", "", "1abc", "a".repeat(64), "é"]) {
      await expect(openStore({ driver: "postgres", url, schema: bad })).rejects.toThrow(/schema name/);
    }
  });

  it("fails openStore with the server's reason when the database cannot be reached", async () => {
    await expect(openStore({ driver: "postgres", url: "postgres://postgres@127.0.0.1:1/test" })).rejects.toThrow(/ECONNREFUSED/);
  });
});
