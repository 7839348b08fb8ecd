// Hostile input at every entry of /mcp (SPEC §3): each refusal has its status and JSON-RPC error, exactly one audit record, no upstream call, and the gateway keeps serving.
import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditLog, type AuditRecord } from "../src/audit/index.ts";
import { fixtureStdio, MODERN_META, modernBody, modernHeaders, REPO_ROOT, startTestGateway, upstreamToolCalls, type TestGateway } from "./helpers/harness.ts";

// ---- answers ------------------------------------------------------------------------------------

interface RpcAnswer {
  jsonrpc?: string;
  id?: unknown;
  result?: Record<string, unknown> & { content?: { type: string; text?: string }[] };
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

/** One HTTP answer, headers lower-cased, body as text and (when it is JSON) parsed. */
interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: RpcAnswer | RpcAnswer[] | undefined;
  /** Milliseconds from the first byte sent to the whole answer read. */
  ms: number;
}

const rpc = (a: Answer): RpcAnswer => {
  expect(Array.isArray(a.json), `expected one JSON-RPC object, got ${a.text.slice(0, 200)}`).toBe(false);
  expect(a.json, `expected a JSON body, got ${a.text.slice(0, 200)}`).toBeDefined();
  return a.json as RpcAnswer;
};

function toAnswer(status: number, headers: Record<string, string>, text: string, started: number): Answer {
  let json: RpcAnswer | RpcAnswer[] | undefined;
  try {
    json = text === "" ? undefined : (JSON.parse(text) as RpcAnswer | RpcAnswer[]);
  } catch {
    json = undefined;
  }
  return { status, headers, text, json, ms: Date.now() - started };
}

/** A request through fetch (what a browser-like client can express). */
async function fetchAnswer(url: string, init: RequestInit): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(url, init);
  const text = await res.text();
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  return toAnswer(res.status, headers, text, started);
}

const post = (url: string, body: string | Uint8Array, headers: Record<string, string>): Promise<Answer> => fetchAnswer(url, { method: "POST", headers, body });

/** A request through node:http: any header (Host, duplicates as arrays), any method, an optional chunked body without a length. */
function nodeRequest(url: string, opts: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer; path?: string }): Promise<Answer> {
  const u = new URL(url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: opts.path ?? u.pathname, method: opts.method ?? "POST", headers: opts.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
          resolve(toAnswer(res.statusCode ?? 0, headers, Buffer.concat(chunks).toString("utf8"), started));
        });
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** Whether `out` holds one whole HTTP response (head, and a body of its Content-Length). */
function wholeResponse(out: string): boolean {
  const end = out.indexOf("\r\n\r\n");
  if (end === -1) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(out.slice(0, end));
  return length !== null && Buffer.byteLength(out.slice(end + 4), "latin1") >= Number(length[1]);
}

/**
 * Writes raw bytes on a fresh TCP connection and returns what the server sent: everything until it
 * closed the connection, or the first whole response when `firstResponse` (for a server that keeps it open).
 */
function rawExchange(url: string, data: string | Buffer, opts: { firstResponse?: boolean; waitMs?: number } = {}): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(u.port), u.hostname, () => socket.write(data));
    let out = "";
    const timer = setTimeout(() => socket.destroy(), opts.waitMs ?? 3000);
    socket.on("data", (d: Buffer) => {
      out += d.toString("latin1");
      if (opts.firstResponse === true && wholeResponse(out)) socket.destroy();
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.on("error", () => undefined);
  });
}

// ---- requests -----------------------------------------------------------------------------------

const JSON_POST = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const echoArgs = (message: string) => ({ name: "fixture.echo", arguments: { message } });
const echoBody = (id: number | string, message = "hi") => modernBody(id, "tools/call", echoArgs(message));
const ECHO_HEADERS = modernHeaders("tools/call", "fixture.echo");

/** A header value as 2026-07-28 clients send it: plain when visible ASCII without edge spaces, else `=?base64?…?=`. */
function headerValue(value: string): string {
  const plain = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value) && !value.startsWith("=?base64?");
  return plain ? value : `=?base64?${Buffer.from(value, "utf8").toString("base64")}?=`;
}

// ---- what every answer and record must (not) contain ---------------------------------------------

