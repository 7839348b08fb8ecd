// The authenticate stage: who is calling, and whether the MCP session they present is theirs.
import type { IncomingHttpHeaders } from "node:http";
import { Refusal } from "../errors/index.ts";
import type { Principal, Stage } from "../pipeline/index.ts";
import type { Session } from "../session/index.ts";

/**
 * The caller when no credential scheme is configured. This version has none yet (users, tokens,
 * API keys and OAuth issuers land with the identity work), which is why the gateway refuses to
 * bind anything but a loopback address: only processes on this machine can reach it.
 */
export const ANONYMOUS: Principal = Object.freeze({ id: "anonymous", kind: "anonymous", roles: Object.freeze([]) as readonly string[] });

/** Identifies the caller of one HTTP request. */
export type Identify = (headers: IncomingHttpHeaders, ip: string) => Principal | Promise<Principal>;

/** Today's only identity: every caller is {@link ANONYMOUS}. */
export const identifyAnonymous: Identify = () => ANONYMOUS;

/**
 * A session belongs to the principal that opened it. Presenting its id with anyone else's
 * credentials gets the same 404 as an unknown id (nothing learned), audited as `session.hijack`.
 */
export function assertSessionOwner(session: Session, principal: Principal): void {
  if (session.principalId !== principal.id) throw new Refusal("session_hijack", { reason: `session of ${session.principalId} presented by ${principal.id}` });
}

/** The pipeline stage: sets `principal` and checks session ownership. */
export function authenticateStage(identify: Identify): Stage {
  return (ex) => {
    const principal = identify(ex.headers, ex.caller.ip);
    if (principal instanceof Promise)
      return principal.then((p) => {
        ex.principal = p;
        if (ex.caller.session !== undefined) assertSessionOwner(ex.caller.session, p);
      });
    ex.principal = principal;
    if (ex.caller.session !== undefined) assertSessionOwner(ex.caller.session, principal);
    return undefined;
  };
}
