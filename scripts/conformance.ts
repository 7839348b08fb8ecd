// The official MCP conformance suite, both requirement sets, against the fixture directly and through an authenticating gateway (fixture over stdio and over HTTP).
// Fails when a scenario that passes directly does not pass through the gateway. `--bridges` adds runs with the
// upstream pinned to the session era, which exercise the era bridges (informational: see docs/conformance.md).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadConfigObject } from "../src/config/index.ts";
import { startGateway, type Gateway } from "../src/gateway.ts";
import { silentLogger } from "../src/log/index.ts";
import { startAuthRelay, type Relay } from "./conformance/relay.ts";
import { CONFORMANCE_CLI, FIXTURE, NODE22, REPO_ROOT, runConformance, startFixtureHttp, type ConformanceReport, type Requirements } from "./conformance/cli.ts";

const REQUIREMENTS: Requirements[] = ["2025-11-25", "2026-07-28"];
const OUT = join(REPO_ROOT, ".conformance");

interface Target {
  name: string;
  gating: boolean;
  url: string;
}

interface Run {
  target: Target;
  report: ConformanceReport;
  seconds: number;
}

/**
 * An authenticating gateway in front of the fixture, and the relay that lets the credential-less
 * suite reach it with an API key of a user made for the run.
 */
async function gatewayFor(upstream: Record<string, unknown>, dir: string): Promise<{ gateway: Gateway; relay: Relay }> {
  // pin: off — the suite adds tools at runtime on purpose (tools-list-changed); pinning would withhold them (test/pinning.test.ts covers it).
  const config = loadConfigObject({ upstreams: { fixture: { ...upstream, prefix: false, pin: "off" } }, roles: { admin: { permissions: ["*"] } }, audit: { path: "audit.log", keyFile: "audit.key" } }, {}, dir);
  const gateway = await startGateway(config, { port: 0, log: silentLogger, env: {} });
  await gateway.settled();
  if (gateway.upstreams[0]?.state !== "ready") throw new Error(`gateway upstream did not start: ${gateway.upstreams[0]?.lastError ?? "?"}`);
  await gateway.identity.addUser("conformance", ["admin"], undefined);
  const { key } = await gateway.identity.createApiKey("conformance", ["*"], null, "conformance run");
  return { gateway, relay: await startAuthRelay(gateway.url, key) };
}

/** The CLI and its Node 22 live in tools/conformance (so no npm script of ours runs on Node 22); installed on first use. */
function ensureTools(): void {
  if (existsSync(NODE22) && existsSync(CONFORMANCE_CLI)) return;
  console.log("installing the conformance CLI into tools/conformance …");
  execFileSync("npm", ["ci", "--prefix", join(REPO_ROOT, "tools/conformance"), "--no-audit", "--no-fund"], { stdio: "inherit" });
}

async function main(): Promise<number> {
  const bridges = process.argv.includes("--bridges");
  ensureTools();
  await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  const fixture = await startFixtureHttp();
  const stdio = { command: process.execPath, args: ["--import", "tsx", FIXTURE, "stdio"] };
  const gateways: { gateway: Gateway; relay: Relay }[] = [];
  const runs: Run[] = [];
  try {
    const targets: Target[] = [{ name: "direct", gating: false, url: fixture.url }];
    const add = async (name: string, upstream: Record<string, unknown>, gating: boolean): Promise<void> => {
      const gw = await gatewayFor(upstream, join(OUT, name));
      gateways.push(gw);
      targets.push({ name, gating, url: gw.relay.url });
    };
    await add("gateway-stdio", stdio, true);
    await add("gateway-http", { url: fixture.url }, true);
    if (bridges) {
      await add("bridge-stdio-legacy", { ...stdio, protocol: "legacy", relayRoots: true }, false);
      await add("bridge-http-legacy", { url: fixture.url, protocol: "legacy", relayRoots: true }, false);
    }
    for (const target of targets) {
      for (const requirements of REQUIREMENTS) {
        const started = performance.now();
        const outDir = join(OUT, target.name, requirements);
        const report = await runConformance({ url: target.url, requirements, outDir });
        await writeFile(join(outDir, "output.txt"), report.output);
        runs.push({ target, report, seconds: (performance.now() - started) / 1000 });
      }
    }
  } finally {
    await Promise.all(gateways.map(async (g) => {
      await g.relay.close();
      await g.gateway.close();
    }));
    await fixture.close();
  }

  let regressions = 0;
  for (const requirements of REQUIREMENTS) {
    const set = runs.filter((r) => r.report.requirements === requirements);
    const direct = set.find((r) => r.target.name === "direct");
    if (direct === undefined) continue;
    const scenarios = Object.keys(direct.report.scenarios).sort();
    const width = Math.max(...scenarios.map((s) => s.length));
    console.log(`\n=== --requirements ${requirements} ===`);
    console.log(["scenario".padEnd(width), ...set.map((r) => r.target.name.padEnd(20))].join("  "));
    for (const scenario of scenarios) {
      const cells = set.map((r) => {
        const s = r.report.scenarios[scenario];
        return (s === undefined ? "-" : `${s.ok ? "ok  " : "FAIL"} ${s.passed}/${s.passed + s.failed}${s.scored ? "" : " *"}`).padEnd(20);
      });
      console.log([scenario.padEnd(width), ...cells].join("  "));
      if (direct.report.scenarios[scenario]?.ok !== true) continue;
      for (const r of set) {
        if (r.target.gating && r.report.scenarios[scenario]?.ok !== true) {
          regressions++;
          console.log(`  ✗ ${scenario} passes directly but not through ${r.target.name}`);
        }
      }
    }
    for (const r of set) console.log(`${r.target.name}: ${r.report.passed} checks passed, ${r.report.failed} failed, ${r.seconds.toFixed(1)} s`);
  }
  console.log("(* = run but not scored by that requirement set)");
  console.log(regressions === 0 ? "\nconformance: every scenario that passes directly passes through the gateway" : `\nconformance: ${regressions} regression(s) through the gateway`);
  return regressions === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`conformance: ${(err as Error).message}`);
    process.exit(1);
  },
);
