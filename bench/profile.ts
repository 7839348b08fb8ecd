// Reads a V8 .cpuprofile written by the gateway (`node --cpu-prof`) and says where its CPU went:
// the hottest functions by self time, mapped back to src/ through dist/'s source maps, and a roll-up by area.
import { existsSync, readFileSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { REPO_ROOT } from "./procs.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  /** `name (src/file.ts:line)` or `name (node:internal/…)`. */
  where: string;
  area: string;
  /** Self time, or inclusive time in the `oursInclusive` list. */
  ms: number;
  /** Share of the CPU the gateway was busy (idle excluded). */
  share: number;
}

export interface ProfileSummary {
  file: string;
  busyMs: number;
  idleMs: number;
  functions: HotFunction[];
  /** The hottest functions of our own code (src/), however far down the overall list they are. */
  ours: HotFunction[];
  /** Share of the busy CPU spent in src/ itself (self time; callees in Node or dependencies not included). */
  oursShare: number;
  /** src/ functions by inclusive time (themselves and all they call): what each step of the gateway costs in total. */
  oursInclusive: HotFunction[];
  areas: { area: string; selfMs: number; share: number }[];
}

const DIST = path.join(REPO_ROOT, "dist") + path.sep;
const maps = new Map<string, SourceMap | undefined>();

/** dist/… position → src/… position, through the .js.map tsc wrote next to each file. */
function original(file: string, line: number, column: number): { file: string; line: number } {
  if (!maps.has(file)) {
    const mapFile = `${file}.map`;
    maps.set(file, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, "utf8")) as SourceMapPayload) : undefined);
  }
  const entry = maps.get(file)?.findEntry(line, column);
  if (entry !== undefined && "originalSource" in entry) {
    const source = entry.originalSource.startsWith("file:") ? fileURLToPath(entry.originalSource) : path.resolve(path.dirname(file), entry.originalSource);
    return { file: path.relative(REPO_ROOT, source), line: entry.originalLine + 1 };
  }
  return { file: path.relative(REPO_ROOT, file), line: line + 1 };
}

/** The area a frame belongs to: a src/ file of ours, a dependency, Node's own JS, or V8's pseudo-frames. */
function classify(frame: CallFrame): { area: string; where: string } {
  const name = frame.functionName === "" ? "(anonymous)" : frame.functionName;
  const url = frame.url;
  if (url === "") return { area: name.startsWith("(") ? name : "(native)", where: name };
  if (url.startsWith("node:")) return { area: "node internals", where: `${name} (${url.slice(5)}:${frame.lineNumber + 1})` };
  const file = url.startsWith("file:") ? fileURLToPath(url) : url;
  if (file.startsWith(DIST)) {
    const at = original(file, frame.lineNumber, frame.columnNumber);
    return { area: at.file, where: `${name} (${at.file}:${at.line})` };
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1];
  if (pkg !== undefined) return { area: `node_modules/${pkg}`, where: `${name} (${pkg})` };
  return { area: path.relative(REPO_ROOT, file), where: `${name} (${path.relative(REPO_ROOT, file)}:${frame.lineNumber + 1})` };
}

export function summarizeProfile(file: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time since the previous sample; it is charged to the frame sampled at i.
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const functions = new Map<string, { area: string; us: number }>();
  const areas = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { area, where } = classify(node.callFrame);
    if (area === "(idle)") {
      idle += us;
      continue;
    }
    busy += us;
    const f = functions.get(where) ?? { area, us: 0 };
    f.us += us;
    functions.set(where, f);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  // Inclusive time of our own functions: walk each sample's stack, crediting each src/ function once per sample.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  const frames = new Map<number, { area: string; where: string }>();
  const frameOf = (id: number): { area: string; where: string } | undefined => {
    if (!frames.has(id)) {
      const node = byId.get(id);
      if (node !== undefined) frames.set(id, classify(node.callFrame));
    }
    return frames.get(id);
  };
  profile.samples.forEach((leaf, i) => {
    const seen = new Set<string>();
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const f = frameOf(id);
      if (f === undefined || f.area === "(idle)" || !f.area.startsWith("src/") || seen.has(f.where)) continue;
      seen.add(f.where);
      inclusive.set(f.where, (inclusive.get(f.where) ?? 0) + (profile.timeDeltas[i] ?? 0));
    }
  });
  const share = (us: number): number => (busy === 0 ? 0 : us / busy);
  const ranked = [...functions.entries()].sort((a, b) => b[1].us - a[1].us).map(([where, f]) => ({ where, area: f.area, ms: f.us / 1000, share: share(f.us) }));
  const isOurs = (area: string): boolean => area.startsWith("src/");
  return {
    file,
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    functions: ranked.slice(0, top),
    ours: ranked.filter((f) => isOurs(f.area)).slice(0, top),
    oursShare: [...areas.entries()].filter(([area]) => isOurs(area)).reduce((s, [, us]) => s + share(us), 0),
    oursInclusive: [...inclusive.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, us]) => ({ where, area: where.replace(/^.*\((src\/[^:]+):.*$/, "$1"), ms: us / 1000, share: share(us) })),
    areas: [...areas.entries()].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, selfMs: us / 1000, share: share(us) })),
  };
}