/** Signs of a stack trace or an internal path: frames, source positions, node_modules. */
const STACK = [/\n\s+at /, /\bat [^\s]+ \(/, /\.(?:ts|js|mjs|cjs):\d+/, /node_modules/];
/** What a client must not see either: JavaScript's own error texts (the audit log may name them for operators). */
const INTERNAL = [/\b(?:TypeError|ReferenceError|RangeError|SyntaxError)\b/, /Cannot read propert/, /is not a function/];

function assertNoLeak(text: string, g: TestGateway, what: string): void {
  for (const re of what === "answer" ? [...STACK, ...INTERNAL] : STACK) expect(re.test(text), `${what} leaks ${String(re)}: ${text.slice(0, 300)}`).toBe(false);
  expect(text.includes(REPO_ROOT), `${what} names the checkout`).toBe(false);
  expect(text.includes(g.dir), `${what} names the gateway's directory`).toBe(false);
  expect(text.includes(auditKey(g)), `${what} carries the audit chain key`).toBe(false);
}

const auditKey = (g: TestGateway): string => readFileSync(path.join(g.dir, "audit.key"), "utf8").trim();

// ---- gateways -----------------------------------------------------------------------------------

/** Default limits (1 MiB bodies, depth 64): the JSON, session and 2026-07-28 refusals. */
let gw: TestGateway;
/** A 2048-byte body limit: the 413s. */
let small: TestGateway;
/** Every session id minted in this file: none may appear in clear in an audit log. */
const sessionIds: string[] = [];

beforeAll(async () => {
  [gw, small] = await Promise.all([
    // The guard's JSON depth limit is tested here: the arguments' own, lower limit (validation.maxDepth) must not answer first.
    startTestGateway({ upstreams: { fixture: fixtureStdio() }, validation: { maxDepth: 1000 } }),
    startTestGateway({ upstreams: { fixture: fixtureStdio() }, server: { limits: { maxBodyBytes: 2048 } } }),
  ]);
});
afterAll(async () => {
  await Promise.all([gw?.close(), small?.close()]);
});

const portOf = (g: TestGateway): string => new URL(g.url).port;

/** Tool calls the fixture served, by name, leaving out the `stats` calls this file makes to read them. */
async function served(g: TestGateway): Promise<Record<string, number>> {
  const { stats: _stats, ...rest } = await upstreamToolCalls(g.url);
  return rest;
}

/** A valid call still works: the gateway kept serving. */
async function expectServing(g: TestGateway): Promise<void> {
  const answer = await post(g.url, echoBody("alive", "still here"), ECHO_HEADERS);
  expect(answer.status).toBe(200);
  expect(rpc(answer).result?.content).toEqual([{ type: "text", text: "Echo: still here" }]);
}

interface Expected {
  status: number;
  /** JSON-RPC error code; absent for answers that are not JSON-RPC (raw HTTP errors). */
  code?: number;
  /** `id` of the error answer; default null. */
  id?: string | number | null;
  message?: string | RegExp;
  /** Audit type of the one record the refusal leaves. */
  type: string;
  outcome?: AuditRecord["outcome"];
  /** For edge refusals: `details.code` of the record (the stable refusal code). */
  refusal?: string;
}

/**
 * Sends one hostile request and proves the refusal: status and JSON-RPC error as SPEC §3 names
 * them, exactly one new audit record of the expected type with a reason, no upstream call, no
 * leak, and a gateway that still answers a valid call.
 */
async function refused(g: TestGateway, send: () => Promise<Answer>, exp: Expected): Promise<Answer> {
  const callsBefore = await served(g);
  const before = g.audit().length;
  const answer = await send();
  expect(answer.status, answer.text.slice(0, 300)).toBe(exp.status);
  if (exp.code !== undefined) {
    const body = rpc(answer);
    expect(body.jsonrpc).toBe("2.0");
    expect(body.error?.code, answer.text.slice(0, 300)).toBe(exp.code);
    expect(body.id).toEqual(exp.id ?? null);
    expect(body.result).toBeUndefined();
    if (typeof exp.message === "string") expect(body.error?.message).toBe(exp.message);
    else if (exp.message !== undefined) expect(body.error?.message).toMatch(exp.message);
    expect(answer.headers["content-type"]).toBe("application/json");
  }
  expect(answer.headers["x-content-type-options"]).toBe("nosniff");
  assertNoLeak(answer.text, g, "answer");

  const added = g.audit().slice(before);
  expect(added.map((r) => `${r.type}:${r.reason ?? ""}`), "exactly one new audit record").toHaveLength(1);
  const record = added[0] as AuditRecord;
  expect(record.type).toBe(exp.type);
  expect(record.outcome).toBe(exp.outcome ?? (exp.type === "authz.denied" ? "denied" : "failure"));
  expect(typeof record.reason === "string" && record.reason.length > 0, "the record carries its reason").toBe(true);
  if (exp.refusal !== undefined) expect(record.details["code"]).toBe(exp.refusal);
  assertNoLeak(JSON.stringify(record), g, "audit record");

  expect(await served(g), "the upstream was not reached").toEqual(callsBefore);
  await expectServing(g);
  return answer;
}

// =================================================================================================

describe("edge: Origin and Host (403)", () => {
  it("refuses a page of another origin, and `null`", async () => {
    const port = portOf(gw);
    for (const origin of ["https://evil.example", "null", "NULL", `http://127.0.0.1:${port}.evil.example`, `http://localhost:${port}@evil.example`, `http://127.0.0.1:1`, "file://", "chrome-extension://abcdef"]) {
      await refused(gw, () => post(gw.url, echoBody(1), { ...ECHO_HEADERS, origin }), {
        status: 403,
        code: -32000,
        message: "Forbidden: Origin not allowed",
        type: "network.refused",
        refusal: "origin_forbidden",
      });
    }
  });

  it("lets a same-origin page on the loopback Host through", async () => {
    const port = portOf(gw);
    const ok = await post(gw.url, echoBody(2, "same origin"), { ...ECHO_HEADERS, origin: `http://127.0.0.1:${port}` });
    expect(ok.status).toBe(200);
    expect(rpc(ok).result?.content).toEqual([{ type: "text", text: "Echo: same origin" }]);
    const viaLocalhost = await nodeRequest(gw.url, { headers: { ...ECHO_HEADERS, host: `localhost:${port}`, origin: `http://localhost:${port}` }, body: echoBody(3, "localhost") });
    expect(viaLocalhost.status).toBe(200);
    expect(rpc(viaLocalhost).result?.content).toEqual([{ type: "text", text: "Echo: localhost" }]);
  });

  it("refuses a Host that does not name this machine (DNS rebinding), on every route", async () => {
    const port = portOf(gw);
    for (const host of ["evil.example", `evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `localhost:${port}.evil.example`, "127.0.0.1:1", `127.0.0.2:${port}`]) {
      await refused(gw, () => nodeRequest(gw.url, { headers: { ...ECHO_HEADERS, host }, body: echoBody(4) }), {
        status: 403,
        code: -32000,
        message: "Forbidden: Host not allowed",
        type: "network.refused",
        refusal: "host_forbidden",
      });
    }
    // A rebound page is "same-origin" with its own name; the Host check comes first.
    await refused(gw, () => nodeRequest(gw.url, { headers: { ...ECHO_HEADERS, host: `evil.example:${port}`, origin: `http://evil.example:${port}` }, body: echoBody(5) }), {
      status: 403,
      code: -32000,
      type: "network.refused",
      refusal: "host_forbidden",
    });
    await refused(gw, () => nodeRequest(gw.url, { method: "GET", path: "/healthz", headers: { host: "evil.example" } }), { status: 403, code: -32000, type: "network.refused", refusal: "host_forbidden" });
  });

  it("refuses a request whose Origin header is given twice, one of them foreign", async () => {
    const port = portOf(gw);
    await refused(gw, () => nodeRequest(gw.url, { headers: { ...ECHO_HEADERS, origin: [`http://127.0.0.1:${port}`, "https://evil.example"] }, body: echoBody(6) }), {
      status: 403,
      code: -32000,
      type: "network.refused",
      refusal: "origin_forbidden",
    });
  });

  // RFC 9112 §3.2: a server MUST answer 400 to a request with more than one Host field line. Node keeps the first one,
  // so a rebinding page whose second Host names the attacker's domain would otherwise be judged by the first.
  it("refuses a request with two Host header lines (RFC 9112 §3.2)", async () => {
    const port = portOf(gw);
    const body = echoBody(7);
    const request =
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nHost: evil.example\r\ncontent-type: application/json\r\naccept: application/json\r\n` +
      `mcp-protocol-version: 2026-07-28\r\nmcp-method: tools/call\r\nmcp-name: fixture.echo\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
    const callsBefore = await served(gw);
    const before = gw.audit().length;
    const out = await rawExchange(gw.url, request);
    expect(out).toMatch(/^HTTP\/1\.1 40[03] /);
    expect(gw.audit().slice(before).map((r) => r.type)).toEqual(["network.refused"]);
    expect(await served(gw)).toEqual(callsBefore);
    await expectServing(gw);
  });
});

describe("edge: media types and HTTP methods", () => {
  it("refuses a body not declared as JSON (415)", async () => {
    for (const type of ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "application/json-seq", "text/json", "application/json, text/plain", ""]) {
      await refused(gw, () => post(gw.url, echoBody(1), { ...ECHO_HEADERS, "content-type": type }), {
        status: 415,
        code: -32000,
        message: "Unsupported Media Type: Content-Type must be application/json",
        type: "network.refused",
        refusal: "unsupported_media_type",
      });
    }
    // No Content-Type at all: fetch sends none for a byte body.
    const { "content-type": _ct, ...withoutType } = ECHO_HEADERS;
    await refused(gw, () => post(gw.url, new TextEncoder().encode(echoBody(1)), withoutType), { status: 415, code: -32000, type: "network.refused", refusal: "unsupported_media_type" });
  });

  it("takes application/json in any case and with parameters", async () => {
    for (const type of ["application/json", "Application/JSON; charset=utf-8", "application/json;charset=UTF-8"]) {
      const ok = await post(gw.url, echoBody(2, type), { ...ECHO_HEADERS, "content-type": type });
      expect(ok.status).toBe(200);
      expect(rpc(ok).result?.content).toEqual([{ type: "text", text: `Echo: ${type}` }]);
    }
  });

  it("refuses a client that accepts neither JSON nor SSE (406)", async () => {
    for (const accept of ["text/html", "application/xml", "image/*", "text/plain", "application/jsonx, text/event-streams"]) {
      await refused(gw, () => post(gw.url, echoBody(3), { ...ECHO_HEADERS, accept }), {
        status: 406,
        code: -32000,
        message: "Not Acceptable: client must accept application/json or text/event-stream",
        type: "network.refused",
        refusal: "not_acceptable",
      });
    }
  });

  it("refuses other HTTP methods with 405 and Allow", async () => {
    for (const method of ["PUT", "PATCH", "PROPFIND"]) {
      const answer = await refused(gw, () => nodeRequest(gw.url, { method, headers: ECHO_HEADERS, body: echoBody(4) }), {
        status: 405,
        code: -32000,
        message: "Method not allowed",
        type: "network.refused",
        refusal: "method_not_allowed",
      });
      expect(answer.headers["allow"]).toBe("POST, GET, DELETE");
    }
  });
});

