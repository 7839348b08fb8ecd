// The one virtual server clients see: every upstream's tools, prompts, resources and templates, named and routed.
import { EventEmitter } from "node:events";
import type { Logger } from "../log/index.ts";
import type { Upstream } from "../upstream/index.ts";
import { exposedName } from "./names.ts";
import { compileTemplate } from "./template.ts";

export { exposedName, isValidName, MAX_NAME_LENGTH } from "./names.ts";

export type ListKind = "tools" | "prompts" | "resources" | "resourceTemplates";
type Item = Record<string, unknown>;

/** Which upstream method lists a kind, the result field holding the items, and the capability that offers it. */
const LISTS: Record<ListKind, { method: string; field: string; capability: string }> = {
  tools: { method: "tools/list", field: "tools", capability: "tools" },
  prompts: { method: "prompts/list", field: "prompts", capability: "prompts" },
  resources: { method: "resources/list", field: "resources", capability: "resources" },
  resourceTemplates: { method: "resources/templates/list", field: "resourceTemplates", capability: "resources" },
};
const KINDS = Object.keys(LISTS) as ListKind[];
/** Pages read per list before the rest is ignored (a runaway cursor loop must end). */
const MAX_PAGES = 100;
/**
 * Deepest nesting of a listed item kept: far beyond any real schema, far below what makes
 * JSON.stringify (which answers every list) overflow the stack.
 */
const MAX_ITEM_DEPTH = 128;

/** Whether a JSON value nests deeper than `max` levels; iterative, so the check itself cannot overflow. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== "object" || v === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Where a client-visible name leads. */
export interface Route {
  upstream: Upstream;
  /** The name the upstream knows. */
  name: string;
}

interface Snapshot {
  lists: Record<ListKind, Item[]>;
  templates: { match: (uri: string) => boolean; uriTemplate: string }[];
  /** Tools the gate kept out, by the upstream's own name, with the reason. */
  withheld: ReadonlyMap<string, string>;
}

/**
 * Decides which of an upstream's tools enter the catalog (the pin book, src/integrity/pins.ts). It is
 * asked on every read of the tools, before routes and views are built, so a tool it withholds is
 * neither listed nor callable; when its own state changes (an approval) it emits `changed` and the
 * upstream's tools are read again. `admit` must not throw.
 */
export interface ToolGate {
  admit(upstream: string, tools: readonly Item[]): Promise<{ admitted: Item[]; withheld: ReadonlyMap<string, string> }>;
  on(event: "changed", listener: (upstream: string) => void): unknown;
}

export interface CatalogEvents {
  /** A list's content changed (an upstream said so, or came back); clients that asked are told. Never "resourceTemplates": those count as resources. */
  changed: [kind: ListKind];
}

/**
 * The aggregated catalog. Lists are read from upstreams when they become ready and whenever they
 * announce a change, and answered from memory: a `tools/list` costs no upstream round trip.
 */
export class Catalog extends EventEmitter<CatalogEvents> {
  private readonly snapshots = new Map<Upstream, Snapshot>();
  private readonly routes: Record<"tools" | "prompts", Map<string, Route>> = { tools: new Map(), prompts: new Map() };
  private readonly resourceOwners = new Map<string, Upstream>();
  private views: Record<ListKind, Item[]> = { tools: [], prompts: [], resources: [], resourceTemplates: [] };
  private toolsByName = new Map<string, Item>();
  private withheldTools = new Map<string, string>();
  private readonly refreshing = new Set<Promise<void>>();
  private readonly queues = new Map<Upstream, Promise<void>>();

