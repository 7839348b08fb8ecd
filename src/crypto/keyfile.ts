// 256-bit keys kept in files of their own (mode 0600) until the vault keeps them: the audit chain key, the key sealing TOTP secrets.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Loads the 32-byte key in `file` (64 hex digits), creating a random one (file 0600, folder 0700) when the file does not exist. */
export function loadOrCreateKey(file: string): Buffer {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  }
  const hex = readFileSync(file, "utf8").trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${file} does not hold a 256-bit hex key`);
  return Buffer.from(hex, "hex");
}
