// Identity: users and their credentials, the OAuth grants of /auth/token, revocation, and who a bearer credential on /mcp belongs to.
import { randomUUID } from "node:crypto";
import { open as openSealed, seal } from "../crypto/aead.ts";
import { globMatch } from "../authz/index.ts";
import type { Principal } from "../pipeline/index.ts";
import { StoreConflict, type ApiKeyRecord, type SessionRecord, type Store, type User } from "../store/index.ts";
import { apiKeyHash, apiKeyId, apiKeyMatches, newApiKey } from "./apikeys.ts";
import { Lockout, type LockoutPolicy } from "./lockout.ts";
import { DEFAULT_SCRYPT_PARAMS, hashPassword, verifyPassword, type ScryptParams } from "./password.ts";
import { checkPassword, isExpired, type PasswordPolicy } from "./policy.ts";
import { newRefreshToken, REFRESH_TOKEN_PREFIX, tokenHash, TokenInvalid, type TokenService } from "./tokens.ts";
import { hashRecoveryCode, newRecoveryCodes, newTotpSecret, otpauthUri, verifyTotp } from "./totp.ts";

/**
 * An OAuth 2.0 error (RFC 6749 §5.2) of the token or revocation endpoint. `error` is the wire
 * code; `reason` is the true cause for the audit log, which the client never sees.
 */
export class OAuthError extends Error {
  constructor(
    readonly error: "invalid_request" | "invalid_client" | "invalid_grant" | "unsupported_grant_type" | "invalid_scope" | "mfa_required" | "password_change_required",
    readonly description: string,
    readonly reason: string,
    readonly status = error === "invalid_client" ? 401 : 400,
  ) {
    super(description);
  }
}

/** A bearer credential on /mcp that did not identify anyone (SPEC §3: 401 invalid_token); `expired` when its session ran out (audited as session.expired). */
export class CredentialRefused extends Error {
  constructor(
    readonly reason: string,
    readonly expired = false,
  ) {
    super("invalid credentials");
  }
}

/** The answer of a successful grant (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token?: string;
  scope: string;
}

export interface IdentityOptions {
  store: Store;
  tokens: TokenService;
  policy: PasswordPolicy;
  lockout: LockoutPolicy;
  sessions: { idleMs: number; absoluteMs: number; refreshMs: number };
  mfa: { requiredRoles: readonly string[]; issuer: string };
  /** 32-byte key sealing TOTP secrets at rest. */
  secretsKey: Buffer;
  now?: () => number;
  /** scrypt cost; default OWASP's (N=2^17). Lower only in tests — never configurable from the file. */
  scrypt?: ScryptParams;
  /** The configured roles and their permissions: an API key's scopes must lie within its owner's. */
  roles?: Readonly<Record<string, { permissions: readonly string[] }>>;
  /** Capability names and the permissions each stands for (config `capabilities`), expanded on both sides of that check. */
  capabilities?: Readonly<Record<string, readonly string[]>>;
}

/** Whether permission pattern `granted` (`*` wildcards) covers `wanted`, which may itself be a pattern: it must be at least as narrow. */
export function covers(granted: string, wanted: string): boolean {
  return granted === "*" || granted === wanted || globMatch(granted, wanted);
}

/** A session's last-seen time is written at most this often (milliseconds): the idle clock's precision, and a write saved per request. */
const TOUCH_EVERY_MS = 15_000;
/** A key's last-used time likewise. */
const KEY_TOUCH_EVERY_MS = 60_000;

/** Method of a session opened with an API key (client credentials), followed by the key's id. */
const KEY_SESSION = "client_credentials:";

/** Login names: trimmed and NFKC-normalized, so look-alike forms of one name are one account. */
export const normalizeName = (name: string): string => name.normalize("NFKC").trim();

export class Identity {
  private readonly store: Store;
  private readonly tokens: TokenService;
  private readonly lockout: Lockout;
  private readonly now: () => number;
  private readonly scrypt: ScryptParams;

  constructor(private readonly options: IdentityOptions) {
    this.scrypt = options.scrypt ?? DEFAULT_SCRYPT_PARAMS;
    this.store = options.store;
    this.tokens = options.tokens;
    this.lockout = new Lockout(options.store, options.lockout);
    this.now = options.now ?? Date.now;
  }

  // ---- administration (CLI) -------------------------------------------------------------------

