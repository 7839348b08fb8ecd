// Sealed requestState tokens and parked session-era calls: every misuse of a token is the same refusal; parked calls ask, get answers, expire.
import { afterEach, describe, expect, it, vi } from "vitest";
import { Refusal } from "../errors/index.ts";
import { Continuations, type ParkedOutcome } from "./continuations.ts";
import { refusalOf } from "../../test/helpers/refusal.ts";

afterEach(() => {
  vi.useRealTimers();
});

/** Everything a client can see of a refusal (the audit-only reason aside). */
const visible = (r: Refusal) => ({ code: r.code, http: r.http, rpc: r.toRpcError() });

const PASS = { k: "pass", u: "fixture", s: "upstream-state", p: "alice", m: "tools/call", t: "fixture.echo" } as const;

describe("requestState tokens", () => {
  it("round-trip: the token opens for the same principal, method and target, and carries the upstream's state", () => {
    const c = new Continuations(60_000);
    const token = c.seal(PASS);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    const opened = c.open(token, "alice", "tools/call", "fixture.echo");
    expect(opened).toEqual({ pass: { ...PASS, e: expect.any(Number) as unknown }, spend: expect.any(Function) as unknown });
    // Nothing of the payload is readable in the token.
    expect(Buffer.from(token, "base64url").toString("latin1")).not.toContain("upstream-state");
    expect(Buffer.from(token, "base64url").toString("latin1")).not.toContain("alice");
  });

  it("seals the same payload differently every time (fresh IV)", () => {
    const c = new Continuations(60_000);
    expect(c.seal(PASS)).not.toBe(c.seal(PASS));
  });

  it("refuses every misuse with one and the same refusal", () => {
    const c = new Continuations(60_000);
    const token = c.seal(PASS);
    const reference = visible(refusalOf(() => c.open(c.seal({ ...PASS, p: "mallory" }), "alice", "tools/call", "fixture.echo")));
    expect(reference).toEqual({ code: "input_state_invalid", http: 200, rpc: { code: -32602, message: "Invalid params: requestState is unknown, expired or not yours" } });

    const misuses: [string, () => unknown][] = [
      ["another principal", () => c.open(token, "mallory", "tools/call", "fixture.echo")],
      ["another method", () => c.open(token, "alice", "prompts/get", "fixture.echo")],
      ["another target", () => c.open(token, "alice", "tools/call", "fixture.delete_everything")],
      ["another gateway's key", () => new Continuations(60_000).open(token, "alice", "tools/call", "fixture.echo")],
      ["truncated", () => c.open(token.slice(0, -1), "alice", "tools/call", "fixture.echo")],
      // One more base64url character is only 6 bits and decodes to the same bytes, so "extended" means a whole byte more.
      ["extended", () => c.open(`${token}AA`, "alice", "tools/call", "fixture.echo")],
      ["too short to be one", () => c.open("AAAA", "alice", "tools/call", "fixture.echo")],
      ["too long to read", () => c.open("A".repeat(70_000), "alice", "tools/call", "fixture.echo")],
    ];
    for (const bad of [undefined, null, 0, 1, -1, true, [], {}, "", " ", "%%%"]) misuses.push([`a ${JSON.stringify(bad) ?? "undefined"}`, () => c.open(bad, "alice", "tools/call", "fixture.echo")]);
    for (const [what, misuse] of misuses) {
      let refusal: Refusal;
      try {
        refusal = refusalOf(misuse);
      } catch {
        throw new Error(`not refused: ${what}`);
      }
      expect(visible(refusal), what).toEqual(reference);
    }
  });

  it("refuses a token with any single bit flipped", () => {
    const c = new Continuations(60_000);
    const token = c.seal(PASS);
    const raw = Buffer.from(token, "base64url");
    const reference = visible(refusalOf(() => c.open(token, "bob", "tools/call", "fixture.echo")));
    for (let byte = 0; byte < raw.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Buffer.from(raw);
        flipped[byte] = (flipped[byte] as number) ^ (1 << bit);
        expect(visible(refusalOf(() => c.open(flipped.toString("base64url"), "alice", "tools/call", "fixture.echo"))), `byte ${byte} bit ${bit}`).toEqual(reference);
      }
    }
    // The untouched token still opens: the loop above refused because of the flips.
    expect(() => c.open(token, "alice", "tools/call", "fixture.echo")).not.toThrow();
  });

  it("refuses an expired token, the same way", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-08-01T00:00:00Z"));
    const c = new Continuations(5_000);
    const token = c.seal(PASS);
    const reference = visible(refusalOf(() => c.open(token, "bob", "tools/call", "fixture.echo")));
    vi.setSystemTime(new Date("2026-08-01T00:00:05Z")); // exactly the limit: still good
    expect(() => c.open(token, "alice", "tools/call", "fixture.echo")).not.toThrow();
    vi.setSystemTime(new Date("2026-08-01T00:00:05.001Z"));
    expect(visible(refusalOf(() => c.open(token, "alice", "tools/call", "fixture.echo")))).toEqual(reference);
  });

  it("a parked token opens to its call while it is parked, and is refused once released", () => {
    const c = new Continuations(60_000);
    const call = c.park();
    expect(c.parkedCount).toBe(1);
    const token = c.seal({ k: "parked", id: call.id, p: "alice", m: "tools/call", t: "legacy.ask" });
    expect(c.open(token, "alice", "tools/call", "legacy.ask")).toEqual({ parked: call });
    const reference = visible(refusalOf(() => c.open(token, "bob", "tools/call", "legacy.ask")));
    c.release(call);
    expect(c.parkedCount).toBe(0);
    expect(visible(refusalOf(() => c.open(token, "alice", "tools/call", "legacy.ask")))).toEqual(reference);
  });
});