describe("edge: body size (413, limit 2048 bytes)", () => {
  /** A valid echo call padded to exactly `bytes` bytes. */
  function paddedEcho(bytes: number): string {
    const empty = echoBody(9, "");
    const body = echoBody(9, "x".repeat(bytes - Buffer.byteLength(empty)));
    expect(Buffer.byteLength(body)).toBe(bytes);
    return body;
  }
  const tooLarge: Expected = { status: 413, code: -32600, message: "Request body too large", type: "network.refused", refusal: "body_too_large" };

  it("takes a body of exactly the limit and refuses one byte more", async () => {
    const ok = await post(small.url, paddedEcho(2048), ECHO_HEADERS);
    expect(ok.status).toBe(200);
    expect(rpc(ok).result?.content?.[0]?.text).toBe(`Echo: ${"x".repeat(2048 - Buffer.byteLength(echoBody(9, "")))}`);
    await refused(small, () => post(small.url, paddedEcho(2049), ECHO_HEADERS), tooLarge);
    await refused(small, () => post(small.url, paddedEcho(64 * 1024), ECHO_HEADERS), tooLarge);
  });

  it("refuses a declared Content-Length over the limit before the body arrives", async () => {
    const port = portOf(small);
    const callsBefore = await served(small);
    const before = small.audit().length;
    // Headers only: a gateway that waited for the body would never answer.
    const out = await rawExchange(
      small.url,
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\naccept: application/json\r\ncontent-length: 1000000000\r\n\r\n{"jsonrpc":`,
      { firstResponse: true },
    );
    expect(out).toMatch(/^HTTP\/1\.1 413 /);
    const body = out.slice(out.indexOf("\r\n\r\n") + 4);
    expect(JSON.parse(body)).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "Request body too large" } });
    expect(small.audit().slice(before).map((r) => [r.type, r.details["code"]])).toEqual([["network.refused", "body_too_large"]]);
    expect(await served(small)).toEqual(callsBefore);
    await expectServing(small);
  });

  // After a 413 the rest of the body is of no use: reading it (up to the length the client declared, or an endless chunked
  // stream until the request timeout) spends the gateway's bandwidth for the client. RFC 9110 §15.5.14 lets the server close.
  it("closes the connection after a 413 instead of reading the rest of the body", async () => {
    const port = portOf(small);
    const result = await new Promise<{ head: string; closedByServer: boolean; sent: number }>((resolve) => {
      const socket = net.connect(Number(port), "127.0.0.1");
      let out = "";
      let sent = 0;
      const finish = (closedByServer: boolean): void => {
        clearInterval(pump);
        clearTimeout(giveUp);
        socket.destroy();
        resolve({ head: out.split("\r\n\r\n")[0] ?? "", closedByServer, sent });
      };
      socket.on("data", (d: Buffer) => (out += d.toString("latin1")));
      socket.on("close", () => finish(true));
      socket.on("error", () => undefined);
      socket.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\naccept: application/json\r\ncontent-length: 1000000000\r\n\r\n`);
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      // Keep sending (within the socket's buffer) until the gateway hangs up; a loaded machine gets 10 s.
      const pump = setInterval(() => {
        if (!socket.destroyed && socket.writableLength < 1 << 20) {
          socket.write(chunk);
          sent += chunk.length;
        }
      }, 1);
      const giveUp = setTimeout(() => finish(false), 10_000);
    });
    expect(result.head).toMatch(/^HTTP\/1\.1 413 /);
    expect(result.head.toLowerCase()).toContain("connection: close");
    expect(result.closedByServer, "the gateway hung up while the client was still sending").toBe(true);
    expect(result.sent, "long before the declared gigabyte").toBeLessThan(1_000_000_000);
    await expectServing(small);
  });

  it("cuts off a chunked body without a length once it grows past the limit", async () => {
    const port = portOf(small);
    let sent = 0;
    const answer = await refused(
      small,
      () =>
        new Promise<Answer>((resolve, reject) => {
          const started = Date.now();
          const req = http.request({ host: "127.0.0.1", port, path: "/mcp", method: "POST", headers: ECHO_HEADERS, agent: false }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
              clearInterval(pump);
              req.destroy();
              resolve(toAnswer(res.statusCode ?? 0, { "content-type": String(res.headers["content-type"]), "x-content-type-options": String(res.headers["x-content-type-options"]) }, Buffer.concat(chunks).toString("utf8"), started));
            });
          });
          req.on("error", reject);
          expect(req.getHeader("content-length")).toBeUndefined();
          req.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fixture.echo","arguments":{"message":"');
          // 256-byte chunks until the gateway answers; never more than 1 MiB.
          const pump = setInterval(() => {
            if (sent > 1024 * 1024) {
              clearInterval(pump);
              req.end();
              return;
            }
            req.write("y".repeat(256));
            sent += 256;
          }, 2);
        }),
      tooLarge,
    );
    expect(answer.status).toBe(413);
    expect(sent, "refused while the body was still streaming").toBeLessThan(64 * 1024);
  });
});

