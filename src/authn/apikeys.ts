// API keys: a recognizable prefix, a public id and 256 bits of secret; only a hash is stored, compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Every key starts with this, so secret scanners and log masking recognize one. */
export const API_KEY_PREFIX = "mcpb_";
const ID_LENGTH = 16;
const KEY_SHAPE = /^mcpb_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;

/** A new key: `mcpb_<16 hex id>_<43 base64url characters = 256 bits>`; the id is public, the whole text is the secret. */
export function newApiKey(): { id: string; key: string } {
  const id = randomBytes(ID_LENGTH / 2).toString("hex");
  return { id, key: `${API_KEY_PREFIX}${id}_${randomBytes(32).toString("base64url")}` };
}

/** The id of a well-formed key, or undefined: anything else is not an API key at all. */
export function apiKeyId(text: string): string | undefined {
  return KEY_SHAPE.exec(text)?.[1];
}

/** SHA-256 (hex) of the key text; with 256 bits of entropy a slow hash would add nothing but latency. */
export function apiKeyHash(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** Whether `key` hashes to `storedHash`, compared in constant time. */
export function apiKeyMatches(key: string, storedHash: string): boolean {
  const a = Buffer.from(apiKeyHash(key), "hex");
  const b = Buffer.from(storedHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
