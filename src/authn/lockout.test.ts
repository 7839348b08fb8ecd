// Lockout against a real SQLite store with an injected clock: per-address locks, account-wide growing delays and lock, windows, success, admin unlock, unknown accounts.
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../store/index.ts";
import { DEFAULT_LOCKOUT, Lockout, type LockoutPolicy, type LockoutState } from "./lockout.ts";

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const A = "203.0.113.7";
const B = "198.51.100.23";

let store: Store;

beforeEach(async () => {
  store = await openStore({ driver: "sqlite", path: ":memory:" });
});
afterEach(async () => {
  await store.close();
});

const lockout = (policy: Partial<LockoutPolicy> = {}): Lockout => new Lockout(store, { ...DEFAULT_LOCKOUT, ...policy });

/** `n` failures for `account` from `ip`, one second apart from `start`; returns what each `fail` said and the time after the last. */
async function failures(l: Lockout, account: string, ip: string, n: number, start: number): Promise<{ locked: boolean[]; next: number }> {
  const locked: boolean[] = [];
  for (let i = 0; i < n; i++) locked.push(await l.fail(account, ip, start + i * SECOND));
  return { locked, next: start + n * SECOND };
}

const open = (delayMs: number): LockoutState => ({ locked: false, delayMs });

describe("the defaults", () => {
  it("are 5 failures in 15 minutes per address, a 15-minute lock, and 100 account-wide (NIST SP 800-63B §5.2.2)", () => {
    expect(DEFAULT_LOCKOUT).toEqual({ threshold: 5, windowMs: 15 * MINUTE, durationMs: 15 * MINUTE, accountThreshold: 100 });
  });
});

describe("per (account, address)", () => {
  it("the threshold-th failure from one address locks the account for that address, for the lock's duration", async () => {
    const l = lockout();
    const { locked, next } = await failures(l, "alice", A, 5, T0);
    expect(locked).toEqual([false, false, false, false, true]);
    const state = await l.check("alice", A, next);
    expect(state.locked).toBe(true);
    // Locked from the fifth failure (at T0 + 4 s) for 15 minutes.
    expect(state).toEqual({ locked: true, retryAfterMs: T0 + 4 * SECOND + 15 * MINUTE - next });
    expect(await l.check("alice", A, T0 + 4 * SECOND + 15 * MINUTE - 1)).toMatchObject({ locked: true, retryAfterMs: 1 });
    expect((await l.check("alice", A, T0 + 4 * SECOND + 15 * MINUTE)).locked).toBe(false);
  });

  it("other addresses are not locked below the account threshold (an attacker cannot lock the owner out), only slowed", async () => {
    const l = lockout();
    const { next } = await failures(l, "alice", A, 5, T0);
    const fromB = await l.check("alice", B, next);
    expect(fromB.locked).toBe(false);
    // Five failures on the account: the delay of the fifth step, 250 ms · 2^(5−3).
    expect(fromB).toEqual(open(1000));
    // Even twenty addresses each at threshold − 1 lock nobody out anywhere.
    let t = next;
    for (let i = 0; i < 20; i++) t = (await failures(l, "alice", `10.0.0.${i}`, 4, t)).next;
    expect((await l.check("alice", B, t)).locked).toBe(false);
  });

  it("a lock of one account does not touch another account from the same address", async () => {
    const l = lockout();
    const { next } = await failures(l, "alice", A, 5, T0);
    expect(await l.check("bob", A, next)).toEqual(open(0));
  });

  it("delays grow with the account's failures: none for the first three, then 250 ms doubling up to 8 s", async () => {
    const l = lockout({ threshold: 100 });
    const seen: number[] = [];
    let t = T0;
    for (let i = 0; i < 11; i++) {
      const state = await l.check("alice", `192.0.2.${i}`, t);
      if (state.locked) throw new Error("unexpected lock");
      seen.push(state.delayMs);
      await l.fail("alice", `192.0.2.${i}`, t);
      t += SECOND;
    }
    expect(seen).toEqual([0, 0, 0, 250, 500, 1000, 2000, 4000, 8000, 8000, 8000]);
  });
});

describe("account-wide", () => {
  it("accountThreshold failures from any addresses within the window lock the account everywhere", async () => {
    const l = lockout({ threshold: 5, accountThreshold: 10 });
    const results: boolean[] = [];
    for (let i = 0; i < 10; i++) results.push(await l.fail("alice", `192.0.2.${i}`, T0 + i * SECOND));
    expect(results).toEqual([false, false, false, false, false, false, false, false, false, true]);
    const end = T0 + 9 * SECOND + 15 * MINUTE;
    for (const ip of [A, B, "192.0.2.0"]) expect(await l.check("alice", ip, T0 + 10 * SECOND)).toEqual({ locked: true, retryAfterMs: end - (T0 + 10 * SECOND) });
    expect((await l.check("alice", A, end)).locked).toBe(false);
  });

  it("the default account threshold is 100", async () => {
    const l = lockout();
    let t = T0;
    for (let i = 0; i < 99; i++) {
      expect(await l.fail("alice", `10.1.${Math.floor(i / 4)}.${i % 4}`, t)).toBe(false);
      t += SECOND;
    }
    expect((await l.check("alice", A, t)).locked).toBe(false);
    expect(await l.fail("alice", "10.9.9.9", t)).toBe(true);
    expect((await l.check("alice", A, t + 1)).locked).toBe(true);
  });
});

