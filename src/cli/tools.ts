// `bastion tools list|diff|approve` (SPEC §1): the pinned tool sets in the store, what the upstreams offer now instead, and approving that (the rug-pull defense).
import path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { AuditLog, loadOrCreateKey, type Outcome } from "../audit/index.ts";
import { configPath, loadConfigFile, type LoadedConfig } from "../config/index.ts";
import { OperationRefused } from "../errors/index.ts";
import { canonicalJson, setHash } from "../integrity/canonical.ts";
import { pendingChanges, statusOf, type PendingChange, type PinMode } from "../integrity/pins.ts";
import { openStore, type ObservedTool, type PinnedTool, type Store } from "../store/index.ts";
import type { Io } from "./main.ts";

interface Globals {
  config?: string;
  json?: boolean;
}

/** Hex digits of a hash shown to people (the JSON output has all 64). */
const SHORT = 12;
/** Unchanged lines shown around each change in a diff. */
const CONTEXT = 2;
/** Largest line-diff table (lines × lines); beyond it the old text is shown removed and the new one added, whole. */
const MAX_DIFF_CELLS = 4_000_000;

const short = (hash: string | undefined): string => (hash === undefined ? "-" : hash.slice(0, SHORT));
const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Characters a tool description could use to hide text from the admin reading it in a terminal —
 * controls (ANSI escapes), bidi overrides, zero-width and invisible characters, Unicode tags
 * ("ASCII smuggling"), lone surrogates — shown as `\uXXXX` escapes instead.
 */
const HIDDEN = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\ud800-\udfff\u{e0000}-\u{e0fff}]/gu;

