// Tool pinning, the rug-pull defense (SPEC §2 `pin`): an upstream's first tool set is trusted; what changes later is withheld until an admin approves.
import { EventEmitter } from "node:events";
import type { AuditEvent, Outcome, Severity } from "../audit/index.ts";
import type { ToolGate } from "../catalog/index.ts";
import type { Logger } from "../log/index.ts";
import type { Millis, ObservedTool, PinnedTool, Store, ToolFinding } from "../store/index.ts";
import { canonicalTool, setHash } from "./canonical.ts";

/** Per upstream (config `pin`): `enforce` withholds untrusted tools, `warn` only audits and logs them, `off` does nothing. */
export type PinMode = "enforce" | "warn" | "off";

/**
 * Why a tool is not trusted. `new`: not in the pinned set; `changed`: its definition's hash differs
 * from the pin; `flagged`: the scanner has findings and no admin approved this definition; `invalid`:
 * it has no canonical form (nested too deep, cyclic) or a name no store can key (see {@link isPinnableName}).
 */
export type Quarantine = "new" | "changed" | "flagged" | "invalid";

/** The scanner's verdict on one definition (src/integrity/scan.ts provides it; empty: nothing found). */
export type FlagFn = (tool: Record<string, unknown>) => readonly { rule: string; path: string; message: string }[];

/** The store methods the pin book uses. */
export type PinStore = Pick<Store, "getToolSet" | "toolSetRevision" | "pinFirstSight" | "replaceObserved">;

/** Where audit records go (the gateway's AuditLog). */
export interface AuditSink {
  record(event: AuditEvent): unknown;
}

export interface PinBookOptions {
  store: PinStore;
  /** Each upstream's mode; an upstream not listed is enforced (the SPEC default). */
  modes: ReadonlyMap<string, PinMode>;
  log: Logger;
  audit?: AuditSink;
  /** The scanner. Its findings withhold a tool in `enforce` (audit only in `warn`) until an admin approves that definition. */
  flag?: FlagFn;
  /** Milliseconds between looks at the store for approvals, while a tool is quarantined or the store failed. Default 2000 (2 seconds). */
  pollMs?: number;
  now?: () => Millis;
}

export interface PinBookEvents {
  /** The pins of `upstream` changed (an approval), or the store is back: its tools must be read and admitted again. */
  changed: [upstream: string];
}

/** Longest tool name that is pinned, in UTF-16 code units. Default 512: a longer key does not fit PostgreSQL's index rows (2704 bytes). */
export const MAX_PINNED_NAME = 512;
/** Default of {@link PinBookOptions.pollMs}. */
export const DEFAULT_POLL_MS = 2000;
/** Findings kept per tool, and characters per finding field: a runaway scanner does not fill the store. */
const MAX_FINDINGS = 20;
const MAX_FINDING_TEXT = 500;
/** Characters of an upstream-chosen name written into an audit record or log line. */
const MAX_AUDITED_NAME = 200;

/**
 * Whether a tool name can be a store key exactly: 1–{@link MAX_PINNED_NAME} code units, well-formed
 * UTF-16 (a lone surrogate would come back as U+FFFD, a different name: forever "new") and no U+0000
 * (PostgreSQL text cannot hold it).
 */
export function isPinnableName(name: string): boolean {
  return name.length >= 1 && name.length <= MAX_PINNED_NAME && name.isWellFormed() && !name.includes("\u0000");
}

/** A tool's standing against the pins: `pinned` (trusted) or why not. */
export type ToolStatus = "pinned" | "new" | "changed" | "flagged";

/**
 * The one rule, shared by the gateway and `bastion tools`: no pin → new; another hash → changed;
 * findings on a definition nobody approved (pinned on first sight) → flagged; otherwise pinned. An
 * admin's approval of exactly this definition clears its findings.
 */
export function statusOf(pin: Pick<PinnedTool, "hash" | "approvedBy"> | undefined, seen: { hash: string; findings: readonly ToolFinding[] }): ToolStatus {
  if (pin === undefined) return "new";
  if (pin.hash !== seen.hash) return "changed";
  if (seen.findings.length > 0 && pin.approvedBy === null) return "flagged";
  return "pinned";
}

/** One difference between an upstream's pins and what it offers: what `bastion tools diff` shows and `approve` settles. */
export interface PendingChange {
  name: string;
  change: "added" | "changed" | "flagged" | "removed";
  pinned: PinnedTool | undefined;
  observed: ObservedTool | undefined;
}

