// The methods the gateway answers as the one virtual server: initialize (session era), server/discover and subscriptions/listen (2026-07-28).
import type { Policy } from "../authz/index.ts";
import type { Catalog, ListKind } from "../catalog/index.ts";
import type { MethodSpec } from "../forward/index.ts";
import type { Exchange } from "../pipeline/index.ts";
import type { Hub, Listener } from "./hub.ts";
import { GATEWAY_INFO, LATEST_LEGACY_VERSION, LEGACY_VERSIONS, META_SERVER_INFO, META_SUBSCRIPTION_ID, SUPPORTED_VERSIONS } from "./versions.ts";

/**
 * What the gateway offers, whatever its upstreams: list-change and subscription support are the
 * gateway's own (it watches upstreams for every client), and an empty list is a valid answer.
 */
export const GATEWAY_CAPABILITIES = {
  tools: { listChanged: true },
  prompts: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  completions: {},
  logging: {},
} as const;

/** The session-era version the gateway answers `initialize` with: the client's when supported, else the newest. */
export function negotiateLegacyVersion(requested: unknown): string {
  return typeof requested === "string" && (LEGACY_VERSIONS as readonly string[]).includes(requested) ? requested : LATEST_LEGACY_VERSION;
}

const FILTER_KINDS: Record<string, ListKind> = { toolsListChanged: "tools", promptsListChanged: "prompts", resourcesListChanged: "resources" };

export function lifecycleMethods(deps: { catalog: Catalog; hub: Hub; policy: Policy; instructions: string | undefined }): Record<string, MethodSpec> {
  const instructions = deps.instructions === undefined ? {} : { instructions: deps.instructions };
  return {
    initialize: {
      eras: ["legacy"],
      handler: (ex) =>
        Promise.resolve({
          protocolVersion: negotiateLegacyVersion(ex.message.params?.["protocolVersion"]),
          capabilities: GATEWAY_CAPABILITIES,
          serverInfo: GATEWAY_INFO,
          ...instructions,
        }),
    },
    "server/discover": {
      eras: ["modern"],
      handler: () =>
        Promise.resolve({
          supportedVersions: SUPPORTED_VERSIONS,
          capabilities: GATEWAY_CAPABILITIES,
          ...instructions,
          ttlMs: 0,
          cacheScope: "private",
          _meta: { [META_SERVER_INFO]: GATEWAY_INFO },
        }),
    },
    "subscriptions/listen": { eras: ["modern"], handler: (ex) => listen(deps, ex) },
  };
}

/**
 * A 2026-07-28 subscription stream: acknowledged first with what the gateway will honour, then
 * every matching notification tagged with the stream's id, until the client closes it.
 */
function listen(deps: { catalog: Catalog; hub: Hub; policy: Policy }, ex: Exchange): Promise<Record<string, unknown>> {
  const id = "id" in ex.message ? ex.message.id : null;
  const tag = { [META_SUBSCRIPTION_ID]: id };
  const asked = (ex.message.params?.["notifications"] ?? {}) as Record<string, unknown>;
  const honoured: Record<string, unknown> = {};
  const kinds = new Set<ListKind>();
  for (const [field, kind] of Object.entries(FILTER_KINDS)) {
    if (asked[field] === true) {
      honoured[field] = true;
      kinds.add(kind);
    }
  }
  const uris = Array.isArray(asked["resourceSubscriptions"]) ? asked["resourceSubscriptions"].filter((u): u is string => typeof u === "string") : [];
  // Only resources the caller may read, and that an upstream owns, are watched (the rest are silently not honoured).
  const owned = uris
    .filter((uri) => deps.policy.allows(ex.principal, "resource", uri))
    .map((uri) => ({ uri, owner: deps.catalog.resolveResource(uri) }))
    .filter((e) => e.owner !== undefined);
  if (owned.length > 0) honoured["resourceSubscriptions"] = owned.map((e) => e.uri);
  ex.channel.notify({ jsonrpc: "2.0", method: "notifications/subscriptions/acknowledged", params: { notifications: honoured, _meta: tag } });
  const listener: Listener = {
    wantsList: (kind) => kinds.has(kind),
    send: (n) => ex.channel.notify({ ...n, params: { ...n.params, _meta: tag } }),
  };
  deps.hub.add(listener);
  for (const { uri, owner } of owned) if (owner !== undefined) deps.hub.subscribe(listener, uri, owner, () => deps.policy.allows(ex.principal, "resource", uri));
  return new Promise((resolve) => {
    const end = (): void => {
      deps.hub.remove(listener);
      resolve({ _meta: tag });
    };
    if (ex.channel.signal.aborted) end();
    else ex.channel.signal.addEventListener("abort", end, { once: true });
  });
}
