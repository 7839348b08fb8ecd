// The guarded parser and the JSON-RPC shape check: every bad input refused with its stable code and message, every good one typed as it came.
import { describe, expect, it } from "vitest";
import { Refusal } from "../errors/index.ts";
import { assertDepth, errorResponse, isNotification, isRequest, isResponse, parseBody, resultResponse, SseParser, sseFrame, toMessage, type SseEvent } from "./index.ts";
import { refusalOf } from "../../test/helpers/refusal.ts";

const PARSE_ERROR = { code: "parse_error", http: 400, rpc: -32700, message: "Parse error: body is not valid UTF-8 JSON" };
const TOO_DEEP = { code: "too_deep", http: 400, rpc: -32600, message: "Invalid Request: JSON nested too deeply" };
const INVALID = { code: "invalid_message", http: 400, rpc: -32600, message: "Invalid Request: not one JSON-RPC 2.0 message" };

function expectRefusal(fn: () => unknown, expected: { code: string; http: number; rpc: number; message: string }, reason?: string | RegExp): Refusal {
  const r = refusalOf(fn);
  expect({ code: r.code, http: r.http, rpc: r.rpc, message: r.message }).toEqual(expected);
  if (typeof reason === "string") expect(r.reason).toBe(reason);
  else if (reason !== undefined) expect(r.reason).toMatch(reason);
  // What the client sees: the code and the one sentence, nothing of the reason.
  expect(r.toRpcError()).toEqual({ code: expected.rpc, message: expected.message });
  return r;
}

const b = (s: string): Buffer => Buffer.from(s, "utf8");

describe("assertDepth", () => {
  it("passes nesting up to the limit and refuses one level more, arrays and objects alike", () => {
    for (const depth of [1, 2, 8, 64]) {
      expect(() => assertDepth(b(`${"[".repeat(depth)}${"]".repeat(depth)}`), depth)).not.toThrow();
      expect(() => assertDepth(b(`${'{"a":'.repeat(depth - 1)}{}${"}".repeat(depth - 1)}`), depth)).not.toThrow();
      expectRefusal(() => assertDepth(b(`${"[".repeat(depth + 1)}${"]".repeat(depth + 1)}`), depth), TOO_DEEP, `nesting deeper than ${depth}`);
      expectRefusal(() => assertDepth(b(`${'{"a":'.repeat(depth)}{}${"}".repeat(depth)}`), depth), TOO_DEEP);
      expectRefusal(() => assertDepth(b(`${"[{".repeat(depth)}`), depth), TOO_DEEP);
    }
  });

  it("counts depth, not the number of containers", () => {
    const wide = `[${Array.from({ length: 10_000 }, () => "[[]]").join(",")}]`;
    expect(() => assertDepth(b(wide), 3)).not.toThrow();
    expectRefusal(() => assertDepth(b(wide), 2), TOO_DEEP);
  });

  it("skips brackets inside strings, honouring escaped quotes and backslashes", () => {
    for (const s of ['"[[[[[[[["', '"\\"[[[[[[[["', '["\\\\", "[[[[[[[["]', '{"k[[[[[[[[":"v{{{{{{{{"}', '"\\u005b\\u005b\\u005b"']) expect(() => assertDepth(b(s), 2), s).not.toThrow();
    // An escaped quote does not end the string; an escaped backslash before a quote does.
    expectRefusal(() => assertDepth(b('["\\\\",[[]]]'), 2), TOO_DEEP);
    expect(() => assertDepth(b('["\\"",[[]]]'.replace("[[]]", '"[[]]"')), 2)).not.toThrow();
  });

  it("refuses 1 MiB of `[` in one linear pass", () => {
    const body = Buffer.alloc(1024 * 1024, "[");
    const started = performance.now();
    expectRefusal(() => assertDepth(body, 64), TOO_DEEP);
    expect(performance.now() - started).toBeLessThan(1000);
    // Past the limit the scan stops: the cost of a hostile body does not grow with its length.
    const longer = Buffer.alloc(16 * 1024 * 1024, "[");
    const t2 = performance.now();
    expectRefusal(() => assertDepth(longer, 64), TOO_DEEP);
    expect(performance.now() - t2).toBeLessThan(1000);
  });
});

