// The pipeline's last stage: what each exchange leaves in the audit log — every refusal with its true reason, every call that reached an upstream.
import { createHash } from "node:crypto";
import { RefusedAsResult, Refusal } from "../errors/index.ts";
import type { Exchange } from "../pipeline/exchange.ts";
import { CallCancelled, UpstreamRpcError } from "../upstream/index.ts";
import type { Actor, AuditEvent, AuditLog } from "./index.ts";

/** Methods whose every call is recorded, and the event type each is recorded under (SPEC §4); a Map, as the key is client input. */
const CALL_EVENTS = new Map([
  ["tools/call", "tool.call"],
  ["resources/read", "resource.read"],
  ["prompts/get", "prompt.get"],
]);

/**
 * A session id is a bearer handle: the log keeps a short digest that correlates records of one
 * session without letting a log reader use it.
 */
export const sessionTag = (id: string): string => createHash("sha256").update(id).digest("hex").slice(0, 16);

/** The audit stage of the pipeline: `completed` after forward, `failed` when any stage threw. */
export interface AuditStage {
  completed(exchange: Exchange, result: Record<string, unknown> | undefined): void;
  failed(exchange: Exchange, error: unknown): void;
  /** A refusal given before a message could be read (Origin, size, JSON): no exchange exists yet. */
  refusedAtEdge(refusal: Refusal, actor: Actor, target: string | null): void;
  /** Any other security event (logins, token grants, revocations, admin actions). */
  event(event: AuditEvent): void;
}

/** Writes nothing: for a gateway run with `audit.enabled: false`. */
export const noAudit: AuditStage = { completed() {}, failed() {}, refusedAtEdge() {}, event() {} };

export function auditStage(log: AuditLog): AuditStage {
  const actorOf = (ex: Exchange): Actor => ({
    user: ex.principal?.name ?? null,
    ip: ex.caller.ip,
    session: ex.caller.session === undefined ? null : sessionTag(ex.caller.session.id),
    via: `mcp/${ex.caller.protocolVersion}`,
  });
  const base = (ex: Exchange, type: string): AuditEvent => ({
    type,
    outcome: "success",
    severity: "info",
    actor: actorOf(ex),
    target: ex.target ?? null,
    reason: null,
    details: { method: ex.message.method, ...(ex.upstream === undefined ? {} : { upstream: ex.upstream }), ms: Date.now() - ex.startedAt, ...(ex.notices.length === 0 ? {} : { notices: ex.notices.slice(0, 20) }) },
  });
  return {
    completed(ex, result) {
      const type = CALL_EVENTS.get(ex.message.method);
      if (type === undefined) return;
      const event = base(ex, type);
      if (result?.["isError"] === true) event.outcome = "failure";
      if (ex.notices.length > 0) event.severity = "warning";
      log.record(event);
    },
    failed(ex, error) {
      const callType = CALL_EVENTS.get(ex.message.method);
      if (error instanceof RefusedAsResult) {
        log.record({ ...base(ex, error.auditType), outcome: "failure", severity: "warning", reason: error.reason });
      } else if (error instanceof Refusal) {
        log.record({ ...base(ex, error.auditType), outcome: error.auditType === "authz.denied" ? "denied" : "failure", severity: "warning", reason: error.reason });
      } else if (error instanceof UpstreamRpcError) {
        if (callType !== undefined) log.record({ ...base(ex, callType), outcome: "error", reason: "upstream_error", details: { ...base(ex, callType).details, code: error.error.code } });
      } else if (error instanceof CallCancelled) {
        if (callType !== undefined) log.record({ ...base(ex, callType), outcome: "failure", reason: "cancelled" });
      } else {
        log.record({ ...base(ex, "gateway.error"), outcome: "error", severity: "error", reason: error instanceof Error ? error.message.slice(0, 200) : "unknown error" });
      }
    },
    refusedAtEdge(refusal, actor, target) {
      log.record({ type: refusal.auditType, outcome: "failure", severity: "warning", actor, target, reason: refusal.reason, details: { code: refusal.code } });
    },
    event(event) {
      log.record(event);
    },
  };
}
