// The gateway's operational log: one line per event on stderr. Never given a secret; the audit log is separate (src/audit).

export type LogLevelName = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevelName, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A logger writing `ISO-time level message` lines to `write` (default stderr) at or above `level` (default info, or BASTION_LOG_LEVEL). */
export function createLogger(
  level: LogLevelName = (process.env["BASTION_LOG_LEVEL"] as LogLevelName | undefined) ?? "info",
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const min = ORDER[level] ?? ORDER.info;
  const at = (name: LogLevelName) => (message: string) => {
    if (ORDER[name] >= min) write(`${new Date().toISOString()} ${name} ${message.replace(/[\r\n]+/g, " ")}\n`);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A logger that drops everything (library use, tests that do not look at logs). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
