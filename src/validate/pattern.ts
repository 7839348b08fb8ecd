// Regular expressions that run in linear time: RE2 (re2js, pure JavaScript) for every pattern taken from a schema or the config.
import { RE2JS } from "re2js";
import type { Logger } from "../log/index.ts";

/** What ajv's `code.regExp` option takes (ajv's own RegExpEngine, which its entry point does not export). */
interface RegExpLike {
  test(s: string): boolean;
  /** ajv keys compiled patterns by this. */
  toString(): string;
}
type RegExpEngine = ((pattern: string, flags: string) => RegExpLike) & { code: string };

/**
 * Schemas' `pattern` keywords run on RE2 (re2js: linear time, no backtracking): a pattern such as
 * `^(a+)+$` in an upstream's schema must not let one client's argument freeze the gateway for
 * everyone. RE2 has no lookaround or backreferences; a pattern that needs them is not checked here
 * (the upstream still checks it) and is logged once.
 */
export function linearRegExp(log: Logger): RegExpEngine {
  const warned = new Set<string>();
  const engine = (pattern: string): RegExpLike => {
    try {
      const re = RE2JS.compile(pattern);
      // ajv shares compiled patterns by their toString(): it must name the pattern, or every schema gets the first one.
      return { test: (s: string) => re.matcher(s).find(), toString: () => `re2:${pattern}` };
    } catch {
      if (!warned.has(pattern) && warned.size < 1000) {
        warned.add(pattern);
        log.warn(`schema pattern ${JSON.stringify(pattern.slice(0, 200))} needs a backtracking engine (lookaround or backreference): the gateway does not check it, the upstream still does`);
      }
      return { test: () => true, toString: () => `unchecked:${pattern}` };
    }
  };
  return Object.assign(engine, { code: "re2js" });
}

/** Whether a pattern compiles in RE2 (the gateway's own `pattern` limits must). */
export function isLinearPattern(pattern: string): boolean {
  try {
    RE2JS.compile(pattern);
    return true;
  } catch {
    return false;
  }
}

