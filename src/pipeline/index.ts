// The path every client message takes, in order: network guard → authenticate → rate-limit → authorize → validate → forward → respond → audit.
import type { AuditStage } from "../audit/stage.ts";
import { RefusedAsResult } from "../errors/index.ts";
import type { Exchange, Stage } from "./exchange.ts";

export type { Caller, Channel, Exchange, Notice, Principal, Stage } from "./exchange.ts";

/**
 * The checks that run before forward, in this order. A stage that is not built yet is absent,
 * never a pass-through pretending to check: rate-limit, authorize and validate are the seams
 * later work fills (see docs/architecture.md).
 */
export interface Checks {
  /** src/guard: the message-level part of the network guard (shape, era rules); the HTTP part ran at the edge. */
  guard: Stage;
  /** src/authn: who is calling, and whether the session is theirs. */
  authenticate: Stage;
  /** src/ratelimit. */
  rateLimit?: Stage;
  /** src/authz. */
  authorize?: Stage;
  /** src/validate. */
  validate?: Stage;
}

/** Runs forward once every check passed; answers the message (undefined for a notification). */
export type Forward = (exchange: Exchange) => Promise<Record<string, unknown> | undefined>;

/** Handles one exchange end to end; throws what the first failing stage threw, after auditing it. */
export type Pipeline = (exchange: Exchange) => Promise<Record<string, unknown> | undefined>;

/** Screens an answer on its way back to the client (src/validate/responses.ts); returns what the client gets. */
export type Respond = (exchange: Exchange, result: Record<string, unknown> | undefined) => Record<string, unknown> | undefined;

export function createPipeline(checks: Checks, forward: Forward, audit: AuditStage, respond?: Respond): Pipeline {
  const ordered: Stage[] = [checks.guard, checks.authenticate, checks.rateLimit, checks.authorize, checks.validate].filter((s): s is Stage => s !== undefined);
  return async (exchange) => {
    try {
      for (const stage of ordered) {
        const pending = stage(exchange);
        if (pending !== undefined) await pending;
      }
      const forwarded = await forward(exchange);
      const result = respond === undefined ? forwarded : respond(exchange, forwarded);
      audit.completed(exchange, result);
      return result;
    } catch (err) {
      audit.failed(exchange, err);
      if (err instanceof RefusedAsResult) return err.result;
      throw err;
    }
  };
}