/** One line as it may safely reach a terminal: hidden characters escaped, trailing blanks made visible. */
export function visible(line: string): string {
  return line
    .replace(HIDDEN, (c) => {
      const cp = c.codePointAt(0) ?? 0;
      return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, "0")}`;
    })
    .replace(/ +$/, (blanks) => "\\u0020".repeat(blanks.length));
}

export type DiffLine = { op: " " | "-" | "+"; line: string };

/** A line diff (longest common subsequence) of `a` into `b`; common head and tail first, so the usual one-line change costs nothing. */
export function lineDiff(a: readonly string[], b: readonly string[]): DiffLine[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const x = a.slice(head, a.length - tail);
  const y = b.slice(head, b.length - tail);
  const middle: DiffLine[] = [];
  if ((x.length + 1) * (y.length + 1) > MAX_DIFF_CELLS) {
    for (const line of x) middle.push({ op: "-", line });
    for (const line of y) middle.push({ op: "+", line });
  } else {
    // lcs[i][j]: the longest common subsequence of x[i..] and y[j..].
    const w = y.length + 1;
    const lcs = new Uint32Array((x.length + 1) * w);
    for (let i = x.length - 1; i >= 0; i--)
      for (let j = y.length - 1; j >= 0; j--) lcs[i * w + j] = x[i] === y[j] ? (lcs[(i + 1) * w + j + 1] ?? 0) + 1 : Math.max(lcs[(i + 1) * w + j] ?? 0, lcs[i * w + j + 1] ?? 0);
    let i = 0;
    let j = 0;
    while (i < x.length || j < y.length) {
      if (i < x.length && j < y.length && x[i] === y[j]) {
        middle.push({ op: " ", line: x[i] ?? "" });
        i++;
        j++;
      } else if (i < x.length && (j === y.length || (lcs[(i + 1) * w + j] ?? 0) >= (lcs[i * w + j + 1] ?? 0))) middle.push({ op: "-", line: x[i++] ?? "" });
      else middle.push({ op: "+", line: y[j++] ?? "" });
    }
  }
  return [...a.slice(0, head).map((line): DiffLine => ({ op: " ", line })), ...middle, ...a.slice(a.length - tail).map((line): DiffLine => ({ op: " ", line }))];
}

/** The diff as text: changed lines with {@link CONTEXT} lines around them, longer unchanged runs folded. */
export function renderDiff(diff: readonly DiffLine[], indent: string): string[] {
  const near = diff.map((_, i) => diff.slice(Math.max(0, i - CONTEXT), i + CONTEXT + 1).some((d) => d.op !== " "));
  const out: string[] = [];
  let folded = 0;
  diff.forEach((d, i) => {
    if (!near[i]) {
      folded++;
      return;
    }
    if (folded > 0) out.push(`${indent}  ... ${folded} unchanged line${folded === 1 ? "" : "s"}`);
    folded = 0;
    out.push(`${indent}${d.op} ${visible(d.line)}`);
  });
  if (folded > 0) out.push(`${indent}  ... ${folded} unchanged line${folded === 1 ? "" : "s"}`);
  return out;
}

/** How a member of a definition is shown: a string by its own lines (descriptions read as text), anything else as indented JSON. */
function linesOf(value: unknown): string[] {
  if (value === undefined) return [];
  return typeof value === "string" ? value.split(/\r\n|\n|\r/) : JSON.stringify(value, null, 2).split("\n");
}

/** A stored definition, read back (the store holds canonical JSON the gateway wrote). */
function parsed(definition: string | undefined): Record<string, unknown> | undefined {
  if (definition === undefined) return undefined;
  const value: unknown = JSON.parse(definition);
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : { "(definition)": value };
}

/** Top-level members whose canonical forms differ, in order. */
function changedFields(before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined): string[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  const member = (o: Record<string, unknown> | undefined, k: string): string | undefined => (o === undefined || !Object.hasOwn(o, k) ? undefined : canonicalJson(o[k]));
  return [...keys].sort().filter((k) => member(before, k) !== member(after, k));
}

/** The human form of one pending change: a header line, then field by field what differs. */
function describeChange(c: PendingChange): string[] {
  const before = parsed(c.pinned?.definition);
  const after = parsed(c.observed?.definition);
  const mark = { added: "+", removed: "-", changed: "~", flagged: "!" }[c.change];
  const hashes = c.change === "removed" ? `pinned ${short(c.pinned?.hash)}` : c.change === "added" ? `offered ${short(c.observed?.hash)}` : c.change === "changed" ? `pinned ${short(c.pinned?.hash)}, offered ${short(c.observed?.hash)}` : `${short(c.observed?.hash)}, pinned on first sight and never approved`;
  const lines = [`${mark} ${visible(c.name)}  ${c.change}  (${hashes})`];
  if (c.change === "changed") {
    for (const field of changedFields(before, after)) {
      const had = before !== undefined && Object.hasOwn(before, field);
      const has = after !== undefined && Object.hasOwn(after, field);
      lines.push(`    ${visible(field)}:${had ? (has ? "" : " (removed)") : " (added)"}`);
      lines.push(...renderDiff(lineDiff(had ? linesOf(before[field]) : [], has ? linesOf(after[field]) : []), "    "));
    }
  } else if (c.change === "added" || c.change === "removed") {
    const shown = c.change === "added" ? after : before;
    lines.push(...renderDiff(lineDiff(c.change === "removed" ? linesOf(shown) : [], c.change === "added" ? linesOf(shown) : []), "    "));
  }
  for (const f of c.observed?.findings ?? []) lines.push(`    finding ${visible(f.rule)} at ${visible(f.path || "(definition)")}: ${visible(f.message)}`);
  return lines;
}

/** What one command needs: the config, the store, and the audit log (a guest of the running gateway's). */
interface Context {
  loaded: LoadedConfig;
  store: Store;
  audit: AuditLog | undefined;
  /** The upstreams of the config, with their modes. */
  modes: Map<string, PinMode>;
}

async function withStore<T>(io: Io, globals: Globals, run: (ctx: Context) => Promise<T>): Promise<T> {
  const loaded = loadConfigFile(path.resolve(io.cwd, configPath(globals.config, io.env)), io.env, io.cwd);
  const { config, baseDir } = loaded;
  const at = (file: string): string => path.resolve(baseDir, file);
  const store = await openStore(config.store.driver === "sqlite" ? { driver: "sqlite", path: at(config.store.path) } : config.store);
  const audit = config.audit.enabled ? new AuditLog(at(config.audit.path), loadOrCreateKey(at(config.audit.keyFile))) : undefined;
  try {
    return await run({ loaded, store, audit, modes: new Map(Object.entries(config.upstreams).map(([name, u]) => [name, u.pin])) });
  } finally {
    audit?.close();
    await store.close();
  }
}

/** An upstream's pins and observations, refused when the store knows nothing of it. */
async function stateOf(ctx: Context, upstream: string): Promise<{ pins: PinnedTool[]; observed: ObservedTool[]; revision: number }> {
  const set = await ctx.store.getToolSet(upstream);
  if (set === undefined) {
    if (!ctx.modes.has(upstream)) throw new OperationRefused(`no upstream named ${JSON.stringify(visible(upstream))} in the configuration or the store`);
    throw new OperationRefused(`upstream ${upstream} has no pinned tool set yet: a gateway pins it when it first lists the upstream's tools`);
  }
  return { pins: set.pins, observed: await ctx.store.getObserved(upstream), revision: set.revision };
}