  /** Creates a user; the password must pass the policy (its violations are the error). */
  async addUser(name: string, roles: string[], password: string | undefined): Promise<User> {
    const user: User = { id: randomUUID(), name: normalizeName(name), roles, locked: false, createdAt: this.now(), passwordChangedAt: null, mustChangePassword: false };
    if (!/^[\p{L}\p{N}._@-]{1,64}$/u.test(user.name)) throw new IdentityRefused("a user name is 1–64 letters, digits, '.', '_', '@' or '-'");
    if (password !== undefined) await this.assertPolicy(user, password);
    try {
      await this.store.createUser(user);
    } catch (err) {
      if (err instanceof StoreConflict) throw new IdentityRefused(`user ${user.name} already exists`);
      throw err;
    }
    if (password !== undefined) await this.storePassword(user, password);
    return { ...user, passwordChangedAt: password === undefined ? null : this.now() };
  }

  async user(name: string): Promise<User> {
    const user = await this.store.getUserByName(normalizeName(name));
    if (user === undefined) throw new IdentityRefused(`no user ${normalizeName(name)}`);
    return user;
  }

  listUsers(): Promise<User[]> {
    return this.store.listUsers();
  }

  /** Sets a new password (policy and history checked) and ends every session of the user. */
  async setPassword(name: string, password: string): Promise<void> {
    const user = await this.user(name);
    await this.assertPolicy(user, password);
    await this.storePassword(user, password);
    await this.store.revokeUserSessions(user.id, this.now());
  }

  /** Locks a user (admin): every session ends at once. */
  async lock(name: string): Promise<void> {
    const user = await this.user(name);
    await this.store.updateUser(user.id, { locked: true });
    await this.store.revokeUserSessions(user.id, this.now());
  }

  /** Unlocks a user: the admin lock and every automatic lockout of the account end. */
  async unlock(name: string): Promise<void> {
    const user = await this.user(name);
    await this.store.updateUser(user.id, { locked: false });
    await this.lockout.unlock(user.name, this.now());
  }

  async deleteUser(name: string): Promise<void> {
    const user = await this.user(name);
    await this.store.revokeUserSessions(user.id, this.now());
    await this.store.deleteUser(user.id);
  }

  /** Starts TOTP enrollment: the otpauth URI and ten recovery codes, shown once; the first valid code confirms it. */
  async enrollTotp(name: string): Promise<{ uri: string; secret: string; recoveryCodes: string[] }> {
    const user = await this.user(name);
    const secret = newTotpSecret();
    const recoveryCodes = newRecoveryCodes(10);
    const sealed = seal(this.options.secretsKey, Buffer.from(secret, "utf8"), Buffer.from(`totp:${user.id}`)).toString("base64");
    await this.store.setTotp({ userId: user.id, secret: sealed, lastCounter: -1, confirmed: false, createdAt: this.now() }, recoveryCodes.map(hashRecoveryCode));
    return { uri: otpauthUri({ secret, account: user.name, issuer: this.options.mfa.issuer }), secret, recoveryCodes };
  }

  /** Creates an API key for a user; the key text is returned once and never stored. */
  async createApiKey(name: string, scopes: string[], expiresAt: number | null, label = ""): Promise<{ record: ApiKeyRecord; key: string }> {
    const user = await this.user(name);
    const roles = this.options.roles;
    if (roles !== undefined) {
      const expand = (p: string): readonly string[] => this.options.capabilities?.[p] ?? [p];
      const permissions = user.roles.flatMap((r) => roles[r]?.permissions ?? []).flatMap(expand);
      // "*" narrows nothing: the key may do what its owner's roles permit, whatever they become.
      const beyond = scopes.filter((scope) => scope !== "*" && !expand(scope).every((wanted) => permissions.some((p) => covers(p, wanted))));
      if (beyond.length > 0) throw new IdentityRefused(`scope ${beyond.join(", ")} is beyond what ${user.name}'s roles (${user.roles.join(", ") || "none"}) permit`);
    }
    const { id, key } = newApiKey();
    const record: ApiKeyRecord = { id, userId: user.id, hash: apiKeyHash(key), scopes, createdAt: this.now(), expiresAt, lastUsedAt: null, revokedAt: null, label };
    await this.store.createApiKey(record);
    return { record, key };
  }

  listApiKeys(userId?: string): Promise<ApiKeyRecord[]> {
    return this.store.listApiKeys(userId);
  }