  constructor(
    private readonly upstreams: readonly Upstream[],
    private readonly log: Logger,
    private readonly gate?: ToolGate,
  ) {
    super();
    gate?.on("changed", (name) => {
      const upstream = upstreams.find((u) => u.name === name);
      // An upstream that is down is read again, through the gate, when it comes back.
      if (upstream !== undefined && upstream.state === "ready") this.track(this.refresh(upstream, ["tools"]));
    });
    for (const upstream of upstreams) {
      upstream.on("ready", () => this.track(this.refresh(upstream, KINDS)));
      upstream.on("notification", (n) => {
        const kind = CHANGE_NOTIFICATIONS.get(n.method);
        if (kind !== undefined) this.track(this.refresh(upstream, kind === "resources" ? ["resources", "resourceTemplates"] : [kind]));
      });
    }
  }

  /** Resolves once no list is being read (start-up, tests). */
  async idle(): Promise<void> {
    while (this.refreshing.size > 0) await Promise.all(this.refreshing);
  }

  private track(p: Promise<void>): void {
    this.refreshing.add(p);
    void p.finally(() => this.refreshing.delete(p));
  }

  /** The aggregated list of `kind`, as clients see it (names exposed). */
  list(kind: ListKind): readonly Item[] {
    return this.views[kind];
  }

  /** The tool a client sees under `name` (its definition, with the exposed name). */
  tool(name: string): Item | undefined {
    return this.toolsByName.get(name);
  }

  /** The upstream and original name behind an exposed tool name. */
  resolveTool(name: string): Route | undefined {
    return this.routes.tools.get(name);
  }

  /**
   * Why the tool a client calls `name` is withheld (quarantined by the pin book), or undefined. For the
   * audit record only: the caller gets exactly the answer an absent tool gets.
   */
  withheld(name: string): string | undefined {
    return this.withheldTools.get(name);
  }

  /** The upstream and original name behind an exposed prompt name. */
  resolvePrompt(name: string): Route | undefined {
    return this.routes.prompts.get(name);
  }

  /**
   * The upstream that owns a resource URI: the one that listed it, else the first (in config order)
   * whose template matches. A URI nobody claims is not sent anywhere.
   */
  resolveResource(uri: string): Upstream | undefined {
    const listed = this.resourceOwners.get(uri);
    if (listed !== undefined) return listed;
    for (const upstream of this.upstreams) {
      const snap = this.snapshots.get(upstream);
      if (snap?.templates.some((t) => t.match(uri))) return upstream;
    }
    return undefined;
  }

  /** The upstream that declared the resource template `uriTemplate` (completion of template arguments). */
  resolveTemplate(uriTemplate: string): Upstream | undefined {
    for (const upstream of this.upstreams) if (this.snapshots.get(upstream)?.templates.some((t) => t.uriTemplate === uriTemplate)) return upstream;
    return undefined;
  }

  /**
   * Re-reads the given lists of one upstream, then rebuilds the views and announces each changed
   * kind. Reads of one upstream run one after another, so an older answer never overwrites a newer one.
   */
  refresh(upstream: Upstream, kinds: readonly ListKind[]): Promise<void> {
    const next = (this.queues.get(upstream) ?? Promise.resolve()).then(() => this.read(upstream, kinds));
    this.queues.set(upstream, next);
    return next;
  }

  private async read(upstream: Upstream, kinds: readonly ListKind[]): Promise<void> {
    const snap = this.snapshots.get(upstream) ?? { lists: { tools: [], prompts: [], resources: [], resourceTemplates: [] }, templates: [], withheld: new Map() };
    for (const kind of kinds) {
      let items: Item[];
      if (upstream.capabilities[LISTS[kind].capability] === undefined) items = [];
      else {
        try {
          items = await this.readAll(upstream, kind);
        } catch (err) {
          this.log.warn(`upstream ${upstream.name}: could not read ${LISTS[kind].method}: ${(err as Error).message}`);
          continue;
        }
      }
      if (kind === "tools" && this.gate !== undefined) {
        // An upstream without the tools capability offers an empty set: the gate sees that too (a set that starts empty is pinned empty).
        const { admitted, withheld } = await this.gate.admit(upstream.name, items);
        items = admitted;
        snap.withheld = withheld;
      }
      snap.lists[kind] = items;
    }
    snap.templates = snap.lists.resourceTemplates
      .filter((t) => typeof t["uriTemplate"] === "string")
      .map((t) => ({ uriTemplate: t["uriTemplate"] as string, match: compileTemplate(t["uriTemplate"] as string) }));
    this.snapshots.set(upstream, snap);
    const before = this.views;
    this.rebuild();
    // Templates are announced as resources (MCP has one list_changed for both); unchanged lists stay quiet.
    const changed = new Set<ListKind>();
    for (const kind of kinds) if (JSON.stringify(before[kind]) !== JSON.stringify(this.views[kind])) changed.add(kind === "resourceTemplates" ? "resources" : kind);
    for (const kind of changed) this.emit("changed", kind);
  }