describe("windows", () => {
  it("failures older than the window are forgotten: threshold − 1, a pause longer than the window, then one more locks nothing", async () => {
    const l = lockout();
    const { next } = await failures(l, "alice", A, 4, T0);
    const later = next + 15 * MINUTE;
    expect(await l.fail("alice", A, later)).toBe(false);
    expect(await l.check("alice", A, later + 1)).toEqual(open(0));
    // And within the window they add up: four more after that lock.
    const { locked } = await failures(l, "alice", A, 4, later + SECOND);
    expect(locked).toEqual([false, false, false, true]);
  });

  it("the account's delays also run out with the window", async () => {
    const l = lockout({ threshold: 100 });
    const { next } = await failures(l, "alice", A, 6, T0);
    expect((await l.check("alice", B, next)).locked).toBe(false);
    expect(await l.check("alice", B, next)).toEqual(open(2000));
    expect(await l.check("alice", B, T0 + 5 * SECOND + 15 * MINUTE + 1)).toEqual(open(0));
  });
});

describe("success", () => {
  it("clears this address's failures and lock, not the account's delay", async () => {
    const l = lockout();
    const { next } = await failures(l, "alice", A, 4, T0);
    await l.succeed("alice", A);
    // Four more from A do not lock (the count started again)…
    const { locked, next: after } = await failures(l, "alice", A, 4, next);
    expect(locked).toEqual([false, false, false, false]);
    // …but the account still remembers all eight for its delays.
    expect(await l.check("alice", B, after)).toEqual(open(8000));
  });

  it("from another address does not clear the locked address", async () => {
    const l = lockout();
    const { next } = await failures(l, "alice", A, 5, T0);
    await l.succeed("alice", B);
    expect((await l.check("alice", A, next)).locked).toBe(true);
    await l.succeed("alice", A);
    expect((await l.check("alice", A, next)).locked).toBe(false);
  });
});

describe("admin unlock", () => {
  it("ends the locks of every address and the account-wide lock at once, and counting starts again", async () => {
    const l = lockout({ accountThreshold: 12 });
    let t = T0;
    for (const ip of [A, B]) t = (await failures(l, "alice", ip, 5, t)).next;
    t = (await failures(l, "alice", "192.0.2.1", 2, t)).next;
    for (const ip of [A, B, "192.0.2.1", "192.0.2.99"]) expect((await l.check("alice", ip, t)).locked, ip).toBe(true);
    await l.unlock("alice", t);
    t += SECOND;
    for (const ip of [A, B, "192.0.2.1", "192.0.2.99"]) expect(await l.check("alice", ip, t), ip).toEqual(open(0));
    // Failures before the unlock no longer count: A needs the full threshold again.
    const { locked, next } = await failures(l, "alice", A, 5, t);
    expect(locked).toEqual([false, false, false, false, true]);
    expect((await l.check("alice", A, next)).locked).toBe(true);
    expect((await l.check("alice", B, next)).locked).toBe(false);
  });

  it("of one account leaves another account's lock alone", async () => {
    const l = lockout();
    let t = (await failures(l, "alice", A, 5, T0)).next;
    t = (await failures(l, "bob", A, 5, t)).next;
    await l.unlock("alice", t);
    expect((await l.check("alice", A, t + 1)).locked).toBe(false);
    expect((await l.check("bob", A, t + 1)).locked).toBe(true);
  });
});

describe("unknown accounts", () => {
  it("behave exactly like known ones, step by step", async () => {
    await store.createUser({ id: randomUUID(), name: "alice", roles: ["reader"], locked: false, createdAt: T0, passwordChangedAt: T0, mustChangePassword: false });
    expect(await store.getUserByName("alice")).toBeDefined();
    expect(await store.getUserByName("nobody-at-all")).toBeUndefined();
    const l = lockout({ accountThreshold: 8 });
    const script = async (account: string): Promise<unknown[]> => {
      const trace: unknown[] = [];
      let t = T0;
      for (let i = 0; i < 9; i++) {
        const ip = i % 2 === 0 ? A : B;
        trace.push(await l.check(account, ip, t));
        trace.push(await l.fail(account, ip, t));
        t += SECOND;
      }
      trace.push(await l.check(account, "192.0.2.200", t));
      await l.unlock(account, t);
      trace.push(await l.check(account, A, t + SECOND));
      await l.fail(account, A, t + 2 * SECOND);
      await l.succeed(account, A);
      trace.push(await l.check(account, A, t + 3 * SECOND));
      return trace;
    };
    const known = await script("alice");
    const unknown = await script("nobody-at-all");
    expect(unknown).toEqual(known);
    // And the script did exercise locks and delays, not a trivially equal nothing.
    expect(known).toContainEqual({ locked: true, retryAfterMs: expect.any(Number) as number });
    expect(known).toContainEqual(open(250));
  });
});
