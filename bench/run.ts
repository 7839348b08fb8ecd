// `npm run bench`: what mcp-bastion costs compared with calling the MCP server directly and with the
// stdio→HTTP bridges people use instead, measured in one run on one machine so the ratios are honest.
//
//   throughput  autocannon, N connections of `tools/call echo`, in both protocol eras:
//               direct to the fixture over HTTP (a), through the gateway to the fixture over stdio (b)
//               and over HTTP (c), the gateway with its audit log off, mcp-proxy and supergateway.
//   latency     sequential calls by real SDK clients (v1: session era, v2: 2026-07-28), direct vs gateway.
//   checks      in process: a credential's verification, and a call's validation (schema, detectors, conditions, response rules).
//   profile     BENCH_PROFILE=1: the gateway under load again with --cpu-prof, and where its CPU went.
//
// Settings (environment): BENCH_SECONDS (8) measured seconds per case, BENCH_WARMUP_SECONDS (2),
// BENCH_CONNECTIONS (10), BENCH_CALLS (1000) sequential SDK calls per path, BENCH_SDK_WARMUP (100),
// BENCH_ROUNDS (1) times every throughput case runs, taking turns (the median round is reported),
// BENCH_PROFILE (0|1), BENCH_ONLY (comma list of throughput,alternatives,latency: run only those parts).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { measureLoad, type LoadResult, type LoadSettings } from "./load.ts";
import { ERAS, type Era, type Target } from "./mcp.ts";
import { BASTION, FIXTURE, FIXTURE_STDIO, MCP_PROXY, REPO_ROOT, SUPERGATEWAY, freePort, startServer, waitForPort, type Server } from "./procs.ts";
import { summarizeProfile, type ProfileSummary } from "./profile.ts";
import { caseLine, cpuTable, eraName, find, latencyTable, profileReport, ratio, throughputTable, type Added, type LoadCase, type PathId } from "./report.ts";
import { measureSequential, type SdkPath, type SdkResult } from "./sdk.ts";
import { round } from "./stats.ts";
import { validationCost } from "./validation.ts";

