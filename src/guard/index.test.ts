// The network guard's checks one by one: loopback binds, Host and Origin (DNS rebinding, cross-site pages), media types, body size, message shape and the method table.
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { Refusal } from "../errors/index.ts";
import type { MethodTable } from "../forward/index.ts";
import type { Exchange } from "../pipeline/index.ts";
import type { Era } from "../protocol/versions.ts";
import { acceptance, checkContentType, checkHost, checkOrigin, guardStage, isLoopback, loopbackHosts, parseMessages, readBody } from "./index.ts";
import { refusalOf } from "../../test/helpers/refusal.ts";

function expectRefusal(fn: () => unknown, expected: { code: string; http: number; rpc: number; message: string }, reason?: string | RegExp): Refusal {
  const r = refusalOf(fn);
  expect({ code: r.code, http: r.http, rpc: r.rpc, message: r.message }).toEqual(expected);
  if (typeof reason === "string") expect(r.reason).toBe(reason);
  else if (reason !== undefined) expect(r.reason).toMatch(reason);
  return r;
}

const ORIGIN = { code: "origin_forbidden", http: 403, rpc: -32000, message: "Forbidden: Origin not allowed" };
const HOST = { code: "host_forbidden", http: 403, rpc: -32000, message: "Forbidden: Host not allowed" };
const MEDIA = { code: "unsupported_media_type", http: 415, rpc: -32000, message: "Unsupported Media Type: Content-Type must be application/json" };
const ACCEPT = { code: "not_acceptable", http: 406, rpc: -32000, message: "Not Acceptable: client must accept application/json or text/event-stream" };
const TOO_LARGE = { code: "body_too_large", http: 413, rpc: -32600, message: "Request body too large" };
const INVALID = { code: "invalid_message", http: 400, rpc: -32600, message: "Invalid Request: not one JSON-RPC 2.0 message" };
const NOT_FOUND = { code: "method_not_found", http: 404, rpc: -32601, message: "Method not found" };