  async revokeApiKey(id: string): Promise<void> {
    if (!(await this.store.revokeApiKey(id, this.now()))) throw new IdentityRefused(`no live API key ${id}`);
  }

  /** An access token for a user without a login (admin convenience, audited by the caller). */
  async mintToken(name: string): Promise<TokenResponse> {
    const user = await this.user(name);
    if (user.locked) throw new IdentityRefused(`user ${user.name} is locked`);
    return this.openSession(user, "admin_mint", undefined, false);
  }

  // ---- grants (/auth/token) -------------------------------------------------------------------

  /**
   * The password grant. Unknown user, wrong password and locked account look the same to the client
   * (same error, same cost: an unknown user's password is still verified against a dummy hash).
   */
  async passwordGrant(input: { username: string; password: string; totp?: string | undefined; newPassword?: string | undefined; ip: string }): Promise<TokenResponse> {
    const account = normalizeName(input.username);
    const now = this.now();
    const state = await this.lockout.check(account, input.ip, now);
    if (state.locked) throw new OAuthError("invalid_grant", "invalid username or password", `locked for ${Math.ceil(state.retryAfterMs / 1000)} s`);
    if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
    const user = await this.store.getUserByName(account);
    const stored = user === undefined ? undefined : await this.store.getPassword(user.id);
    const ok = await verifyPassword(input.password, stored, this.scrypt);
    if (!ok || user === undefined) {
      const locked = await this.lockout.fail(account, input.ip, now);
      throw new OAuthError("invalid_grant", "invalid username or password", user === undefined ? "unknown user" : locked ? "wrong password; account now locked" : "wrong password", 400);
    }
    if (user.locked) throw new OAuthError("invalid_grant", "invalid username or password", "user locked by an admin");
    if (this.mfaRequired(user)) {
      const totp = await this.store.getTotp(user.id);
      if (input.totp === undefined) throw new OAuthError("mfa_required", "a TOTP code is required (parameter totp)", totp?.confirmed === true ? "no TOTP code given" : "MFA required but not enrolled");
      if (!(await this.checkSecondFactor(user, input.totp))) {
        await this.lockout.fail(account, input.ip, now);
        throw new OAuthError("invalid_grant", "invalid username or password", "wrong or replayed TOTP code");
      }
    }
    await this.lockout.succeed(account, input.ip);
    if (user.mustChangePassword || isExpired(user.passwordChangedAt, this.options.policy, now)) {
      if (input.newPassword === undefined) throw new OAuthError("password_change_required", "the password has expired: send new_password with this request", "password expired");
      await this.assertPolicy(user, input.newPassword).catch((err: unknown) => {
        throw new OAuthError("invalid_request", err instanceof IdentityRefused ? err.message : "new_password refused", "new password refused by policy");
      });
      await this.storePassword(user, input.newPassword);
      await this.store.revokeUserSessions(user.id, now);
    }
    return this.openSession(user, "password", undefined, true);
  }

  /** The refresh-token grant: single use; a token presented twice revokes its whole family and session (RFC 9700 §4.14.2). */
  async refreshGrant(refreshToken: string): Promise<TokenResponse> {
    const hash = tokenHash(refreshToken);
    const record = refreshToken.startsWith(REFRESH_TOKEN_PREFIX) ? await this.store.getRefreshToken(hash) : undefined;
    const now = this.now();
    if (record === undefined) throw new OAuthError("invalid_grant", "invalid refresh token", "unknown refresh token");
    if (record.revokedAt !== null || record.expiresAt <= now) throw new OAuthError("invalid_grant", "invalid refresh token", "refresh token revoked or expired");
    if (!(await this.store.spendRefreshToken(hash, now))) {
      await this.store.revokeFamily(record.familyId, now);
      await this.store.revokeSession(record.sessionId, now);
      throw new OAuthError("invalid_grant", "invalid refresh token", "refresh token reused: family revoked");
    }
    const session = await this.liveSession(record.sessionId, now);
    const user = session === undefined ? undefined : await this.store.getUser(record.userId);
    if (session === undefined || user === undefined || user.locked) throw new OAuthError("invalid_grant", "invalid refresh token", "session or user gone");
    await this.store.touchSession(session.id, now);
    const access = await this.tokens.issue({ sub: user.id, name: user.name, sid: session.id, roles: user.roles, scope: undefined });
    const next = await this.newRefresh(user, session, record.familyId, now);
    return { access_token: access.token, token_type: "Bearer", expires_in: this.tokens.ttlSeconds, refresh_token: next, scope: user.roles.join(" ") };
  }