describe("edge: JSON and JSON-RPC shape (400)", () => {
  const parseError = (): Expected => ({ status: 400, code: -32700, message: "Parse error: body is not valid UTF-8 JSON", type: "network.refused", refusal: "parse_error" });
  const invalid = (): Expected => ({ status: 400, code: -32600, message: "Invalid Request: not one JSON-RPC 2.0 message", type: "network.refused", refusal: "invalid_message" });

  it("refuses bytes that are not UTF-8 JSON with -32700 and id null", async () => {
    const valid = Buffer.from(echoBody(1));
    const bodies: Buffer[] = [
      Buffer.from([0xff, 0xfe, 0xfd]),
      // Overlong "/" (C0 AF), a UTF-16 surrogate encoded in UTF-8 (ED A0 80), a truncated sequence (E2 82): each inside a JSON string.
      Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"x":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}}')]),
      Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"x":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}}')]),
      Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"x":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}}')]),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), valid]), // a BOM before valid JSON
      Buffer.from(Buffer.from(echoBody(1)).subarray(0, 40)), // truncated
      Buffer.from(""),
      Buffer.from(" \n\t "),
      Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/list",}'),
      Buffer.from("{'jsonrpc':'2.0','id':1,'method':'tools/list'}"),
      Buffer.from('{"jsonrpc":"2.0","id":NaN,"method":"tools/list"}'),
      Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/list"} {"jsonrpc":"2.0","id":2,"method":"tools/list"}'),
      Buffer.from('/* comment */ {"jsonrpc":"2.0","id":1,"method":"tools/list"}'),
    ];
    for (const body of bodies) await refused(gw, () => post(gw.url, body, ECHO_HEADERS), parseError());
  });

  it("refuses JSON that is not one JSON-RPC message with -32600 and id null", async () => {
    for (const body of ["[]", "123", '"str"', "null", "true", "{}", "[1]", "[[]]", '{"method":"tools/list"}', '{"jsonrpc":"1.0","method":"tools/list"}', '{"jsonrpc":2,"method":"tools/list"}'])
      await refused(gw, () => post(gw.url, body, ECHO_HEADERS), invalid());
  });

  it("refuses ids that are not a short string or a number, with id null", async () => {
    for (const id of ["x".repeat(10_000), "x".repeat(257), true, false, null, {}, [], { toString: "1" }]) {
      const body = JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { ...echoArgs("hi"), _meta: MODERN_META } });
      await refused(gw, () => post(gw.url, body, ECHO_HEADERS), invalid());
    }
  });

  it("takes a string id of 256 characters and echoes it", async () => {
    const id = "i".repeat(256);
    const ok = await post(gw.url, echoBody(id), ECHO_HEADERS);
    expect(ok.status).toBe(200);
    expect(rpc(ok).id).toBe(id);
  });

  // SPEC §3: "id: null where none could be read" — here the id is well-formed and readable, only another member is wrong,
  // and a client can only match the error to its request by that id.
  it("refuses a message with bad params, method, result or error, echoing the id it could read", async () => {
    const bad: Record<string, unknown>[] = [
      { params: [] },
      { params: "x" },
      { params: 5 },
      { params: null },
      { method: 1 },
      { method: "" },
      { method: "m".repeat(129) },
      { method: null },
      { result: {} },
      { error: { code: 1, message: "x" } },
    ];
    for (const override of bad) {
      const body = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { ...echoArgs("hi"), _meta: MODERN_META }, ...override });
      await refused(gw, () => post(gw.url, body, ECHO_HEADERS), { ...invalid(), id: 7 });
    }
  });

  it("refuses nesting deeper than maxJsonDepth (64) before parsing, arrays and objects alike", async () => {
    // The message, params and arguments are three levels; `deep` adds n more.
    const withArrays = (n: number) => `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fixture.echo","arguments":{"message":"deep","deep":${"[".repeat(n)}${"]".repeat(n)}}}}`;
    const withObjects = (n: number) => `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fixture.echo","arguments":{"message":"deep","deep":${'{"a":'.repeat(n - 1)}{}${"}".repeat(n - 1)}}}}`;
    const tooDeep: Expected = { status: 400, code: -32600, message: "Invalid Request: JSON nested too deeply", type: "network.refused", refusal: "too_deep" };
    for (const make of [withArrays, withObjects]) {
      // 2026-07-28 needs _meta beside arguments; without it the session-era rules answer, so the accepted case goes through a session.
      const sid = await openSession(gw, "2025-11-25");
      const ok = await post(gw.url, make(61), sessionHeaders(sid, "2025-11-25"));
      expect(ok.status, ok.text).toBe(200);
      expect(rpc(ok).result?.content).toEqual([{ type: "text", text: "Echo: deep" }]);
      await refused(gw, () => post(gw.url, make(62), sessionHeaders(sid, "2025-11-25")), tooDeep);
      await refused(gw, () => post(gw.url, make(5000), ECHO_HEADERS), tooDeep);
    }
  });

  it("refuses a body of 1 MiB of `[` quickly", async () => {
    const body = "[".repeat(1024 * 1024 - 1);
    const answer = await refused(gw, () => post(gw.url, body, ECHO_HEADERS), { status: 400, code: -32600, type: "network.refused", refusal: "too_deep" });
    expect(answer.ms, "refused in well under a second").toBeLessThan(1000);
  });

  it("does not count brackets inside strings, escaped quotes included", async () => {
    const message = `${"[".repeat(3000)}\\"{{{${"{".repeat(3000)}\\\\`;
    const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fixture.echo","arguments":{"message":"${message}"},"_meta":${JSON.stringify(MODERN_META)}}}`;
    const ok = await post(gw.url, body, ECHO_HEADERS);
    expect(ok.status, ok.text.slice(0, 200)).toBe(200);
    expect(rpc(ok).result?.content).toEqual([{ type: "text", text: `Echo: ${"[".repeat(3000)}"{{{${"{".repeat(3000)}\\` }]);
  });

  it("carries __proto__, constructor and prototype keys as plain data and pollutes nothing", async () => {
    const before = await served(gw);
    const meta = JSON.stringify(MODERN_META);
    const body =
      `{"jsonrpc":"2.0","id":"p","method":"tools/call","__proto__":{"id":"evil","method":"tools/list"},` +
      `"params":{"__proto__":{"name":"fixture.stats"},"name":"fixture.echo","_meta":${meta},` +
      `"arguments":{"message":"x","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"prototype":{"polluted":1}}}}`;
    const ok = await post(gw.url, body, ECHO_HEADERS);
    expect(ok.status, ok.text).toBe(200);
    expect(rpc(ok).id).toBe("p");
    expect(rpc(ok).result?.content).toEqual([{ type: "text", text: "Echo: x" }]);
    // The gateway runs in this process: its prototypes are these.
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
    expect(await served(gw)).toEqual({ ...before, echo: (before["echo"] ?? 0) + 1 });

    // A `__proto__` holding an id does not make a notification a request.
    const callsBefore = await served(gw);
    const notification = await post(gw.url, `{"jsonrpc":"2.0","method":"tools/call","__proto__":{"id":5},"params":{"name":"fixture.echo","arguments":{"message":"n"},"_meta":${meta}}}`, ECHO_HEADERS);
    expect(notification.status).toBe(202);
    expect(await served(gw)).toEqual(callsBefore);
  });
});