describe("parseBody", () => {
  it("parses UTF-8 JSON, non-ASCII and escapes included", () => {
    expect(parseBody(b('{"a":"é漢😀","b":[1,2,{"c":null}]}'), 64)).toEqual({ a: "é漢😀", b: [1, 2, { c: null }] });
    expect(parseBody(b('"\\ud83d\\ude00"'), 64)).toBe("😀");
    expect(parseBody(b(" \n\t 1 \n"), 64)).toBe(1);
  });

  it("refuses bytes that are not UTF-8 with -32700", () => {
    const bad: number[][] = [
      [0xff],
      [0xfe, 0xff],
      [0x22, 0xc0, 0xaf, 0x22], // overlong "/"
      [0x22, 0xe0, 0x80, 0xaf, 0x22], // overlong, three bytes
      [0x22, 0xed, 0xa0, 0x80, 0x22], // UTF-16 surrogate D800 in UTF-8 (CESU-8)
      [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22], // above U+10FFFF
      [0x22, 0xe2, 0x82, 0x22], // truncated sequence
      [0x22, 0x80, 0x22], // lone continuation byte
    ];
    for (const bytes of bad) expectRefusal(() => parseBody(Buffer.from(bytes), 64), PARSE_ERROR, "body is not valid UTF-8");
  });

  it("refuses what is not JSON with -32700, a BOM included", () => {
    for (const s of ["", " ", "\uFEFF{}", "{", '{"a":1', "{'a':1}", '{"a":1,}', "[1,]", "NaN", "Infinity", "undefined", "01", '{"a":1}{"b":2}', "/*x*/{}", '"\t"', "{a:1}", "\u00a0{}"])
      expectRefusal(() => parseBody(b(s), 64), PARSE_ERROR, "body is not JSON");
  });

  it("checks depth before parsing", () => {
    expectRefusal(() => parseBody(b(`${"[".repeat(65)}`), 64), TOO_DEEP);
  });

  it("keeps __proto__ an own data property and touches no prototype", () => {
    const value = parseBody(b('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}'), 64) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(["__proto__", "constructor"]);
    expect(Object.getOwnPropertyDescriptor(value, "__proto__")?.value).toEqual({ polluted: 1 });
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});

describe("toMessage", () => {
  const request = { jsonrpc: "2.0", id: 1, method: "tools/list" };

  it("types requests, notifications and responses as they came", () => {
    const cases: Record<string, unknown>[] = [
      request,
      { ...request, id: "abc" },
      { ...request, id: 0 },
      { ...request, id: -1.5 },
      { ...request, id: "i".repeat(256) },
      { ...request, method: "m".repeat(128) },
      { ...request, params: {} },
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: 1, result: {} },
      { jsonrpc: "2.0", id: "x", error: { code: -32601, message: "nope", data: [1] } },
      { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } },
    ];
    for (const value of cases) expect(toMessage(value)).toBe(value);
    const r = toMessage(request);
    expect([isRequest(r), isNotification(r), isResponse(r)]).toEqual([true, false, false]);
    const n = toMessage({ jsonrpc: "2.0", method: "x" });
    expect([isRequest(n), isNotification(n), isResponse(n)]).toEqual([false, true, false]);
    const s = toMessage({ jsonrpc: "2.0", id: 1, result: {} });
    expect([isRequest(s), isNotification(s), isResponse(s)]).toEqual([false, false, true]);
  });

  it("refuses anything but a JSON-RPC 2.0 object", () => {
    for (const v of [0, 1, -1, true, false, null, undefined, [], [request], "", "str", {}, { ...request, jsonrpc: "1.0" }, { ...request, jsonrpc: 2 }, { ...request, jsonrpc: "2.0 " }, { id: 1, method: "x" }])
      expectRefusal(() => toMessage(v), INVALID, "not a JSON-RPC 2.0 object");
  });

  it("refuses a method that is not a short non-empty string", () => {
    for (const method of [0, 1, true, null, [], {}, "", "m".repeat(129)]) expectRefusal(() => toMessage({ ...request, method }), INVALID, "method is not a short string");
  });

  it("refuses params that are not an object", () => {
    for (const params of [0, 1, -1, true, null, [], "", "x", [{}]]) expectRefusal(() => toMessage({ ...request, params }), INVALID, "params is not an object");
  });

  it("refuses a request id that is not a short string or a finite number", () => {
    for (const id of [true, false, null, [], {}, "i".repeat(257), "x".repeat(10_000), Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, undefined])
      expectRefusal(() => toMessage({ ...request, id }), INVALID, "id is not a string or number");
  });

  it("refuses a request that carries result or error", () => {
    for (const extra of [{ result: {} }, { error: { code: 1, message: "x" } }, { result: undefined }]) expectRefusal(() => toMessage({ ...request, ...extra }), INVALID, "request carries result or error");
  });

  it("refuses a malformed response", () => {
    const ok = { jsonrpc: "2.0", id: 1 };
    for (const id of [true, [], {}, "i".repeat(257), undefined]) expectRefusal(() => toMessage({ ...ok, id, result: {} }), INVALID, "response id is not a string or number");
    for (const v of [ok, { ...ok, result: {}, error: { code: 1, message: "x" } }]) expectRefusal(() => toMessage(v), INVALID, "response must carry exactly one of result or error");
    for (const result of [0, 1, true, null, [], "", "x"]) expectRefusal(() => toMessage({ ...ok, result }), INVALID, "result is not an object");
    for (const error of [0, null, [], "x", {}, { code: "1", message: "x" }, { code: 1 }, { message: "x" }, { code: 1, message: 2 }])
      expectRefusal(() => toMessage({ ...ok, error }), INVALID, "error is not a JSON-RPC error object");
  });
});

