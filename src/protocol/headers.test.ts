// The 2026-07-28 mirrored headers (SEP-2243): the `=?base64?…?=` form both ways, and every way headers and body can disagree.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RpcMessage } from "../jsonrpc/index.ts";
import { assertHeadersMatchBody, decodeHeaderValue, encodeHeaderValue, namedTarget } from "./headers.ts";
import { expectMismatch } from "../../test/helpers/refusal.ts";


const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
/** What a header may carry: visible ASCII, inner spaces, no edge spaces (RFC 9110 field-value after OWS trimming). */
const HEADER_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

describe("encodeHeaderValue", () => {
  it("keeps visible ASCII without edge spaces as it is", () => {
    for (const v of ["tools/call", "fixture.echo", "a b", "test://static-text", "~!@#$%^&*()", "x"]) expect(encodeHeaderValue(v)).toBe(v);
  });

  it("uses the base64 form for everything else, and for plain text that looks like it", () => {
    const cases: [string, string][] = [
      ["", "=?base64??="],
      [" a", `=?base64?${b64(" a")}?=`],
      ["a ", `=?base64?${b64("a ")}?=`],
      ["a\tb", `=?base64?${b64("a\tb")}?=`],
      ["é", "=?base64?w6k=?="],
      ["fixture.ech\u200bo", `=?base64?${b64("fixture.ech\u200bo")}?=`],
      ["a\u0000", "=?base64?YQA=?="],
      ["line\r\nX-Injected: 1", `=?base64?${b64("line\r\nX-Injected: 1")}?=`],
      ["=?base64?YQ==?=", `=?base64?${b64("=?base64?YQ==?=")}?=`],
    ];
    for (const [value, header] of cases) expect(encodeHeaderValue(value), JSON.stringify(value)).toBe(header);
  });

  it("always yields a value a header can carry", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        expect(encodeHeaderValue(s)).toMatch(HEADER_SAFE);
      }),
    );
  });
});

describe("decodeHeaderValue", () => {
  it("returns a value without the sentinel as it is", () => {
    for (const v of ["fixture.echo", "=?base64?", "?=", "=?base64?YQ==", "YQ==?=", "=?BASE64?YQ==?=", "=?Base64?YQ==?=", " =?base64?YQ==?="]) expect(decodeHeaderValue(v)).toBe(v);
  });

  it("decodes canonical base64 of UTF-8", () => {
    expect(decodeHeaderValue("=?base64??=")).toBe("");
    expect(decodeHeaderValue("=?base64?YQ==?=")).toBe("a");
    expect(decodeHeaderValue("=?base64?YWI=?=")).toBe("ab");
    expect(decodeHeaderValue("=?base64?YWJj?=")).toBe("abc");
    expect(decodeHeaderValue(`=?base64?${b64("fixture.еcho")}?=`)).toBe("fixture.еcho");
    expect(decodeHeaderValue(`=?base64?${b64("😀\u0000")}?=`)).toBe("😀\u0000");
  });

  it("refuses base64 that is not canonical, and bytes that are not UTF-8", () => {
    for (const payload of [
      "YQ", // padding dropped
      "YQ=", // padding short
      "YQ===", // padding long
      "YWI", // padding dropped
      "Y Q==", // inner space
      " YQ==", // leading space
      "YQ==\n",
      "YQ==YQ==", // padding in the middle
      "-_8=", // URL-safe alphabet
      "YQ%3D%3D",
      "=",
      "====",
      "/w==", // 0xFF
      "wK8=", // overlong "/" (C0 AF)
      "7aCA", // UTF-16 surrogate in UTF-8
      "4oI=", // truncated sequence
    ]) {
      expect(decodeHeaderValue(`=?base64?${payload}?=`), payload).toBeUndefined();
    }
  });

  // RFC 4648 §3.5: the pad bits of canonical base64 are zero, so each value has exactly one encoding;
  // "YR==" decodes to "a" as "YQ==" does, so a header would have two spellings of one value.
  it("refuses base64 whose unused bits are not zero", () => {
    for (const payload of ["YR==", "YV==", "YWJ=", "YWL="]) expect(decodeHeaderValue(`=?base64?${payload}?=`), payload).toBeUndefined();
  });

  // A value that starts with U+FEFF must come back with it: the decoder may not treat it as a byte-order mark.
  it("keeps a leading U+FEFF", () => {
    expect(decodeHeaderValue(encodeHeaderValue("\uFEFFfixture.echo"))).toBe("\uFEFFfixture.echo");
    expect(decodeHeaderValue(`=?base64?${b64("\uFEFFa")}?=`)).toBe("\uFEFFa");
  });

  it("round-trips every string through encodeHeaderValue", () => {
    fc.assert(
      fc.property(
        // A leading U+FEFF is the case of the test above.
        fc.string({ unit: "binary" }).filter((s) => !s.startsWith("\uFEFF")),
        (s) => {
          expect(decodeHeaderValue(encodeHeaderValue(s))).toBe(s);
        },
      ),
    );
  });
});