describe("isLoopback and loopbackHosts", () => {
  it("knows the loopback bind addresses", () => {
    for (const host of ["localhost", "127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "[::1]"]) expect(isLoopback(host), host).toBe(true);
  });

  it("refuses every address another machine can reach, and names that only look local", () => {
    for (const host of ["0.0.0.0", "::", "[::]", "10.0.0.1", "192.168.1.1", "128.0.0.1", "1.127.0.0", "127.0.0.1.evil.example", "localhost.evil.example", "evil.example", "", "127.1", "0x7f.0.0.1", "::ffff:10.0.0.1"])
      expect(isLoopback(host), host).toBe(false);
  });

  it("lists this machine's names with and without the port", () => {
    expect(loopbackHosts(8443)).toEqual(["localhost", "localhost:8443", "127.0.0.1", "127.0.0.1:8443", "[::1]", "[::1]:8443"]);
  });
});

describe("checkHost", () => {
  const allowed = loopbackHosts(8443);

  it("passes the names of this machine, in any case", () => {
    for (const host of ["localhost:8443", "LOCALHOST:8443", "127.0.0.1", "[::1]:8443"]) expect(() => checkHost({ host }, allowed)).not.toThrow();
  });

  it("passes anything when no list is configured (not a loopback bind)", () => {
    expect(() => checkHost({ host: "evil.example" }, undefined)).not.toThrow();
    expect(() => checkHost({}, undefined)).not.toThrow();
  });

  it("refuses any other Host, and a missing one, with 403", () => {
    for (const host of [undefined, "", "evil.example", "evil.example:8443", "127.0.0.1:8444", "127.0.0.1.evil.example:8443", "localhost:8443.evil.example", "localhost:8443 ", " localhost:8443", "localhost.:8443", "[::1]:8443@evil", "127.0.0.1:8443, evil.example"]) {
      const headers: IncomingHttpHeaders = host === undefined ? {} : { host };
      expectRefusal(() => checkHost(headers, allowed), HOST, /^Host .* is not allowed$/);
    }
  });

  it("bounds how much of a hostile Host it writes to the audit reason", () => {
    const r = expectRefusal(() => checkHost({ host: "h".repeat(10_000) }, allowed), HOST);
    expect(r.reason.length).toBeLessThan(200);
  });
});

describe("checkOrigin", () => {
  const allowed = ["https://app.example"];

  it("passes a request without Origin (not from a browser page) and a listed origin, in any case", () => {
    expect(() => checkOrigin({}, allowed, true)).not.toThrow();
    expect(() => checkOrigin({ origin: "https://app.example" }, allowed, false)).not.toThrow();
    expect(() => checkOrigin({ origin: "HTTPS://APP.EXAMPLE" }, allowed, false)).not.toThrow();
  });

  it("passes a same-origin page only when the Host itself was checked", () => {
    const headers = { origin: "http://127.0.0.1:8443", host: "127.0.0.1:8443" };
    expect(() => checkOrigin(headers, [], true)).not.toThrow();
    // Without a Host allow-list a rebound name would be "same-origin" with itself.
    expectRefusal(() => checkOrigin(headers, [], false), ORIGIN);
    expectRefusal(() => checkOrigin({ origin: "http://evil.example:8443", host: "evil.example:8443" }, [], false), ORIGIN);
  });

  it("refuses `null`, other sites and look-alikes with 403", () => {
    const host = "127.0.0.1:8443";
    for (const origin of [
      "null",
      "NULL",
      "",
      "https://evil.example",
      "https://app.example.evil.example",
      "https://app.example:444",
      "http://127.0.0.1:8443.evil.example",
      "http://127.0.0.1:8443@evil.example",
      "http://127.0.0.1:8444",
      "http://localhost:8443",
      "file://",
      "javascript:alert(1)",
      "http://127.0.0.1:8443, https://evil.example",
      "not a url",
    ]) {
      expectRefusal(() => checkOrigin({ origin, host }, allowed, true), ORIGIN, /^Origin .* is not allowed$/);
    }
  });

  it("bounds how much of a hostile Origin it writes to the audit reason", () => {
    const r = expectRefusal(() => checkOrigin({ origin: `https://${"o".repeat(10_000)}.example` }, [], true), ORIGIN);
    expect(r.reason.length).toBeLessThan(200);
  });
});

describe("checkContentType", () => {
  it("passes application/json in any case, with parameters", () => {
    for (const type of ["application/json", "Application/JSON", "application/json; charset=utf-8", "application/json;charset=UTF-8", " application/json "]) expect(() => checkContentType({ "content-type": type })).not.toThrow();
  });

  it("refuses everything else with 415, what cross-site forms send first", () => {
    for (const type of [undefined, "", "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonp", "application/json-seq", "application/jsonx", "text/json", "application/json, text/plain", "application/ld+json", "application /json", "*/*"]) {
      const headers: IncomingHttpHeaders = type === undefined ? {} : { "content-type": type };
      expectRefusal(() => checkContentType(headers), MEDIA, /^Content-Type /);
    }
  });
});

describe("acceptance", () => {
  it("reads media ranges, not substrings", () => {
    const cases: [string | undefined, { json: boolean; sse: boolean }][] = [
      [undefined, { json: true, sse: true }],
      ["*/*", { json: true, sse: true }],
      ["application/json", { json: true, sse: false }],
      ["text/event-stream", { json: false, sse: true }],
      ["application/json, text/event-stream", { json: true, sse: true }],
      ["Application/JSON;q=0.9", { json: true, sse: false }],
      ["application/*", { json: true, sse: false }],
      ["text/*", { json: false, sse: true }],
      ["text/html, */*;q=0.1", { json: true, sse: true }],
      ["application/jsonx, text/event-stream", { json: false, sse: true }],
    ];
    for (const [accept, expected] of cases) expect(acceptance(accept === undefined ? {} : { accept }), String(accept)).toEqual(expected);
  });

  it("refuses a client that accepts neither JSON nor SSE with 406", () => {
    for (const accept of ["", "text/html", "application/xml", "image/*", "application/jsonx", "application/json-seq", "text/event-streams", "application", "json"]) expectRefusal(() => acceptance({ accept }), ACCEPT, /^Accept /);
  });

  // RFC 9110 §12.4.2: "a weight of 0 means not acceptable".
  it("treats a media range with q=0 as not acceptable", () => {
    expect(acceptance({ accept: "application/json;q=0, text/event-stream" })).toEqual({ json: false, sse: true });
    expectRefusal(() => acceptance({ accept: "application/json; q=0, text/event-stream;q=0.000" }), ACCEPT);
  });
});

/** A request body as the HTTP server hands it over: a stream with headers. */
function fakeRequest(headers: IncomingHttpHeaders): { req: IncomingMessage; stream: PassThrough } {
  const stream = new PassThrough();
  return { req: Object.assign(stream, { headers }) as unknown as IncomingMessage, stream };
}

async function rejection(p: Promise<unknown>): Promise<Refusal> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(Refusal);
    return err as Refusal;
  }
  throw new Error("expected a rejection");
}

