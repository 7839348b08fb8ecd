// The store's rows as both databases return them, and their mapping to records: one place for each table's columns.
import { decodeList } from "./common.ts";
import type { ApiKeyRecord, ObservedTool, PinnedTool, RefreshTokenRecord, SessionRecord, ToolFinding, TotpRecord, User } from "./types.ts";

/** A boolean column: PostgreSQL returns booleans, SQLite (which has none) 0 and 1. */
type Flag = boolean | number;
const flag = (v: Flag): boolean => v === true || v === 1;

export interface UserRow {
  id: string;
  name: string;
  roles: string;
  locked: Flag;
  created_at: number;
  password_changed_at: number | null;
  must_change_password: Flag;
}
export interface ApiKeyRow {
  id: string;
  user_id: string;
  hash: string;
  scopes: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  label: string;
}
export interface SessionRow {
  id: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  revoked_at: number | null;
  method: string;
}
export interface RefreshRow {
  hash: string;
  family_id: string;
  session_id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  revoked_at: number | null;
}
export interface TotpRow {
  user_id: string;
  secret: string;
  last_counter: number;
  confirmed: Flag;
  created_at: number;
}

export const toUser = (r: UserRow): User => ({
  id: r.id,
  name: r.name,
  roles: decodeList(r.roles, "users.roles"),
  locked: flag(r.locked),
  createdAt: r.created_at,
  passwordChangedAt: r.password_changed_at,
  mustChangePassword: flag(r.must_change_password),
});
export const toApiKey = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id,
  userId: r.user_id,
  hash: r.hash,
  scopes: decodeList(r.scopes, "api_keys.scopes"),
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
  label: r.label,
});
export const toSession = (r: SessionRow): SessionRecord => ({
  id: r.id,
  userId: r.user_id,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  method: r.method,
});
export const toRefresh = (r: RefreshRow): RefreshTokenRecord => ({
  hash: r.hash,
  familyId: r.family_id,
  sessionId: r.session_id,
  userId: r.user_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  usedAt: r.used_at,
  revokedAt: r.revoked_at,
});
export const toTotp = (r: TotpRow): TotpRecord => ({
  userId: r.user_id,
  secret: r.secret,
  lastCounter: r.last_counter,
  confirmed: flag(r.confirmed),
  createdAt: r.created_at,
});

export interface PinRow {
  name: string;
  definition: string;
  hash: string;
  approved_at: number;
  approved_by: string | null;
}
export interface ObservedRow {
  name: string;
  definition: string;
  hash: string;
  findings: string;
  seen_at: number;
}

/** Findings as JSON text: an array of `{rule, path, message}` strings, exact for every string. */
export const encodeFindings = (findings: readonly ToolFinding[]): string => JSON.stringify(findings.map((f) => ({ rule: f.rule, path: f.path, message: f.message })));

/** Reads a column written by {@link encodeFindings}; anything else means the database was edited by hand. */
export function decodeFindings(text: string): ToolFinding[] {
  const value: unknown = JSON.parse(text);
  const ok = (f: unknown): f is ToolFinding =>
    typeof f === "object" && f !== null && ["rule", "path", "message"].every((k) => typeof (f as Record<string, unknown>)[k] === "string");
  if (!Array.isArray(value) || !value.every(ok)) throw new Error(`store: column tool_observed.findings holds ${text.slice(0, 40)}…, not a JSON array of findings`);
  return value.map((f) => ({ rule: f.rule, path: f.path, message: f.message }));
}

export const toPin = (r: PinRow): PinnedTool => ({ name: r.name, definition: r.definition, hash: r.hash, approvedAt: r.approved_at, approvedBy: r.approved_by });
export const toObserved = (r: ObservedRow): ObservedTool => ({ name: r.name, definition: r.definition, hash: r.hash, findings: decodeFindings(r.findings), seenAt: r.seen_at });