const num = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name}: expected a non-negative number, got "${raw}"`);
  return v;
};

const settings = {
  seconds: num("BENCH_SECONDS", 8),
  rounds: Math.max(1, Math.round(num("BENCH_ROUNDS", 1))),
  warmupSeconds: num("BENCH_WARMUP_SECONDS", 2),
  connections: num("BENCH_CONNECTIONS", 10),
  calls: num("BENCH_CALLS", 1000),
  sdkWarmup: num("BENCH_SDK_WARMUP", 100),
  profile: process.env["BENCH_PROFILE"] === "1",
  only: (process.env["BENCH_ONLY"] ?? "throughput,alternatives,latency").split(",").map((s) => s.trim()),
};
// Healthy answers take well under a second here; a 5 s timeout (below the run length) makes lost answers visible as errors.
const load: LoadSettings = { connections: settings.connections, seconds: settings.seconds, warmupSeconds: settings.warmupSeconds, timeoutSeconds: Math.min(5, Math.max(1, settings.seconds / 2)) };

const RESULTS = path.join(REPO_ROOT, "bench/results");
const version = (pkg: string): string => (JSON.parse(readFileSync(path.join(REPO_ROOT, "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version;
const log = (text: string): void => void process.stdout.write(`${text}\n`);
const started = performance.now();
/** Configs and audit logs of this run's gateways; removed however the run ends (see main). */
let tmp = "";

// ---- servers -------------------------------------------------------------------------------------

async function startFixtureHttp(): Promise<{ server: Server; url: string }> {
  const { server, ready } = await startServer({
    label: "fixture",
    command: process.execPath,
    args: ["--import", "tsx", FIXTURE, "http", "--port", "0"],
    ready: (out) => /^listening (\S+)$/m.exec(out)?.[1],
  });
  return { server, url: ready };
}

/**
 * The gateway as users run it (`bastion serve`), from dist/, in front of the fixture over stdio (`fx`)
 * and over HTTP (`fxh` in 2026-07-28, `fxs` in the session era; the same process as the direct case).
 * `--json` prints one line once every upstream settled.
 */
async function startGateway(name: string, fixtureUrl: string, opts: { audit: boolean; anonymous?: boolean; nodeArgs?: string[] }): Promise<{ server: Server; url: string; auditLog: string; key: string; token: string }> {
  const auditLog = path.join(tmp, `${name}.audit.log`);
  const config = {
    server: { host: "127.0.0.1", port: 0 },
    upstreams: {
      fx: { command: process.execPath, args: FIXTURE_STDIO.slice(1), cwd: REPO_ROOT },
      fxh: { url: fixtureUrl },
      // The same HTTP fixture with the gateway speaking the session era to it: the fixture's per-request
      // 2026-07-28 handler costs it several times the CPU of its session path, and this row shows how much of (c) that is.
      fxs: { url: fixtureUrl, protocol: "legacy" },
    },
    audit: { enabled: opts.audit, path: auditLog, keyFile: path.join(tmp, "audit.key") },
    roles: { admin: { permissions: ["*"] }, anonymous: { permissions: ["*"] } },
    // Each gateway its own store and keys; callers authenticate unless this one measures the anonymous path.
    store: { driver: "sqlite", path: path.join(tmp, `${name}.db`) },
    auth: { anonymous: opts.anonymous === true, jwt: { keyFile: path.join(tmp, `${name}.jwt.key`) }, secretsKeyFile: path.join(tmp, `${name}.identity.key`) },
  };
  const file = path.join(tmp, `${name}.yaml`);
  // JSON is YAML; no need to hand-format the file.
  writeFileSync(file, JSON.stringify(config, null, 2));
  const { server, ready } = await startServer({
    label: "gateway",
    command: process.execPath,
    args: [...(opts.nodeArgs ?? []), BASTION, "serve", "--config", file, "--json"],
    ready: (out) => {
      const line = out.split("\n").find((l, i, all) => l.startsWith("{") && i < all.length - 1);
      if (line === undefined) return undefined;
      const info = JSON.parse(line) as { url: string; upstreams: { name: string; state: string; error?: string }[] };
      const down = info.upstreams.filter((u) => u.state !== "ready");
      if (down.length > 0) throw new Error(`upstreams not ready: ${JSON.stringify(down)}`);
      return info.url;
    },
  });
  // A user of the bench, its API key and an access token, made as an operator would (the CLI, same store).
  const cli = (...args: string[]): string => execFileSync(process.execPath, [BASTION, ...args, "--config", file, "--json"], { encoding: "utf8" });
  cli("user", "add", "bench", "--role", "admin", "--no-password");
  const key = (JSON.parse(cli("apikey", "create", "--user", "bench", "--scopes", "*")) as { key: string }).key;
  // The access token through the client-credentials grant: `bastion token` would name the configured port (0) as the audience.
  const { id } = JSON.parse(cli("apikey", "list")).find(() => true) as { id: string };
  const grant = await fetch(ready.replace(/\/mcp$/, "/auth/token"), { method: "POST", body: new URLSearchParams({ grant_type: "client_credentials", client_id: id, client_secret: key }) });
  const token = ((await grant.json()) as { access_token?: string }).access_token;
  if (token === undefined) throw new Error(`client_credentials grant: HTTP ${grant.status}`);
  return { server, url: ready, auditLog, key, token };
}

async function startMcpProxy(): Promise<{ server: Server; url: string }> {
  const port = await freePort();
  // Defaults otherwise: stateful sessions, resumability event store on, legacy (initialize) handshake to the child.
  const { server } = await startServer({
    label: "mcp-proxy",
    command: process.execPath,
    args: [MCP_PROXY, "--host", "127.0.0.1", "--port", String(port), "--server", "stream", "--", ...FIXTURE_STDIO],
    // It connects to its child before it listens, and prints this line just before listening.
    ready: (out) => (out.includes("starting server on port") ? "up" : undefined),
  });
  await waitForPort(port);
  return { server, url: `http://127.0.0.1:${port}/mcp` };
}

async function startSupergateway(): Promise<{ server: Server; url: string }> {
  const port = await freePort();
  // --stateful: one child per session (its default stateless mode spawns a child per request in both eras).
  // --logLevel none: its default logs every message to stdout, which no one benchmarking would keep.
  // It has no host option and listens on every interface; only for the seconds of its cases.
  const { server } = await startServer({
    label: "supergateway",
    command: process.execPath,
    args: [SUPERGATEWAY, "--stdio", FIXTURE_STDIO.join(" "), "--outputTransport", "streamableHttp", "--stateful", "--port", String(port), "--logLevel", "none"],
    ready: () => "started",
  });
  await waitForPort(port);
  return { server, url: `http://127.0.0.1:${port}/mcp` };
}