  /** The client-credentials grant: `client_id` is an API key's id, `client_secret` the key itself. */
  async clientCredentialsGrant(clientId: string, clientSecret: string): Promise<TokenResponse> {
    const { user, key } = await this.apiKey(clientSecret).catch((err: unknown) => {
      throw new OAuthError("invalid_client", "client authentication failed", err instanceof CredentialRefused ? err.reason : "bad client");
    });
    if (key.id !== clientId) throw new OAuthError("invalid_client", "client authentication failed", "client_id does not match the key");
    // The session remembers its key: revoking or expiring the key ends the tokens exchanged for it (checked on every request).
    return this.openSession(user, `${KEY_SESSION}${key.id}`, key.scopes, false);
  }

  /**
   * RFC 7009 revocation: an access token ends its session (every token of it, on the very next
   * request); a refresh token ends its family and session. Unknown tokens are not an error.
   */
  async revoke(token: string): Promise<{ revoked: "session" | "family" | "nothing"; userId?: string }> {
    const now = this.now();
    if (token.startsWith(REFRESH_TOKEN_PREFIX)) {
      const record = await this.store.getRefreshToken(tokenHash(token));
      if (record === undefined) return { revoked: "nothing" };
      await this.store.revokeFamily(record.familyId, now);
      await this.store.revokeSession(record.sessionId, now);
      return { revoked: "family", userId: record.userId };
    }
    try {
      const claims = await this.tokens.verify(token);
      await this.store.revokeSession(claims.sid, now);
      return { revoked: "session", userId: claims.sub };
    } catch {
      return { revoked: "nothing" };
    }
  }

  // ---- the request path (/mcp) ---------------------------------------------------------------

  /** Who a bearer credential belongs to: the gateway's access token (and its live session) or an API key. */
  async principal(bearer: string): Promise<Principal> {
    if (apiKeyId(bearer) !== undefined) {
      const { user, key } = await this.apiKey(bearer);
      return { id: user.id, name: user.name, kind: "apikey", roles: user.roles, scopes: key.scopes, sessionId: undefined };
    }
    let claims;
    try {
      claims = await this.tokens.verify(bearer);
    } catch (err) {
      throw new CredentialRefused(err instanceof TokenInvalid ? err.reason : "invalid token");
    }
    const now = this.now();
    const session = await this.liveSession(claims.sid, now);
    if (session === undefined || session.userId !== claims.sub) {
      const record = await this.store.getSession(claims.sid);
      const expired = record !== undefined && (record.expiresAt <= now || now - record.lastSeenAt > this.options.sessions.idleMs);
      throw new CredentialRefused(expired ? "session expired (idle or absolute limit)" : "session revoked or unknown", expired);
    }
    if (session.method.startsWith(KEY_SESSION)) {
      const key = await this.store.getApiKey(session.method.slice(KEY_SESSION.length));
      if (key === undefined || key.revokedAt !== null || (key.expiresAt !== null && key.expiresAt <= now)) throw new CredentialRefused("the API key this token was exchanged for is revoked or expired");
    }
    if (now - session.lastSeenAt > TOUCH_EVERY_MS) await this.store.touchSession(session.id, now);
    return { id: claims.sub, name: claims.name, kind: "user", roles: claims.roles, scopes: claims.scope === undefined ? undefined : claims.scope.split(" ").filter((s) => s !== ""), sessionId: session.id };
  }

  /** Deletes sessions that ended and lockout counters that no longer count; returns how many sessions (run periodically). */
  async sweep(): Promise<number> {
    const now = this.now();
    // Counters older than both the window and a lock's duration decide nothing any more (the unlock marker is kept as long).
    await this.store.sweepFailures(now - Math.max(this.options.lockout.windowMs, this.options.lockout.durationMs));
    return this.store.sweepSessions(now - this.options.sessions.idleMs);
  }

  // ---- internals ------------------------------------------------------------------------------

