// The forward stage: route each method to the upstream that owns its target, relay everything that happens during the call, and bridge the eras.
import type { Kind, Policy } from "../authz/index.ts";
import type { Catalog, ListKind, Route } from "../catalog/index.ts";
import { Refusal } from "../errors/index.ts";
import type { Params, RpcNotification } from "../jsonrpc/index.ts";
import type { Exchange, Forward } from "../pipeline/index.ts";
import { isLogLevel, logPasses, withoutReservedMeta, type Era } from "../protocol/versions.ts";
import type { Hub, Listener } from "../protocol/hub.ts";
import { CallCancelled, UpstreamRpcError, type CallerMeta, type ServerRequest, type Upstream } from "../upstream/index.ts";
import { Continuations, type ParkedCall } from "./continuations.ts";

export { Continuations } from "./continuations.ts";

/** A method answered by the gateway or relayed; receives the exchange once every check passed. */
export type Handler = (exchange: Exchange) => Promise<Record<string, unknown>>;

/** Which eras a method exists in; a call from the other era is `method not found`. */
export interface MethodSpec {
  handler: Handler;
  eras: readonly Era[];
}

export interface ForwardDeps {
  catalog: Catalog;
  /** The same policy the authorize stage uses: lists show exactly what calls may use. */
  policy: Policy;
  hub: Hub;
  continuations: Continuations;
  /** Listener of a session-era session (its GET stream), for resource subscriptions. */
  sessionListener: (exchange: Exchange) => Listener | undefined;
  /** Methods the protocol layer answers itself (initialize, server/discover, subscriptions/listen). */
  lifecycle: Record<string, MethodSpec>;
}

/** How each list's items are named for the policy. */
const LIST_PERMISSION: Record<ListKind, { kind: Kind; key: string }> = {
  tools: { kind: "tool", key: "name" },
  prompts: { kind: "prompt", key: "name" },
  resources: { kind: "resource", key: "uri" },
  resourceTemplates: { kind: "resource", key: "uriTemplate" },
};

/** Most input-required rounds a session-era client is walked through for one request. */
const MAX_INPUT_ROUNDS = 16;
const BOTH: readonly Era[] = ["modern", "legacy"];
const LEGACY: readonly Era[] = ["legacy"];

/** Every method the gateway serves, by name (the guard stage checks the era, forward runs the handler); a Map, as the key is client input. */
export type MethodTable = ReadonlyMap<string, MethodSpec>;