describe("readBody", () => {
  it("reads a body up to the limit, in any number of chunks", async () => {
    const { req, stream } = fakeRequest({});
    const body = readBody(req, 10);
    stream.write("12345");
    stream.write("67890");
    stream.end();
    expect((await body).toString()).toBe("1234567890");
  });

  it("refuses a declared Content-Length over the limit before reading a byte", async () => {
    const { req, stream } = fakeRequest({ "content-length": "11" });
    const r = await rejection(readBody(req, 10));
    expect({ code: r.code, http: r.http, rpc: r.rpc, message: r.message }).toEqual(TOO_LARGE);
    expect(r.reason).toBe("Content-Length 11 > 10");
    // Nothing started reading the stream.
    expect(stream.listenerCount("data")).toBe(0);
    expect(stream.readableFlowing).toBeNull();
  });

  it("cuts off a body without a length once it grows past the limit", async () => {
    const { req, stream } = fakeRequest({});
    const body = readBody(req, 10);
    stream.write("123456");
    stream.write("789012");
    const r = await rejection(body);
    expect({ code: r.code, http: r.http, rpc: r.rpc, message: r.message }).toEqual(TOO_LARGE);
    expect(r.reason).toBe("body over 10 bytes");
    // The rest is drained, not buffered: writing more does not throw or block.
    stream.write("x".repeat(1024));
    stream.end();
  });

  it("cuts off a body that lies about its length", async () => {
    const { req, stream } = fakeRequest({ "content-length": "3" });
    const body = readBody(req, 10);
    stream.write("x".repeat(11));
    const r = await rejection(body);
    expect(r.code).toBe("body_too_large");
    stream.end();
  });
});

describe("parseMessages", () => {
  const msg = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}';

  it("tells one message from a batch", () => {
    expect(parseMessages(Buffer.from(msg), 64)).toEqual({ single: { jsonrpc: "2.0", id: 1, method: "tools/list" } });
    expect(parseMessages(Buffer.from(`[${msg},${msg}]`), 64)).toEqual({ batch: [JSON.parse(msg), JSON.parse(msg)] });
  });

  it("refuses an empty batch, a nested batch and a batch with a bad element", () => {
    expectRefusal(() => parseMessages(Buffer.from("[]"), 64), INVALID, "empty batch");
    for (const body of [`[[${msg}]]`, `[${msg},1]`, `[${msg},null]`, `[${msg},{"jsonrpc":"2.0","id":true,"method":"x"}]`]) expectRefusal(() => parseMessages(Buffer.from(body), 64), INVALID);
  });
});

describe("guardStage", () => {
  const handler = () => Promise.resolve({});
  const table: MethodTable = new Map(Object.entries({ "tools/list": { eras: ["modern", "legacy"] as const, handler }, ping: { eras: ["legacy"] as const, handler }, "server/discover": { eras: ["modern"] as const, handler } }));
  const stage = guardStage(table);
  const exchange = (era: Era, message: Record<string, unknown>): Exchange => ({ message: { jsonrpc: "2.0", ...message }, caller: { era } }) as unknown as Exchange;

  it("passes a method of the caller's era, and every notification", () => {
    expect(() => stage(exchange("modern", { id: 1, method: "tools/list" }))).not.toThrow();
    expect(() => stage(exchange("legacy", { id: 1, method: "ping" }))).not.toThrow();
    expect(() => stage(exchange("modern", { method: "notifications/whatever" }))).not.toThrow();
  });

  it("refuses a method of the other era, and an unknown one, with -32601", () => {
    expectRefusal(() => stage(exchange("modern", { id: 1, method: "ping" })), NOT_FOUND, "no method ping in the modern era");
    expectRefusal(() => stage(exchange("legacy", { id: 1, method: "server/discover" })), NOT_FOUND, "no method server/discover in the legacy era");
    expectRefusal(() => stage(exchange("modern", { id: 1, method: "tools/destroy" })), NOT_FOUND);
  });

  it("bounds the method name it writes to the audit reason", () => {
    const r = expectRefusal(() => stage(exchange("modern", { id: 1, method: "m".repeat(10_000) })), NOT_FOUND);
    expect(r.reason.length).toBeLessThan(200);
  });

  // The table is a plain object; a client picks the key.
  it("refuses Object.prototype member names with -32601, not a TypeError", () => {
    for (const method of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf", "__lookupGetter__"])
      for (const era of ["modern", "legacy"] as const) expectRefusal(() => stage(exchange(era, { id: 1, method })), NOT_FOUND);
  });
});
