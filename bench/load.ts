// Throughput under concurrent load with autocannon: a warm-up run that is thrown away, then the measured run.
import autocannon from "autocannon";
import { EXPECTED_TEXT, ID_PLACEHOLDER, prepare, type Target } from "./mcp.ts";
import { machineBusyMs, selfCpuMs, treeCpu, type Server } from "./procs.ts";
import { quantile } from "./stats.ts";

export interface LoadSettings {
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /**
   * Seconds before autocannon counts a request as timed out. Shorter than a run, or a request that is
   * never answered just idles its connection unseen (autocannon reports only what completed).
   */
  timeoutSeconds: number;
}

/** CPU a process spent per completed request during the measured run, in µs. */
export interface CpuShare {
  label: string;
  usPerRequest: number;
  /** Share of one core over the run (1 = a whole core). */
  cores: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  /** Latencies of 2xx answers in ms, from autocannon's per-response timings (its own histogram keeps only whole ms). */
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** 2xx answers whose body was not the expected echo. */
  mismatches: number;
  statusCodes: Record<string, number>;
  cpu: CpuShare[];
  /** Cores busy with processes that are not part of this case (neighbours on the shared machine), on average over the run. */
  otherCores: number;
}

async function cannon(url: string, headers: Record<string, string>, body: string, connections: number, seconds: number, timeout: number, latencies?: number[]) {
  const instance = autocannon({ url, method: "POST", headers, body, idReplacement: body.includes(ID_PLACEHOLDER), connections, duration: seconds, timeout, verifyBody: (b) => b.includes(EXPECTED_TEXT) });
  if (latencies !== undefined)
    instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  return await instance;
}

/** Loads `target` and measures; `servers` are the processes whose CPU is attributed to this case (their children included). */
export async function measureLoad(target: Target, servers: readonly Server[], settings: LoadSettings): Promise<LoadResult> {
  const call = await prepare(target);
  try {
    if (settings.warmupSeconds > 0) await cannon(call.url, call.headers, call.body, settings.connections, settings.warmupSeconds, settings.timeoutSeconds);

    const latencies: number[] = [];
    const before = servers.map((s) => treeCpu(s.pid));
    const loadBefore = selfCpuMs();
    const machineBefore = machineBusyMs();
    const r = await cannon(call.url, call.headers, call.body, settings.connections, settings.seconds, settings.timeoutSeconds, latencies);
    const loadCpu = selfCpuMs() - loadBefore;
    const machine = machineBusyMs() - machineBefore;
    const after = servers.map((s) => treeCpu(s.pid));

    // autocannon's own count and clock: completed requests between its start and its final tick.
    const requests = r.requests.total;
    const seconds = r.duration;
    const perRequest = (ms: number): number => (requests === 0 ? 0 : (ms * 1000) / requests);
    const cpu: CpuShare[] = [{ label: "load generator", usPerRequest: perRequest(loadCpu), cores: loadCpu / 1000 / seconds }];
    servers.forEach((s, i) => {
      const own = (after[i]?.own ?? 0) - (before[i]?.own ?? 0);
      const kids = (after[i]?.descendants ?? 0) - (before[i]?.descendants ?? 0);
      cpu.push({ label: s.label, usPerRequest: perRequest(own), cores: own / 1000 / seconds });
      // A child that was idle during the run (the other upstream) is not worth a line.
      if (kids > 0) cpu.push({ label: `${s.label} → its stdio child`, usPerRequest: perRequest(kids), cores: kids / 1000 / seconds });
    });
    // The box is shared: whatever else ran (another build, a test suite) shows up here and explains a bad run.
    const ours = cpu.reduce((sum, c) => sum + c.cores, 0);
    const others = Math.max(0, machine / 1000 / seconds - ours);

    latencies.sort((a, b) => a - b);
    return {
      requests,
      seconds,
      rps: requests / seconds,
      p50: quantile(latencies, 0.5),
      p90: quantile(latencies, 0.9),
      p99: quantile(latencies, 0.99),
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      mismatches: r.mismatches,
      otherCores: others,
      statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count])),
      cpu,
    };
  } finally {
    await call.release();
  }
}