/** One row of `tools list`. */
interface Listed {
  name: string;
  status: "pinned" | "quarantined" | "unapproved" | "removed";
  reason?: "new" | "changed" | "flagged";
  hash: string;
  pinnedHash: string | null;
  approvedBy: string | null;
  approvedAt: string | null;
}

function listed(mode: PinMode | undefined, pins: readonly PinnedTool[], observed: readonly ObservedTool[]): Listed[] {
  const byName = new Map(pins.map((p) => [p.name, p]));
  const rows: Listed[] = [];
  const seen = new Set<string>();
  for (const o of observed) {
    seen.add(o.name);
    const pin = byName.get(o.name);
    const status = statusOf(pin, o);
    const base = { name: o.name, hash: o.hash, pinnedHash: pin?.hash ?? null, approvedBy: pin?.approvedBy ?? null, approvedAt: pin === undefined ? null : iso(pin.approvedAt) };
    rows.push(status === "pinned" ? { ...base, status } : { ...base, status: mode === "enforce" ? "quarantined" : "unapproved", reason: status });
  }
  for (const p of pins) if (!seen.has(p.name)) rows.push({ name: p.name, status: "removed", hash: p.hash, pinnedHash: p.hash, approvedBy: p.approvedBy, approvedAt: iso(p.approvedAt) });
  return rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `--tool` may be given several times. */
const collect = (value: string, previous: string[]): string[] => [...previous, value];

function expectedHash(text: string): string {
  if (!/^[0-9a-f]{8,64}$/.test(text)) throw new InvalidArgumentError("must be 8 to 64 lowercase hex digits of the offered set's hash (as `tools diff` prints it)");
  return text;
}

export function toolsCommands(cmd: Command, io: Io, globals: () => Globals): void {
  const tools = cmd.command("tools").description("pinned tool sets: what changed since, and approving it (the rug-pull defense)");

  tools
    .command("list [upstream]")
    .description("the pinned tools of every upstream (or one): hash and status — pinned, quarantined or unapproved (new, changed, flagged), removed")
    .action(async (only: string | undefined) => {
      const sets = await withStore(io, globals(), async (ctx) => {
        // stateOf refuses an upstream that is unknown or never seen.
        const names = only === undefined ? await ctx.store.listToolSets() : [only];
        return Promise.all(
          names.map(async (upstream) => {
            const { pins, observed, revision } = await stateOf(ctx, upstream);
            const mode = ctx.modes.get(upstream);
            return { upstream, mode: mode ?? null, revision, setHash: setHash(pins), tools: listed(mode, pins, observed) };
          }),
        );
      });
      if (globals().json) return io.out(`${JSON.stringify(sets)}\n`);
      if (sets.length === 0) return io.out("no pinned tool sets yet: a gateway pins an upstream's tools when it first lists them\n");
      for (const s of sets) {
        const pending = s.tools.filter((t) => t.status !== "pinned").length;
        io.out(`${s.upstream}  (pin: ${s.mode ?? "not configured"}, set ${short(s.setHash)}, ${s.tools.length} tool${s.tools.length === 1 ? "" : "s"}${pending > 0 ? `, ${pending} pending: bastion tools diff ${s.upstream}` : ""})\n`);
        const width = Math.min(40, Math.max(0, ...s.tools.map((t) => visible(t.name).length)));
        for (const t of s.tools) {
          const status = t.reason === undefined ? t.status : `${t.status} (${t.reason})`;
          io.out(`  ${visible(t.name).padEnd(width)}  ${short(t.hash)}  ${status}${t.reason === "changed" ? `, pinned ${short(t.pinnedHash ?? undefined)}` : ""}\n`);
        }
      }
    });

  tools
    .command("diff <upstream>")
    .description("what the upstream offers now against its pinned set, tool by tool and field by field")
    .action(async (upstream: string) => {
      const { changes, pinnedSet, offeredSet, mode } = await withStore(io, globals(), async (ctx) => {
        const { pins, observed } = await stateOf(ctx, upstream);
        return { changes: pendingChanges(pins, observed), pinnedSet: setHash(pins), offeredSet: setHash(observed), mode: ctx.modes.get(upstream) ?? null };
      });
      if (globals().json) {
        const json = changes.map((c) => {
          const before = parsed(c.pinned?.definition);
          const after = parsed(c.observed?.definition);
          return { name: c.name, change: c.change, pinnedHash: c.pinned?.hash ?? null, offeredHash: c.observed?.hash ?? null, fields: changedFields(before, after), pinned: before ?? null, offered: after ?? null, findings: c.observed?.findings ?? [] };
        });
        return io.out(`${JSON.stringify({ upstream, mode, pinnedSet, offeredSet, changes: json })}\n`);
      }
      if (changes.length === 0) return io.out(`no changes: the tools ${upstream} offers match its pinned set ${short(pinnedSet)}\n`);
      const lines = [`${upstream} (pin: ${mode ?? "not configured"}): ${changes.length} pending change${changes.length === 1 ? "" : "s"}; pinned set ${short(pinnedSet)}, offered set ${short(offeredSet)}`, ""];
      for (const c of changes) lines.push(...describeChange(c), "");
      lines.push(`approve with: bastion tools approve ${upstream} --expect ${short(offeredSet)}`);
      io.out(`${lines.join("\n")}\n`);
    });

  tools
    .command("approve <upstream>")
    .description("trust what the upstream offers now: its pending changes become its pinned set (audited as tool.approved)")
    .option("--tool <name>", "approve only this tool's change (repeatable)", collect, [])
    .option("--expect <hash>", "refuse unless the offered set still has this hash (from `tools diff`): what you reviewed is what you approve", expectedHash)
    .action(async (upstream: string, opts: { tool: string[]; expect?: string }) => {
      const user = io.env["USER"] ?? process.env["USER"] ?? null;
      const result = await withStore(io, globals(), async (ctx) => {
        const record = (outcome: Outcome, reason: string | null, details: Record<string, unknown>): void =>
          void ctx.audit?.record({ type: "tool.approved", outcome, severity: outcome === "success" ? "info" : "warning", actor: { user, ip: null, session: null, via: "cli" }, target: upstream, reason, details: { upstream, ...details } });
        const { pins, observed } = await stateOf(ctx, upstream);
        const pending = pendingChanges(pins, observed);
        let selected = pending;
        if (opts.tool.length > 0) {
          const wanted = new Set(opts.tool);
          selected = pending.filter((c) => wanted.has(c.name));
          const missing = opts.tool.find((name) => !selected.some((c) => c.name === name));
          if (missing !== undefined) throw new OperationRefused(`tool ${JSON.stringify(visible(missing))} of ${upstream} has nothing to approve (see bastion tools list ${upstream})`);
        }
        if (selected.length === 0) throw new OperationRefused(`nothing to approve: the tools ${upstream} offers match its pinned set`);
        const offered = setHash(observed);
        if (opts.expect !== undefined && !offered.startsWith(opts.expect)) {
          record("failure", "offered set changed since review", { expected: opts.expect, offeredSet: offered });
          throw new OperationRefused(`the tools ${upstream} offers changed since you reviewed them (offered set ${short(offered)}, not ${opts.expect}): nothing approved; run bastion tools diff ${upstream} again`);
        }
        const approvals = selected.map((c) => ({ name: c.name, hash: c.observed?.hash ?? null }));
        const summary = selected.map((c) => ({ name: c.name, change: c.change, hash: c.observed?.hash ?? null }));
        if (!(await ctx.store.approveTools(upstream, approvals, user ?? "cli", Date.now()))) {
          record("failure", "offered set changed while approving", { tools: summary });
          throw new OperationRefused(`the tools ${upstream} offers changed while approving: nothing approved; run bastion tools diff ${upstream} again`);
        }
        const after = await ctx.store.getToolSet(upstream);
        const result = { upstream, approved: summary, setHash: setHash(after?.pins ?? []), revision: after?.revision ?? 0 };
        record("success", null, { tools: summary, setHash: result.setHash, revision: result.revision });
        return result;
      });
      if (globals().json) return io.out(`${JSON.stringify(result)}\n`);
      const list = result.approved.map((a) => `${visible(a.name)} (${a.change})`).join(", ");
      io.out(`approved ${result.approved.length} change${result.approved.length === 1 ? "" : "s"} of ${upstream}: ${list}; pinned set is now ${short(result.setHash)} (running gateways apply it within seconds)\n`);
    });
}