describe("ParkedCall", () => {
  const never = new AbortController().signal;
  const elicit = { method: "elicitation/create", params: { message: "Name?" } };
  const sample = { method: "sampling/createMessage", params: { maxTokens: 1 } };

  it("hands the upstream's questions to the client, keyed, and passes the answers back", async () => {
    const c = new Continuations(60_000);
    const call = c.park();
    let finish: (r: Record<string, unknown>) => void = () => undefined;
    call.run(new Promise((resolve) => (finish = resolve)));

    const first = call.ask(elicit);
    const second = call.ask(sample);
    const asked = await call.next(never);
    expect(asked).toEqual({ kind: "input", requests: { "input-1": elicit, "input-2": sample } });

    call.answer({ "input-1": { action: "accept", content: { name: "ada" } }, "input-9": { ignored: true }, "input-2": "not an object" });
    await expect(first).resolves.toEqual({ action: "accept", content: { name: "ada" } });
    // input-2 got no usable answer: it is asked again.
    expect(await call.next(never)).toEqual({ kind: "input", requests: { "input-2": sample } });
    call.answer({ "input-2": { model: "m", role: "assistant", content: { type: "text", text: "hi" } } });
    await expect(second).resolves.toMatchObject({ model: "m" });

    finish({ content: [] });
    expect(await call.next(never)).toEqual({ kind: "result", result: { content: [] } });
  });

  it("reports the upstream call's failure", async () => {
    const call = new Continuations(60_000).park();
    const failure = new Error("upstream said no");
    call.run(Promise.reject(failure));
    expect(await call.next(never)).toEqual({ kind: "error", error: failure });
  });

  it("fail ends the call for the client and stops the upstream call; pending questions are rejected", async () => {
    const call = new Continuations(60_000).park();
    call.run(new Promise(() => undefined));
    const asking = call.ask(elicit);
    const refusal = new Refusal("capability_missing");
    call.fail(refusal);
    expect(call.abort.signal.aborted).toBe(true);
    await expect(asking).rejects.toThrow();
    expect(await call.next(never)).toEqual({ kind: "error", error: refusal });
  });

  it("the client going away while it waits cancels the upstream call", async () => {
    const call = new Continuations(60_000).park();
    // Like an upstream call, this one ends when its signal aborts.
    const cancelled = new Error("cancelled");
    call.run(new Promise((_resolve, reject) => call.abort.signal.addEventListener("abort", () => reject(cancelled))));
    const client = new AbortController();
    const waiting = call.next(client.signal);
    client.abort();
    expect(call.abort.signal.aborted).toBe(true);
    await expect(waiting).resolves.toEqual({ kind: "error", error: cancelled });
  });

  it("answers every retry waiting on it at once, never leaving one hanging (a client re-sending the same requestState twice)", async () => {
    const call = new Continuations(60_000).park();
    let finish: (r: Record<string, unknown>) => void = () => undefined;
    call.run(new Promise((resolve) => (finish = resolve)));
    const first = call.next(never);
    const second = call.next(never);
    finish({ done: true });
    const hung = new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 500));
    const outcomes = await Promise.all([Promise.race([first, hung]), Promise.race([second, hung])]);
    expect(outcomes).not.toContain("hung");
  });

  it("expires when the client does not come back in time: the call is stopped, its questions rejected, and it is forgotten", async () => {
    vi.useFakeTimers();
    const c = new Continuations(1_000);
    const call = c.park();
    call.run(new Promise(() => undefined));
    const asking = call.ask(elicit);
    const rejected = expect(asking).rejects.toThrow(/did not come back/);
    const outcome: ParkedOutcome = await call.next(never);
    expect(outcome.kind).toBe("input");
    expect(c.parkedCount).toBe(1);

    vi.advanceTimersByTime(999);
    expect(call.abort.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(call.abort.signal.aborted).toBe(true);
    await rejected;
    expect(c.parkedCount).toBe(0);
  });

  it("coming back in time stops the expiry clock", async () => {
    vi.useFakeTimers();
    const c = new Continuations(1_000);
    const call = c.park();
    let finish: (r: Record<string, unknown>) => void = () => undefined;
    call.run(new Promise((resolve) => (finish = resolve)));
    const asking = call.ask(elicit);
    await call.next(never);
    vi.advanceTimersByTime(900);
    call.answer({ "input-1": { action: "accept", content: {} } });
    await expect(asking).resolves.toEqual({ action: "accept", content: {} });
    const back = call.next(never); // the client is back: waiting again, no expiry while it waits
    vi.advanceTimersByTime(5_000);
    expect(call.abort.signal.aborted).toBe(false);
    finish({ done: true });
    await expect(back).resolves.toEqual({ kind: "result", result: { done: true } });
  });
});
