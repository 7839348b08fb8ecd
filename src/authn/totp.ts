// TOTP second factor (RFC 6238 via otpauth) and single-use recovery codes, stored hashed.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { HOTP, Secret, TOTP } from "otpauth";

/**
 * The parameters every authenticator app understands: HMAC-SHA1, 6 digits, 30-second steps
 * (RFC 6238 §5.2 recommends 30 s; Google Authenticator ignores the `algorithm`, `digits` and
 * `period` URI parameters, so anything else would enroll fine and then never verify).
 */
export const TOTP_ALGORITHM = "SHA1";
/** Digits per code: 6. */
export const TOTP_DIGITS = 6;
/** Seconds per time step: 30. */
export const TOTP_PERIOD = 30;

/** Secret length in bytes: 20 (160 bits, the length RFC 4226 §4 recommends; it requires ≥ 128 bits). */
export const TOTP_SECRET_BYTES = 20;

/** Largest accepted `window` (time steps either side of now): 10, i.e. ±5 minutes. */
export const MAX_TOTP_WINDOW = 10;

/** Recovery code entropy in bytes: 15 (120 bits), written as 24 base32 characters in six groups of four. */
export const RECOVERY_CODE_BYTES = 15;

const CODE_FORMAT = /^[0-9]{6}$/;

/** A fresh random TOTP secret: 160 bits from `crypto.randomBytes`, as unpadded RFC 4648 base32 (32 characters). */
export function newTotpSecret(): string {
  return new Secret({ buffer: Uint8Array.from(randomBytes(TOTP_SECRET_BYTES)).buffer }).base32;
}

function decodeSecret(secret: string): Secret {
  let decoded: Secret;
  try {
    decoded = Secret.fromBase32(secret);
  } catch {
    throw new TypeError("TOTP secret is not base32");
  }
  // An empty or short key would make codes computable by anyone (RFC 4226 §4: at least 128 bits).
  if (decoded.bytes.length < 16) throw new RangeError("TOTP secret shorter than 128 bits");
  return decoded;
}

/**
 * The `otpauth://totp/…` key URI an authenticator app scans (as a QR code) or imports:
 * `otpauth://totp/<issuer>:<account>?issuer=<issuer>&secret=<secret>&algorithm=SHA1&digits=6&period=30`.
 * It carries the secret: show it once, at enrollment, and never log it.
 *
 * @throws RangeError when `issuer` or `account` is empty or contains a colon (the label separator of
 *   the key URI format); TypeError/RangeError for a secret that is not base32 of at least 128 bits.
 */
export function otpauthUri({ secret, account, issuer }: { secret: string; account: string; issuer: string }): string {
  if (account.length === 0 || issuer.length === 0 || account.includes(":") || issuer.includes(":")) {
    throw new RangeError("issuer and account must be non-empty and contain no colon");
  }
  return new TOTP({ issuer, label: account, issuerInLabel: true, secret: decodeSecret(secret), algorithm: TOTP_ALGORITHM, digits: TOTP_DIGITS, period: TOTP_PERIOD }).toString();
}

/**
 * Checks a 6-digit TOTP code at time `now` (milliseconds since the epoch; inject the clock) and
 * returns the time-step counter it belongs to, or undefined when it matches none.
 *
 * `window` is the number of steps accepted either side of the current one. Default 1 (±30 s of
 * clock drift, the one step RFC 6238 §5.2 recommends); 0–{@link MAX_TOTP_WINDOW}.
 *
 * Replay (RFC 6238 §5.2: the verifier "MUST NOT accept the second attempt of the OTP after the
 * successful validation") is the caller's to refuse: store the returned counter and accept only a
 * strictly greater one next time, atomically. When a code matches two steps (a 1-in-10^6 collision)
 * the later step is returned, so the stored counter never falls behind.
 *
 * The code must be exactly six ASCII digits; anything else is refused before any HMAC. Every step in
 * the window is computed and compared with `timingSafeEqual`, without stopping at a match.
 *
 * @throws TypeError/RangeError for a secret that is not base32 of at least 128 bits, a `now` that is
 *   not a finite number, or a `window` outside 0–10 (programming errors, not bad codes).
 */
export function verifyTotp(secret: string, code: string, now: number, window = 1): number | undefined {
  if (!Number.isInteger(window) || window < 0 || window > MAX_TOTP_WINDOW) throw new RangeError(`window must be an integer 0–${MAX_TOTP_WINDOW}`);
  if (!Number.isFinite(now) || now < 0) throw new RangeError("now must be milliseconds since the epoch");
  const key = decodeSecret(secret);
  if (typeof code !== "string" || !CODE_FORMAT.test(code)) return undefined;
  const given = Buffer.from(code, "ascii");
  const current = TOTP.counter({ period: TOTP_PERIOD, timestamp: now });
  let accepted: number | undefined;
  for (let counter = current - window; counter <= current + window; counter++) {
    if (counter < 0) continue;
    const expected = Buffer.from(HOTP.generate({ secret: key, algorithm: TOTP_ALGORITHM, digits: TOTP_DIGITS, counter }), "ascii");
    if (timingSafeEqual(expected, given)) accepted = counter;
  }
  return accepted;
}

/**
 * `n` fresh single-use recovery codes (default 10, at most 100), each 120 random bits written as
 * `xxxx-xxxx-xxxx-xxxx-xxxx-xxxx` in lower-case RFC 4648 base32 (a–z, 2–7: no 0/1/8 to confuse with
 * o/l/b). Shown once; store only {@link hashRecoveryCode} of each. All codes of one call differ.
 *
 * 120 bits because NIST SP 800-63B §5.1.2.2 and ASVS 4.0.3 2.6.2 let look-up secrets of at least
 * 112 bits be stored with a plain approved hash; shorter ones would need a salted, slow hash.
 */
export function newRecoveryCodes(n = 10): string[] {
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new RangeError("between 1 and 100 recovery codes");
  const codes = new Set<string>();
  while (codes.size < n) {
    const base32 = new Secret({ buffer: Uint8Array.from(randomBytes(RECOVERY_CODE_BYTES)).buffer }).base32.toLowerCase();
    codes.add(base32.match(/.{4}/g)?.join("-") ?? base32);
  }
  return [...codes];
}

/**
 * The form a recovery code is stored and looked up in: SHA-256 (hex, 64 characters) of the code
 * after NFKC, upper-casing, removing whitespace and dashes, and reading the digits 0, 1 and 8 as the
 * letters O, I and B they are mistaken for (the alphabet has none of those digits). So
 * "ABCD-EFGH…", "abcd efgh…" and "abcdefgh…" are the same code.
 *
 * A fast unsalted hash is enough here, unlike for passwords: each code holds 120 random bits, so an
 * offline search of the hash space is infeasible and there is no dictionary to try (NIST SP 800-63B
 * §5.1.2.2: look-up secrets of ≥ 112 bits are hashed with an approved one-way function).
 */
export function hashRecoveryCode(code: string): string {
  const normalized = code
    .normalize("NFKC")
    .toUpperCase()
    .replace(/[\s\-\u2010-\u2015\u2212]/g, "")
    .replace(/0/g, "O")
    .replace(/1/g, "I")
    .replace(/8/g, "B");
  return createHash("sha256").update(normalized, "utf8").digest("hex");
}
