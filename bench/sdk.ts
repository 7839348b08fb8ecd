// Sequential latency as real clients see it: one SDK client per path calling `echo` one call at a time.
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as HttpV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from "@modelcontextprotocol/client";
import { quantile } from "./stats.ts";

export type Sdk = "v1" | "v2";

export interface SdkPath {
  label: string;
  url: string;
  tool: string;
  bearer?: string | undefined;
}

export interface SdkResult {
  sdk: Sdk;
  /** The era the client ended up speaking (v1: the session era; v2 in auto mode: 2026-07-28 where offered). */
  era: string;
  path: string;
  calls: number;
  callsPerSec: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

interface Caller {
  era: string;
  call(message: string): Promise<string | undefined>;
  close(): Promise<void>;
}

const textOf = (content: unknown): string | undefined => (Array.isArray(content) ? (content[0] as { text?: unknown } | undefined)?.text : undefined) as string | undefined;

const authHeaders = (path: SdkPath): Record<string, string> => (path.bearer === undefined ? {} : { authorization: `Bearer ${path.bearer}` });

async function connect(sdk: Sdk, path: SdkPath): Promise<Caller> {
  if (sdk === "v1") {
    const transport = new HttpV1(new URL(path.url), { requestInit: { headers: authHeaders(path) } });
    const client = new ClientV1({ name: "mcp-bastion-bench", version: "1.0.0" }, { capabilities: {} });
    await client.connect(transport);
    return {
      era: transport.protocolVersion ?? "?",
      call: async (message) => textOf((await client.callTool({ name: path.tool, arguments: { message } })).content),
      close: async () => {
        // SDK clients never end their sessions on close; the bench does, so servers do not accumulate them across runs.
        await transport.terminateSession().catch(() => undefined);
        await client.close();
      },
    };
  }
  const client = new ClientV2({ name: "mcp-bastion-bench", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
  await client.connect(new HttpV2(new URL(path.url), { requestInit: { headers: authHeaders(path) } }));
  return {
    era: client.getNegotiatedProtocolVersion() ?? "?",
    call: async (message) => textOf((await client.callTool({ name: path.tool, arguments: { message } })).content),
    close: () => client.close(),
  };
}

/**
 * N sequential calls per path after a warm-up. The paths take turns in rounds (A, B, C, A, B, C…)
 * so that a noisy neighbour on the shared machine slows all of them alike instead of whichever ran last.
 */
export async function measureSequential(sdk: Sdk, paths: readonly SdkPath[], calls: number, warmup: number, rounds = 5): Promise<SdkResult[]> {
  const callers: Caller[] = [];
  try {
    for (const p of paths) callers.push(await connect(sdk, p));
    const latencies = paths.map(() => [] as number[]);
    const busy = paths.map(() => 0);
    for (const [i, c] of callers.entries())
      for (let w = 0; w < warmup; w++) {
        if ((await c.call(`w${w}`)) !== `Echo: w${w}`) throw new Error(`${paths[i]?.label}: bad warm-up echo`);
      }
    const perRound = Math.ceil(calls / rounds);
    for (let r = 0; r < rounds; r++)
      for (const [i, c] of callers.entries()) {
        const lat = latencies[i] as number[];
        for (let k = 0; k < perRound && lat.length < calls; k++) {
          const message = `m${lat.length}`;
          const start = performance.now();
          const text = await c.call(message);
          const ms = performance.now() - start;
          if (text !== `Echo: ${message}`) throw new Error(`${paths[i]?.label}: expected "Echo: ${message}", got ${JSON.stringify(text)}`);
          lat.push(ms);
          busy[i] = (busy[i] ?? 0) + ms;
        }
      }
    return paths.map((p, i) => {
      const lat = (latencies[i] as number[]).sort((a, b) => a - b);
      return {
        sdk,
        era: callers[i]?.era ?? "?",
        path: p.label,
        calls: lat.length,
        callsPerSec: lat.length / ((busy[i] ?? 1) / 1000),
        p50: quantile(lat, 0.5),
        p90: quantile(lat, 0.9),
        p99: quantile(lat, 0.99),
        max: lat[lat.length - 1] ?? Number.NaN,
      };
    });
  } finally {
    for (const c of callers) await c.close().catch(() => undefined);
  }
}