// ---- measurement -------------------------------------------------------------------------------

/** One throughput case: which server, which era, and whose CPU counts for it. */
interface CaseSpec {
  path: PathId;
  label: string;
  era: Era;
  note?: string;
  target: Omit<Target, "era">;
  servers: readonly Server[];
  override?: Partial<LoadSettings>;
}

const cases: LoadCase[] = [];

async function runCase(entry: LoadCase, spec: CaseSpec): Promise<void> {
  try {
    const r = await measureLoad({ ...spec.target, era: spec.era }, spec.servers, { ...load, ...spec.override });
    entry.rounds.push(r);
    log(caseLine(entry, r));
  } catch (err) {
    const message = (err as Error).message.split("\n")[0] ?? String(err);
    entry.errors.push(message);
    log(caseLine(entry, undefined, message));
  }
}

/** The round with the median throughput (the lower middle one for an even count), so one disturbed round does not decide. */
function medianRound(rounds: readonly LoadResult[]): LoadResult | undefined {
  const sorted = [...rounds].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Builds dist/; returns the type errors when tsc reported some but still emitted (others may be mid-edit in src/). */
function build(): string | undefined {
  log("building dist/ (npm run build)…");
  const before = Date.now();
  try {
    execFileSync("npm", ["run", "build"], { cwd: REPO_ROOT, stdio: "pipe" });
    return undefined;
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    const output = `${e.stdout?.toString() ?? ""}${e.stderr?.toString() ?? ""}`;
    // tsc emits despite type errors; a dist/ written just now is the current src/, so the numbers still mean something.
    const emitted = (() => {
      try {
        return statSync(path.join(REPO_ROOT, "dist/gateway.js")).mtimeMs >= before - 1000;
      } catch {
        return false;
      }
    })();
    if (!emitted) {
      process.stderr.write(`${output}\nbench: npm run build failed; the gateway cannot be measured\n`);
      process.exit(1);
    }
    const errors = output.split("\n").filter((l) => /error TS\d+/.test(l));
    log(`warning: npm run build reported ${errors.length} type error(s) but emitted dist/; measuring it anyway:\n  ${errors.slice(0, 5).join("\n  ")}`);
    return errors.join("\n");
  }
}

function gitState(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "bin", "package.json"], { cwd: REPO_ROOT, encoding: "utf8" }).trim() !== "";
    return { commit, dirty };
  } catch {
    return { commit: "unknown", dirty: false };
  }
}

/**
 * The per-call CPU of checking a credential, in process: an access token (signature and claims, both
 * algorithm families) and an API key (hash and constant-time compare). The store look-up comes on top.
 */
async function verifyCost(): Promise<{ what: string; us: number }[]> {
  const { TokenService, fileKey, secretKey } = await import("../src/authn/tokens.ts");
  const { apiKeyHash, apiKeyMatches, newApiKey } = await import("../src/authn/apikeys.ts");
  const out: { what: string; us: number }[] = [];
  const time = async (what: string, n: number, fn: () => Promise<unknown> | unknown): Promise<void> => {
    for (let i = 0; i < 200; i++) await fn();
    const start = performance.now();
    for (let i = 0; i < n; i++) await fn();
    out.push({ what, us: ((performance.now() - start) * 1000) / n });
  };
  for (const key of [await fileKey(path.join(tmp, "verify-eddsa.key"), "EdDSA"), await fileKey(path.join(tmp, "verify-es256.key"), "ES256"), secretKey("x".repeat(32))]) {
    const tokens = new TokenService({ issuer: "http://127.0.0.1", audience: "http://127.0.0.1/mcp", ttlSeconds: 3600, leewaySeconds: 30, key });
    // A token's first check (signature and claims) and a repeated one (the gateway remembers verified tokens).
    const fresh: string[] = [];
    for (let i = 0; i < 2200; i++) fresh.push((await tokens.issue({ sub: "u", name: "bench", sid: "s", roles: ["admin"], scope: undefined })).token);
    let next = 0;
    await time(`${key.alg} access token, first use`, 2000, () => tokens.verify(fresh[next++] as string));
    const token = fresh[0] as string;
    await time(`${key.alg} access token, again`, 20000, () => tokens.verify(token));
  }
  const { key } = newApiKey();
  const hash = apiKeyHash(key);
  await time("API key", 20000, () => apiKeyMatches(key, hash));
  return out;
}

