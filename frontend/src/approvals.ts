/**
 * Away mode's permission requests as the live store keeps them: by id, fed by "approval"
 * messages on /api/live and by GET /api/approvals (the state before the socket was open).
 */
import type { ApprovalRequest } from "./types";

export type ApprovalsById = Readonly<Record<string, ApprovalRequest>>;

const PENDING = "pending";
/** Settled requests kept for "what happened" lines; pending ones are never dropped. */
export const SETTLED_KEPT = 200;

/**
 * Add or update one request. An outcome is final: a "pending" copy arriving after it (a fetch
 * that raced the live message) never reopens it. Returns `byId` itself when nothing changes.
 */
export function mergeApproval(byId: ApprovalsById, approval: ApprovalRequest): ApprovalsById {
  const held = byId[approval.id];
  if (held && held.status !== PENDING && approval.status === PENDING) return byId;
  if (held && held.status === approval.status && held.decided_at === approval.decided_at) return byId;
  return pruneSettled({ ...byId, [approval.id]: approval });
}

function pruneSettled(byId: Record<string, ApprovalRequest>): ApprovalsById {
  const settled = Object.values(byId).filter((a) => a.status !== PENDING);
  if (settled.length <= SETTLED_KEPT) return byId;
  settled.sort((a, b) => ((a.decided_at ?? a.created_at) < (b.decided_at ?? b.created_at) ? -1 : 1));
  for (const a of settled.slice(0, settled.length - SETTLED_KEPT)) delete byId[a.id];
  return byId;
}

/** A session's oldest waiting request (the one to answer first) and its latest outcome. */
export function sessionApprovals(
  byId: ApprovalsById,
  sessionId: string,
): { pending: ApprovalRequest | null; last: ApprovalRequest | null } {
  let pending: ApprovalRequest | null = null;
  let last: ApprovalRequest | null = null;
  for (const a of Object.values(byId)) {
    if (a.session_id !== sessionId) continue;
    if (a.status === PENDING) {
      if (!pending || a.created_at < pending.created_at) pending = a;
    } else if (!last || (a.decided_at ?? a.created_at) > (last.decided_at ?? last.created_at)) last = a;
  }
  return { pending, last };
}