  private async readAll(upstream: Upstream, kind: ListKind): Promise<Item[]> {
    const { method, field } = LISTS[kind];
    const items: Item[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await upstream.call(method, cursor === undefined ? {} : { cursor }, { timeoutMs: upstream.config.timeoutMs });
      const got = result[field];
      if (Array.isArray(got))
        for (const item of got) {
          if (typeof item !== "object" || item === null) continue;
          if (nestsDeeperThan(item, MAX_ITEM_DEPTH)) this.log.warn(`upstream ${upstream.name}: an item of ${method} nests deeper than ${MAX_ITEM_DEPTH} levels and is left out`);
          else items.push(item as Item);
        }
      const next = result["nextCursor"];
      if (typeof next !== "string" || next === "" || next === cursor) break;
      cursor = next;
    }
    return items;
  }

  private rebuild(): void {
    const routes = { tools: new Map<string, Route>(), prompts: new Map<string, Route>() };
    const withheld = new Map<string, string>();
    const views: Record<ListKind, Item[]> = { tools: [], prompts: [], resources: [], resourceTemplates: [] };
    this.resourceOwners.clear();
    for (const upstream of this.upstreams) {
      const snap = this.snapshots.get(upstream);
      if (snap === undefined) continue;
      for (const kind of ["tools", "prompts"] as const) {
        for (const item of snap.lists[kind]) {
          const name = item["name"];
          if (typeof name !== "string") continue;
          const exposed = exposedName(upstream.prefix, name);
          const taken = routes[kind].get(exposed);
          if (taken !== undefined) {
            this.log.error(`${kind} name ${exposed} of upstream ${upstream.name} collides with upstream ${taken.upstream.name}'s; the first in config order keeps it`);
            continue;
          }
          routes[kind].set(exposed, { upstream, name });
          views[kind].push(exposed === name ? item : { ...item, name: exposed });
        }
      }
      for (const [name, reason] of snap.withheld) withheld.set(exposedName(upstream.prefix, name), reason);
      for (const resource of snap.lists.resources) {
        const uri = resource["uri"];
        if (typeof uri !== "string" || this.resourceOwners.has(uri)) continue;
        this.resourceOwners.set(uri, upstream);
        views.resources.push(resource);
      }
      views.resourceTemplates.push(...snap.lists.resourceTemplates);
    }
    this.routes.tools = routes.tools;
    this.routes.prompts = routes.prompts;
    this.views = views;
    this.toolsByName = new Map(views.tools.map((t) => [t["name"] as string, t]));
    // A name another upstream serves is that upstream's tool, not a withheld one.
    for (const name of routes.tools.keys()) withheld.delete(name);
    this.withheldTools = withheld;
  }
}

/** Upstream notifications that mean a list must be read again (a Map: upstream input is never an object key). */
const CHANGE_NOTIFICATIONS = new Map<string, ListKind>([
  ["notifications/tools/list_changed", "tools"],
  ["notifications/prompts/list_changed", "prompts"],
  ["notifications/resources/list_changed", "resources"],
]);