/** Every pending difference between `pins` and `observed`, in name order. */
export function pendingChanges(pins: readonly PinnedTool[], observed: readonly ObservedTool[]): PendingChange[] {
  const byName = new Map(pins.map((p) => [p.name, p]));
  const seen = new Set<string>();
  const out: PendingChange[] = [];
  for (const o of observed) {
    seen.add(o.name);
    const pin = byName.get(o.name);
    const status = statusOf(pin, o);
    if (status !== "pinned") out.push({ name: o.name, change: status === "new" ? "added" : status, pinned: pin, observed: o });
  }
  for (const p of pins) if (!seen.has(p.name)) out.push({ name: p.name, change: "removed", pinned: p, observed: undefined });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** One listed tool, prepared: its definition's canonical form and the scanner's findings. */
interface Entry {
  tool: Record<string, unknown>;
  name: string;
  definition: string;
  hash: string;
  findings: ToolFinding[];
}

interface UpstreamState {
  /** The pins' revision last read. */
  revision: number | undefined;
  /** Tools withheld now (enforce) with their reason. */
  quarantined: Map<string, Quarantine>;
  /** The store failed during the last admission: try again on the next poll. */
  retry: boolean;
  /** Invalid tool names already audited by this process (they are never stored, so the store cannot dedupe them). */
  invalidAudited: Set<string>;
}

const clip = (text: string, n = MAX_AUDITED_NAME): string => (text.length > n ? `${text.slice(0, n)}…` : text);
const sameFindings = (a: readonly ToolFinding[], b: readonly ToolFinding[]): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The pin book: decides, each time the catalog reads an upstream's tools, which of them clients may
 * see and call. State lives in the store (pins, and the latest observed definitions), so every
 * gateway instance and the CLI share it and a restart keeps a quarantine; the verdict itself lives
 * in the catalog's routes, so a call costs no store read. Approvals made by `bastion tools approve`
 * are found by polling one revision number while anything is quarantined.
 *
 * Audit records (`via: "gateway"`), each once per distinct observation — the store hands the replaced
 * observation to exactly one writer, so neither a re-read, a restart nor a second gateway repeats them:
 * - `tool.pinned`: an upstream's first set was pinned (trust on first use);
 * - `tool.changed`: a tool was added, changed or removed since its pin, or came back to its pinned form (`restored`);
 * - `tool.flagged`: the scanner flagged a tool that is otherwise pinned and unreviewed;
 * - `tool.quarantined`: (enforce) the tool is withheld, with the reason; also for an `invalid` tool, in both modes.
 */
export class PinBook extends EventEmitter<PinBookEvents> implements ToolGate {
  private readonly states = new Map<string, UpstreamState>();
  private readonly pollMs: number;
  private readonly now: () => Millis;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;

  constructor(private readonly options: PinBookOptions) {
    super();
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.now = options.now ?? Date.now;
  }

  /** The mode of an upstream. */
  mode(upstream: string): PinMode {
    return this.options.modes.get(upstream) ?? "enforce";
  }

  /** The tools of `upstream` withheld now, by the upstream's own name, with their reason. */
  quarantined(upstream: string): ReadonlyMap<string, Quarantine> {
    return this.states.get(upstream)?.quarantined ?? new Map();
  }

  /** Stops polling; admissions still work (the gateway closes the store right after). */
  close(): void {
    this.closed = true;
    this.schedule();
  }

  /**
   * Which of the tools an upstream listed may enter the catalog, and why the others may not. Never
   * throws: when the store fails, an enforced upstream's tools are all withheld ("unverified") and a
   * `warn` one's all admitted, and the book asks again on the next poll.
   */
  async admit(upstream: string, tools: readonly Record<string, unknown>[]): Promise<{ admitted: Record<string, unknown>[]; withheld: ReadonlyMap<string, string> }> {
    const mode = this.mode(upstream);
    if (mode === "off") return { admitted: [...tools], withheld: new Map() };
    try {
      return await this.decide(upstream, mode, tools);
    } catch (err) {
      // A bug or an audit log that cannot be written: fail closed rather than break the catalog's reads.
      this.options.log.error(`upstream ${upstream}: tool pinning failed (${(err as Error).message}); its tools are withheld until the next try`);
      this.stateOf(upstream).retry = true;
      this.schedule();
      const withheld = new Map<string, string>();
      for (const t of tools) if (typeof t["name"] === "string") withheld.set(t["name"], "unverified");
      return { admitted: [], withheld };
    }
  }

  private async decide(upstream: string, mode: "enforce" | "warn", tools: readonly Record<string, unknown>[]): Promise<{ admitted: Record<string, unknown>[]; withheld: ReadonlyMap<string, string> }> {
    const state = this.stateOf(upstream);
    const { entries, invalid } = this.prepare(upstream, tools);
    const withheld = new Map<string, string>();
    for (const [name, why] of invalid) {
      withheld.set(name, "invalid");
      if (state.invalidAudited.has(name)) continue;
      state.invalidAudited.add(name);
      this.options.log.error(`upstream ${upstream}: tool ${JSON.stringify(clip(name))} cannot be pinned (${why}); it is withheld`);
      this.record("tool.quarantined", "denied", "warning", upstream, name, "invalid", { upstream, tool: clip(name), mode, error: why });
    }
    try {
      const trusted = await this.judge(upstream, mode, entries, state);
      state.retry = false;
      for (const [name, reason] of state.quarantined) withheld.set(name, reason);
      return { admitted: entries.filter((e) => trusted.has(e.name)).map((e) => e.tool), withheld };
    } catch (err) {
      state.retry = true;
      this.options.log.error(
        `upstream ${upstream}: tool pins unavailable (${(err as Error).message}); ${mode === "enforce" ? "its tools are withheld" : "its tools are exposed unchecked (pin: warn)"} until the store answers`,
      );
      if (mode === "warn") return { admitted: entries.map((e) => e.tool), withheld };
      for (const e of entries) withheld.set(e.name, "unverified");
      return { admitted: [], withheld };
    } finally {
      this.schedule();
    }
  }

  /** Canonical forms and findings; duplicates after the first of a name are dropped (the catalog would drop them too). */
  private prepare(upstream: string, tools: readonly Record<string, unknown>[]): { entries: Entry[]; invalid: Map<string, string> } {
    const entries: Entry[] = [];
    const invalid = new Map<string, string>();
    const names = new Set<string>();
    for (const tool of tools) {
      const name = tool["name"];
      if (typeof name !== "string" || names.has(name)) continue;
      names.add(name);
      if (!isPinnableName(name)) {
        invalid.set(name, `a name of ${name.length} characters${name.isWellFormed() ? "" : " with a lone surrogate"}${name.includes("\u0000") ? " with U+0000" : ""}: 1–${MAX_PINNED_NAME} characters of well-formed text without U+0000 can be pinned`);
        continue;
      }
      try {
        const { definition, hash } = canonicalTool(tool);
        entries.push({ tool, name, definition, hash, findings: this.scan(upstream, tool) });
      } catch (err) {
        invalid.set(name, (err as Error).message);
      }
    }
    return { entries, invalid };
  }

  /** The scanner's findings, bounded; a scanner that throws counts as a finding (fail closed), so a tool that crashes it is not waved through. */
  private scan(upstream: string, tool: Record<string, unknown>): ToolFinding[] {
    if (this.options.flag === undefined) return [];
    let found: readonly { rule: string; path: string; message: string }[];
    try {
      found = this.options.flag(tool);
    } catch (err) {
      this.options.log.error(`upstream ${upstream}: the tool scanner failed on ${JSON.stringify(clip(String(tool["name"])))}: ${(err as Error).message}`);
      return [{ rule: "scanner-error", path: "", message: clip(`the scanner failed: ${(err as Error).message}`, MAX_FINDING_TEXT) }];
    }
    return found.slice(0, MAX_FINDINGS).map((f) => ({ rule: clip(String(f.rule), MAX_FINDING_TEXT), path: clip(String(f.path), MAX_FINDING_TEXT), message: clip(String(f.message), MAX_FINDING_TEXT) }));
  }

  /** Reads (on first sight: writes) the pins, records the observation, audits what is new, and returns the names that may be exposed. */
  private async judge(upstream: string, mode: "enforce" | "warn", entries: readonly Entry[], state: UpstreamState): Promise<Set<string>> {
    const { store, log } = this.options;
    const at = this.now();
    let set = await store.getToolSet(upstream);
    if (set === undefined) {
      const won = await store.pinFirstSight(upstream, entries.map(({ name, definition, hash }) => ({ name, definition, hash })), at);
      set = await store.getToolSet(upstream);
      if (set === undefined) throw new Error("the pinned set vanished while it was written");
      if (won) {
        log.info(`upstream ${upstream}: pinned its ${entries.length} tool(s) on first sight`);
        this.record("tool.pinned", "success", "info", upstream, null, "first sight", { upstream, tools: entries.length, setHash: setHash(entries), mode });
      }
    }
    state.revision = set.revision;
    const prior = await store.replaceObserved(upstream, entries.map(({ name, definition, hash, findings }) => ({ name, definition, hash, findings })), at);
    const pins = new Map(set.pins.map((p) => [p.name, p]));
    const before = new Map(prior.map((p) => [p.name, p]));
    const trusted = new Set<string>();
    const quarantined = new Map<string, Quarantine>();
    for (const e of entries) {
      const pin = pins.get(e.name);
      const was = before.get(e.name);
      const status = statusOf(pin, e);
      if (status === "pinned") {
        trusted.add(e.name);
        if (was !== undefined && was.hash !== e.hash) {
          log.info(`upstream ${upstream}: tool ${JSON.stringify(clip(e.name))} is back to its pinned definition`);
          this.record("tool.changed", "success", "info", upstream, e.name, "restored", { upstream, tool: clip(e.name), change: "restored", mode, pinnedHash: e.hash, observedHash: e.hash });
        }
        continue;
      }
      if (mode === "enforce") quarantined.set(e.name, status);
      else trusted.add(e.name);
      const fresh = was === undefined || was.hash !== e.hash || (status === "flagged" && !sameFindings(was.findings, e.findings));
      if (fresh) this.report(upstream, mode, e, status, pin);
    }
    const listed = new Set(entries.map((e) => e.name));
    for (const pin of set.pins) {
      if (listed.has(pin.name) || !before.has(pin.name)) continue;
      log.warn(`upstream ${upstream}: pinned tool ${JSON.stringify(clip(pin.name))} is no longer offered`);
      this.record("tool.changed", "success", "warning", upstream, pin.name, "removed", { upstream, tool: clip(pin.name), change: "removed", mode, pinnedHash: pin.hash, observedHash: null });
    }
    state.quarantined = quarantined;
    return trusted;
  }

  /** Logs and audits a tool that became untrusted (once per distinct observation). */
  private report(upstream: string, mode: "enforce" | "warn", e: Entry, status: Exclude<ToolStatus, "pinned">, pin: PinnedTool | undefined): void {
    const name = clip(e.name);
    const consequence = mode === "enforce" ? `withheld until \`bastion tools approve ${upstream}\`` : "still exposed (pin: warn)";
    if (status === "flagged") {
      const rules = [...new Set(e.findings.map((f) => f.rule))].join(", ");
      this.options.log.warn(`upstream ${upstream}: tool ${JSON.stringify(name)} flagged by the scanner (${clip(rules)}); ${consequence}`);
      this.record("tool.flagged", "success", "warning", upstream, e.name, clip(rules), { upstream, tool: name, mode, hash: e.hash, findings: e.findings.map((f) => ({ rule: f.rule, path: f.path })) });
    } else {
      const change = status === "new" ? "added" : "changed";
      this.options.log.warn(`upstream ${upstream}: tool ${JSON.stringify(name)} ${status === "new" ? "appeared after the set was pinned" : "changed since it was pinned"}; ${consequence}`);
      this.record("tool.changed", "success", "warning", upstream, e.name, change, { upstream, tool: name, change, mode, pinnedHash: pin?.hash ?? null, observedHash: e.hash });
    }
    if (mode === "enforce") this.record("tool.quarantined", "denied", "warning", upstream, e.name, status, { upstream, tool: name, mode, hash: e.hash });
  }

  private record(type: string, outcome: Outcome, severity: Severity, upstream: string, tool: string | null, reason: string, details: Record<string, unknown>): void {
    this.options.audit?.record({ type, outcome, severity, actor: { user: null, ip: null, session: null, via: "gateway" }, target: tool === null ? upstream : `${upstream}/${clip(tool)}`, reason, details });
  }

  private stateOf(upstream: string): UpstreamState {
    let state = this.states.get(upstream);
    if (state === undefined) {
      state = { revision: undefined, quarantined: new Map(), retry: false, invalidAudited: new Set() };
      this.states.set(upstream, state);
    }
    return state;
  }

  /** Polls while something waits for an approval or for the store; the timer never keeps the process alive. */
  private schedule(): void {
    const needed = !this.closed && [...this.states.values()].some((s) => s.retry || s.quarantined.size > 0);
    if (needed && this.timer === undefined) {
      this.timer = setInterval(() => void this.poll(), this.pollMs);
      this.timer.unref();
    } else if (!needed && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const [upstream, state] of this.states) {
        if (state.retry) {
          state.retry = false; // the admission the listener runs sets it again if the store still fails
          this.emit("changed", upstream);
          continue;
        }
        if (state.quarantined.size === 0) continue;
        const revision = await this.options.store.toolSetRevision(upstream);
        if (revision === undefined || revision === state.revision) continue;
        state.revision = revision;
        this.emit("changed", upstream);
      }
    } catch (err) {
      this.options.log.warn(`tool pins: polling the store failed: ${(err as Error).message}`);
    } finally {
      this.polling = false;
      this.schedule();
    }
  }
}
