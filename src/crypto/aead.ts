// AES-256-GCM sealing of small secrets at rest (vault entries, TOTP seeds): version ‖ IV ‖ ciphertext ‖ tag, one generic failure.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { BastionError } from "../errors/index.ts";

/** Format version written as the first byte of every sealed value. Version 1 is AES-256-GCM, 12-byte IV, 16-byte tag. */
export const SEALED_VERSION = 1;

/** Key length in bytes: exactly 32 (AES-256). Any other length is refused. */
export const KEY_BYTES = 32;

/**
 * IV length in bytes: 12 (96 bits), the length NIST SP 800-38D §8.2 recommends; other lengths are
 * run through GHASH and are where the Wycheproof `CounterWrap`/`LongIv` bugs live.
 */
export const IV_BYTES = 12;

/**
 * Authentication tag length in bytes: 16, always. Node 20's `setAuthTag` otherwise accepts 4- to
 * 16-byte tags (DEP0182 is documentation-only there), so a truncated 4-byte tag would verify
 * with 2^-32 forgery odds.
 */
export const TAG_BYTES = 16;

/** Bytes a sealed value adds to its plaintext: 1 (version) + 12 (IV) + 16 (tag) = 29. */
export const SEAL_OVERHEAD = 1 + IV_BYTES + TAG_BYTES;

const ALGORITHM = "aes-256-gcm";

/**
 * The only error {@link open} throws for data that does not open: a wrong key, a wrong AAD, a
 * tampered or truncated value and an unknown version all look the same, so an attacker probing
 * sealed values learns nothing about which check failed (and no `cause` carries the OpenSSL text).
 */
export class SealedDataError extends BastionError {
  constructor() {
    super("sealed_data_invalid", "sealed data could not be opened");
  }
}

function assertKey(key: Buffer): void {
  // API misuse, not bad data: a RangeError at the call site, never silently padded or truncated.
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new RangeError(`AES-256-GCM needs a ${KEY_BYTES}-byte key`);
}

/**
 * The GCM additional data: the version byte is authenticated along with the caller's AAD, so the
 * header cannot be changed without failing the tag (Vault's barrier binds its header the same way).
 * The version is one fixed-length byte, so the concatenation is unambiguous.
 */
function associatedData(version: number, aad: Buffer): Buffer {
  return Buffer.concat([Buffer.of(version), aad]);
}

/**
 * Encrypts `plaintext` under a 32-byte `key`, binding `aad` (e.g. the credential id and vault
 * version, so an entry copied to another slot fails to open). Returns `version ‖ IV ‖ ciphertext ‖ tag`,
 * 29 bytes longer than the plaintext.
 *
 * The IV is 12 fresh random bytes per call, so sealing the same plaintext twice gives different
 * bytes. With random IVs NIST SP 800-38D §8.3 caps one key at 2^32 seals; rotate keys well before
 * (Vault's default `max_operations` is 3,865,470,566).
 *
 * @throws RangeError when the key is not exactly 32 bytes.
 */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  assertKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(SEALED_VERSION, aad));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(SEALED_VERSION), iv, ciphertext, cipher.getAuthTag()]);
}

/**
 * Decrypts a value made by {@link seal} with the same `key` and `aad`. Nothing is returned unless
 * the whole tag verifies (the plaintext is only released after `final()`).
 *
 * @throws SealedDataError on any failure of the data: unknown version byte, input shorter than 29
 *   bytes, wrong key, wrong AAD, or any modified byte of IV, ciphertext or tag.
 * @throws RangeError when the key is not exactly 32 bytes (a programming error, not bad data).
 */
export function open(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  assertKey(key);
  if (!Buffer.isBuffer(sealed) || sealed.length < SEAL_OVERHEAD || sealed[0] !== SEALED_VERSION) throw new SealedDataError();
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const ciphertext = sealed.subarray(1 + IV_BYTES, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  let head: Buffer | undefined;
  try {
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(SEALED_VERSION, aad));
    decipher.setAuthTag(tag);
    head = decipher.update(ciphertext);
    return Buffer.concat([head, decipher.final()]);
  } catch {
    // Unauthenticated plaintext from update() is wiped, never handed out.
    head?.fill(0);
    throw new SealedDataError();
  }
}