/** Records in an audit log and their average size: the gateway writes one per tools/call. */
function auditStats(file: string): { records: number; bytes: number } {
  try {
    const bytes = statSync(file).size;
    const text = readFileSync(file, "utf8");
    let records = 0;
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) records++;
    return { records, bytes };
  } catch {
    return { records: 0, bytes: 0 };
  }
}

async function main(): Promise<void> {
  const buildErrors = build();
  tmp = mkdtempSync(path.join(os.tmpdir(), "bastion-bench-"));
  // Also on Ctrl-C or a crash: procs.ts turns those into process.exit, which runs this.
  process.once("exit", () => rmSync(tmp, { recursive: true, force: true }));
  const git = gitState();
  const versions = { mcpProxy: version("mcp-proxy"), supergateway: version("supergateway"), sdkV1: version("@modelcontextprotocol/sdk"), sdkV2: version("@modelcontextprotocol/client"), autocannon: version("autocannon") };
  log(
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? "?"}, node ${process.version}, load avg ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}\n` +
      `settings: ${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ${settings.seconds} s per case, ${settings.rounds} round(s); ${settings.calls} sequential SDK calls per path\n`,
  );

  const fixture = await startFixtureHttp();
  const stops: Server[] = [fixture.server];
  const sdk: SdkResult[] = [];
  const added: Added[] = [];
  const profiles: { name: string; summary: ProfileSummary }[] = [];
  let audit = { records: 0, bytes: 0 };
  try {
    const gw = await startGateway("gateway", fixture.url, { audit: true });
    stops.push(gw.server);

    // Every server is up before the first measurement and the cases take turns, era by era and round by
    // round: the machine is shared, and a neighbour's build must not land on one path only.
    const specs: CaseSpec[] = [];
    if (settings.only.includes("throughput")) {
      const quiet = await startGateway("gateway-noaudit", fixture.url, { audit: false });
      const anon = await startGateway("gateway-anonymous", fixture.url, { audit: true, anonymous: true });
      stops.push(quiet.server, anon.server);
      for (const era of ERAS) {
        specs.push({ path: "direct", label: "direct: fixture over HTTP", era, target: { url: fixture.url, tool: "echo" }, servers: [fixture.server] });
        specs.push({ path: "bastion-stdio", label: "bastion → fixture (stdio)", era, target: { url: gw.url, tool: "fx.echo", bearer: gw.key }, servers: [gw.server] });
        specs.push({ path: "bastion-http", label: "bastion → fixture (HTTP)", era, target: { url: gw.url, tool: "fxh.echo", bearer: gw.key }, servers: [gw.server, fixture.server] });
        specs.push({ path: "bastion-http-session", label: "bastion → fixture (HTTP, session upstream)", era, target: { url: gw.url, tool: "fxs.echo", bearer: gw.key }, servers: [gw.server, fixture.server] });
        if (era === "2026-07-28") {
          // What identity costs: the same stdio path with an access token (signature + session look-up) and with no credentials at all.
          specs.push({ path: "bastion-stdio-jwt", label: "bastion → stdio, access token", era, target: { url: gw.url, tool: "fx.echo", bearer: gw.token }, servers: [gw.server] });
          specs.push({ path: "bastion-stdio-anonymous", label: "bastion → stdio, anonymous (no identity)", era, target: { url: anon.url, tool: "fx.echo" }, servers: [anon.server] });
          // What the audit log costs: the same stdio path with audit.enabled false.
          specs.push({ path: "bastion-stdio-noaudit", label: "bastion → stdio, audit log off", era, target: { url: quiet.url, tool: "fx.echo", bearer: quiet.key }, servers: [quiet.server] });
        }
      }
    }
    if (settings.only.includes("alternatives")) {
      const proxy = await startMcpProxy();
      const sg = await startSupergateway();
      stops.push(proxy.server, sg.server);
      for (const era of ERAS) {
        specs.push({ path: "mcp-proxy", label: `mcp-proxy ${versions.mcpProxy} → stdio`, era, target: { url: proxy.url, tool: "echo" }, servers: [proxy.server] });
        if (era === "2025-11-25")
          specs.push({ path: "supergateway", label: `supergateway ${versions.supergateway} → stdio`, era, note: "--stateful: one child per session", target: { url: sg.url, tool: "echo" }, servers: [sg.server] });
      }
      // 2026-07-28 requests get a fresh child process each (spawn, handshake, call, exit), whatever the mode;
      // fewer connections and a longer timeout, or the box drowns in process start-ups and everything times out.
      // Last in each round, so the process churn it leaves behind disturbs no other case.
      specs.push({
        path: "supergateway",
        label: `supergateway ${versions.supergateway} → stdio`,
        era: "2026-07-28",
        note: "spawns a child per request; 2 connections, 30 s timeout; its exited children's CPU shows as others' cores",
        target: { url: sg.url, tool: "echo" },
        servers: [sg.server],
        override: { connections: Math.min(2, settings.connections), timeoutSeconds: 30 },
      });
    }
    if (specs.length > 0) {
      log(`== throughput: tools/call echo under concurrent load${settings.rounds > 1 ? `, ${settings.rounds} rounds` : ""} ==`);
      for (const spec of specs) cases.push({ path: spec.path, label: spec.label, era: spec.era, ...(spec.note === undefined ? {} : { note: spec.note }), rounds: [], errors: [] });
      for (let round = 1; round <= settings.rounds; round++) {
        if (settings.rounds > 1) log(`-- round ${round} --`);
        for (const [i, spec] of specs.entries()) await runCase(cases[i] as LoadCase, spec);
      }
      for (const c of cases) {
        const median = medianRound(c.rounds);
        if (median !== undefined) c.result = median;
      }
    }

    if (settings.only.includes("latency")) {
      log(`\n== latency: ${settings.calls} sequential callTool(echo) per path, SDK clients ==`);
      const paths: SdkPath[] = [
        { label: "direct (HTTP)", url: fixture.url, tool: "echo" },
        { label: "bastion → stdio", url: gw.url, tool: "fx.echo", bearer: gw.key },
        { label: "bastion → HTTP", url: gw.url, tool: "fxh.echo", bearer: gw.key },
        { label: "bastion → HTTP (session upstream)", url: gw.url, tool: "fxs.echo", bearer: gw.key },
      ];
      for (const which of ["v1", "v2"] as const) {
        try {
          const rows = await measureSequential(which, paths, settings.calls, settings.sdkWarmup);
          sdk.push(...rows);
          const direct = rows[0];
          for (const r of rows.slice(1)) if (direct !== undefined) added.push({ sdk: which, path: r.path, p50: r.p50 - direct.p50, p99: r.p99 - direct.p99 });
          for (const r of rows) log(`SDK ${which} (${r.era})  ${r.path.padEnd(34)} ${Math.round(r.callsPerSec).toString().padStart(5)} calls/s  p50 ${r.p50.toFixed(2)}  p90 ${r.p90.toFixed(2)}  p99 ${r.p99.toFixed(2)} ms`);
        } catch (err) {
          log(`SDK ${which}: FAILED: ${(err as Error).message}`);
        }
      }
    }

    await gw.server.stop();
    audit = auditStats(gw.auditLog);

    if (settings.profile) {
      log("\n== profile: the gateway under the same load with --cpu-prof ==");
      const scenarios: { name: string; era: Era; tool: string; servers: (gw: Server) => Server[] }[] = [
        { name: "2026-07-28 → stdio", era: "2026-07-28", tool: "fx.echo", servers: (g) => [g] },
        { name: "2026-07-28 → HTTP", era: "2026-07-28", tool: "fxh.echo", servers: (g) => [g, fixture.server] },
        { name: "2025-11-25 → stdio", era: "2025-11-25", tool: "fx.echo", servers: (g) => [g] },
      ];
      for (const [i, s] of scenarios.entries()) {
        const dir = path.join(RESULTS, "profiles", `${i + 1}-${s.name.replace(/[^A-Za-z0-9-]+/g, "_")}`);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        const pgw = await startGateway(`profile-${i}`, fixture.url, { audit: true, nodeArgs: ["--cpu-prof", "--cpu-prof-dir", dir] });
        try {
          const r = await measureLoad({ url: pgw.url, tool: s.tool, era: s.era, bearer: pgw.key }, s.servers(pgw.server), load);
          log(`${s.name}: ${Math.round(r.rps)} req/s under the profiler`);
        } finally {
          await pgw.server.stop();
        }
        const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
        if (file === undefined) log(`${s.name}: no .cpuprofile written`);
        else profiles.push({ name: s.name, summary: summarizeProfile(path.join(dir, file)) });
      }
    }
  } finally {
    for (const s of stops.reverse()) await s.stop();
    rmSync(tmp, { recursive: true, force: true });
  }

  // ---- report ------------------------------------------------------------------------------------
  const wallSeconds = (performance.now() - started) / 1000;
  const modern: Era = "2026-07-28";
  const targets = [
    { what: "(b)/(a) stateless: bastion→stdio ÷ direct ≥ 1.0", value: ratio(cases, "bastion-stdio", "direct", modern), min: 1.0 },
    { what: "(c)/(a) stateless: bastion→HTTP ÷ direct ≥ 0.6", value: ratio(cases, "bastion-http", "direct", modern), min: 0.6 },
  ];
  const checks = [
    ...targets.map((t) => ({ what: t.what, value: t.value === undefined ? "n/a" : round(t.value, 2).toString(), met: t.value !== undefined && t.value >= t.min })),
    ...added.map((a) => ({ what: `added p50 ≤ 1 ms: SDK ${a.sdk}, ${a.path}`, value: `${round(a.p50, 2)} ms`, met: a.p50 <= 1 })),
  ];
  const ratios = Object.fromEntries(
    ERAS.map((e) => [
      e,
      {
        bOverA: ratio(cases, "bastion-stdio", "direct", e),
        cOverA: ratio(cases, "bastion-http", "direct", e),
        cSessionUpstreamOverA: ratio(cases, "bastion-http-session", "direct", e),
        mcpProxyOverB: ratio(cases, "mcp-proxy", "bastion-stdio", e),
        supergatewayOverB: ratio(cases, "supergateway", "bastion-stdio", e),
      },
    ]),
  );
  const auditCost = (() => {
    const on = find(cases, "bastion-stdio", modern);
    const off = find(cases, "bastion-stdio-noaudit", modern);
    if (on === undefined || off === undefined) return undefined;
    const gwUs = (r: typeof on): number => r.cpu.find((c) => c.label === "gateway")?.usPerRequest ?? Number.NaN;
    return { rpsOn: on.rps, rpsOff: off.rps, gatewayUsPerRequestOn: gwUs(on), gatewayUsPerRequestOff: gwUs(off) };
  })();

  // What authenticating costs per call: the same stdio path with an API key (the default rows), an access token, and no identity at all.
  const identityCost = (() => {
    const anon = find(cases, "bastion-stdio-anonymous", modern);
    if (anon === undefined) return undefined;
    const gwUs = (r: typeof anon | undefined): number => r?.cpu.find((c) => c.label === "gateway")?.usPerRequest ?? Number.NaN;
    const key = find(cases, "bastion-stdio", modern);
    const jwt = find(cases, "bastion-stdio-jwt", modern);
    return { rpsAnonymous: anon.rps, rpsApiKey: key?.rps ?? Number.NaN, rpsAccessToken: jwt?.rps ?? Number.NaN, gatewayUs: { anonymous: gwUs(anon), apiKey: gwUs(key), accessToken: gwUs(jwt) } };
  })();
  const verify = await verifyCost();
  const validation = await validationCost();

  // The box is shared with other work; how much of it is part of the honest answer.
  // (Not the per-request-spawn case: its exited children count as "others".)
  const others = cases.filter((c) => c.result !== undefined && !(c.path === "supergateway" && c.era === modern)).map((c) => (c.result as { otherCores: number }).otherCores);
  const neighbours = others.length === 0 ? Number.NaN : others.reduce((a, b) => a + b, 0) / others.length;
  const summary = [
    `mcp-bastion ${git.commit}${git.dirty ? " (uncommitted changes)" : ""}, ${new Date().toISOString().slice(0, 10)}; ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "?"}), Node ${process.version}; ` +
      `autocannon ${versions.autocannon}, ${settings.connections} connections, ${settings.seconds} s per case after ${settings.warmupSeconds} s warm-up${settings.rounds > 1 ? `, median of ${settings.rounds} interleaved rounds` : ""}; tools/call echo; audit log on unless noted.`,
    "",
    throughputTable(cases, ERAS),
    "",
    ...(["mcp-proxy", "supergateway"] as const)
      .filter((b) => cases.some((c) => c.path === b))
      .map((b) => `${b} ÷ bastion → stdio: ${ERAS.map((e) => `${e} ${ratio(cases, b, "bastion-stdio", e)?.toFixed(2) ?? "n/a"}`).join(", ")}.`),
    `Other processes on the shared machine kept ${round(neighbours, 2)} of its ${os.cpus().length} cores busy on average during these runs.`,
    "",
    ...(sdk.length > 0 ? [`Sequential latency, ${settings.calls} calls per path after ${settings.sdkWarmup} warm-up (SDK v1 ${versions.sdkV1}, v2 ${versions.sdkV2} with versionNegotiation auto):`, "", latencyTable(sdk, added), ""] : []),
    ...cases.filter((c) => c.note !== undefined).map((c) => `- ${c.label}, ${c.era}: ${c.note ?? ""}`),
  ].join("\n");

  log("\n== CPU per request by process (measured runs) ==\n");
  log(cpuTable(cases));
  if (identityCost !== undefined)
    log(
      `\nidentity (stateless bastion→stdio): anonymous ${Math.round(identityCost.rpsAnonymous)} req/s, API key ${Math.round(identityCost.rpsApiKey)}, access token ${Math.round(identityCost.rpsAccessToken)}; ` +
        `gateway CPU ${Math.round(identityCost.gatewayUs.anonymous)} / ${Math.round(identityCost.gatewayUs.apiKey)} / ${Math.round(identityCost.gatewayUs.accessToken)} µs/req`,
    );
  log(`credential checks in process: ${verify.map((v) => `${v.what} ${v.us.toFixed(1)} µs`).join(", ")}`);
  log(`argument and result checks in process: ${validation.map((v) => `${v.what} ${v.us.toFixed(1)} µs`).join(", ")}`);
  if (auditCost !== undefined)
    log(
      `\naudit log: ${audit.records} records, ${audit.bytes} bytes (${audit.records === 0 ? 0 : Math.round(audit.bytes / audit.records)} B/record); ` +
        `stateless bastion→stdio ${Math.round(auditCost.rpsOn)} req/s with it, ${Math.round(auditCost.rpsOff)} without; gateway CPU ${Math.round(auditCost.gatewayUsPerRequestOn)} vs ${Math.round(auditCost.gatewayUsPerRequestOff)} µs/req`,
    );
  for (const p of profiles) log(`\n${profileReport(`profile: ${p.name}`, p.summary)}`);
  log("\n== targets (reported, not asserted) ==");
  for (const c of checks) log(`${c.met ? "✓" : "✗"} ${c.what}: ${c.value}`);
  log(`\n== summary (markdown) ==\n\n${summary}\n`);

  mkdirSync(RESULTS, { recursive: true });
  const json = {
    date: new Date().toISOString(),
    commit: git.commit,
    dirty: git.dirty,
    buildErrors: buildErrors ?? null,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model.trim() ?? null, node: process.version, loadavgAtEnd: os.loadavg() },
    settings,
    versions,
    wallSeconds: round(wallSeconds, 1),
    throughput: cases,
    ratios,
    sdk,
    added,
    audit: { ...audit, cost: auditCost },
    identity: { cost: identityCost, verify },
    validation,
    neighbourCores: neighbours,
    targets: checks,
    profiles: profiles.map((p) => ({ name: p.name, ...p.summary })),
    eras: Object.fromEntries(ERAS.map((e) => [e, eraName(e)])),
  };
  writeFileSync(path.join(RESULTS, "latest.json"), `${JSON.stringify(json, (_k, v: unknown) => (typeof v === "number" ? round(v, 3) : v), 2)}\n`);
  log(`raw numbers: ${path.relative(process.cwd(), path.join(RESULTS, "latest.json"))}; wall time ${wallSeconds.toFixed(0)} s`);
}

await main();
// Sockets of SDK clients and autocannon may keep the loop alive a little; every server is stopped, so leave now.
process.exit(0);