describe("responses and SSE frames", () => {
  it("builds error and result responses", () => {
    expect(errorResponse(null, { code: -32700, message: "Parse error" })).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } });
    expect(resultResponse("a", { x: 1 })).toEqual({ jsonrpc: "2.0", id: "a", result: { x: 1 } });
  });

  it("frames a message as one data line whatever its strings hold", () => {
    const message = resultResponse(1, { text: "line1\nline2\r\n\ndata: forged\n\nid: 99\u2028\u2029" });
    for (const frame of [sseFrame(message), sseFrame(message, "3-7")]) {
      expect(frame.endsWith("\n\n")).toBe(true);
      const lines = frame.slice(0, -2).split(/\r\n|\r|\n/);
      expect(lines.filter((l) => l.startsWith("data:"))).toHaveLength(1);
      expect(lines.every((l) => /^(event|id|data): /.test(l))).toBe(true);
      let parsed: unknown;
      new SseParser((e) => (parsed = JSON.parse(e.data))).push(frame);
      expect(parsed).toEqual(message);
    }
    expect(sseFrame(message, "3-7")).toContain("\nid: 3-7\n");
  });
});

describe("SseParser", () => {
  function parse(chunks: readonly string[], maxEventBytes?: number): { events: SseEvent[]; parser: SseParser } {
    const events: SseEvent[] = [];
    const parser = new SseParser((e) => events.push(e), maxEventBytes);
    for (const c of chunks) parser.push(c);
    return { events, parser };
  }

  it("reads events split at any byte boundary, LF and CRLF alike", () => {
    const stream = "event: message\r\nid: 1-1\r\ndata: {\"a\":1}\r\n\r\n: comment\n\ndata: x\ndata: y\nretry: 1500\n\n";
    const whole = parse([stream]).events;
    expect(whole).toEqual([
      { event: "message", data: '{"a":1}', id: "1-1", retry: undefined },
      { event: "message", data: "x\ny", id: undefined, retry: 1500 },
    ]);
    expect(parse([...stream]).events).toEqual(whole);
    for (let cut = 1; cut < stream.length; cut++) expect(parse([stream.slice(0, cut), stream.slice(cut)]).events).toEqual(whole);
  });

  it("ignores an id holding NUL and a retry that is not digits, and remembers the last id", () => {
    const { events, parser } = parse(["id: 7\ndata: a\n\nid: bad\u0000id\ndata: b\n\nretry: 10ms\ndata: c\n\n"]);
    expect(events.map((e) => [e.data, e.id, e.retry])).toEqual([
      ["a", "7", undefined],
      ["b", undefined, undefined],
      ["c", undefined, undefined],
    ]);
    expect(parser.lastEventId).toBe("7");
  });

  it("takes a field without a colon, and one space after the colon only", () => {
    expect(parse(["data\ndata:  two spaces\n\n"]).events[0]?.data).toBe("\n two spaces");
  });

  it("refuses a line longer than maxEventBytes", () => {
    expect(() => parse([`data: ${"x".repeat(2000)}`], 1024)).toThrow("SSE event exceeds the size limit");
  });

  // The doc: "maxEventBytes bounds what one misbehaving upstream can make the gateway buffer." An event made of many short
  // data lines never ends a line over the limit, yet its data grows without bound until the blank line that never comes.
  it("refuses an event of many short data lines that together pass maxEventBytes", () => {
    const events: SseEvent[] = [];
    const parser = new SseParser((e) => events.push(e), 1024);
    expect(() => {
      for (let i = 0; i < 200; i++) parser.push(`data: ${"x".repeat(100)}\n`);
    }).toThrow("SSE event exceeds the size limit");
    expect(events).toEqual([]);
  });

  // WHATWG HTML §9.2.6: lines end with CRLF, LF or a lone CR.
  it("ends lines at a lone CR, as the event-stream grammar allows", () => {
    expect(parse(["data: a\rdata: b\r\r"]).events.map((e) => e.data)).toEqual(["a\nb"]);
  });
});
