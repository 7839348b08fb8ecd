// The store's conformance suite (STYLE habit 5): every contract in types.ts, run against each backend by its own short test file.
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  StoreConflict,
  type ApiKeyRecord,
  type ObservedTool,
  type RefreshTokenRecord,
  type SessionRecord,
  type Store,
  type ToolDefinition,
  type TotpRecord,
  type User,
} from "./index.ts";

/** A frozen "now" (2023-11-14): the store never reads a clock, every time is the caller's. */
const T0 = 1_700_000_000_000;
/** The largest time the suite stores: far beyond any real clock, still an exact double. */
const BIG = 2 ** 50;
/** How many callers race in the concurrency tests (more than the PostgreSQL pool's 10 connections). */
const RACERS = 20;

const hex = (): string => randomBytes(32).toString("hex");

function newUser(over: Partial<User> = {}): User {
  return { id: `u_${randomUUID()}`, name: `user-${randomUUID()}`, roles: ["reader"], locked: false, createdAt: T0, passwordChangedAt: null, mustChangePassword: false, ...over };
}
function newKey(userId: string, over: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return { id: `k_${randomUUID()}`, userId, hash: hex(), scopes: ["everything.echo"], createdAt: T0, expiresAt: null, lastUsedAt: null, revokedAt: null, label: "ci", ...over };
}
function newSession(userId: string, over: Partial<SessionRecord> = {}): SessionRecord {
  return { id: `s_${randomUUID()}`, userId, createdAt: T0, lastSeenAt: T0, expiresAt: T0 + 3_600_000, revokedAt: null, method: "password", ...over };
}
function newRefresh(session: SessionRecord, over: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return { hash: hex(), familyId: `f_${randomUUID()}`, sessionId: session.id, userId: session.userId, createdAt: T0, expiresAt: T0 + 86_400_000, usedAt: null, revokedAt: null, ...over };
}
/** A tool definition as the pin book would store it (the store itself never parses or hashes it). */
function newTool(name: string, version = 1): ToolDefinition {
  return { name, definition: JSON.stringify({ name, description: `v${version}` }), hash: `${hex().slice(0, 56)}${String(version).padStart(8, "0")}` };
}
function observed(tool: ToolDefinition, findings: ObservedTool["findings"] = []): Omit<ObservedTool, "seenAt"> {
  return { ...tool, findings };
}
function newTotp(userId: string, over: Partial<TotpRecord> = {}): TotpRecord {
  return { userId, secret: `sealed:${hex()}`, lastCounter: -1, confirmed: false, createdAt: T0, ...over };
}

