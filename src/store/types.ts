// The store's one interface (SPEC §2 `store`): users, credentials, API keys, sessions, refresh-token families, MFA, lockout counters and pinned tool sets.
// Two implementations (SQLite by default, PostgreSQL when configured) pass one conformance suite (store.case.ts).

/** Milliseconds since the epoch; every time in the store is one (the caller's clock, so tests can freeze it). */
export type Millis = number;

export interface User {
  /** Opaque, random, never reused. */
  id: string;
  /** Login name: unique, case-sensitive as given (the identity layer normalizes before it gets here). */
  name: string;
  roles: string[];
  /** Locked by an admin (until unlocked); automatic lockouts live in the failure counters instead. */
  locked: boolean;
  createdAt: Millis;
  /** When the current password was set; null when the user has none (API keys or OAuth only). */
  passwordChangedAt: Millis | null;
  /** Set when the user must change the password before anything else (expired, or reset by an admin). */
  mustChangePassword: boolean;
}

export interface ApiKeyRecord {
  /** The public part of the key (also in the key text); unique. */
  id: string;
  userId: string;
  /** SHA-256 (hex) of the whole key text: keys have ≥ 256 bits of entropy, so a fast hash is enough. */
  hash: string;
  /** Permissions the key may use: a subset of its owner's. Empty means none. */
  scopes: string[];
  createdAt: Millis;
  expiresAt: Millis | null;
  lastUsedAt: Millis | null;
  revokedAt: Millis | null;
  /** Free text shown in `apikey list`. */
  label: string;
}

export interface SessionRecord {
  id: string;
  userId: string;
  createdAt: Millis;
  lastSeenAt: Millis;
  /** Absolute end, whatever the activity. */
  expiresAt: Millis;
  revokedAt: Millis | null;
  /** How the session was opened: "password", "client_credentials", … (audit and `session list`). */
  method: string;
}

export interface RefreshTokenRecord {
  /** SHA-256 (hex) of the opaque token; the token itself is never stored. */
  hash: string;
  /** All tokens rotated from one login share a family; reuse of a spent one revokes the family. */
  familyId: string;
  sessionId: string;
  userId: string;
  createdAt: Millis;
  expiresAt: Millis;
  usedAt: Millis | null;
  revokedAt: Millis | null;
}

export interface TotpRecord {
  userId: string;
  /** The shared secret, encrypted by the identity layer (AES-256-GCM); the store never sees it in clear. */
  secret: string;
  /** Highest time-step counter accepted so far: a code of that step or earlier is a replay. */
  lastCounter: number;
  /** Until confirmed by a first valid code, the secret is pending and MFA is not yet enforced by it. */
  confirmed: boolean;
  createdAt: Millis;
}

/** One finding of the tool scanner about a definition (`bastion scan`): which rule, where in the definition, and why. */
export interface ToolFinding {
  rule: string;
  /** Where in the definition, e.g. `description` or `inputSchema.properties.path.description`. */
  path: string;
  message: string;
}

/** One tool definition as the pin book keeps it (src/integrity): its upstream's own name, canonical JSON and SHA-256 (hex). */
export interface ToolDefinition {
  name: string;
  /** Canonical JSON of the whole definition as the upstream listed it. */
  definition: string;
  hash: string;
}

/** A trusted definition: pinned on first sight (`approvedBy` null) or approved by an admin. */
export interface PinnedTool extends ToolDefinition {
  approvedAt: Millis;
  /** Who approved it; null when the gateway pinned it on first sight (trust on first use), which does not clear scanner findings. */
  approvedBy: string | null;
}

/** The latest definition a gateway saw an upstream offer, with the scanner's findings: what `bastion tools diff` compares with the pins. */
export interface ObservedTool extends ToolDefinition {
  findings: ToolFinding[];
  /** When this definition (this hash) was first seen; unchanged while the hash stays the same. */
  seenAt: Millis;
}

