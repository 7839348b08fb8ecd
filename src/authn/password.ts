// Password hashing: scrypt with its parameters in a PHC-style string, constant-time verification, same cost for unknown users.
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/**
 * scrypt cost: `ln` is log2 of N (CPU/memory cost), `r` the block size, `p` the parallelism.
 * Memory used is about 128·N·r bytes (128 MiB at the default).
 */
export interface ScryptParams {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
}

/**
 * Default cost: N = 2^17, r = 8, p = 1, the first configuration of the OWASP Password Storage
 * Cheat Sheet (scrypt section): 128 MiB and, on the 2-core reference machine, about 0.6 s per hash.
 * Node's own scrypt defaults (N = 2^14, maxmem 32 MiB) are below that floor.
 */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = Object.freeze({ ln: 17, r: 8, p: 1 });

/**
 * Upper bounds on parameters read from a stored hash, so a tampered or corrupt row cannot make the
 * gateway allocate gigabytes or spin for minutes on one login: at most 256 MiB (`128·r·(N+p+2)`
 * bytes, twice the default) and at most 2^22 for N·r·p (four times the default's work).
 * `ln` is 1–20, `r` 1–32, `p` 1–16.
 */
export const SCRYPT_LIMITS = Object.freeze({ maxLn: 20, maxR: 32, maxP: 16, maxMemoryBytes: 256 * 1024 * 1024, maxWork: 2 ** 22 });

/** Salt length in bytes written by {@link hashPassword}: 16 (128 bits, NIST SP 800-132 asks ≥ 128). */
export const SALT_BYTES = 16;

/** Derived key length in bytes written by {@link hashPassword}: 32. */
export const KEY_BYTES = 32;

/**
 * Longest password accepted, in UTF-16 code units before normalization: 65,536. Far above any
 * policy's `maxLength` (at most 4,096 code points); it bounds the NFKC work a login can demand.
 * {@link hashPassword} refuses longer input and {@link verifyPassword} answers false, so nothing
 * that can be verified was ever refused at hashing, or the reverse.
 */
export const MAX_PASSWORD_INPUT = 65_536;

// $scrypt$ln=17,r=8,p=1$<salt>$<key>, unpadded standard base64 as in the PHC string format.
// Numbers without leading zeros; salt 16–64 bytes (22–86 base64 characters), key 32–64 bytes
// (43–86). The key's floor matters: scrypt's output for a shorter length is a prefix of the longer
// one, so a key cut short by truncation would otherwise still verify, with fewer bits to guess.
const HASH_FORMAT = /^\$scrypt\$ln=([1-9][0-9]?),r=([1-9][0-9]?),p=([1-9][0-9]?)\$([A-Za-z0-9+/]{22,86})\$([A-Za-z0-9+/]{43,86})$/;

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

/** Bytes OpenSSL's scrypt allocates: the B array (128·r·p) plus V (128·r·(N+2)). */
function memoryNeeded({ ln, r, p }: ScryptParams): number {
  return 128 * r * (2 ** ln + p + 2);
}

function withinLimits(params: ScryptParams): boolean {
  const { ln, r, p } = params;
  return (
    Number.isInteger(ln) &&
    Number.isInteger(r) &&
    Number.isInteger(p) &&
    ln >= 1 &&
    ln <= SCRYPT_LIMITS.maxLn &&
    r >= 1 &&
    r <= SCRYPT_LIMITS.maxR &&
    p >= 1 &&
    p <= SCRYPT_LIMITS.maxP &&
    memoryNeeded(params) <= SCRYPT_LIMITS.maxMemoryBytes &&
    2 ** ln * r * p <= SCRYPT_LIMITS.maxWork
  );
}

function b64(buf: Buffer): string {
  return buf.toString("base64").replace(/=+$/, "");
}

/** Strict base64: only the canonical unpadded encoding of some bytes is accepted. */
function unb64(text: string): Buffer | undefined {
  const buf = Buffer.from(text, "base64");
  return b64(buf) === text ? buf : undefined;
}

function parseHash(stored: unknown): ParsedHash | undefined {
  if (typeof stored !== "string" || stored.length > 256) return undefined;
  const m = HASH_FORMAT.exec(stored);
  if (m === null) return undefined;
  const [, ln, r, p, salt64, key64] = m;
  if (ln === undefined || r === undefined || p === undefined || salt64 === undefined || key64 === undefined) return undefined;
  const params: ScryptParams = { ln: Number(ln), r: Number(r), p: Number(p) };
  if (!withinLimits(params)) return undefined;
  const salt = unb64(salt64);
  const key = unb64(key64);
  if (salt === undefined || key === undefined) return undefined;
  if (salt.length < 16 || salt.length > 64 || key.length < KEY_BYTES || key.length > 64) return undefined;
  return { params, salt, key };
}

