// What a detector reports: enough for a violation the caller can read and an audit record an operator can act on.

/** The detector families; each can be configured to `block`, `sanitize` or `log`. */
export type DetectorName = "xss" | "sql" | "shell" | "traversal" | "ssrf" | "promptInjection" | "secrets";

/** One thing a detector recognised in one string. */
export interface Finding {
  detector: DetectorName;
  /** A stable, short name of the pattern that matched (e.g. `script-tag`, `union-select`, `encoded-dot-dot`). */
  rule: string;
  /** One sentence for the caller and the audit log. Never quotes a secret it found. */
  message: string;
}
