// Turns the measurements into the console report, the README table and bench/results/latest.json.
import type { LoadResult } from "./load.ts";
import type { Era } from "./mcp.ts";
import type { ProfileSummary } from "./profile.ts";
import type { SdkResult } from "./sdk.ts";
import { round } from "./stats.ts";

/** Which server stands between the load generator and the fixture. */
export type PathId = "direct" | "bastion-stdio" | "bastion-http" | "bastion-http-session" | "bastion-stdio-jwt" | "bastion-stdio-anonymous" | "bastion-stdio-noaudit" | "mcp-proxy" | "supergateway";

export interface LoadCase {
  path: PathId;
  label: string;
  era: Era;
  /** What differs from the standard settings, or how the server behaves, in a few words. */
  note?: string;
  /** Every round's measurement, in order. */
  rounds: LoadResult[];
  errors: string[];
  /** The round reported (median throughput); undefined when every round failed. */
  result?: LoadResult;
}

export interface Added {
  sdk: string;
  path: string;
  p50: number;
  p99: number;
}

const ERA_NAME: Record<Era, string> = { "2026-07-28": "2026-07-28 (stateless)", "2025-11-25": "2025-11-25 (session)" };
const fmt = (v: number | undefined, digits = 2): string => (v === undefined || !Number.isFinite(v) ? "–" : round(v, digits).toFixed(digits));
const int = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? "–" : Math.round(v).toString());

export function find(cases: readonly LoadCase[], path: PathId, era: Era): LoadResult | undefined {
  return cases.find((c) => c.path === path && c.era === era)?.result;
}

/** throughput(path) / throughput(base) in one era; undefined when either is missing. */
export function ratio(cases: readonly LoadCase[], path: PathId, base: PathId, era: Era): number | undefined {
  const a = find(cases, path, era);
  const b = find(cases, base, era);
  return a === undefined || b === undefined || b.rps === 0 ? undefined : a.rps / b.rps;
}

/** One console line per measured round, printed as soon as it is done. */
export function caseLine(c: LoadCase, r: LoadResult | undefined, error?: string): string {
  const head = `${c.era}  ${c.label.padEnd(44)}`;
  if (r === undefined) return `${head} FAILED: ${error ?? "?"}`;
  const faults = r.errors + r.non2xx + r.mismatches;
  const cpu = `${r.cpu.map((s) => `${s.label} ${int(s.usPerRequest)}`).join(", ")}; other processes busy ${fmt(r.otherCores, 2)} cores`;
  return `${head} ${int(r.rps).padStart(6)} req/s  p50 ${fmt(r.p50).padStart(6)}  p99 ${fmt(r.p99).padStart(7)} ms  ${faults === 0 ? "no errors" : `errors ${r.errors} (timeouts ${r.timeouts}), non-2xx ${r.non2xx}, wrong body ${r.mismatches}`}\n${" ".repeat(58)}CPU µs/req: ${cpu}`;
}

export function throughputTable(cases: readonly LoadCase[], eras: readonly Era[]): string {
  const paths = [...new Map(cases.map((c) => [c.path, c])).values()];
  const head = ["path", ...eras.flatMap((e) => [`${e} req/s`, "p50 ms", "p99 ms", "÷ direct"])];
  const rows = paths.map((p) => [
    p.label,
    ...eras.flatMap((e) => {
      const c = cases.find((x) => x.path === p.path && x.era === e);
      const r = c?.result;
      if (c === undefined) return ["n/a", "", "", ""];
      if (r === undefined) return ["failed", "", "", ""];
      const bad = r.errors + r.non2xx + r.mismatches;
      // With several rounds, the spread tells how far to trust the median on a shared machine.
      const all = c.rounds.map((x) => x.rps);
      const spread = all.length > 1 ? ` (${int(Math.min(...all))}–${int(Math.max(...all))})` : "";
      return [`${int(r.rps)}${spread}${bad > 0 ? ` (${bad} err)` : ""}`, fmt(r.p50, 1), fmt(r.p99, 1), fmt(ratio(cases, p.path, "direct", e))];
    }),
  ]);
  return markdown(head, rows);
}

export function latencyTable(results: readonly SdkResult[], added: readonly Added[]): string {
  const head = ["client (era)", "path", "calls/s", "p50 ms", "p99 ms", "added p50", "added p99"];
  const rows = results.map((r) => {
    const a = added.find((x) => x.sdk === r.sdk && x.path === r.path);
    return [`SDK ${r.sdk} (${r.era})`, r.path, int(r.callsPerSec), fmt(r.p50), fmt(r.p99), a === undefined ? "" : `${a.p50 >= 0 ? "+" : ""}${fmt(a.p50)}`, a === undefined ? "" : `${a.p99 >= 0 ? "+" : ""}${fmt(a.p99)}`];
  });
  return markdown(head, rows);
}

/** Where the CPU goes per request, per process: the honest explanation of every ratio on a 2-core box. */
export function cpuTable(cases: readonly LoadCase[]): string {
  const rows = cases
    .filter((c) => c.result !== undefined)
    .map((c) => {
      const r = c.result as LoadResult;
      const servers = r.cpu.filter((s) => s.label !== "load generator");
      const total = servers.reduce((s, x) => s + x.usPerRequest, 0);
      const load = r.cpu.find((s) => s.label === "load generator");
      return [c.era, c.label, int(load?.usPerRequest), servers.map((s) => `${s.label} ${int(s.usPerRequest)}`).join(" + "), int(total), fmt(r.cpu.reduce((s, x) => s + x.cores, 0), 2), fmt(r.otherCores, 2)];
    });
  return markdown(["era", "path", "load gen µs/req", "server side µs/req", "server total", "our cores", "others' cores"], rows);
}

export function profileReport(name: string, p: ProfileSummary): string {
  const pct = (s: number): string => `${(s * 100).toFixed(1)}%`;
  const lines = [`### ${name}`, "", `busy ${int(p.busyMs)} ms, idle ${int(p.idleMs)} ms; our own code (src/) self time: ${pct(p.oursShare)} of busy`, ""];
  lines.push("By area (self time):", "", markdown(["area", "self ms", "share"], p.areas.slice(0, 12).map((a) => [a.area, int(a.selfMs), pct(a.share)])), "");
  lines.push("Hottest functions (self time):", "", markdown(["function", "self ms", "share"], p.functions.slice(0, 15).map((f) => [f.where, int(f.ms), pct(f.share)])), "");
  lines.push("Hottest src/ functions (self time):", "", markdown(["function", "self ms", "share"], p.ours.slice(0, 10).map((f) => [f.where, int(f.ms), pct(f.share)])), "");
  lines.push("src/ functions by inclusive time (with everything they call):", "", markdown(["function", "incl. ms", "share"], p.oursInclusive.slice(0, 15).map((f) => [f.where, int(f.ms), pct(f.share)])));
  return lines.join("\n");
}

export function eraName(e: Era): string {
  return ERA_NAME[e];
}

function markdown(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}
