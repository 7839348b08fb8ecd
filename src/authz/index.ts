// The authorize stage: one compiled policy decides both what a caller sees in the lists and what it may call; default deny.
import { Refusal } from "../errors/index.ts";
import type { Exchange, Principal, Stage } from "../pipeline/index.ts";

/** What a permission names. */
export type Kind = "tool" | "prompt" | "resource";

/**
 * A permission: `U.T` or `tool:U.T` (a tool by its exposed name), `prompt:U.P`, `resource:<uri>`,
 * each with `*` wildcards; `*` alone grants everything of every kind.
 */
interface Grant {
  kind: Kind | "any";
  match: (name: string) => boolean;
  source: string;
}

/**
 * Whether `text` matches `pattern`, where `*` matches any run of characters (`.` and `/` included)
 * and everything else matches itself. Greedy with one backtracking point, so the cost is at most
 * pattern × text and usually linear: a regular expression built from "a*a*a*…b" would backtrack
 * exponentially on a hostile name.
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== "*" && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}

/** A matcher for a `*`-wildcard pattern (anchored; `*` matches any run, including `.` and `/`). */
function wildcard(pattern: string): (name: string) => boolean {
  if (pattern === "*") return () => true;
  if (!pattern.includes("*")) return (name) => name === pattern;
  return (name) => globMatch(pattern, name);
}

function compileGrant(permission: string): Grant {
  if (permission === "*") return { kind: "any", match: () => true, source: permission };
  const m = /^(tool|prompt|resource):(.*)$/s.exec(permission);
  const kind = (m?.[1] as Kind | undefined) ?? "tool";
  return { kind, match: wildcard(m === null ? permission : (m[2] ?? "")), source: permission };
}

/** Whether a permission string is one the policy understands (used to decide which OAuth scopes narrow a caller). */
export const isPermission = (scope: string): boolean => scope === "*" || /^(tool|prompt|resource):./s.test(scope) || /^[A-Za-z0-9_*-]+\.[A-Za-z0-9._*-]+$/.test(scope);

export interface RoleConfig {
  permissions: readonly string[];
}

/**
 * The compiled policy. A caller may use a name when a permission of one of its roles matches it
 * and, if its credential carries scopes (an API key's, an OAuth token's), a scope matches it too.
 */
export class Policy {
  private readonly roles = new Map<string, Grant[]>();
  /** Compiled scope lists, by their text (API keys and tokens repeat them). */
  private readonly scopeCache = new Map<string, Grant[]>();
  private capabilities: ReadonlyMap<string, readonly string[]> = new Map();

  /**
   * @param capabilities capability names of the original design (`gmail.send`) and the
   *   permissions each stands for; in a role or a scope, the name grants those permissions.
   */
  constructor(roles: Readonly<Record<string, RoleConfig>>, capabilities: Readonly<Record<string, readonly string[]>> = {}) {
    this.update(roles, capabilities);
  }

  /** Replaces the roles and capabilities (a configuration reload): the next decision uses the new ones. */
  update(roles: Readonly<Record<string, RoleConfig>>, capabilities: Readonly<Record<string, readonly string[]>> = {}): void {
    this.capabilities = new Map(Object.entries(capabilities));
    this.scopeCache.clear();
    this.roles.clear();
    for (const [name, role] of Object.entries(roles)) this.roles.set(name, this.compile(role.permissions));
  }

  /** Grants for a permission list, capability names expanded (one level: a capability names permissions, not other capabilities). */
  private compile(permissions: readonly string[]): Grant[] {
    return permissions.flatMap((p) => (this.capabilities.get(p) ?? [p]).map(compileGrant));
  }

  /** Whether `principal` may use `name` of `kind` (a tool's or prompt's exposed name, a resource's URI). */
  allows(principal: Principal | undefined, kind: Kind, name: string): boolean {
    if (principal === undefined) return false;
    const granted = (grants: readonly Grant[]): boolean => grants.some((g) => (g.kind === "any" || g.kind === kind) && g.match(name));
    if (!principal.roles.some((r) => granted(this.roles.get(r) ?? []))) return false;
    if (principal.scopes === undefined) return true;
    return granted(this.scopes(principal.scopes));
  }

  private scopes(scopes: readonly string[]): Grant[] {
    const key = scopes.join(" ");
    let compiled = this.scopeCache.get(key);
    if (compiled === undefined) {
      compiled = this.compile(scopes);
      if (this.scopeCache.size > 10_000) this.scopeCache.clear();
      this.scopeCache.set(key, compiled);
    }
    return compiled;
  }
}

/** What a message uses, by method: the kind and where its name is. */
function subject(ex: Exchange): { kind: Kind; name: unknown } | undefined {
  const p = ex.message.params;
  switch (ex.message.method) {
    case "tools/call":
      return { kind: "tool", name: p?.["name"] };
    case "prompts/get":
      return { kind: "prompt", name: p?.["name"] };
    case "resources/read":
    case "resources/subscribe":
      return { kind: "resource", name: p?.["uri"] };
    case "completion/complete": {
      const ref = p?.["ref"] as Record<string, unknown> | undefined;
      if (ref?.["type"] === "ref/prompt") return { kind: "prompt", name: ref["name"] };
      if (ref?.["type"] === "ref/resource") return { kind: "resource", name: ref["uri"] };
      return undefined;
    }
    default:
      return undefined;
  }
}

/**
 * The refusal for a name the caller may not use: exactly what the gateway answers for a name that
 * does not exist (SPEC §3), so a caller cannot tell "forbidden" from "absent"; the audit log knows.
 */
export function hidden(ex: Exchange, kind: Kind, name: string): Refusal {
  const clip = name.length > 128 ? `${name.slice(0, 128)}…` : name;
  const reason = `${ex.principal?.name ?? "?"} may not use ${kind} ${clip}`;
  if (kind === "resource") return new Refusal("resource_not_found", { message: `Resource not found: ${clip}`, rpc: ex.caller.era === "legacy" ? -32002 : -32602, reason, audit: "authz.denied" });
  return new Refusal("unknown_name", { message: `Unknown ${kind}: ${clip}`, reason });
}

/**
 * The pipeline stage: a call of a name the policy does not grant ends here, answered as if the name
 * did not exist; a granted tool call then meets the argument conditions (./conditions.ts), if any.
 */
export function authorizeStage(policy: Policy, conditions?: Stage): Stage {
  return (ex) => {
    const s = subject(ex);
    if (s === undefined || typeof s.name !== "string") return;
    ex.target = s.name;
    if (!policy.allows(ex.principal, s.kind, s.name)) throw hidden(ex, s.kind, s.name);
    return conditions?.(ex);
  };
}
