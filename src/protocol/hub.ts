// Fan-out of what belongs to no request: list changes reach every client that listens, resource updates reach the clients that subscribed.
import type { Catalog, ListKind } from "../catalog/index.ts";
import type { RpcNotification } from "../jsonrpc/index.ts";
import type { Upstream } from "../upstream/index.ts";

/** A client that can receive notifications outside a request: a session's GET stream, or a 2026-07-28 `subscriptions/listen` stream. */
export interface Listener {
  wantsList(kind: ListKind): boolean;
  send(notification: RpcNotification): void;
}

export const LIST_CHANGED: Record<ListKind, string> = {
  tools: "notifications/tools/list_changed",
  prompts: "notifications/prompts/list_changed",
  resources: "notifications/resources/list_changed",
  resourceTemplates: "notifications/resources/list_changed",
};

/**
 * Resource subscriptions are counted per URI across all clients: the owning upstream is asked
 * once for a URI however many clients want it, and released when the last one goes.
 */
export class Hub {
  private readonly listeners = new Set<Listener>();
  /** By URI: its owner, and each subscribed listener with the check that it may still read the URI (a reload can revoke it). */
  private readonly subscribers = new Map<string, { owner: Upstream; listeners: Map<Listener, () => boolean> }>();

  constructor(catalog: Catalog, upstreams: readonly Upstream[]) {
    catalog.on("changed", (kind) => {
      const n: RpcNotification = { jsonrpc: "2.0", method: LIST_CHANGED[kind] };
      for (const l of this.listeners) if (l.wantsList(kind)) l.send(n);
    });
    for (const upstream of upstreams) {
      upstream.on("notification", (n) => {
        if (n.method !== "notifications/resources/updated") return;
        const uri = n.params?.["uri"];
        const entry = typeof uri === "string" ? this.subscribers.get(uri) : undefined;
        if (entry === undefined || entry.owner !== upstream) return; // only the owner may speak for a URI
        const clean: RpcNotification = { jsonrpc: "2.0", method: n.method, params: { uri } };
        for (const [l, allowed] of entry.listeners) if (allowed()) l.send(clean);
      });
    }
  }

  add(listener: Listener): void {
    this.listeners.add(listener);
  }

  /** Removes a listener and every subscription it held. */
  remove(listener: Listener): void {
    this.listeners.delete(listener);
    for (const [uri, entry] of this.subscribers) if (entry.listeners.has(listener)) this.unsubscribe(listener, uri);
  }

  /** Subscribes `listener` to updates of `uri`; each update is sent only while `allowed()` holds (the policy as it is then). */
  subscribe(listener: Listener, uri: string, owner: Upstream, allowed: () => boolean): void {
    let entry = this.subscribers.get(uri);
    if (entry === undefined) {
      entry = { owner, listeners: new Map() };
      this.subscribers.set(uri, entry);
    }
    const first = entry.listeners.size === 0;
    entry.listeners.set(listener, allowed);
    if (first) this.sync(owner);
  }

  unsubscribe(listener: Listener, uri: string): void {
    const entry = this.subscribers.get(uri);
    if (entry === undefined || !entry.listeners.delete(listener)) return;
    if (entry.listeners.size === 0) {
      this.subscribers.delete(uri);
      this.sync(entry.owner);
    }
  }

  private sync(owner: Upstream): void {
    const uris: string[] = [];
    for (const [uri, entry] of this.subscribers) if (entry.owner === owner) uris.push(uri);
    void owner.setResourceSubscriptions(uris);
  }
}