export function createMethodTable(deps: ForwardDeps): MethodTable {
  const { catalog, policy } = deps;
  /** A list as the caller may see it: one decision with the authorize stage, so nothing listed is refused and nothing refused is listed. */
  const list = (kind: ListKind, field: string): MethodSpec => {
    const permission = LIST_PERMISSION[kind];
    return {
      eras: BOTH,
      handler: (ex) => Promise.resolve({ [field]: catalog.list(kind).filter((item) => policy.allows(ex.principal, permission.kind, String(item[permission.key]))) }),
    };
  };
  /**
   * A tools/call or prompts/get, relayed to the upstream behind the exposed name. An absent name
   * (or a quarantined tool) gets the absent answer; so does a name the upstream dropped before its
   * list_changed reached the catalog (re-read on its -32602), never the upstream's own wording.
   */
  const callNamed = (ex: Exchange, kind: "tool" | "prompt"): Promise<Record<string, unknown>> => {
    const name = stringParam(ex, "name");
    const resolve = (): Route | undefined => (kind === "tool" ? catalog.resolveTool(name) : catalog.resolvePrompt(name));
    const absent = (reason: string): Refusal => new Refusal("unknown_name", { message: `Unknown ${kind}: ${clip(name)}`, reason });
    const route = resolve();
    if (route === undefined) {
      const withheld = kind === "tool" ? catalog.withheld(name) : undefined;
      throw absent(withheld === undefined ? `no such ${kind}` : `tool withheld by the pin book (${withheld})`);
    }
    const method = kind === "tool" ? "tools/call" : "prompts/get";
    return relay(deps, ex, route.upstream, method, { ...ex.message.params, name: route.name }).catch(async (err: unknown) => {
      if (!(err instanceof UpstreamRpcError) || err.error.code !== -32602) throw err;
      await catalog.refresh(route.upstream, [kind === "tool" ? "tools" : "prompts"]);
      if (resolve()?.upstream !== route.upstream) throw absent(`${kind} gone upstream during the call`);
      throw err;
    });
  };
  const methods: Record<string, MethodSpec> = {
    ...deps.lifecycle,
    "tools/list": list("tools", "tools"),
    "prompts/list": list("prompts", "prompts"),
    "resources/list": list("resources", "resources"),
    "resources/templates/list": list("resourceTemplates", "resourceTemplates"),
    "tools/call": { eras: BOTH, handler: (ex) => callNamed(ex, "tool") },
    "prompts/get": { eras: BOTH, handler: (ex) => callNamed(ex, "prompt") },
    "resources/read": {
      eras: BOTH,
      handler: (ex) => {
        const uri = stringParam(ex, "uri");
        return relay(deps, ex, resourceOwner(catalog, ex, uri), "resources/read", ex.message.params);
      },
    },
    "resources/subscribe": {
      eras: LEGACY,
      handler: (ex) => {
        const uri = stringParam(ex, "uri");
        const owner = resourceOwner(catalog, ex, uri);
        const listener = deps.sessionListener(ex);
        if (listener !== undefined) deps.hub.subscribe(listener, uri, owner, () => deps.policy.allows(ex.principal, "resource", uri));
        return Promise.resolve({});
      },
    },
    "resources/unsubscribe": {
      eras: LEGACY,
      handler: (ex) => {
        const uri = stringParam(ex, "uri");
        const listener = deps.sessionListener(ex);
        if (listener !== undefined) deps.hub.unsubscribe(listener, uri);
        return Promise.resolve({});
      },
    },
    "completion/complete": {
      eras: BOTH,
      handler: (ex) => {
        const ref = ex.message.params?.["ref"] as Record<string, unknown> | undefined;
        if (ref?.["type"] === "ref/prompt" && typeof ref["name"] === "string") {
          ex.target = ref["name"];
          const route = catalog.resolvePrompt(ref["name"]);
          if (route === undefined) throw new Refusal("unknown_name", { message: `Unknown prompt: ${clip(ref["name"])}`, reason: "no such prompt" });
          return relay(deps, ex, route.upstream, "completion/complete", { ...ex.message.params, ref: { ...ref, name: route.name } });
        }
        if (ref?.["type"] === "ref/resource" && typeof ref["uri"] === "string") {
          ex.target = ref["uri"];
          const owner = catalog.resolveTemplate(ref["uri"]) ?? catalog.resolveResource(ref["uri"]);
          if (owner === undefined) throw notFound(ex, ref["uri"]);
          return relay(deps, ex, owner, "completion/complete", ex.message.params);
        }
        throw new Refusal("invalid_params", { message: "Invalid params: ref must be ref/prompt or ref/resource", reason: "bad completion ref" });
      },
    },
    ping: { eras: LEGACY, handler: () => Promise.resolve({}) },
    "logging/setLevel": {
      eras: LEGACY,
      handler: (ex) => {
        const level = ex.message.params?.["level"];
        if (!isLogLevel(level)) throw new Refusal("invalid_params", { message: "Invalid params: unknown log level", reason: "bad log level" });
        if (ex.caller.session !== undefined) ex.caller.session.logLevel = level;
        return Promise.resolve({});
      },
    },
  };
  return new Map(Object.entries(methods));
}

/** The forward stage: looks the method up and runs it; notifications are taken here too. */
export function createForward(table: MethodTable): Forward {
  return async (ex) => {
    const message = ex.message;
    if (!("id" in message)) {
      onClientNotification(ex);
      return undefined;
    }
    // The guard stage already refused methods missing from this era; this lookup cannot fail after it.
    const spec = table.get(message.method);
    if (spec === undefined) throw new Refusal("method_not_found", { reason: `no method ${clip(message.method)}` });
    return spec.handler(ex);
  };
}

/** Client notifications: cancellation stops the matching call; the rest concern only this hop. */
function onClientNotification(ex: Exchange): void {
  if (ex.message.method !== "notifications/cancelled") return;
  const id = ex.message.params?.["requestId"];
  if ((typeof id === "string" || typeof id === "number") && ex.caller.session !== undefined) ex.caller.session.inflight.get(id)?.abort();
}

function stringParam(ex: Exchange, key: string): string {
  const v = ex.message.params?.[key];
  if (typeof v !== "string") throw new Refusal("invalid_params", { message: `Invalid params: ${key} must be a string`, reason: `${key} missing` });
  ex.target = v;
  return v;
}

const clip = (s: string): string => (s.length > 128 ? `${s.slice(0, 128)}…` : s);