/**
 * The bytes that are hashed: NFKC-normalized UTF-8 (NIST SP 800-63B rev 3 §5.1.1.2 normalization,
 * so "ﬁ" and "fi", or full-width and ASCII letters, are the same password). Undefined for input
 * that is not a well-formed string within {@link MAX_PASSWORD_INPUT}: a lone surrogate would be
 * encoded as U+FFFD, making distinct strings hash alike.
 */
function passwordBytes(password: unknown): Buffer | undefined {
  if (typeof password !== "string" || password.length > MAX_PASSWORD_INPUT || !password.isWellFormed()) return undefined;
  return Buffer.from(password.normalize("NFKC"), "utf8");
}

/** The async scrypt (libuv thread pool), never scryptSync: a 0.6 s hash must not block the event loop. */
function deriveKey(password: Buffer, salt: Buffer, keyLength: number, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    try {
      // maxmem: exactly what OpenSSL allocates for these parameters plus 1 MiB of headroom.
      scrypt(password, salt, keyLength, { N: 2 ** params.ln, r: params.r, p: params.p, maxmem: memoryNeeded(params) + 1024 * 1024 }, (err, key) => {
        if (err === null) resolve(key);
        else reject(err);
      });
    } catch (err) {
      // Node validates the parameters synchronously and throws rather than calling back.
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

function assertParams(params: ScryptParams): void {
  if (!withinLimits(params)) throw new RangeError(`scrypt parameters out of bounds: ln 1–${SCRYPT_LIMITS.maxLn}, r 1–${SCRYPT_LIMITS.maxR}, p 1–${SCRYPT_LIMITS.maxP}, at most 256 MiB`);
}

/**
 * Hashes a password for storage. Returns `$scrypt$ln=17,r=8,p=1$<salt>$<key>` (16-byte random salt,
 * 32-byte key, unpadded base64) so verification reads the cost from the string and old hashes keep
 * verifying after the default is raised. Default parameters: {@link DEFAULT_SCRYPT_PARAMS}.
 *
 * The password is NFKC-normalized first. Policy (length, blocklist…) is checked elsewhere
 * (`checkPassword` in ./policy.ts) before this is called.
 *
 * @throws TypeError for a non-string or a string with lone surrogates; RangeError for input longer
 *   than {@link MAX_PASSWORD_INPUT} or parameters outside {@link SCRYPT_LIMITS}.
 */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  assertParams(params);
  if (typeof password === "string" && password.length > MAX_PASSWORD_INPUT) throw new RangeError(`password longer than ${MAX_PASSWORD_INPUT} UTF-16 code units`);
  const input = passwordBytes(password);
  if (input === undefined) throw new TypeError("password must be a well-formed string");
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(input, salt, KEY_BYTES, params);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

/**
 * Checks a password against a stored hash in constant time (`timingSafeEqual` on equal-length keys).
 *
 * `stored` undefined means the user does not exist: a dummy derivation of the same cost runs
 * (`params`, default {@link DEFAULT_SCRYPT_PARAMS}: pass what {@link hashPassword} uses in this
 * deployment) and the answer is false, so an unknown user cannot be told from a wrong password by
 * status, body or timing (ASVS 5.0 6.3.8). The same dummy runs for a stored string that does not
 * parse or whose parameters exceed {@link SCRYPT_LIMITS}, and for a password that is not a
 * well-formed string within {@link MAX_PASSWORD_INPUT}. Never throws for bad input; always resolves.
 */
export async function verifyPassword(password: string, stored: string | undefined, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<boolean> {
  const parsed = parseHash(stored);
  const input = passwordBytes(password);
  if (parsed === undefined || input === undefined) {
    await dummyVerify(input ?? Buffer.alloc(0), params);
    return false;
  }
  const key = await deriveKey(input, parsed.salt, parsed.key.length, parsed.params);
  return timingSafeEqual(key, parsed.key);
}

/** Same work as a real verification: one derivation at `params` with a fresh salt and one comparison. */
async function dummyVerify(input: Buffer, params: ScryptParams): Promise<void> {
  const safe = withinLimits(params) ? params : DEFAULT_SCRYPT_PARAMS;
  const expected = randomBytes(KEY_BYTES);
  const key = await deriveKey(input, randomBytes(SALT_BYTES), KEY_BYTES, safe);
  timingSafeEqual(key, expected);
}

/**
 * True when a stored hash should be replaced at the next successful login: it does not parse, or
 * its parameters, salt length or key length differ from `params` (default
 * {@link DEFAULT_SCRYPT_PARAMS}) and this module's 16-byte salt and 32-byte key.
 */
export function needsRehash(stored: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  const parsed = parseHash(stored);
  if (parsed === undefined) return true;
  const { ln, r, p } = parsed.params;
  return ln !== params.ln || r !== params.r || p !== params.p || parsed.salt.length !== SALT_BYTES || parsed.key.length !== KEY_BYTES;
}