describe("namedTarget", () => {
  it("names the field Mcp-Name mirrors, per method", () => {
    expect(namedTarget("tools/call", { name: "t" })).toBe("t");
    expect(namedTarget("prompts/get", { name: "p" })).toBe("p");
    expect(namedTarget("resources/read", { uri: "u://x", name: "not this" })).toBe("u://x");
    for (const method of ["tools/list", "initialize", "resources/subscribe", "completion/complete", "constructor", "__proto__"]) expect(namedTarget(method, { name: "t", uri: "u" })).toBeUndefined();
    expect(namedTarget("tools/call", undefined)).toBeUndefined();
  });
});

describe("assertHeadersMatchBody", () => {
  const V = "2026-07-28";
  const call: RpcMessage = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "fixture.echo", arguments: {} } };
  const good = { "mcp-protocol-version": V, "mcp-method": "tools/call", "mcp-name": "fixture.echo" };

  it("passes headers that tell the truth, plain or in the base64 form", () => {
    expect(() => assertHeadersMatchBody(good, call, V)).not.toThrow();
    expect(() => assertHeadersMatchBody({ ...good, "mcp-name": `=?base64?${b64("fixture.echo")}?=`, "mcp-method": `=?base64?${b64("tools/call")}?=` }, call, V)).not.toThrow();
    const list: RpcMessage = { jsonrpc: "2.0", id: 1, method: "tools/list" };
    expect(() => assertHeadersMatchBody({ "mcp-protocol-version": V, "mcp-method": "tools/list" }, list, V)).not.toThrow();
    const read: RpcMessage = { jsonrpc: "2.0", id: 1, method: "resources/read", params: { uri: "test://é" } };
    expect(() => assertHeadersMatchBody({ "mcp-protocol-version": V, "mcp-method": "resources/read", "mcp-name": encodeHeaderValue("test://é") }, read, V)).not.toThrow();
    // A response carries no method: only the version is checked.
    const response: RpcMessage = { jsonrpc: "2.0", id: 1, result: {} };
    expect(() => assertHeadersMatchBody({ "mcp-protocol-version": V }, response, V)).not.toThrow();
  });

  it("refuses a version header that is missing or differs from _meta", () => {
    for (const version of [undefined, "", "2025-11-25", "2026-07-28 ", "2026-07-29"])
      expectMismatch(() => assertHeadersMatchBody({ ...good, "mcp-protocol-version": version }, call, V), "MCP-Protocol-Version header differs from _meta protocolVersion");
  });

  it("refuses an Mcp-Method that is missing or differs from the body", () => {
    for (const method of [undefined, "", "tools/list", "TOOLS/CALL", "tools/call ", "tools/call\u0000", `=?base64?${b64("tools/list")}?=`, "=?base64?not base64?="])
      expectMismatch(() => assertHeadersMatchBody({ ...good, "mcp-method": method }, call, V), "Mcp-Method header missing or differs from the body");
  });

  it("refuses an Mcp-Name that is missing or differs from the body", () => {
    for (const name of [undefined, "", "fixture.stats", "Fixture.Echo", "fixture.echo ", `=?base64?${b64("fixture.echo ")}?=`, `=?base64?${b64("fixture.ech\u200bo")}?=`, `=?BASE64?${b64("fixture.echo")}?=`, "=?base64?Zml4dHVyZS5lY2hv?"])
      expectMismatch(() => assertHeadersMatchBody({ ...good, "mcp-name": name }, call, V), "Mcp-Name header missing or differs from the body");
  });

  it("refuses a name in the body that is not a string", () => {
    for (const name of [0, 1, true, null, [], {}, ["fixture.echo"]]) {
      const message: RpcMessage = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name } };
      expectMismatch(() => assertHeadersMatchBody({ ...good, "mcp-name": String(name) }, message, V), "Mcp-Name header missing or differs from the body");
    }
  });

  it("refuses an Mcp-Name on a method that names nothing", () => {
    const list: RpcMessage = { jsonrpc: "2.0", id: 1, method: "tools/list" };
    expectMismatch(() => assertHeadersMatchBody({ "mcp-protocol-version": V, "mcp-method": "tools/list", "mcp-name": "fixture.echo" }, list, V), "Mcp-Name header on a method without a name");
  });

  it("refuses a header given more than once, even with equal values", () => {
    for (const name of ["mcp-protocol-version", "mcp-method", "mcp-name"] as const) {
      const value = good[name];
      expectMismatch(() => assertHeadersMatchBody({ ...good, [name]: [value, value] }, call, V), `${name} given more than once`);
    }
  });
});