/** A resource nobody owns: the answer an upstream gives for an absent one, in the client's era. */
function notFound(ex: Exchange, uri: string): Refusal {
  return new Refusal("resource_not_found", { message: `Resource not found: ${clip(uri)}`, reason: "no upstream owns this URI", rpc: ex.caller.era === "legacy" ? -32002 : -32602 });
}

function resourceOwner(catalog: Catalog, ex: Exchange, uri: string): Upstream {
  const owner = catalog.resolveResource(uri);
  if (owner === undefined) throw notFound(ex, uri);
  return owner;
}

/** Server→client methods and the client capability each needs (a Map: the key is upstream input). */
const NEEDS_CAPABILITY = new Map([
  ["sampling/createMessage", "sampling"],
  ["elicitation/create", "elicitation"],
  ["roots/list", "roots"],
]);

/** Asks the client (session era, on its request's stream) what an upstream wants to know. */
function askClient(ex: Exchange, request: ServerRequest): Promise<Record<string, unknown>> {
  const refusal = missingCapability(ex, request);
  if (refusal !== undefined) return Promise.reject(refusal);
  const ask = ex.channel.request;
  if (ask === undefined) return Promise.reject(new Refusal("capability_missing", { message: `Client cannot receive ${request.method} on this request`, reason: "no stream for a server request" }));
  return ask(request.method, request.params);
}

/** Passes progress and (per the client's log level) log messages of this call back to its client. */
function relayNotification(ex: Exchange, n: RpcNotification): void {
  if (n.method === "notifications/message") {
    const level = ex.caller.logLevel;
    // 2026-07-28: no level in the request means no log messages; session era: no setLevel means all.
    if (level === undefined ? ex.caller.era === "modern" : !logPasses(n.params?.["level"], level)) return;
  }
  ex.channel.notify(n);
}

/**
 * What a 2026-07-28 upstream learns of the caller. A session-era client that never set a level
 * gets every log message (its era's default), so the upstream is asked for all of them; the
 * gateway filters per client on the way back.
 */
function callerMeta(ex: Exchange): CallerMeta {
  const logLevel = ex.caller.logLevel ?? (ex.caller.era === "legacy" ? "debug" : undefined);
  return { capabilities: ex.caller.capabilities, clientInfo: ex.caller.clientInfo, logLevel };
}

const isInputRequired = (r: Record<string, unknown>): boolean => r["resultType"] === "input_required";

/** Removes the round-trip fields a 2026-07-28 client adds when it re-issues a request. */
function withoutRetryFields(params: Params | undefined): Params {
  const { inputResponses: _r, requestState: _s, ...rest } = params ?? {};
  return rest;
}

/** Relays one call to `upstream` and makes its result the gateway's own. */
async function relay(deps: ForwardDeps, ex: Exchange, upstream: Upstream, method: string, params: Params | undefined): Promise<Record<string, unknown>> {
  return ownResult(await bridge(deps, ex, upstream, method, params), ex.caller.era);
}

/**
 * A result as the gateway's own: none of the upstream hop's reserved `_meta` (its serverInfo would
 * reveal what stands behind the virtual server), and no `resultType` for a session-era caller.
 */
function ownResult(result: Record<string, unknown>, era: Era): Record<string, unknown> {
  let out = result;
  const meta = result["_meta"];
  if (typeof meta === "object" && meta !== null && !Array.isArray(meta)) {
    const own = withoutReservedMeta(meta as Record<string, unknown>);
    if (own !== meta) out = { ...out, _meta: own };
  }
  if (era === "legacy" && "resultType" in out) {
    const { resultType: _dropped, ...rest } = out;
    out = rest;
  }
  return out;
}

/**
 * Carries one call to `upstream`, bridging the eras for everything the upstream may ask:
 *   session-era client ← session-era upstream: server→client requests pass through on the stream;
 *   session-era client ← 2026-07-28 upstream: input-required results are asked as server→client requests, then re-issued;
 *   2026-07-28 client ← 2026-07-28 upstream: input-required results pass through with the state sealed and bound to the caller;
 *   2026-07-28 client ← session-era upstream: the call is parked and its questions returned as input-required results.
 */
