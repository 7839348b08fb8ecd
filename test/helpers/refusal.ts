// Assertions on refusals for unit tests: the Refusal a function throws, and the header-mismatch refusal of SEP-2243.
import { expect } from "vitest";
import { Refusal } from "../../src/errors/index.ts";

/** Runs `fn` and returns the Refusal it threw (fails if it threw anything else or nothing). */
export function refusalOf(fn: () => unknown): Refusal {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Refusal);
    return err as Refusal;
  }
  throw new Error("expected a Refusal, nothing was thrown");
}

const MISMATCH = { code: "header_mismatch", http: 400, rpc: -32020, message: "Header mismatch: MCP headers do not match the request body" };

/** Asserts `fn` refuses with -32020 / HTTP 400, and (when given) the audit reason. */
export function expectMismatch(fn: () => unknown, reason?: string | RegExp): void {
  const r = refusalOf(fn);
  expect({ code: r.code, http: r.http, rpc: r.rpc, message: r.message }).toEqual(MISMATCH);
  if (typeof reason === "string") expect(r.reason).toBe(reason);
  else if (reason !== undefined) expect(r.reason).toMatch(reason);
}