  private async apiKey(text: string): Promise<{ user: User; key: ApiKeyRecord }> {
    const id = apiKeyId(text);
    const key = id === undefined ? undefined : await this.store.getApiKey(id);
    const now = this.now();
    if (key === undefined || !apiKeyMatches(text, key.hash)) throw new CredentialRefused("unknown API key");
    if (key.revokedAt !== null) throw new CredentialRefused("API key revoked");
    if (key.expiresAt !== null && key.expiresAt <= now) throw new CredentialRefused("API key expired");
    const user = await this.store.getUser(key.userId);
    if (user === undefined || user.locked) throw new CredentialRefused("API key owner locked or deleted");
    if (key.lastUsedAt === null || now - key.lastUsedAt > KEY_TOUCH_EVERY_MS) await this.store.touchApiKey(key.id, now);
    return { user, key };
  }

  /** A session that is not revoked, not past its absolute end, and not idle too long. */
  private async liveSession(id: string, now: number): Promise<SessionRecord | undefined> {
    const session = await this.store.getSession(id);
    if (session === undefined || session.revokedAt !== null || session.expiresAt <= now) return undefined;
    if (now - session.lastSeenAt > this.options.sessions.idleMs) {
      await this.store.revokeSession(session.id, now);
      return undefined;
    }
    return session;
  }

  private async openSession(user: User, method: string, scopes: string[] | undefined, withRefresh: boolean): Promise<TokenResponse> {
    const now = this.now();
    const session: SessionRecord = { id: randomUUID(), userId: user.id, createdAt: now, lastSeenAt: now, expiresAt: now + this.options.sessions.absoluteMs, revokedAt: null, method };
    await this.store.createSession(session);
    const scope = scopes === undefined ? undefined : scopes.join(" ");
    const access = await this.tokens.issue({ sub: user.id, name: user.name, sid: session.id, roles: user.roles, scope });
    const response: TokenResponse = { access_token: access.token, token_type: "Bearer", expires_in: this.tokens.ttlSeconds, scope: scope ?? user.roles.join(" ") };
    if (withRefresh) response.refresh_token = await this.newRefresh(user, session, randomUUID(), now);
    return response;
  }

  private async newRefresh(user: User, session: SessionRecord, familyId: string, now: number): Promise<string> {
    const token = newRefreshToken();
    const expiresAt = Math.min(now + this.options.sessions.refreshMs, session.expiresAt);
    await this.store.createRefreshToken({ hash: tokenHash(token), familyId, sessionId: session.id, userId: user.id, createdAt: now, expiresAt, usedAt: null, revokedAt: null });
    return token;
  }

  private mfaRequired(user: User): boolean {
    return user.roles.some((r) => this.options.mfa.requiredRoles.includes(r));
  }

  /** A TOTP code (each time step once) or an unused recovery code. */
  private async checkSecondFactor(user: User, code: string): Promise<boolean> {
    const record = await this.store.getTotp(user.id);
    if (record === undefined) return false;
    const compact = code.replace(/[\s-]/g, "");
    if (/^\d{6}$/.test(compact)) {
      const secret = openSealed(this.options.secretsKey, Buffer.from(record.secret, "base64"), Buffer.from(`totp:${user.id}`)).toString("utf8");
      const counter = verifyTotp(secret, compact, this.now());
      if (counter === undefined || !(await this.store.advanceTotpCounter(user.id, counter))) return false;
      if (!record.confirmed) await this.store.confirmTotp(user.id);
      return true;
    }
    return record.confirmed && (await this.store.spendRecoveryCode(user.id, hashRecoveryCode(code)));
  }

  private async assertPolicy(user: User, password: string): Promise<void> {
    const violations = await checkPassword(password, this.options.policy, {
      username: user.name,
      previous: async (candidate) => {
        for (const hash of await this.store.passwordHistory(user.id, this.options.policy.historySize)) if (await verifyPassword(candidate, hash, this.scrypt)) return true;
        return false;
      },
    });
    if (violations.length > 0) throw new IdentityRefused(violations.map((v) => v.message).join(" "));
  }

  private async storePassword(user: User, password: string): Promise<void> {
    const now = this.now();
    await this.store.setPassword(user.id, await hashPassword(password, this.scrypt), now, Math.max(this.options.policy.historySize, 1));
    await this.store.updateUser(user.id, { passwordChangedAt: now, mustChangePassword: false });
  }
}

/** An administrative operation refused (unknown user, policy violation): one clear line for the CLI. */
export class IdentityRefused extends Error {}
