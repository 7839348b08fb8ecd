// Loads security/config.yaml: YAML, `${env:NAME}` references, the environment variables SPEC §2 names, then zod — every problem listed with its path.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { ConfigError } from "../errors/index.ts";
import { configSchema, PENDING_SECTIONS, type Config } from "./schema.ts";

export { configSchema, isStdio, PENDING_SECTIONS } from "./schema.ts";
export type { Config, ServerLimits, UpstreamConfig, StdioUpstreamConfig, HttpUpstreamConfig } from "./schema.ts";

/** Default location of the configuration file, relative to the working directory. */
export const DEFAULT_CONFIG_PATH = "security/config.yaml";

/** The config file to use: `--config`, else `BASTION_CONFIG`, else the default. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env["BASTION_CONFIG"] ?? DEFAULT_CONFIG_PATH;
}

/** A loaded configuration and what the operator should know about it. */
export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file, or undefined for an in-memory object. */
  file: string | undefined;
  /** Directory that relative paths in the config are resolved against (the working directory). */
  baseDir: string;
  warnings: string[];
}

/** Reads, substitutes and validates the file at `file`; throws {@link ConfigError} listing every problem. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env, baseDir = process.cwd()): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError([`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? "error"})`]);
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map((e) => `${file}: ${e.message.split("\n")[0]}`));
  const raw: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  return { ...loadConfigObject(raw, env, baseDir), file: path.resolve(file) };
}

/** Validates a configuration given as a plain object (tests, library use); same rules as the file. */
export function loadConfigObject(raw: unknown, env: NodeJS.ProcessEnv = process.env, baseDir = process.cwd()): LoadedConfig {
  const problems: string[] = [];
  const substituted = substitute(raw, [], env, problems);
  applyEnvOverrides(substituted, env, problems);
  const parsed = configSchema.safeParse(substituted, { reportInput: true });
  if (!parsed.success) problems.push(...parsed.error.issues.flatMap((issue) => describeIssue(issue)));
  if (problems.length > 0) throw new ConfigError(problems);
  const config = parsed.data as Config;
  const warnings = PENDING_SECTIONS.filter((s) => isNonEmpty(config[s])).map(
    (s) => `config section "${s}" is accepted but not enforced by this version of the gateway`,
  );
  return { config, file: undefined, baseDir, warnings };
}

const isNonEmpty = (v: unknown): boolean => v !== undefined && v !== null && (typeof v !== "object" || Object.keys(v).length > 0);

const ENV_REF = /\$\{(env|vault):([A-Za-z_][A-Za-z0-9_.-]*)\}/g;

/** Replaces `${env:NAME}` in every string; `${vault:NAME}` needs the vault, which this version does not have. */
function substitute(value: unknown, at: (string | number)[], env: NodeJS.ProcessEnv, problems: string[]): unknown {
  if (typeof value === "string") {
    return value.replace(ENV_REF, (_m, kind: string, name: string) => {
      if (kind === "vault") {
        problems.push(`${pathOf(at)}: \${vault:${name}} needs the credential vault, which is not available in this version`);
        return "";
      }
      const v = env[name];
      if (v === undefined) problems.push(`${pathOf(at)}: environment variable ${name} is not set`);
      return v ?? "";
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, [...at, i], env, problems));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: substitute(v, [...at, k], env, problems), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

/** The original design's environment variables, which override the file (SPEC §2). */
function applyEnvOverrides(raw: unknown, env: NodeJS.ProcessEnv, problems: string[]): void {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return;
  const root = raw as Record<string, unknown>;
  const section = (name: string): Record<string, unknown> => {
    const s = root[name];
    if (typeof s === "object" && s !== null && !Array.isArray(s)) return s as Record<string, unknown>;
    const fresh: Record<string, unknown> = {};
    root[name] = fresh;
    return fresh;
  };
  const enabled = env["AUDIT_LOG_ENABLED"];
  if (enabled !== undefined) {
    if (/^(true|1|yes)$/i.test(enabled)) section("audit")["enabled"] = true;
    else if (/^(false|0|no)$/i.test(enabled)) section("audit")["enabled"] = false;
    else problems.push(`AUDIT_LOG_ENABLED: expected true or false, found "${enabled.slice(0, 20)}"`);
  }
  const hours = env["JWT_EXPIRATION_HOURS"];
  if (hours !== undefined && hours !== "") {
    const jwt = (section("auth")["jwt"] ??= {}) as Record<string, unknown>;
    if (/^\d+(\.\d+)?$/.test(hours)) jwt["expirationHours"] = Number(hours);
    else problems.push(`JWT_EXPIRATION_HOURS: expected a number of hours, found "${hours.slice(0, 20)}"`);
  }
  const auditPath = env["AUDIT_LOG_PATH"];
  if (auditPath !== undefined && auditPath !== "") section("audit")["path"] = auditPath;
}

const SECRET_KEY = /secret|password|token|key|credential|authorization/i;

function pathOf(at: readonly PropertyKey[]): string {
  let out = "";
  for (const p of at) {
    if (typeof p === "number") out += `[${p}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(String(p))) out += out === "" ? String(p) : `.${String(p)}`;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out === "" ? "(root)" : out;
}

/**
 * One line per zod issue: path, what was expected, what was found (secrets never echoed). An
 * upstream is a stdio or an HTTP one; its problems are those of the kind it looks like.
 */
function describeIssue(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[] = []): string[] {
  if (issue.code === "invalid_union" && issue.errors.length === 2) {
    const input = "input" in issue ? issue.input : undefined;
    const asObject = typeof input === "object" && input !== null ? (input as Record<string, unknown>) : {};
    if (!("command" in asObject) && !("url" in asObject)) return [`${pathOf([...prefix, ...issue.path])}: an upstream needs either command (stdio) or url (Streamable HTTP)`];
    const branch = issue.errors["command" in asObject ? 0 : 1] ?? [];
    return branch.flatMap((i) => describeIssue(i, [...prefix, ...issue.path]));
  }
  return [describeOne(issue, prefix)];
}

function describeOne(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[]): string {
  const fullPath = [...prefix, ...issue.path];
  const where = pathOf(fullPath);
  const hidden = fullPath.some((p) => typeof p === "string" && SECRET_KEY.test(p));
  let found = "";
  if ("input" in issue && issue.input !== undefined) {
    const input: unknown = issue.input;
    const type = input === null ? "null" : Array.isArray(input) ? "array" : typeof input;
    found = hidden || typeof input === "object" ? ` (found ${type})` : ` (found ${JSON.stringify(input).slice(0, 40)})`;
  } else if (issue.code === "invalid_type") found = " (found nothing)";
  if (issue.code === "unrecognized_keys") return `${where}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  return `${where}: ${issue.message}${found}`;
}