/** An upstream's pinned tool set. `revision` grows with every change of the pins, so a poll of one number finds approvals. */
export interface ToolSet {
  upstream: string;
  revision: number;
  firstSeenAt: Millis;
  /** In code-point order of their names. */
  pins: PinnedTool[];
}

/** One approval: pin the observed definition with this hash, or (hash null) forget the pin of a tool the upstream no longer offers. */
export interface ToolApproval {
  name: string;
  hash: string | null;
}

/**
 * The persistence interface. Every method is async (PostgreSQL is a network hop; SQLite resolves at
 * once). Methods that decide a security question under concurrency are atomic in the store itself
 * (`spendRefreshToken`, `advanceTotpCounter`, `spendRecoveryCode`, `recordFailure`): two racing
 * callers can never both win.
 */
export interface Store {
  /** Which implementation ("sqlite" | "postgres"), for /readyz and logs. */
  readonly driver: string;
  /** Creates or upgrades the schema; safe to call on every start. */
  migrate(): Promise<void>;
  /** Cheap liveness probe for /readyz. */
  ping(): Promise<boolean>;
  close(): Promise<void>;

  // users
  /** Refuses (throws StoreConflict) a name that exists. */
  createUser(user: User): Promise<void>;
  getUser(id: string): Promise<User | undefined>;
  getUserByName(name: string): Promise<User | undefined>;
  listUsers(): Promise<User[]>;
  updateUser(id: string, patch: Partial<Pick<User, "roles" | "locked" | "passwordChangedAt" | "mustChangePassword">>): Promise<void>;
  /**
   * Deletes the user and everything linked to their id (password history, keys, sessions, tokens, MFA).
   * Lockout counters and locks are keyed by strings the identity layer builds, not by user id, so the
   * store cannot find them: the caller clears its own keys (`clearFailures`, `setLock(key, null)`).
   */
  deleteUser(id: string): Promise<void>;

  // passwords
  /**
   * Sets the current password hash, sets the user's `passwordChangedAt` to `at`, and remembers the hash
   * in the history (keeping the newest `keep`, never fewer than the current one). Throws for an unknown user.
   */
  setPassword(userId: string, hash: string, at: Millis, keep: number): Promise<void>;
  /** The current password hash, or undefined when the user has none. */
  getPassword(userId: string): Promise<string | undefined>;
  /** Hashes of the newest `n` passwords, current first. */
  passwordHistory(userId: string, n: number): Promise<string[]>;

  // API keys
  createApiKey(key: ApiKeyRecord): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(userId?: string): Promise<ApiKeyRecord[]>;
  touchApiKey(id: string, at: Millis): Promise<void>;
  revokeApiKey(id: string, at: Millis): Promise<boolean>;

  // sessions
  createSession(session: SessionRecord): Promise<void>;
  getSession(id: string): Promise<SessionRecord | undefined>;
  touchSession(id: string, at: Millis): Promise<void>;
  /** Ends a session and revokes its refresh tokens (so none of them can be spent); the first revocation time is kept. */
  revokeSession(id: string, at: Millis): Promise<void>;
  /**
   * Revokes every live session of a user (lock, delete, password change) and every unrevoked refresh
   * token of theirs; returns how many sessions (live: not revoked, `expiresAt` after `at`).
   */
  revokeUserSessions(userId: string, at: Millis): Promise<number>;
  /** Deletes sessions (and their refresh tokens) that ended before `before`; returns how many. */
  sweepSessions(before: Millis): Promise<number>;

  // refresh tokens
  createRefreshToken(token: RefreshTokenRecord): Promise<void>;
  getRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined>;
  /** Marks an unused, unrevoked token used; true only for the one caller that did (rotation is single-use). */
  spendRefreshToken(hash: string, at: Millis): Promise<boolean>;
  /** Revokes every token of a family (reuse detected, logout). */
  revokeFamily(familyId: string, at: Millis): Promise<void>;

