import { STATUS } from "../status";
import type { SessionStatus } from "../types";

/** Status as colour AND text (never colour alone). */
export function StatusBadge({ status }: { status: SessionStatus }) {
  const meta = STATUS[status] ?? { label: status, tone: "working" };
  return <span className={`badge tone-${meta.tone}`}>{meta.label}</span>;
}