async function bridge(deps: ForwardDeps, ex: Exchange, upstream: Upstream, method: string, params: Params | undefined): Promise<Record<string, unknown>> {
  ex.upstream = upstream.name;
  const target = ex.target ?? "";
  const principal = ex.principal?.id ?? "anonymous";
  const hooks = {
    signal: ex.channel.signal,
    timeoutMs: upstream.config.timeoutMs,
    onNotification: (n: RpcNotification) => relayNotification(ex, n),
    onRequest: (r: ServerRequest) => askClient(ex, r),
  };
  if (ex.caller.era === "legacy") {
    let outgoing = params;
    for (let round = 0; ; round++) {
      const result = await upstream.call(method, outgoing, hooks, callerMeta(ex));
      if (!isInputRequired(result)) return result;
      if (round >= MAX_INPUT_ROUNDS) throw new Refusal("upstream_unavailable", { reason: "too many input-required rounds", data: { reason: "upstream_unavailable" } });
      const requests = (result["inputRequests"] ?? {}) as Record<string, ServerRequest>;
      const responses: Record<string, unknown> = {};
      for (const [key, request] of Object.entries(requests)) responses[key] = await askClient(ex, request);
      outgoing = { ...withoutRetryFields(params), inputResponses: responses, ...(typeof result["requestState"] === "string" ? { requestState: result["requestState"] } : {}) };
    }
  }

  const retry = params?.["requestState"];
  let spend: (() => void) | undefined;
  if (retry !== undefined) {
    const state = deps.continuations.open(retry, principal, method, target);
    if ("parked" in state) return resumeParked(deps, ex, state.parked, params?.["inputResponses"], principal, method, target);
    if (state.pass.u !== upstream.name) throw new Refusal("input_state_invalid", { reason: "requestState was issued for another upstream" });
    spend = state.spend;
    params = { ...withoutRetryFields(params), ...(params?.["inputResponses"] === undefined ? {} : { inputResponses: params["inputResponses"] }), ...(state.pass.s === undefined ? {} : { requestState: state.pass.s }) };
  }

  if (upstream.era === "modern") {
    const result = await upstream.call(method, params, { ...hooks, onRequest: undefined }, callerMeta(ex));
    spend?.();
    if (!isInputRequired(result)) return result;
    const upstreamState = typeof result["requestState"] === "string" ? result["requestState"] : undefined;
    return { ...result, requestState: deps.continuations.seal({ k: "pass", u: upstream.name, s: upstreamState, p: principal, m: method, t: target }) };
  }

  // A session-era upstream asks mid-call; the 2026-07-28 client can only answer by coming back.
  const parked = deps.continuations.park();
  parked.notify = (n) => relayNotification(ex, n);
  parked.run(upstream.call(method, params, { ...hooks, signal: parked.abort.signal, onNotification: (n) => parked.notify?.(n), onRequest: (r) => askParked(ex, parked, r) }, callerMeta(ex)));
  return answerParked(deps, ex, parked, principal, method, target);
}

/**
 * A 2026-07-28 client that lacks what a session-era upstream asks for gets the 2026-07-28 answer to
 * that: the whole request fails with -32021 naming the capability, and the upstream call is stopped.
 */
function askParked(ex: Exchange, parked: ParkedCall, request: ServerRequest): Promise<Record<string, unknown>> {
  const refusal = missingCapability(ex, request);
  if (refusal === undefined) return parked.ask(request);
  parked.fail(refusal);
  return Promise.reject(refusal);
}

/** The refusal for a server→client request the caller's declared capabilities do not cover, if it is one. */
function missingCapability(ex: Exchange, request: ServerRequest): Refusal | undefined {
  const capability = NEEDS_CAPABILITY.get(request.method);
  if (capability !== undefined && ex.caller.capabilities[capability] !== undefined) return undefined;
  return new Refusal("capability_missing", {
    message: `Client does not support ${request.method}`,
    reason: `client lacks ${capability ?? request.method}`,
    data: { requiredCapabilities: { [capability ?? request.method]: {} } },
  });
}

function resumeParked(deps: ForwardDeps, ex: Exchange, parked: ParkedCall, responses: unknown, principal: string, method: string, target: string): Promise<Record<string, unknown>> {
  parked.notify = (n) => relayNotification(ex, n);
  if (typeof responses === "object" && responses !== null) parked.answer(responses as Record<string, unknown>);
  return answerParked(deps, ex, parked, principal, method, target);
}

async function answerParked(deps: ForwardDeps, ex: Exchange, parked: ParkedCall, principal: string, method: string, target: string): Promise<Record<string, unknown>> {
  const outcome = await parked.next(ex.channel.signal);
  if (outcome.kind === "input") {
    return { resultType: "input_required", inputRequests: outcome.requests, requestState: deps.continuations.seal({ k: "parked", id: parked.id, p: principal, m: method, t: target }) };
  }
  deps.continuations.release(parked);
  if (outcome.kind === "error") throw outcome.error instanceof Error ? outcome.error : new CallCancelled();
  return outcome.result;
}
