// `Mcp-Param-*` headers (SEP-2243): which arguments a schema mirrors, how they are written, and every way a header can disagree with its argument.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assertParamHeaders, mirrorsOf, paramHeaders, type Mirror } from "./param-headers.ts";
import { expectMismatch } from "../../test/helpers/refusal.ts";


const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

describe("mirrorsOf", () => {
  it("reads x-mcp-header from direct top-level properties", () => {
    const schema = {
      type: "object",
      properties: {
        region: { type: "string", "x-mcp-header": "Region" },
        count: { type: "integer", "x-mcp-header": "X-Count_1" },
        query: { type: "string" },
        nested: { type: "object", properties: { inner: { type: "string", "x-mcp-header": "Inner" } } },
      },
    };
    expect(mirrorsOf(schema)).toEqual([
      { property: "region", header: "Region" },
      { property: "count", header: "X-Count_1" },
    ]);
  });

  it("ignores header names that are not RFC 9110 tokens", () => {
    for (const header of ["", "Re gion", "Region:", "Re\r\ngion", "Régión", "Re/gion", "(Region)", "Re\u0000gion", 5, true, null, {}, ["Region"]]) {
      expect(mirrorsOf({ properties: { region: { type: "string", "x-mcp-header": header } } }), JSON.stringify(header)).toEqual([]);
    }
  });

  it("reads nothing from a schema that is not one", () => {
    for (const schema of [undefined, null, 0, "", "schema", [], {}, { properties: null }, { properties: "x" }, { properties: { a: null } }, { properties: { a: 5 } }]) expect(mirrorsOf(schema)).toEqual([]);
  });
});

describe("paramHeaders", () => {
  const mirrors: Mirror[] = [
    { property: "region", header: "Region" },
    { property: "count", header: "Count" },
    { property: "flag", header: "Flag" },
  ];

  it("writes strings as they are, booleans in lower case, integers in decimal, the rest in base64", () => {
    expect(paramHeaders(mirrors, { region: "eu-west-1", count: 42, flag: false })).toEqual({ "mcp-param-region": "eu-west-1", "mcp-param-count": "42", "mcp-param-flag": "false" });
    expect(paramHeaders(mirrors, { region: "Zürich", count: -7, flag: true })).toEqual({ "mcp-param-region": `=?base64?${b64("Zürich")}?=`, "mcp-param-count": "-7", "mcp-param-flag": "true" });
    expect(paramHeaders(mirrors, { region: " padded " })).toEqual({ "mcp-param-region": `=?base64?${b64(" padded ")}?=` });
    expect(paramHeaders(mirrors, { region: "a\r\nX-Injected: 1" })).toEqual({ "mcp-param-region": `=?base64?${b64("a\r\nX-Injected: 1")}?=` });
  });

  it("writes no header for an absent or null argument, or one that is not a primitive", () => {
    for (const value of [undefined, null, {}, [], ["a"], Number.MAX_SAFE_INTEGER + 2, Number.NaN, Number.POSITIVE_INFINITY]) expect(paramHeaders(mirrors, { region: value, count: value, flag: value }), String(value)).toEqual({});
    expect(paramHeaders(mirrors, undefined)).toEqual({});
  });
});

describe("assertParamHeaders", () => {
  const mirrors: Mirror[] = [{ property: "region", header: "Region" }];

  it("passes a header that carries its argument, plain or in base64", () => {
    expect(() => assertParamHeaders({ "mcp-param-region": "eu" }, mirrors, { region: "eu" })).not.toThrow();
    expect(() => assertParamHeaders({ "mcp-param-region": `=?base64?${b64("Zürich")}?=` }, mirrors, { region: "Zürich" })).not.toThrow();
    expect(() => assertParamHeaders({ "mcp-param-region": "true" }, mirrors, { region: true })).not.toThrow();
    expect(() => assertParamHeaders({ "mcp-param-region": "-12" }, mirrors, { region: -12 })).not.toThrow();
    // No argument, no header.
    expect(() => assertParamHeaders({}, mirrors, {})).not.toThrow();
    expect(() => assertParamHeaders({}, mirrors, { region: null })).not.toThrow();
    expect(() => assertParamHeaders({}, mirrors, undefined)).not.toThrow();
    expect(() => assertParamHeaders({ "mcp-param-region": "eu" }, [], { region: "us" })).not.toThrow();
  });

  it("refuses a missing header", () => {
    for (const region of ["eu", "", 0, false]) expectMismatch(() => assertParamHeaders({}, mirrors, { region }), "Mcp-Param-Region missing");
  });

  it("refuses a header sent without its argument", () => {
    for (const args of [{}, { region: null }, undefined]) expectMismatch(() => assertParamHeaders({ "mcp-param-region": "eu" }, mirrors, args), "Mcp-Param-Region sent without the argument");
  });

  it("refuses a header given twice", () => {
    expectMismatch(() => assertParamHeaders({ "mcp-param-region": ["eu", "eu"] }, mirrors, { region: "eu" }), "Mcp-Param-Region given more than once");
  });

  it("refuses a header that differs from its argument", () => {
    const cases: [string, unknown][] = [
      ["us", "eu"],
      ["EU", "eu"],
      ["eu", "eu "],
      [`=?base64?${b64("us")}?=`, "eu"],
      ["=?base64?ZXU?=", "eu"], // not canonical
      ["=?base64?/w==?=", "\ufffd"], // not UTF-8
      ["True", true],
      ["1", true],
      ["false", true],
      ["0x10", 16],
      ["+16", 16],
      ["eu", {}],
      ["[object Object]", {}],
      ["eu", ["eu"]],
    ];
    for (const [header, region] of cases) expectMismatch(() => assertParamHeaders({ "mcp-param-region": header }, mirrors, { region }), "Mcp-Param-Region differs from the argument");
  });

  it("accepts what paramHeaders writes, for every string, boolean and safe integer", () => {
    const arg = fc.oneof(fc.string({ unit: "binary" }), fc.boolean(), fc.maxSafeInteger());
    fc.assert(
      fc.property(fc.record({ region: arg, count: arg }), (args) => {
        const two: Mirror[] = [...mirrors, { property: "count", header: "X-Count" }];
        expect(() => assertParamHeaders(paramHeaders(two, args), two, args)).not.toThrow();
      }),
    );
  });

  // SEP-2243 asks servers to compare numbers as numbers, and the SDK client mirrors any finite number in decimal
  // (`String(1.5)`). A tool whose mirrored parameter is a `number` must stay callable through the gateway.
  it("accepts a number argument mirrored in decimal, as SDK clients send it", () => {
    for (const [header, value] of [
      ["1.5", 1.5],
      ["-0.25", -0.25],
      ["7.0", 7],
    ] as const) {
      expect(() => assertParamHeaders({ "mcp-param-region": header }, mirrors, { region: value }), `${header} vs ${value}`).not.toThrow();
    }
    // And what the gateway itself writes for such an argument (to an upstream) passes its own check.
    expect(() => assertParamHeaders(paramHeaders(mirrors, { region: 1.5 }), mirrors, { region: 1.5 })).not.toThrow();
  });
});
