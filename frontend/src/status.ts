import type { Session, SessionStatus } from "./types";

/** Display label, urgency rank (0 = most urgent) and colour tone of each session status. */
export const STATUS: Record<SessionStatus, { label: string; rank: number; tone: string }> = {
  needs_approval: { label: "Needs approval", rank: 0, tone: "approval" },
  crashed: { label: "Crashed", rank: 1, tone: "crashed" },
  stalled: { label: "Stalled", rank: 2, tone: "stalled" },
  waiting_for_user: { label: "Waiting for you", rank: 3, tone: "waiting" },
  thinking: { label: "Thinking", rank: 4, tone: "working" },
  running_tool: { label: "Running tool", rank: 4, tone: "working" },
  starting: { label: "Starting", rank: 4, tone: "working" },
  ended: { label: "Ended", rank: 5, tone: "ended" },
};

export const STATUS_ORDER = Object.keys(STATUS) as SessionStatus[];

/** Statuses in which an agent is blocked on, or broken for, its human. */
export function needsYou(s: Session): boolean {
  return STATUS[s.status]?.rank <= 3;
}

function rank(s: Session): number {
  return STATUS[s.status]?.rank ?? 4;
}

function activity(s: Session): number {
  return s.last_activity_at ? Date.parse(s.last_activity_at) : 0;
}

/** Most urgent first; within one urgency, most recently active first; id breaks ties (stable). */
export function compareSessions(a: Session, b: Session): number {
  return rank(a) - rank(b) || activity(b) - activity(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