  // MFA
  /** Stores a (pending) TOTP secret and its recovery-code hashes, replacing any earlier enrollment. */
  setTotp(record: TotpRecord, recoveryHashes: string[]): Promise<void>;
  getTotp(userId: string): Promise<TotpRecord | undefined>;
  confirmTotp(userId: string): Promise<void>;
  /** Accepts time-step `counter` only if it is above the last accepted one; true when it was (no replay). */
  advanceTotpCounter(userId: string, counter: number): Promise<boolean>;
  /** Spends one recovery code by its hash; true only once per code. */
  spendRecoveryCode(userId: string, hash: string): Promise<boolean>;
  /** How many unspent recovery codes are left. */
  recoveryCodesLeft(userId: string): Promise<number>;

  // lockout counters (keys are built by the identity layer, e.g. "acct:alice", "ip:alice:10.0.0.7")
  /**
   * Counts a failure for `key` within a sliding window: failures older than `windowStart` are
   * forgotten. Returns the count including this one.
   */
  recordFailure(key: string, at: Millis, windowStart: Millis): Promise<number>;
  failureCount(key: string, windowStart: Millis): Promise<number>;
  clearFailures(key: string): Promise<void>;
  /** Sets or clears (null) a lock on `key` until `until`. */
  setLock(key: string, until: Millis | null): Promise<void>;
  getLock(key: string): Promise<Millis | null>;
  /**
   * Deletes failures recorded before `before` and locks that ended before it; returns how many rows.
   * `recordFailure` forgets old failures of its own key only: without a sweep, keys that never fail
   * again (an IP spraying names) would stay forever. Call it with `now - the longest window`.
   */
  sweepFailures(before: Millis): Promise<number>;

  // pinned tool sets (the rug-pull defense: src/integrity/pins.ts, `bastion tools`); upstreams are named as in the config
  /** Upstreams with a pinned tool set, in code-point order. */
  listToolSets(): Promise<string[]>;
  /** The pinned set of an upstream, or undefined when it was never seen. */
  getToolSet(upstream: string): Promise<ToolSet | undefined>;
  /** Just the revision of an upstream's pins (a cheap poll for approvals), or undefined when it was never seen. */
  toolSetRevision(upstream: string): Promise<number | undefined>;
  /**
   * Trust on first use: pins `tools` (unique names) as the upstream's set, approvedBy null, revision 1 —
   * only when the upstream has no set yet. True for the one caller that pinned; false (nothing written)
   * when a set exists, even an empty one, so a server that starts with no tools cannot add them unseen.
   */
  pinFirstSight(upstream: string, tools: readonly ToolDefinition[], at: Millis): Promise<boolean>;
  /**
   * Replaces the upstream's observed definitions with `tools` (unique names) and returns the ones it
   * replaced, in one atomic step: of several gateways recording the same change, exactly one sees the
   * old rows. A row whose hash is unchanged keeps its `seenAt`; new hashes get `at`.
   */
  replaceObserved(upstream: string, tools: readonly Omit<ObservedTool, "seenAt">[], at: Millis): Promise<ObservedTool[]>;
  /** The upstream's observed definitions, in code-point order of their names. */
  getObserved(upstream: string): Promise<ObservedTool[]>;
  /**
   * Applies approvals atomically and moves the revision on: each `hash` must still be the observed
   * one (its definition becomes the pin, approved by `by` at `at`), each null hash must name a tool no
   * longer observed (its pin goes). When any of them no longer holds — the upstream changed since the
   * admin looked — nothing is written and the answer is false.
   */
  approveTools(upstream: string, approvals: readonly ToolApproval[], by: string, at: Millis): Promise<boolean>;
}

/** A uniqueness conflict (a user name or key id that exists). */
export class StoreConflict extends Error {
  constructor(what: string) {
    super(`${what} already exists`);
    this.name = "StoreConflict";
  }
}