describe("edge: malformed HTTP on a raw socket", () => {
  const malformed = (port: string): string[] => [
    "GARBAGE\r\n\r\n",
    "GET /mcp HTTP/9.9\r\nHost: x\r\n\r\n",
    `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nBad Header Line\r\n\r\n`,
    `GET /mcp\x00 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`,
    `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!`,
    `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n`,
    `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\naccept: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
    `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nx-big: ${"a".repeat(20 * 1024)}\r\n\r\n`,
  ];

  it("answers 400 (431 for oversized headers), closes the connection, and keeps serving", async () => {
    for (const request of malformed(portOf(gw))) {
      const callsBefore = await served(gw);
      const out = await rawExchange(gw.url, request);
      expect(out, JSON.stringify(request.slice(0, 60))).toMatch(/^HTTP\/1\.1 4(?:00|31) /);
      expect(out.toLowerCase()).toContain("connection: close");
      assertNoLeak(out, gw, "answer");
      expect(await served(gw)).toEqual(callsBefore);
      await expectServing(gw);
    }
  });

  // SPEC §3: "Every refusal is audited with its true reason" — a request the HTTP parser throws out is refused too.
  it("audits each malformed request as network.refused", async () => {
    for (const request of malformed(portOf(gw))) {
      const before = gw.audit().length;
      await rawExchange(gw.url, request);
      const added = gw.audit().slice(before);
      expect(added.map((r) => r.type), JSON.stringify(request.slice(0, 60))).toEqual(["network.refused"]);
      expect(added[0]?.reason).toBeTruthy();
    }
  });

  it("refuses an HTTP/1.1 request without Host", async () => {
    const out = await rawExchange(gw.url, "GET /healthz HTTP/1.1\r\nconnection: close\r\n\r\n");
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    await expectServing(gw);
  });
});

// ---- session era ---------------------------------------------------------------------------------

function sessionHeaders(sid: string, version: string): Record<string, string> {
  return { ...JSON_POST, "mcp-session-id": sid, "mcp-protocol-version": version };
}

/** Opens a session-era session (initialize, then notifications/initialized) and returns its id. */
async function openSession(g: TestGateway, version: string): Promise<string> {
  const init = await post(g.url, JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: version, capabilities: {}, clientInfo: { name: "hostile", version: "1" } } }), JSON_POST);
  expect(init.status, init.text).toBe(200);
  expect(rpc(init).result?.["protocolVersion"]).toBe(version);
  const sid = init.headers["mcp-session-id"];
  expect(sid).toMatch(/^[A-Za-z0-9_-]{43}$/);
  sessionIds.push(sid as string);
  const initialized = await post(g.url, JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }), sessionHeaders(sid as string, version));
  expect(initialized.status).toBe(202);
  return sid as string;
}

const legacyCall = (id: number | string, method: string, params: Record<string, unknown> = {}) => JSON.stringify({ jsonrpc: "2.0", id, method, params });

describe("session era (2025-11-25 / 2025-06-18 / 2025-03-26)", () => {
  it("refuses a request other than initialize without Mcp-Session-Id (400)", async () => {
    const required: Expected = { status: 400, code: -32000, message: "Bad Request: Mcp-Session-Id header is required", type: "network.refused", refusal: "session_required" };
    await refused(gw, () => post(gw.url, legacyCall(5, "tools/list"), JSON_POST), { ...required, id: 5 });
    await refused(gw, () => post(gw.url, legacyCall(6, "tools/call", echoArgs("no session")), JSON_POST), { ...required, id: 6 });
    await refused(gw, () => post(gw.url, legacyCall(7, "tools/call", echoArgs("old version")), { ...JSON_POST, "mcp-protocol-version": "2025-06-18" }), { ...required, id: 7 });
    // initialize inside a batch does not open a session.
    await refused(gw, () => post(gw.url, `[${legacyCall(8, "initialize", { protocolVersion: "2025-03-26", capabilities: {}, clientInfo: { name: "b", version: "1" } })}]`, JSON_POST), required);
  });

  it("answers an unknown or random session id with 404 (-32001)", async () => {
    const notFound: Expected = { status: 404, code: -32001, message: "Session not found", type: "session.unknown", refusal: "session_not_found" };
    const real = await openSession(gw, "2025-11-25");
    for (const sid of ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", `${real}x`, real.slice(1), real.toUpperCase(), "", "../../etc/passwd", "' OR '1'='1", "%00", "x".repeat(8000)]) {
      await refused(gw, () => post(gw.url, legacyCall(9, "tools/call", echoArgs("hi")), sessionHeaders(sid, "2025-11-25")), { ...notFound, id: 9 });
    }
    await refused(gw, () => fetchAnswer(gw.url, { method: "GET", headers: { accept: "text/event-stream", "mcp-session-id": "nope" } }), notFound);
    await refused(gw, () => fetchAnswer(gw.url, { method: "DELETE", headers: { "mcp-session-id": "nope" } }), notFound);
  });

  it("answers GET and DELETE without a session with 405", async () => {
    const notAllowed: Expected = { status: 405, code: -32000, type: "network.refused", refusal: "method_not_allowed" };
    const get = await refused(gw, () => fetchAnswer(gw.url, { method: "GET", headers: { accept: "text/event-stream" } }), notAllowed);
    expect(get.headers["allow"]).toBe("POST, GET, DELETE");
    await refused(gw, () => fetchAnswer(gw.url, { method: "DELETE" }), notAllowed);
  });

  it("refuses a GET with a Last-Event-ID of no stream of the session (400)", async () => {
    const sid = await openSession(gw, "2025-11-25");
    for (const lastEventId of ["999-1", "1-1", "garbage", "-1-1", "0-0", "1-1-1", "9".repeat(400) + "-1"]) {
      await refused(gw, () => fetchAnswer(gw.url, { method: "GET", headers: { accept: "text/event-stream", "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25", "last-event-id": lastEventId } }), {
        status: 400,
        code: -32600,
        message: "Bad Request: unknown Last-Event-ID",
        type: "network.refused",
        refusal: "invalid_message",
      });
    }
  });

  it("refuses a batch in 2025-11-25 and 2025-06-18 sessions (-32600)", async () => {
    for (const version of ["2025-11-25", "2025-06-18"]) {
      const sid = await openSession(gw, version);
      const batch = `[${legacyCall(1, "tools/list")},${legacyCall(2, "tools/call", echoArgs("batched"))}]`;
      await refused(gw, () => post(gw.url, batch, sessionHeaders(sid, version)), {
        status: 400,
        code: -32600,
        message: "Invalid Request: batches are not allowed in this protocol version",
        type: "network.refused",
        refusal: "batch_refused",
      });
    }
  });

  it("answers every element of a batch in a 2025-03-26 session", async () => {
    const sid = await openSession(gw, "2025-03-26");
    const before = await served(gw);
    const batch = `[${legacyCall("a", "tools/list")},${legacyCall("b", "tools/call", echoArgs("batched"))},${legacyCall("c", "tools/destroy")},{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}]`;
    const answer = await post(gw.url, batch, sessionHeaders(sid, "2025-03-26"));
    expect(answer.status, answer.text).toBe(200);
    const replies = answer.json as RpcAnswer[];
    expect(Array.isArray(replies)).toBe(true);
    expect(replies.map((r) => r.id)).toEqual(["a", "b", "c"]);
    expect(Array.isArray(replies[0]?.result?.["tools"])).toBe(true);
    expect(replies[1]?.result?.content).toEqual([{ type: "text", text: "Echo: batched" }]);
    expect(replies[2]?.error?.code).toBe(-32601);
    expect(await served(gw)).toEqual({ ...before, echo: (before["echo"] ?? 0) + 1 });
  });

  it("refuses a wrong MCP-Protocol-Version inside a session (400)", async () => {
    const sid = await openSession(gw, "2025-11-25");
    for (const version of ["2025-06-18", "2025-03-26", "garbage", "2025-11-25, 2025-11-25"]) {
      await refused(gw, () => post(gw.url, legacyCall(11, "tools/call", echoArgs("hi")), sessionHeaders(sid, version)), {
        status: 400,
        code: -32022,
        message: "Bad Request: MCP-Protocol-Version must be 2025-11-25",
        id: 11,
        type: "network.refused",
        refusal: "unsupported_protocol_version",
      });
    }
  });

  it("treats a 2026-07-28 request as one even with a stray session id (2026-07-28 has no sessions): its _meta is checked", async () => {
    const sid = await openSession(gw, "2025-11-25");
    await refused(gw, () => post(gw.url, legacyCall(12, "tools/call", echoArgs("hi")), sessionHeaders(sid, "2026-07-28")), {
      status: 400,
      code: -32602,
      message: "Invalid params: _meta must carry protocolVersion and clientCapabilities",
      id: 12,
      type: "rpc.refused",
      refusal: "invalid_params",
    });
  });

  it("refuses initialize inside a session (400)", async () => {
    const sid = await openSession(gw, "2025-11-25");
    await refused(gw, () => post(gw.url, legacyCall(12, "initialize", { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "again", version: "1" } }), sessionHeaders(sid, "2025-11-25")), {
      status: 400,
      code: -32600,
      message: "Invalid Request: session already initialized",
      id: 12,
      type: "network.refused",
      refusal: "invalid_message",
    });
  });

  it("forgets a session after DELETE (404)", async () => {
    const sid = await openSession(gw, "2025-11-25");
    const del = await fetchAnswer(gw.url, { method: "DELETE", headers: { "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" } });
    expect(del.status).toBe(200);
    const notFound: Expected = { status: 404, code: -32001, type: "session.unknown", refusal: "session_not_found" };
    await refused(gw, () => post(gw.url, legacyCall(13, "tools/call", echoArgs("after delete")), sessionHeaders(sid, "2025-11-25")), { ...notFound, id: 13 });
    await refused(gw, () => fetchAnswer(gw.url, { method: "DELETE", headers: { "mcp-session-id": sid } }), notFound);
    await refused(gw, () => fetchAnswer(gw.url, { method: "GET", headers: { accept: "text/event-stream", "mcp-session-id": sid } }), notFound);
  });
});

// ---- 2026-07-28 --------------------------------------------------------------------------------

describe("2026-07-28: headers against the body", () => {
  const mismatch = (id: string | number): Expected => ({
    status: 400,
    code: -32020,
    message: "Header mismatch: MCP headers do not match the request body",
    id,
    type: "network.refused",
    refusal: "header_mismatch",
  });

  it("refuses Mcp-Method, Mcp-Name or MCP-Protocol-Version that disagree with the body, or are missing (-32020)", async () => {
    const body = echoBody("m1");
    const { "mcp-name": _n, ...noName } = ECHO_HEADERS;
    const { "mcp-method": _m, ...noMethod } = ECHO_HEADERS;
    const cases: Record<string, string>[] = [
      { ...ECHO_HEADERS, "mcp-method": "tools/list" },
      { ...ECHO_HEADERS, "mcp-method": "TOOLS/CALL" },
      { ...ECHO_HEADERS, "mcp-name": "fixture.stats" },
      { ...ECHO_HEADERS, "mcp-name": "fixture.echo2" },
      { ...ECHO_HEADERS, "mcp-name": "Fixture.Echo" },
      noName,
      noMethod,
    ];
    for (const headers of cases) await refused(gw, () => post(gw.url, body, headers), mismatch("m1"));
    // A name header on a method that names nothing.
    await refused(gw, () => post(gw.url, modernBody("m2", "tools/list"), { ...modernHeaders("tools/list"), "mcp-name": "fixture.echo" }), mismatch("m2"));
    // Header version differs from _meta.
    const oldMeta = JSON.stringify({ jsonrpc: "2.0", id: "m3", method: "tools/call", params: { ...echoArgs("hi"), _meta: { ...MODERN_META, "io.modelcontextprotocol/protocolVersion": "2025-11-25" } } });
    await refused(gw, () => post(gw.url, oldMeta, ECHO_HEADERS), mismatch("m3"));
  });

  it("refuses a header given twice, even with the same value (-32020)", async () => {
    for (const name of ["mcp-method", "mcp-name", "mcp-protocol-version"]) {
      const value = (ECHO_HEADERS as Record<string, string>)[name] as string;
      await refused(gw, () => nodeRequest(gw.url, { headers: { ...ECHO_HEADERS, [name]: [value, value] }, body: echoBody("d1") }), mismatch("d1"));
    }
  });

  it("refuses a request whose _meta is missing or lacks clientCapabilities (-32602)", async () => {
    const bodies = [
      JSON.stringify({ jsonrpc: "2.0", id: "meta", method: "tools/call", params: echoArgs("hi") }),
      JSON.stringify({ jsonrpc: "2.0", id: "meta", method: "tools/call", params: { ...echoArgs("hi"), _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" } } }),
      JSON.stringify({ jsonrpc: "2.0", id: "meta", method: "tools/call", params: { ...echoArgs("hi"), _meta: { ...MODERN_META, "io.modelcontextprotocol/clientCapabilities": [] } } }),
      JSON.stringify({ jsonrpc: "2.0", id: "meta", method: "tools/call", params: { ...echoArgs("hi"), _meta: { ...MODERN_META, "io.modelcontextprotocol/clientCapabilities": "all" } } }),
      JSON.stringify({ jsonrpc: "2.0", id: "meta", method: "tools/call", params: { ...echoArgs("hi"), _meta: { ...MODERN_META, "io.modelcontextprotocol/protocolVersion": 20260728 } } }),
      JSON.stringify({ jsonrpc: "2.0", id: "meta", method: "tools/call", params: { ...echoArgs("hi"), _meta: "2026-07-28" } }),
    ];
    for (const body of bodies)
      await refused(gw, () => post(gw.url, body, ECHO_HEADERS), {
        status: 400,
        code: -32602,
        message: "Invalid params: _meta must carry protocolVersion and clientCapabilities",
        id: "meta",
        type: "rpc.refused",
      });
  });

  it("refuses an unsupported version in _meta and header with -32022, naming what is supported", async () => {
    for (const version of ["2099-01-01", "2024-11-05", "v".repeat(2000)]) {
      const body = JSON.stringify({ jsonrpc: "2.0", id: "v", method: "tools/call", params: { ...echoArgs("hi"), _meta: { ...MODERN_META, "io.modelcontextprotocol/protocolVersion": version } } });
      const answer = await refused(gw, () => post(gw.url, body, { ...ECHO_HEADERS, "mcp-protocol-version": version }), {
        status: 400,
        code: -32022,
        id: "v",
        type: "network.refused",
        refusal: "unsupported_protocol_version",
      });
      const data = rpc(answer).error?.data;
      expect(data?.["supported"]).toEqual(["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"]);
      expect(version.startsWith(String(data?.["requested"]))).toBe(true);
      expect(String(data?.["requested"]).length, "the echo is bounded").toBeLessThanOrEqual(64);
      expect(answer.text.length).toBeLessThan(1000);
    }
  });

  it("answers an unknown method with 404 (-32601)", async () => {
    for (const method of ["tools/destroy", "admin/shutdown", "../tools/call", "rpc.discover", "m".repeat(128), "tools/call\u0000"]) {
      await refused(gw, () => post(gw.url, modernBody("u", method), modernHeaders(method === "tools/call\u0000" ? headerValue(method) : method)), {
        status: 404,
        code: -32601,
        message: "Method not found",
        id: "u",
        type: "rpc.refused",
      });
    }
  });

  // The method table is a plain object: a lookup by a client-chosen key must not find Object.prototype's members.
  it("answers Object.prototype member names as methods with -32601, not 500", async () => {
    const names = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "__defineGetter__"];
    for (const method of names) {
      await refused(gw, () => post(gw.url, modernBody("proto", method), modernHeaders(method)), { status: 404, code: -32601, message: "Method not found", id: "proto", type: "rpc.refused" });
    }
    // Session era: the same refusal inside a 200, as SDK servers answer.
    const sid = await openSession(gw, "2025-11-25");
    for (const method of names) {
      await refused(gw, () => post(gw.url, legacyCall("proto", method), sessionHeaders(sid, "2025-11-25")), { status: 200, code: -32601, message: "Method not found", id: "proto", type: "rpc.refused" });
    }
  });

  it("answers session-era methods with 404 (-32601)", async () => {
    const cases: [string, Record<string, unknown>][] = [
      ["initialize", { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } }],
      ["ping", {}],
      ["logging/setLevel", { level: "debug" }],
      ["resources/subscribe", { uri: "test://static-text" }],
      ["resources/unsubscribe", { uri: "test://static-text" }],
    ];
    for (const [method, params] of cases) {
      // No Mcp-Name: SEP-2243 mirrors a name only for tools/call, prompts/get and resources/read.
      await refused(gw, () => post(gw.url, modernBody("legacy", method, params), modernHeaders(method)), { status: 404, code: -32601, id: "legacy", type: "rpc.refused" });
    }
  });

  it("decodes the =?base64?…?= header form and refuses one that is not canonical", async () => {
    const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
    const viaBase64 = await post(gw.url, echoBody("b1", "base64"), { ...ECHO_HEADERS, "mcp-name": `=?base64?${b64("fixture.echo")}?=`, "mcp-method": `=?base64?${b64("tools/call")}?=` });
    expect(viaBase64.status, viaBase64.text).toBe(200);
    expect(rpc(viaBase64).result?.content).toEqual([{ type: "text", text: "Echo: base64" }]);

    const canonical = b64("fixture.ech"); // "Zml4dHVyZS5lY2g=": 11 bytes, one pad
    for (const name of [
      `=?base64?${canonical.replace(/=$/, "")}?=`, // padding dropped
      `=?base64?${canonical}=?=`, // padding doubled
      `=?base64?${b64("fixture.echo").replace(/(.{4})/, "$1 ")}?=`, // inner space
      `=?base64?${b64("fixture.echo").replace(/\+/g, "-").replace(/\//g, "_")}_?=`, // URL alphabet
      "=?base64?/w==?=", // not UTF-8
      `=?BASE64?${b64("fixture.echo")}?=`, // the sentinel is case-sensitive: a literal, which is not the name
      `=?base64?${b64("fixture.echo")}`, // no suffix: a literal
    ]) {
      await refused(gw, () => post(gw.url, echoBody("b2"), { ...ECHO_HEADERS, "mcp-name": name }), mismatch("b2"));
    }
  });

  // An intermediary that decodes the header correctly sees "\uFEFFfixture.echo"; the gateway must not see "fixture.echo"
  // in the same header, or the check that headers and body agree is a check of two different things.
  it("refuses an Mcp-Name whose base64 form starts with U+FEFF for a body name without it", async () => {
    await refused(gw, () => post(gw.url, echoBody("bom"), { ...ECHO_HEADERS, "mcp-name": `=?base64?${Buffer.from("\uFEFFfixture.echo", "utf8").toString("base64")}?=` }), mismatch("bom"));
  });

  it("refuses a batch (-32600)", async () => {
    const batch = `[${echoBody(1)},${echoBody(2)}]`;
    await refused(gw, () => post(gw.url, batch, ECHO_HEADERS), {
      status: 400,
      code: -32600,
      message: "Invalid Request: batches are not allowed in this protocol version",
      type: "network.refused",
      refusal: "batch_refused",
    });
  });
});

