// Lockout after repeated login failures: a hard lock per (account, address), only growing delays per account, so nobody can lock a user out from everywhere.
import type { Store } from "../store/index.ts";

/** Lockout settings (config `auth.lockout`). */
export interface LockoutPolicy {
  /** Failures from one address within the window that lock the account for that address. Default 5. */
  threshold: number;
  /** Sliding window in milliseconds. Default 15 minutes. */
  windowMs: number;
  /** How long a lock lasts, in milliseconds. Default 15 minutes. */
  durationMs: number;
  /**
   * Failures from all addresses within the window that lock the account everywhere. Default 100:
   * NIST SP 800-63B §5.2.2 allows no more; below it, failures from other addresses only slow
   * everyone down (growing delays), so an attacker elsewhere cannot lock the owner out.
   */
  accountThreshold: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { threshold: 5, windowMs: 15 * 60_000, durationMs: 15 * 60_000, accountThreshold: 100 };

/** First delay after the third failure on an account, in milliseconds; doubles per failure up to {@link MAX_DELAY_MS}. */
const BASE_DELAY_MS = 250;
const MAX_DELAY_MS = 8_000;

/** What a login attempt may do. */
export type LockoutState = { locked: false; delayMs: number } | { locked: true; retryAfterMs: number };

const accountKey = (account: string): string => `acct:${account}`;
const addressKey = (account: string, ip: string): string => `addr:${account}@${ip}`;
const unlockKey = (account: string): string => `unlock:${account}`;

/**
 * Keyed on the login name as submitted (normalized by the caller), whether or not such a user
 * exists: the answers for a real and an invented name are the same.
 */
export class Lockout {
  constructor(
    private readonly store: Store,
    private readonly policy: LockoutPolicy,
  ) {}

  /** Whether `account` may try from `ip` now, and how long to wait before answering if it may. */
  async check(account: string, ip: string, now: number): Promise<LockoutState> {
    const unlockedAt = await this.unlockedAt(account);
    for (const key of [addressKey(account, ip), accountKey(account)]) {
      const until = await this.store.getLock(key);
      // A lock set before an admin's unlock no longer counts (locks of every address end at once, without listing them).
      if (until !== null && until > now && until - this.policy.durationMs >= unlockedAt) return { locked: true, retryAfterMs: until - now };
    }
    const failures = await this.store.failureCount(accountKey(account), Math.max(now - this.policy.windowMs, unlockedAt));
    return { locked: false, delayMs: failures < 3 ? 0 : Math.min(BASE_DELAY_MS * 2 ** (failures - 3), MAX_DELAY_MS) };
  }

  /** Counts a failed attempt; returns true when it locked the account (for this address or everywhere). */
  async fail(account: string, ip: string, now: number): Promise<boolean> {
    const since = await this.since(account, now);
    const fromAddress = await this.store.recordFailure(addressKey(account, ip), now, since);
    const overall = await this.store.recordFailure(accountKey(account), now, since);
    let locked = false;
    if (fromAddress >= this.policy.threshold) {
      await this.store.setLock(addressKey(account, ip), now + this.policy.durationMs);
      locked = true;
    }
    if (overall >= this.policy.accountThreshold) {
      await this.store.setLock(accountKey(account), now + this.policy.durationMs);
      locked = true;
    }
    return locked;
  }

  /** A successful login forgets this address's failures (the account-wide count runs out with its window). */
  async succeed(account: string, ip: string): Promise<void> {
    await this.store.clearFailures(addressKey(account, ip));
    await this.store.setLock(addressKey(account, ip), null);
  }

  /** An admin's unlock: every lock and failure of the account before `now` stops counting, from every address. */
  async unlock(account: string, now: number): Promise<void> {
    await this.store.setLock(unlockKey(account), now);
    await this.store.setLock(accountKey(account), null);
    await this.store.clearFailures(accountKey(account));
  }

  private async unlockedAt(account: string): Promise<number> {
    return (await this.store.getLock(unlockKey(account))) ?? 0;
  }

  /** Start of the counting window: the sliding window, or the last unlock if later. */
  private async since(account: string, now: number): Promise<number> {
    return Math.max(now - this.policy.windowMs, await this.unlockedAt(account));
  }
}