/** A thousand-character run of mixed 1-, 2-, 3- and 4-byte UTF-8, repeated to `size` characters. */
function bulk(size: number): string {
  const unit = "aé€𝄞\u0301\u200b'\"\\%_;-- ";
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

/** Every C0/C1 control and Latin-1 character except NUL (PostgreSQL text cannot hold U+0000). */
const LATIN1 = Array.from({ length: 255 }, (_, i) => String.fromCharCode(i + 1)).join("");

/**
 * Values an attacker or a careless admin may feed the store. Each must come back byte for byte (NFC and
 * NFD twins are different strings: the store never normalizes). Lone surrogates are absent: they are not
 * text, and both drivers encode UTF-8 (a lone surrogate would come back as U+FFFD).
 */
const HOSTILE: readonly (readonly [label: string, value: string])[] = [
  ["SQL injection", "'; DROP TABLE users; --"],
  ["SQL injection, double quotes", '"); DELETE FROM sessions; --'],
  ["quotes and backslashes", `'"\`\\' \\\\ \\x00 \\u0000`],
  ["placeholders of both dialects", "$1 $2 ? ?1 :name @x $$ $tag$"],
  ["LIKE wildcards", "%_%\\_"],
  ["JSON-looking", '["admin"]'],
  ["combining characters (NFD)", "cafe\u0301"],
  ["precomposed twin (NFC)", "caf\u00e9"],
  ["stacked combining marks", "Z\u0351\u0348\u036b\u0306a\u0310\u0315l\u0337\u0322g\u0358o"],
  ["zero-width characters", "ad\u200bmin\u200c\u200d\u2060\ufeff"],
  ["right-to-left marks and overrides", "\u202egnp.exe\u202c \u200f\u200e\u2067x\u2069"],
  ["astral characters and ZWJ emoji", "👩‍👩‍👧‍👦 𝕳𝖊𝖑𝖑𝖔 \u{10FFFF}"],
  ["noncharacters", "\ufffe\uffff\ufdd0"],
  ["control characters", "\u0001\u0002\u0007\b\t\n\v\f\r\u001b[31m\u007f\u0085\u2028\u2029"],
  ["every Latin-1 character but NUL", LATIN1],
  ["whitespace only", " \t "],
  ["empty", ""],
  ["10 kB", bulk(10_000)],
];

/**
 * Defines the conformance tests for one backend. `open` is called before every test and must return a
 * migrated, empty store of its own (a fresh `:memory:` database, a fresh PostgreSQL schema); the suite
 * closes it after the test. `cleanup` runs once at the end (drop the schemas).
 */
export function runStoreSuite(name: string, open: () => Promise<Store>, cleanup?: () => Promise<void>): void {
  describe(`store conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });
    if (cleanup !== undefined) afterAll(cleanup);

    /** A user that exists in the store. */
    async function aUser(over: Partial<User> = {}): Promise<User> {
      const user = newUser(over);
      await store.createUser(user);
      return user;
    }
    async function aSession(userId: string, over: Partial<SessionRecord> = {}): Promise<SessionRecord> {
      const session = newSession(userId, over);
      await store.createSession(session);
      return session;
    }
    async function aRefresh(session: SessionRecord, over: Partial<RefreshTokenRecord> = {}): Promise<RefreshTokenRecord> {
      const token = newRefresh(session, over);
      await store.createRefreshToken(token);
      return token;
    }

    describe("lifecycle", () => {
      it("names its driver", () => {
        expect(store.driver).toBe(name);
      });

      it("ping answers true on an open store and false once closed", async () => {
        expect(await store.ping()).toBe(true);
        await store.close();
        expect(await store.ping()).toBe(false);
        await store.close(); // a second close is harmless (afterEach closes a third time)
      });

      it("migrate() again, twice and concurrently, keeps the data and the schema", async () => {
        const user = await aUser();
        await store.migrate();
        await store.migrate();
        await Promise.all(Array.from({ length: 5 }, () => store.migrate()));
        expect(await store.getUser(user.id)).toEqual(user);
        await aUser();
        expect(await store.listUsers()).toHaveLength(2);
      });
    });

    describe("users", () => {
      it("creates a user and finds it by id and by name, field for field", async () => {
        const user = newUser({ roles: ["admin", "reader"], locked: true, passwordChangedAt: T0 - 5, mustChangePassword: true });
        await store.createUser(user);
        expect(await store.getUser(user.id)).toEqual(user);
        expect(await store.getUserByName(user.name)).toEqual(user);
      });

      it("keeps an empty role list empty", async () => {
        const user = await aUser({ roles: [] });
        expect((await store.getUser(user.id))?.roles).toEqual([]);
      });

      it("answers undefined for an unknown id or name", async () => {
        await aUser({ name: "alice" });
        expect(await store.getUser("nobody")).toBeUndefined();
        expect(await store.getUserByName("bob")).toBeUndefined();
      });

      it("refuses a name that exists with StoreConflict and leaves the first user as it was", async () => {
        const first = await aUser({ name: "alice" });
        const err = await store.createUser(newUser({ name: "alice", roles: ["admin"] })).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StoreConflict);
        expect((err as Error).message).toBe('user "alice" already exists');
        expect(await store.listUsers()).toEqual([first]);
      });

      it("refuses an id that exists with StoreConflict", async () => {
        const first = await aUser();
        await expect(store.createUser(newUser({ id: first.id }))).rejects.toBeInstanceOf(StoreConflict);
        expect(await store.listUsers()).toEqual([first]);
      });

      it("compares names exactly: case and Unicode normalization make different users", async () => {
        const names = ["alice", "Alice", "ALICE", "caf\u00e9", "cafe\u0301", "alice\u200b"];
        for (const n of names) await aUser({ name: n });
        for (const n of names) expect((await store.getUserByName(n))?.name).toBe(n);
        expect(await store.getUserByName("alice ")).toBeUndefined();
      });

      it("lists every user in code-point order of their names", async () => {
        const names = ["bob", "Alice", "alice", "émile", "zoë", "𝕫", "_x", "0"];
        for (const n of names) await aUser({ name: n });
        const listed = (await store.listUsers()).map((u) => u.name);
        const byCodePoint = [...names].sort((a, b) => {
          const [x, y] = [[...a].map((c) => c.codePointAt(0) ?? 0), [...b].map((c) => c.codePointAt(0) ?? 0)];
          for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
          return x.length - y.length;
        });
        expect(listed).toEqual(byCodePoint);
      });

      it("lists nothing when there are no users", async () => {
        expect(await store.listUsers()).toEqual([]);
      });

      it("updates each field alone and leaves the others", async () => {
        const user = await aUser({ roles: ["reader"], passwordChangedAt: T0 });
        const other = await aUser();
        const steps: Partial<Pick<User, "roles" | "locked" | "passwordChangedAt" | "mustChangePassword">>[] = [
          { roles: ["admin", "ops"] },
          { roles: [] },
          { locked: true },
          { locked: false },
          { passwordChangedAt: T0 + 10 },
          { passwordChangedAt: null },
          { mustChangePassword: true },
          { mustChangePassword: false },
          {},
          { roles: ["a"], locked: true, passwordChangedAt: BIG, mustChangePassword: true },
        ];
        let expected = user;
        for (const patch of steps) {
          await store.updateUser(user.id, patch);
          expected = { ...expected, ...patch };
          expect(await store.getUser(user.id)).toEqual(expected);
        }
        expect(await store.getUser(other.id)).toEqual(other);
      });

      it("treats an update of an unknown user as nothing to do", async () => {
        await store.updateUser("nobody", { locked: true });
        expect(await store.getUser("nobody")).toBeUndefined();
      });

      it("deletes a user with everything of theirs and nothing of anyone else's", async () => {
        async function furnish(user: User): Promise<{ key: ApiKeyRecord; session: SessionRecord; token: RefreshTokenRecord }> {
          await store.setPassword(user.id, `old-${user.id}`, T0, 5);
          await store.setPassword(user.id, `new-${user.id}`, T0 + 1, 5);
          const key = newKey(user.id);
          await store.createApiKey(key);
          const session = await aSession(user.id);
          const token = await aRefresh(session);
          await store.setTotp(newTotp(user.id), [`rc1-${user.id}`, `rc2-${user.id}`]);
          return { key, session, token };
        }
        const doomed = await aUser();
        const kept = await aUser();
        const d = await furnish(doomed);
        const k = await furnish(kept);

        await store.deleteUser(doomed.id);

        expect(await store.getUser(doomed.id)).toBeUndefined();
        expect(await store.getUserByName(doomed.name)).toBeUndefined();
        expect(await store.getPassword(doomed.id)).toBeUndefined();
        expect(await store.passwordHistory(doomed.id, 10)).toEqual([]);
        expect(await store.getApiKey(d.key.id)).toBeUndefined();
        expect(await store.listApiKeys(doomed.id)).toEqual([]);
        expect(await store.getSession(d.session.id)).toBeUndefined();
        expect(await store.getRefreshToken(d.token.hash)).toBeUndefined();
        expect(await store.spendRefreshToken(d.token.hash, T0)).toBe(false);
        expect(await store.getTotp(doomed.id)).toBeUndefined();
        expect(await store.recoveryCodesLeft(doomed.id)).toBe(0);
        expect(await store.spendRecoveryCode(doomed.id, `rc1-${doomed.id}`)).toBe(false);

        expect(await store.getUser(kept.id)).toEqual({ ...kept, passwordChangedAt: T0 + 1 });
        expect(await store.passwordHistory(kept.id, 10)).toEqual([`new-${kept.id}`, `old-${kept.id}`]);
        expect(await store.listApiKeys()).toEqual([k.key]);
        expect(await store.getSession(k.session.id)).toEqual(k.session);
        expect(await store.getRefreshToken(k.token.hash)).toEqual(k.token);
        expect(await store.recoveryCodesLeft(kept.id)).toBe(2);
      });

      it("frees a deleted user's name for a new user, who inherits nothing", async () => {
        const old = await aUser({ name: "carol" });
        await store.setPassword(old.id, "h1", T0, 3);
        await store.deleteUser(old.id);
        const fresh = await aUser({ name: "carol" });
        expect(await store.getUserByName("carol")).toEqual(fresh);
        expect(await store.getPassword(fresh.id)).toBeUndefined();
      });

      it("treats deleting an unknown user as nothing to do", async () => {
        const user = await aUser();
        await store.deleteUser("nobody");
        expect(await store.listUsers()).toEqual([user]);
      });
    });

    describe("passwords", () => {
      it("has no password until one is set, then returns it and stamps passwordChangedAt", async () => {
        const user = await aUser();
        expect(await store.getPassword(user.id)).toBeUndefined();
        expect(await store.passwordHistory(user.id, 5)).toEqual([]);
        await store.setPassword(user.id, "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", T0 + 7, 5);
        expect(await store.getPassword(user.id)).toBe("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA");
        expect(await store.getUser(user.id)).toEqual({ ...user, passwordChangedAt: T0 + 7 });
      });

      it("leaves mustChangePassword to the caller", async () => {
        const user = await aUser({ mustChangePassword: true });
        await store.setPassword(user.id, "h", T0, 3);
        expect((await store.getUser(user.id))?.mustChangePassword).toBe(true);
      });

      it("keeps the newest `keep` hashes, current first", async () => {
        const user = await aUser();
        for (let i = 1; i <= 6; i++) await store.setPassword(user.id, `h${i}`, T0 + i, 3);
        expect(await store.getPassword(user.id)).toBe("h6");
        expect(await store.passwordHistory(user.id, 10)).toEqual(["h6", "h5", "h4"]);
        expect(await store.passwordHistory(user.id, 2)).toEqual(["h6", "h5"]);
        expect(await store.passwordHistory(user.id, 0)).toEqual([]);
      });

      it("trims an older, longer history when `keep` shrinks", async () => {
        const user = await aUser();
        for (let i = 1; i <= 5; i++) await store.setPassword(user.id, `h${i}`, T0 + i, 10);
        expect(await store.passwordHistory(user.id, 10)).toHaveLength(5);
        await store.setPassword(user.id, "h6", T0 + 6, 2);
        expect(await store.passwordHistory(user.id, 10)).toEqual(["h6", "h5"]);
      });

      it("orders by when each was set in sequence, even within one millisecond or with a clock that went back", async () => {
        const user = await aUser();
        await store.setPassword(user.id, "a", T0, 5);
        await store.setPassword(user.id, "b", T0, 5);
        await store.setPassword(user.id, "c", T0 - 60_000, 5);
        expect(await store.passwordHistory(user.id, 5)).toEqual(["c", "b", "a"]);
        expect(await store.getPassword(user.id)).toBe("c");
      });

      it("remembers at least the current hash whatever `keep` says", async () => {
        const user = await aUser();
        await store.setPassword(user.id, "first", T0, 0);
        await store.setPassword(user.id, "second", T0 + 1, 0);
        expect(await store.getPassword(user.id)).toBe("second");
        expect(await store.passwordHistory(user.id, 5)).toEqual(["second"]);
      });

      it("keeps histories of different users apart", async () => {
        const a = await aUser();
        const b = await aUser();
        await store.setPassword(a.id, "a1", T0, 5);
        await store.setPassword(b.id, "b1", T0, 5);
        await store.setPassword(a.id, "a2", T0, 5);
        expect(await store.passwordHistory(a.id, 5)).toEqual(["a2", "a1"]);
        expect(await store.passwordHistory(b.id, 5)).toEqual(["b1"]);
      });

      it("refuses a password for an unknown user and remembers nothing", async () => {
        await expect(store.setPassword("nobody", "h", T0, 3)).rejects.toThrow(/does not exist/);
        expect(await store.passwordHistory("nobody", 3)).toEqual([]);
      });

      it("refuses a count that is not a non-negative integer", async () => {
        const user = await aUser();
        for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
          await expect(store.setPassword(user.id, "h", T0, bad)).rejects.toThrow(RangeError);
          await expect(store.passwordHistory(user.id, bad)).rejects.toThrow(RangeError);
        }
        expect(await store.getPassword(user.id)).toBeUndefined();
      });
    });

    describe("API keys", () => {
      it("creates a key and reads it back field for field", async () => {
        const user = await aUser();
        const key = newKey(user.id, { scopes: ["a", "b.c*"], expiresAt: T0 + 30 * 86_400_000, label: "nightly export" });
        await store.createApiKey(key);
        expect(await store.getApiKey(key.id)).toEqual(key);
        const bare = newKey(user.id, { scopes: [], label: "" });
        await store.createApiKey(bare);
        expect(await store.getApiKey(bare.id)).toEqual(bare);
      });

      it("answers undefined for an unknown id", async () => {
        expect(await store.getApiKey("k_nope")).toBeUndefined();
      });

      it("refuses an id that exists with StoreConflict", async () => {
        const user = await aUser();
        const key = newKey(user.id);
        await store.createApiKey(key);
        await expect(store.createApiKey(newKey(user.id, { id: key.id }))).rejects.toBeInstanceOf(StoreConflict);
        expect(await store.getApiKey(key.id)).toEqual(key);
      });

      it("refuses a key for an unknown user, and not as a conflict", async () => {
        const err = await store.createApiKey(newKey("nobody")).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(Error);
        expect(err).not.toBeInstanceOf(StoreConflict);
        expect((err as Error).message).toMatch(/does not exist/);
        expect(await store.listApiKeys()).toEqual([]);
      });

      it("lists all keys, or one user's, oldest first", async () => {
        const a = await aUser();
        const b = await aUser();
        const a2 = newKey(a.id, { createdAt: T0 + 2 });
        const b1 = newKey(b.id, { createdAt: T0 + 1 });
        const a1 = newKey(a.id, { createdAt: T0 });
        for (const k of [a2, b1, a1]) await store.createApiKey(k);
        expect(await store.listApiKeys()).toEqual([a1, b1, a2]);
        expect(await store.listApiKeys(a.id)).toEqual([a1, a2]);
        expect(await store.listApiKeys(b.id)).toEqual([b1]);
        expect(await store.listApiKeys("nobody")).toEqual([]);
      });

      it("lists revoked keys too (apikey list shows them)", async () => {
        const user = await aUser();
        const key = newKey(user.id);
        await store.createApiKey(key);
        await store.revokeApiKey(key.id, T0 + 1);
        expect(await store.listApiKeys(user.id)).toEqual([{ ...key, revokedAt: T0 + 1 }]);
      });

      it("touch records the last use and never moves it back", async () => {
        const user = await aUser();
        const key = newKey(user.id);
        await store.createApiKey(key);
        await store.touchApiKey(key.id, T0 + 100);
        expect((await store.getApiKey(key.id))?.lastUsedAt).toBe(T0 + 100);
        await store.touchApiKey(key.id, T0 + 50);
        expect((await store.getApiKey(key.id))?.lastUsedAt).toBe(T0 + 100);
        await store.touchApiKey(key.id, BIG);
        expect(await store.getApiKey(key.id)).toEqual({ ...key, lastUsedAt: BIG });
        await store.touchApiKey("k_nope", T0); // unknown: nothing to do
      });

      it("revoke answers true once, keeps the first time, and false for an unknown key", async () => {
        const user = await aUser();
        const key = newKey(user.id);
        const other = newKey(user.id);
        await store.createApiKey(key);
        await store.createApiKey(other);
        expect(await store.revokeApiKey(key.id, T0 + 5)).toBe(true);
        expect(await store.revokeApiKey(key.id, T0 + 9)).toBe(false);
        expect(await store.getApiKey(key.id)).toEqual({ ...key, revokedAt: T0 + 5 });
        expect(await store.getApiKey(other.id)).toEqual(other);
        expect(await store.revokeApiKey("k_nope", T0)).toBe(false);
      });

      it(`revoke answers true to exactly one of ${RACERS} racing callers`, async () => {
        const user = await aUser();
        const key = newKey(user.id);
        await store.createApiKey(key);
        const wins = await Promise.all(Array.from({ length: RACERS }, (_, i) => store.revokeApiKey(key.id, T0 + i)));
        expect(wins.filter(Boolean)).toHaveLength(1);
      });
    });

    describe("sessions", () => {
      it("creates a session and reads it back field for field", async () => {
        const user = await aUser();
        const session = await aSession(user.id, { method: "client_credentials", lastSeenAt: T0 + 3 });
        expect(await store.getSession(session.id)).toEqual(session);
        expect(await store.getSession("s_nope")).toBeUndefined();
      });

      it("returns a revoked or expired session as it is (the caller judges it)", async () => {
        const user = await aUser();
        const revoked = await aSession(user.id, { revokedAt: T0 + 1 });
        const expired = await aSession(user.id, { expiresAt: T0 - 1 });
        expect(await store.getSession(revoked.id)).toEqual(revoked);
        expect(await store.getSession(expired.id)).toEqual(expired);
      });

      it("refuses an id that exists with StoreConflict, and a session of an unknown user", async () => {
        const user = await aUser();
        const session = await aSession(user.id);
        await expect(store.createSession(newSession(user.id, { id: session.id }))).rejects.toBeInstanceOf(StoreConflict);
        const err = await store.createSession(newSession("nobody")).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(Error);
        expect(err).not.toBeInstanceOf(StoreConflict);
      });

      it("touch moves lastSeenAt forward only and changes nothing else", async () => {
        const user = await aUser();
        const session = await aSession(user.id);
        await store.touchSession(session.id, T0 + 60_000);
        await store.touchSession(session.id, T0 + 30_000);
        expect(await store.getSession(session.id)).toEqual({ ...session, lastSeenAt: T0 + 60_000 });
        await store.touchSession("s_nope", T0);
      });

      it("revoke sets revokedAt once (the first time stays) and touches no other session", async () => {
        const user = await aUser();
        const session = await aSession(user.id);
        const other = await aSession(user.id);
        await store.revokeSession(session.id, T0 + 10);
        await store.revokeSession(session.id, T0 + 20);
        expect(await store.getSession(session.id)).toEqual({ ...session, revokedAt: T0 + 10 });
        expect(await store.getSession(other.id)).toEqual(other);
        await store.revokeSession("s_nope", T0);
      });

      it("revoke also revokes the session's refresh tokens, so none can be spent", async () => {
        const user = await aUser();
        const session = await aSession(user.id);
        const other = await aSession(user.id);
        const t1 = await aRefresh(session);
        const t2 = await aRefresh(session, { familyId: t1.familyId });
        const kept = await aRefresh(other);
        await store.revokeSession(session.id, T0 + 10);
        expect(await store.getRefreshToken(t1.hash)).toEqual({ ...t1, revokedAt: T0 + 10 });
        expect(await store.getRefreshToken(t2.hash)).toEqual({ ...t2, revokedAt: T0 + 10 });
        expect(await store.spendRefreshToken(t1.hash, T0 + 11)).toBe(false);
        expect(await store.getRefreshToken(kept.hash)).toEqual(kept);
        expect(await store.spendRefreshToken(kept.hash, T0 + 11)).toBe(true);
      });

      it("revokeUserSessions revokes and counts only the user's live sessions", async () => {
        const user = await aUser();
        const other = await aUser();
        const now = T0 + 1_000;
        const live1 = await aSession(user.id);
        const live2 = await aSession(user.id, { expiresAt: now + 1 });
        const revoked = await aSession(user.id, { revokedAt: T0 + 500 });
        const expired = await aSession(user.id, { expiresAt: now - 1 });
        const endsNow = await aSession(user.id, { expiresAt: now });
        const theirs = await aSession(other.id);

        expect(await store.revokeUserSessions(user.id, now)).toBe(2);

        expect(await store.getSession(live1.id)).toEqual({ ...live1, revokedAt: now });
        expect(await store.getSession(live2.id)).toEqual({ ...live2, revokedAt: now });
        expect(await store.getSession(revoked.id)).toEqual(revoked);
        expect(await store.getSession(expired.id)).toEqual(expired);
        expect(await store.getSession(endsNow.id)).toEqual(endsNow);
        expect(await store.getSession(theirs.id)).toEqual(theirs);
        expect(await store.revokeUserSessions(user.id, now + 1)).toBe(0);
        expect(await store.revokeUserSessions("nobody", now)).toBe(0);
      });

      it("revokeUserSessions also revokes every unrevoked refresh token of the user", async () => {
        const user = await aUser();
        const other = await aUser();
        const session = await aSession(user.id);
        const expired = await aSession(user.id, { expiresAt: T0 - 1 });
        const early = await aRefresh(session, { revokedAt: T0 - 5 });
        const live = await aRefresh(session);
        const onExpired = await aRefresh(expired);
        const theirs = await aRefresh(await aSession(other.id));
        await store.revokeUserSessions(user.id, T0 + 1);
        expect(await store.getRefreshToken(early.hash)).toEqual(early);
        expect(await store.getRefreshToken(live.hash)).toEqual({ ...live, revokedAt: T0 + 1 });
        expect(await store.getRefreshToken(onExpired.hash)).toEqual({ ...onExpired, revokedAt: T0 + 1 });
        expect(await store.spendRefreshToken(live.hash, T0 + 2)).toBe(false);
        expect(await store.getRefreshToken(theirs.hash)).toEqual(theirs);
      });

      it("sweep deletes sessions that ended (expired or revoked) before the cut, with their refresh tokens", async () => {
        const user = await aUser();
        const cut = T0 + 10_000;
        const expired = await aSession(user.id, { expiresAt: cut - 1 });
        const revoked = await aSession(user.id, { revokedAt: cut - 1 });
        const expiresAtCut = await aSession(user.id, { expiresAt: cut });
        const revokedAtCut = await aSession(user.id, { revokedAt: cut });
        const revokedLater = await aSession(user.id, { revokedAt: cut + 1 });
        const live = await aSession(user.id, { expiresAt: BIG });
        const gone = [await aRefresh(expired), await aRefresh(revoked)];
        const stays = await aRefresh(live);

        expect(await store.sweepSessions(cut)).toBe(2);

        expect(await store.getSession(expired.id)).toBeUndefined();
        expect(await store.getSession(revoked.id)).toBeUndefined();
        for (const t of gone) expect(await store.getRefreshToken(t.hash)).toBeUndefined();
        for (const s of [expiresAtCut, revokedAtCut, revokedLater, live]) expect(await store.getSession(s.id)).toEqual(s);
        expect(await store.getRefreshToken(stays.hash)).toEqual(stays);
        expect(await store.sweepSessions(cut)).toBe(0);
      });
    });

    describe("refresh tokens", () => {
      it("creates a token and reads it back field for field", async () => {
        const user = await aUser();
        const token = await aRefresh(await aSession(user.id), { expiresAt: BIG });
        expect(await store.getRefreshToken(token.hash)).toEqual(token);
        expect(await store.getRefreshToken(hex())).toBeUndefined();
      });

      it("refuses a hash that exists with StoreConflict, and a token of an unknown session", async () => {
        const user = await aUser();
        const session = await aSession(user.id);
        const token = await aRefresh(session);
        await expect(store.createRefreshToken(newRefresh(session, { hash: token.hash }))).rejects.toBeInstanceOf(StoreConflict);
        const err = await store.createRefreshToken(newRefresh({ ...session, id: "s_nope" })).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(Error);
        expect(err).not.toBeInstanceOf(StoreConflict);
      });

      it("spend succeeds once and records when", async () => {
        const user = await aUser();
        const token = await aRefresh(await aSession(user.id));
        expect(await store.spendRefreshToken(token.hash, T0 + 5)).toBe(true);
        expect(await store.spendRefreshToken(token.hash, T0 + 6)).toBe(false);
        expect(await store.getRefreshToken(token.hash)).toEqual({ ...token, usedAt: T0 + 5 });
        expect(await store.spendRefreshToken(hex(), T0)).toBe(false);
      });

      it(`spend answers true to exactly one of ${RACERS} racing callers`, async () => {
        const user = await aUser();
        const token = await aRefresh(await aSession(user.id));
        const wins = await Promise.all(Array.from({ length: RACERS }, (_, i) => store.spendRefreshToken(token.hash, T0 + i)));
        expect(wins.filter(Boolean)).toHaveLength(1);
        const used = (await store.getRefreshToken(token.hash))?.usedAt;
        expect(used).toBe(T0 + wins.indexOf(true));
      });

      it("a token created used or revoked cannot be spent", async () => {
        const user = await aUser();
        const session = await aSession(user.id);
        const used = await aRefresh(session, { usedAt: T0 });
        const revoked = await aRefresh(session, { revokedAt: T0 });
        expect(await store.spendRefreshToken(used.hash, T0 + 1)).toBe(false);
        expect(await store.spendRefreshToken(revoked.hash, T0 + 1)).toBe(false);
        expect(await store.getRefreshToken(revoked.hash)).toEqual(revoked);
      });

      it("revokeFamily revokes every token of the family (spent or not) and no other; a revoked token cannot be spent", async () => {
        const user = await aUser();
        const session = await aSession(user.id);
        const spent = await aRefresh(session);
        await store.spendRefreshToken(spent.hash, T0 + 1);
        const next = await aRefresh(session, { familyId: spent.familyId });
        const earlier = await aRefresh(session, { familyId: spent.familyId, revokedAt: T0 - 1 });
        const stranger = await aRefresh(session);

        await store.revokeFamily(spent.familyId, T0 + 2);

        expect(await store.getRefreshToken(spent.hash)).toEqual({ ...spent, usedAt: T0 + 1, revokedAt: T0 + 2 });
        expect(await store.getRefreshToken(next.hash)).toEqual({ ...next, revokedAt: T0 + 2 });
        expect(await store.getRefreshToken(earlier.hash)).toEqual(earlier);
        expect(await store.spendRefreshToken(next.hash, T0 + 3)).toBe(false);
        expect(await store.getRefreshToken(stranger.hash)).toEqual(stranger);
        expect(await store.spendRefreshToken(stranger.hash, T0 + 3)).toBe(true);
        await store.revokeFamily("f_nope", T0);
      });

      it("the session itself is left alone by revokeFamily (the caller revokes it when it decides to)", async () => {
        const user = await aUser();
        const session = await aSession(user.id);
        const token = await aRefresh(session);
        await store.revokeFamily(token.familyId, T0 + 1);
        expect(await store.getSession(session.id)).toEqual(session);
      });
    });

    describe("TOTP and recovery codes", () => {
      it("stores a pending enrollment, reads it back and confirms it", async () => {
        const user = await aUser();
        const totp = newTotp(user.id);
        await store.setTotp(totp, ["r1", "r2", "r3"]);
        expect(await store.getTotp(user.id)).toEqual(totp);
        expect(await store.recoveryCodesLeft(user.id)).toBe(3);
        await store.confirmTotp(user.id);
        expect(await store.getTotp(user.id)).toEqual({ ...totp, confirmed: true });
        expect(await store.getTotp("nobody")).toBeUndefined();
        await store.confirmTotp("nobody");
      });

      it("a new enrollment replaces the earlier one and its recovery codes", async () => {
        const user = await aUser();
        await store.setTotp(newTotp(user.id, { lastCounter: 55_000_000 }), ["old1", "old2"]);
        await store.confirmTotp(user.id);
        const again = newTotp(user.id, { createdAt: T0 + 9 });
        await store.setTotp(again, ["new1"]);
        expect(await store.getTotp(user.id)).toEqual(again);
        expect(await store.recoveryCodesLeft(user.id)).toBe(1);
        expect(await store.spendRecoveryCode(user.id, "old1")).toBe(false);
        expect(await store.spendRecoveryCode(user.id, "new1")).toBe(true);
      });

      it("an enrollment without recovery codes has none, and duplicate hashes count once", async () => {
        const user = await aUser();
        await store.setTotp(newTotp(user.id), []);
        expect(await store.recoveryCodesLeft(user.id)).toBe(0);
        await store.setTotp(newTotp(user.id), ["same", "same", "other"]);
        expect(await store.recoveryCodesLeft(user.id)).toBe(2);
      });

      it("refuses an enrollment for an unknown user", async () => {
        await expect(store.setTotp(newTotp("nobody"), ["r"])).rejects.toThrow(/does not exist/);
        expect(await store.recoveryCodesLeft("nobody")).toBe(0);
      });

      it("advances the counter only upward: an equal or earlier step is a replay", async () => {
        const user = await aUser();
        await store.setTotp(newTotp(user.id, { lastCounter: -1 }), []);
        expect(await store.advanceTotpCounter(user.id, 0)).toBe(true);
        expect(await store.advanceTotpCounter(user.id, 0)).toBe(false);
        expect(await store.advanceTotpCounter(user.id, 56_666_666)).toBe(true);
        expect(await store.advanceTotpCounter(user.id, 56_666_665)).toBe(false);
        expect(await store.advanceTotpCounter(user.id, 56_666_666)).toBe(false);
        expect(await store.advanceTotpCounter(user.id, 56_666_667)).toBe(true);
        expect((await store.getTotp(user.id))?.lastCounter).toBe(56_666_667);
        expect(await store.advanceTotpCounter("nobody", 1)).toBe(false);
      });

      it(`accepts one time step for exactly one of ${RACERS} racing callers`, async () => {
        const user = await aUser();
        await store.setTotp(newTotp(user.id, { lastCounter: 100 }), []);
        const wins = await Promise.all(Array.from({ length: RACERS }, () => store.advanceTotpCounter(user.id, 101)));
        expect(wins.filter(Boolean)).toHaveLength(1);
        expect((await store.getTotp(user.id))?.lastCounter).toBe(101);
      });

      it("never moves the counter back when racing steps arrive out of order", async () => {
        const user = await aUser();
        await store.setTotp(newTotp(user.id, { lastCounter: 0 }), []);
        const steps = Array.from({ length: RACERS }, (_, i) => ((i * 7) % RACERS) + 1); // 1..RACERS, shuffled
        const wins = await Promise.all(steps.map((c) => store.advanceTotpCounter(user.id, c)));
        expect((await store.getTotp(user.id))?.lastCounter).toBe(RACERS);
        // The highest step is above every other, so it is accepted whenever it lands.
        expect(steps.filter((_, i) => wins[i])).toContain(RACERS);
      });

      it("spends each recovery code once, only for its own user", async () => {
        const alice = await aUser();
        const bob = await aUser();
        await store.setTotp(newTotp(alice.id), ["a1", "a2", "shared"]);
        await store.setTotp(newTotp(bob.id), ["b1", "shared"]);
        expect(await store.spendRecoveryCode(alice.id, "b1")).toBe(false);
        expect(await store.spendRecoveryCode(alice.id, "a1")).toBe(true);
        expect(await store.spendRecoveryCode(alice.id, "a1")).toBe(false);
        expect(await store.spendRecoveryCode(alice.id, "shared")).toBe(true);
        expect(await store.recoveryCodesLeft(alice.id)).toBe(1);
        expect(await store.recoveryCodesLeft(bob.id)).toBe(2);
        expect(await store.spendRecoveryCode(bob.id, "shared")).toBe(true);
        expect(await store.spendRecoveryCode("nobody", "a2")).toBe(false);
      });

      it(`spends a recovery code for exactly one of ${RACERS} racing callers`, async () => {
        const user = await aUser();
        await store.setTotp(newTotp(user.id), ["only", "spare"]);
        const wins = await Promise.all(Array.from({ length: RACERS }, () => store.spendRecoveryCode(user.id, "only")));
        expect(wins.filter(Boolean)).toHaveLength(1);
        expect(await store.recoveryCodesLeft(user.id)).toBe(1);
      });
    });

    describe("lockout counters", () => {
      it("counts failures of a key, each call returning the count including itself", async () => {
        expect(await store.failureCount("acct:alice", 0)).toBe(0);
        expect(await store.recordFailure("acct:alice", T0, T0 - 900_000)).toBe(1);
        expect(await store.recordFailure("acct:alice", T0 + 1, T0 - 900_000)).toBe(2);
        expect(await store.recordFailure("acct:alice", T0 + 1, T0 - 900_000)).toBe(3);
        expect(await store.failureCount("acct:alice", T0 - 900_000)).toBe(3);
        expect(await store.failureCount("acct:bob", 0)).toBe(0);
      });

      it("slides: failures before windowStart are forgotten, one at windowStart still counts", async () => {
        const key = "addr:alice@10.0.0.7";
        for (const at of [100, 200, 300]) await store.recordFailure(key, at, 0);
        expect(await store.failureCount(key, 200)).toBe(2);
        expect(await store.failureCount(key, 301)).toBe(0);
        expect(await store.recordFailure(key, 400, 200)).toBe(3);
        // Forgotten for good, not just hidden: a wider window does not bring 100 back.
        expect(await store.failureCount(key, 0)).toBe(3);
        expect(await store.recordFailure(key, 500, 450)).toBe(1);
        expect(await store.failureCount(key, 0)).toBe(1);
      });

      it("keeps keys apart", async () => {
        await store.recordFailure("acct:alice", T0, 0);
        await store.recordFailure("acct:alice", T0, 0);
        await store.recordFailure("acct:Alice", T0, 0);
        expect(await store.failureCount("acct:alice", 0)).toBe(2);
        expect(await store.failureCount("acct:Alice", 0)).toBe(1);
        expect(await store.failureCount("acct:alic", 0)).toBe(0);
      });

      it("clear forgets one key's failures only", async () => {
        await store.recordFailure("k1", T0, 0);
        await store.recordFailure("k2", T0, 0);
        await store.clearFailures("k1");
        await store.clearFailures("never-seen");
        expect(await store.failureCount("k1", 0)).toBe(0);
        expect(await store.failureCount("k2", 0)).toBe(1);
        expect(await store.recordFailure("k1", T0 + 1, 0)).toBe(1);
      });

      it(`${RACERS} racing failures of one key each get a distinct count, 1 to ${RACERS}`, async () => {
        const counts = await Promise.all(Array.from({ length: RACERS }, (_, i) => store.recordFailure("acct:target", T0 + i, T0 - 60_000)));
        expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: RACERS }, (_, i) => i + 1));
        expect(await store.failureCount("acct:target", T0 - 60_000)).toBe(RACERS);
      });

      it("locks: none by default, set, overwritten (also to an earlier time), cleared with null", async () => {
        expect(await store.getLock("acct:alice")).toBeNull();
        await store.setLock("acct:alice", T0 + 900_000);
        expect(await store.getLock("acct:alice")).toBe(T0 + 900_000);
        await store.setLock("acct:alice", T0 + 1);
        expect(await store.getLock("acct:alice")).toBe(T0 + 1);
        await store.setLock("acct:alice", BIG);
        expect(await store.getLock("acct:alice")).toBe(BIG);
        await store.setLock("acct:bob", 0);
        expect(await store.getLock("acct:bob")).toBe(0);
        await store.setLock("acct:alice", null);
        expect(await store.getLock("acct:alice")).toBeNull();
        expect(await store.getLock("acct:bob")).toBe(0);
        await store.setLock("never-set", null);
        expect(await store.getLock("never-set")).toBeNull();
      });

      it("sweepFailures deletes failures and locks older than the cut, of every key", async () => {
        await store.recordFailure("a", 100, 0);
        await store.recordFailure("a", 300, 0);
        await store.recordFailure("b", 150, 0);
        await store.setLock("a", 199);
        await store.setLock("b", 200);
        await store.setLock("c", 5_000);
        expect(await store.sweepFailures(200)).toBe(3);
        expect(await store.failureCount("a", 0)).toBe(1);
        expect(await store.failureCount("b", 0)).toBe(0);
        expect(await store.getLock("a")).toBeNull();
        expect(await store.getLock("b")).toBe(200);
        expect(await store.getLock("c")).toBe(5_000);
        expect(await store.sweepFailures(200)).toBe(0);
      });
    });

    describe("pinned tool sets", () => {
      it("knows nothing of an upstream never seen", async () => {
        expect(await store.getToolSet("mail")).toBeUndefined();
        expect(await store.toolSetRevision("mail")).toBeUndefined();
        expect(await store.getObserved("mail")).toEqual([]);
        expect(await store.listToolSets()).toEqual([]);
      });

      it("pins the first set seen, once: a later first sight writes nothing", async () => {
        const [send, read] = [newTool("send"), newTool("read")];
        expect(await store.pinFirstSight("mail", [send, read], T0)).toBe(true);
        expect(await store.pinFirstSight("mail", [newTool("send", 2)], T0 + 1)).toBe(false);
        expect(await store.getToolSet("mail")).toEqual({
          upstream: "mail",
          revision: 1,
          firstSeenAt: T0,
          pins: [
            { ...read, approvedAt: T0, approvedBy: null },
            { ...send, approvedAt: T0, approvedBy: null },
          ],
        });
        expect(await store.toolSetRevision("mail")).toBe(1);
        expect(await store.listToolSets()).toEqual(["mail"]);
      });

      it("remembers an empty first set, so tools that appear later are not a first sight", async () => {
        expect(await store.pinFirstSight("empty", [], T0)).toBe(true);
        expect(await store.getToolSet("empty")).toEqual({ upstream: "empty", revision: 1, firstSeenAt: T0, pins: [] });
        expect(await store.pinFirstSight("empty", [newTool("late")], T0 + 1)).toBe(false);
        expect((await store.getToolSet("empty"))?.pins).toEqual([]);
      });

      it(`lets exactly one of ${RACERS} racing first sights pin`, async () => {
        const sets = Array.from({ length: RACERS }, (_, i) => [newTool("t", i), newTool(`only-${i}`)]);
        const won = await Promise.all(sets.map((set) => store.pinFirstSight("race", set, T0)));
        expect(won.filter(Boolean)).toHaveLength(1);
        const winner = sets[won.indexOf(true)] ?? [];
        expect((await store.getToolSet("race"))?.pins.map(({ name, hash }) => ({ name, hash }))).toEqual(
          winner.map(({ name, hash }) => ({ name, hash })).sort((a, b) => (a.name < b.name ? -1 : 1)),
        );
      });

      it("keeps the sets of different upstreams apart", async () => {
        await store.pinFirstSight("a", [newTool("x")], T0);
        await store.pinFirstSight("b", [newTool("y")], T0);
        await store.replaceObserved("a", [observed(newTool("x", 2))], T0);
        expect((await store.getToolSet("b"))?.pins.map((p) => p.name)).toEqual(["y"]);
        expect(await store.getObserved("b")).toEqual([]);
        expect(await store.listToolSets()).toEqual(["a", "b"]);
      });

      it("replaceObserved swaps the whole observed set and returns the one it replaced", async () => {
        const [a1, b1, c1] = [newTool("a"), newTool("b"), newTool("c")];
        expect(await store.replaceObserved("u", [observed(a1), observed(b1)], T0)).toEqual([]);
        const first = await store.getObserved("u");
        expect(first).toEqual([
          { ...a1, findings: [], seenAt: T0 },
          { ...b1, findings: [], seenAt: T0 },
        ]);
        // a unchanged (keeps when it was first seen), b changed, c new, and a finding on a.
        const b2 = newTool("b", 2);
        const finding = { rule: "hidden-instructions", path: "description", message: "says <IMPORTANT>" };
        expect(await store.replaceObserved("u", [observed(a1, [finding]), observed(b2), observed(c1)], T0 + 5)).toEqual(first);
        expect(await store.getObserved("u")).toEqual([
          { ...a1, findings: [finding], seenAt: T0 },
          { ...b2, findings: [], seenAt: T0 + 5 },
          { ...c1, findings: [], seenAt: T0 + 5 },
        ]);
        // Gone from the set, gone from the table.
        await store.replaceObserved("u", [observed(c1)], T0 + 9);
        expect((await store.getObserved("u")).map((o) => o.name)).toEqual(["c"]);
        await store.replaceObserved("u", [], T0 + 10);
        expect(await store.getObserved("u")).toEqual([]);
      });

      it(`hands the replaced rows to exactly one of ${RACERS} gateways recording the same change`, async () => {
        const set = [observed(newTool("a")), observed(newTool("b"))];
        const priors = await Promise.all(Array.from({ length: RACERS }, () => store.replaceObserved("u", set, T0)));
        expect(priors.filter((p) => p.length === 0)).toHaveLength(1);
        expect(await store.getObserved("u")).toHaveLength(2);
      });

      it("approveTools pins the observed definitions, forgets removed ones and moves the revision on", async () => {
        const [keep, change, drop] = [newTool("keep"), newTool("change"), newTool("drop")];
        await store.pinFirstSight("u", [keep, change, drop], T0);
        const changed = newTool("change", 2);
        const added = newTool("added");
        await store.replaceObserved("u", [observed(keep), observed(changed), observed(added)], T0 + 1);
        const ok = await store.approveTools(
          "u",
          [
            { name: "change", hash: changed.hash },
            { name: "added", hash: added.hash },
            { name: "drop", hash: null },
          ],
          "alice",
          T0 + 2,
        );
        expect(ok).toBe(true);
        expect(await store.getToolSet("u")).toEqual({
          upstream: "u",
          revision: 2,
          firstSeenAt: T0,
          pins: [
            { ...added, approvedAt: T0 + 2, approvedBy: "alice" },
            { ...changed, approvedAt: T0 + 2, approvedBy: "alice" },
            { ...keep, approvedAt: T0, approvedBy: null },
          ],
        });
        expect(await store.toolSetRevision("u")).toBe(2);
        // Approving an unchanged, first-sight pin records who reviewed it (how a flagged tool is cleared).
        expect(await store.approveTools("u", [{ name: "keep", hash: keep.hash }], "bob", T0 + 3)).toBe(true);
        expect((await store.getToolSet("u"))?.pins.find((p) => p.name === "keep")).toEqual({ ...keep, approvedAt: T0 + 3, approvedBy: "bob" });
        expect(await store.toolSetRevision("u")).toBe(3);
      });

      it("approveTools writes nothing when the upstream changed since the admin looked", async () => {
        const tool = newTool("t");
        await store.pinFirstSight("u", [tool], T0);
        const v2 = newTool("t", 2);
        const v3 = newTool("t", 3);
        await store.replaceObserved("u", [observed(v3)], T0 + 1);
        const before = await store.getToolSet("u");
        // Reviewed v2, but v3 is what the upstream offers now.
        expect(await store.approveTools("u", [{ name: "t", hash: v2.hash }], "alice", T0 + 2)).toBe(false);
        // "Removed" while it is still offered.
        expect(await store.approveTools("u", [{ name: "t", hash: null }], "alice", T0 + 2)).toBe(false);
        // One stale approval spoils the batch.
        await store.replaceObserved("u", [observed(v3), observed(newTool("n"))], T0 + 3);
        expect(await store.approveTools("u", [{ name: "t", hash: v3.hash }, { name: "n", hash: "0".repeat(64) }], "alice", T0 + 4)).toBe(false);
        expect(await store.getToolSet("u")).toEqual(before);
      });

      it("approveTools on an upstream never pinned starts its set", async () => {
        const tool = newTool("t");
        await store.replaceObserved("fresh", [observed(tool)], T0);
        expect(await store.approveTools("fresh", [{ name: "t", hash: tool.hash }], "alice", T0 + 1)).toBe(true);
        expect(await store.getToolSet("fresh")).toEqual({ upstream: "fresh", revision: 1, firstSeenAt: T0 + 1, pins: [{ ...tool, approvedAt: T0 + 1, approvedBy: "alice" }] });
      });

      it("keeps hostile names, definitions, findings and approvers byte for byte, and times up to 2^50", async () => {
        // Names longer than 512 characters never reach the store (the pin book withholds them: a key that long does not fit an index).
        const names = HOSTILE.map(([, v]) => v).filter((v) => v.length <= 512);
        const tools = names.map((v, i) => ({ name: v, definition: JSON.stringify({ v, bulk: bulk(10_000) }), hash: `${v}#${i}` }));
        expect(await store.pinFirstSight("hostile", tools, BIG)).toBe(true);
        const findings = HOSTILE.map(([, v]) => ({ rule: v, path: v, message: v }));
        const seen = tools.map((t) => ({ ...t, definition: `${t.definition} `, hash: `${t.hash}!`, findings }));
        await store.replaceObserved("hostile", seen, BIG);
        const byName = (a: { name: string }, b: { name: string }): number => {
          const [x, y] = [Buffer.from(a.name, "utf8"), Buffer.from(b.name, "utf8")];
          return Buffer.compare(x, y);
        };
        expect(await store.getObserved("hostile")).toEqual(seen.map((t) => ({ ...t, seenAt: BIG })).sort(byName));
        const approver = HOSTILE.map(([, v]) => v).join("|");
        expect(await store.approveTools("hostile", seen.map((t) => ({ name: t.name, hash: t.hash })), approver, BIG)).toBe(true);
        const set = await store.getToolSet("hostile");
        expect(set?.pins).toEqual(seen.map(({ findings: _f, ...t }) => ({ ...t, approvedAt: BIG, approvedBy: approver })).sort(byName));
        expect(await store.listToolSets()).toEqual(["hostile"]);
      });
    });

    describe("hostile values come back byte for byte", () => {
      it("as user names, ids and roles", async () => {
        const users = HOSTILE.map(([, v], i) => newUser({ id: `${v}#${i}`, name: v, roles: [v, `${v}/2`, "[]"] }));
        for (const u of users) await store.createUser(u);
        for (const u of users) {
          expect(await store.getUser(u.id)).toEqual(u);
          expect(await store.getUserByName(u.name)).toEqual(u);
        }
        // The injection attempts ran as values: every user is still there, in one table.
        expect(await store.listUsers()).toHaveLength(HOSTILE.length);
        await expect(store.createUser(newUser({ name: "'; DROP TABLE users; --" }))).rejects.toBeInstanceOf(StoreConflict);
      });

      it("as password hashes", async () => {
        const user = await aUser();
        for (const [, v] of HOSTILE) {
          await store.setPassword(user.id, v, T0, HOSTILE.length);
          expect(await store.getPassword(user.id)).toBe(v);
        }
        expect(await store.passwordHistory(user.id, HOSTILE.length)).toEqual(HOSTILE.map(([, v]) => v).reverse());
      });

      it("in API keys, sessions and refresh tokens", async () => {
        const user = await aUser();
        for (const [i, [, v]] of HOSTILE.entries()) {
          const key = newKey(user.id, { id: `${v}#k${i}`, hash: v, scopes: [v, v], label: v });
          await store.createApiKey(key);
          expect(await store.getApiKey(key.id)).toEqual(key);
          const session = await aSession(user.id, { id: `${v}#s${i}`, method: v });
          expect(await store.getSession(session.id)).toEqual(session);
          const token = await aRefresh(session, { hash: `${v}#t${i}`, familyId: v });
          expect(await store.getRefreshToken(token.hash)).toEqual(token);
        }
        expect(await store.listApiKeys(user.id)).toHaveLength(HOSTILE.length);
      });

      it("in TOTP secrets and recovery-code hashes", async () => {
        const user = await aUser();
        for (const [, v] of HOSTILE) {
          const totp = newTotp(user.id, { secret: v });
          await store.setTotp(totp, [v, `${v}#2`]);
          expect(await store.getTotp(user.id)).toEqual(totp);
          expect(await store.spendRecoveryCode(user.id, v)).toBe(true);
          expect(await store.recoveryCodesLeft(user.id)).toBe(1);
        }
      });

      it("as lockout keys", async () => {
        for (const [i, [, v]] of HOSTILE.entries()) {
          for (let n = 0; n <= i % 3; n++) await store.recordFailure(v, T0, 0);
          await store.setLock(v, T0 + i);
        }
        for (const [i, [, v]] of HOSTILE.entries()) {
          expect(await store.failureCount(v, 0)).toBe((i % 3) + 1);
          expect(await store.getLock(v)).toBe(T0 + i);
        }
      });
    });

    describe("times", () => {
      it("store 2^50 ms (and 0) exactly in every time field", async () => {
        for (const t of [BIG, BIG - 1, 0]) {
          const user = newUser({ createdAt: t, passwordChangedAt: t });
          await store.createUser(user);
          expect(await store.getUser(user.id)).toEqual(user);
          const key = newKey(user.id, { createdAt: t, expiresAt: t, lastUsedAt: t, revokedAt: t });
          await store.createApiKey(key);
          expect(await store.getApiKey(key.id)).toEqual(key);
          const session = await aSession(user.id, { createdAt: t, lastSeenAt: t, expiresAt: t, revokedAt: t });
          expect(await store.getSession(session.id)).toEqual(session);
          const token = await aRefresh(session, { createdAt: t, expiresAt: t, usedAt: t, revokedAt: t });
          expect(await store.getRefreshToken(token.hash)).toEqual(token);
          const totp = newTotp(user.id, { createdAt: t, lastCounter: t });
          await store.setTotp(totp, []);
          expect(await store.getTotp(user.id)).toEqual(totp);
          expect(await store.recordFailure(`t:${t}`, t, t)).toBe(1);
        }
      });

      it("compare as numbers, not as text, around 2^50", async () => {
        const user = await aUser();
        await store.setTotp(newTotp(user.id, { lastCounter: BIG - 1 }), []);
        expect(await store.advanceTotpCounter(user.id, BIG)).toBe(true);
        expect(await store.advanceTotpCounter(user.id, 999)).toBe(false);
        await store.recordFailure("k", BIG, 0);
        await store.recordFailure("k", 9, 0);
        expect(await store.failureCount("k", 10)).toBe(1);
      });
    });
  });
}