// ---- names ---------------------------------------------------------------------------------------

describe("names that are almost a real one", () => {
  const TRICKS = [
    "Fixture.Echo",
    "FIXTURE.ECHO",
    "fixture.echo ",
    " fixture.echo",
    "fixture..echo",
    "fixture.ech\u200bo", // zero-width space
    "fixture.\u0435cho", // Cyrillic е
    "\uff46ixture.echo", // fullwidth f
    "fixture.echo\u0000",
    "fixture.echo\u202e", // right-to-left override
    "fixture.e\u0301cho", // combining accent
    "fixture.echo/../stats",
    "fixture/echo",
    "echo",
    "fixture.",
    "__proto__",
    "constructor",
    "fixture.__proto__",
    `fixture.${"a".repeat(192)}`, // 200 characters
    "x".repeat(200),
  ];
  const unknownTool = (name: string): string => `Unknown tool: ${name.length > 128 ? `${name.slice(0, 128)}…` : name}`;

  it("2026-07-28: each is an unknown tool (-32602) and never reaches the upstream", async () => {
    for (const name of TRICKS) {
      await refused(gw, () => post(gw.url, modernBody("n", "tools/call", { name, arguments: { message: "hi" } }), { ...modernHeaders("tools/call"), "mcp-name": headerValue(name) }), {
        status: 200,
        code: -32602,
        message: unknownTool(name),
        id: "n",
        type: "authz.denied",
      });
    }
  });

  it("session era: each is an unknown tool (-32602) and never reaches the upstream", async () => {
    const sid = await openSession(gw, "2025-11-25");
    for (const name of TRICKS) {
      await refused(gw, () => post(gw.url, legacyCall("n", "tools/call", { name, arguments: { message: "hi" } }), sessionHeaders(sid, "2025-11-25")), {
        status: 200,
        code: -32602,
        message: unknownTool(name),
        id: "n",
        type: "authz.denied",
      });
    }
  });

  it("refuses prompts by look-alike names the same way", async () => {
    for (const name of ["fixture.Test_simple_prompt", "fixture.test_simple_prompt\u200b", "test_simple_prompt"]) {
      await refused(gw, () => post(gw.url, modernBody("p", "prompts/get", { name }), { ...modernHeaders("prompts/get"), "mcp-name": headerValue(name) }), {
        status: 200,
        code: -32602,
        message: `Unknown prompt: ${name}`,
        id: "p",
        type: "authz.denied",
      });
    }
  });

  const UNOWNED = ["file:///etc/passwd", "TEST://static-text", "test://static-text/../../etc/passwd", "test://static-text\u0000", "test://static-text ", "http://169.254.169.254/latest/meta-data/", "test://template//data/x"];

  it("2026-07-28: a resource URI no upstream owns is not found (-32602)", async () => {
    for (const uri of UNOWNED) {
      await refused(gw, () => post(gw.url, modernBody("r", "resources/read", { uri }), { ...modernHeaders("resources/read"), "mcp-name": headerValue(uri) }), {
        status: 200,
        code: -32602,
        message: `Resource not found: ${uri}`,
        id: "r",
        type: "rpc.refused",
      });
    }
  });

  it("session era: a resource URI no upstream owns is not found (-32002)", async () => {
    const sid = await openSession(gw, "2025-06-18");
    for (const uri of UNOWNED) {
      await refused(gw, () => post(gw.url, legacyCall("r", "resources/read", { uri }), sessionHeaders(sid, "2025-06-18")), {
        status: 200,
        code: -32002,
        message: `Resource not found: ${uri}`,
        id: "r",
        type: "rpc.refused",
      });
    }
  });
});

// ---- the audit log itself -------------------------------------------------------------------------

describe("the audit log after all of the above", () => {
  it("verifies, and holds no session id, key or stack trace", () => {
    for (const g of [gw, small]) {
      const key = Buffer.from(auditKey(g), "hex");
      const file = path.join(g.dir, "audit.log");
      const result = verifyAuditLog(file, key);
      expect(result).toEqual({ ok: true, records: g.audit().length });
      expect(result.records).toBeGreaterThan(0);
      const text = readFileSync(file, "utf8");
      assertNoLeak(text, g, "audit log");
      for (const sid of sessionIds) expect(text.includes(sid), "a session id in clear in the audit log").toBe(false);
    }
  });
});
