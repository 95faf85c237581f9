import { memo } from "react";
import { ago, sessionCost, shortPath, tokens } from "../format";
import { STATUS } from "../status";
import type { Session } from "../types";
import { Link } from "./Link";
import { StatusBadge } from "./StatusBadge";

function title(s: Session): string {
  return s.project || shortPath(s.cwd) || s.id.slice(0, 8);
}

/** One session as a list item; `position` (1-based) and `total` place it in the whole list when only part is mounted. */
export const SessionCard = memo(function SessionCard({
  session: s,
  now,
  position,
  total,
}: {
  session: Session;
  now: number;
  position: number;
  total: number;
}) {
  const t = s.tokens;
  const used = t ? t.input + t.output + t.cache_read + t.cache_write + t.reasoning : 0;
  return (
    <li className={`card tone-${STATUS[s.status]?.tone ?? "working"}`} aria-setsize={total} aria-posinset={position}>
      <Link to={`/s/${encodeURIComponent(s.id)}`} className="card-link">
        <div className="card-top">
          <span className="card-title">{title(s)}</span>
          <StatusBadge status={s.status} />
        </div>
        {s.title && <div className="card-subtitle">{s.title}</div>}
        <div className="card-meta">
          <span>{s.agent}</span>
          {s.branch && <span>⎇ {s.branch}</span>}
          {s.model && <span>{s.model}</span>}
        </div>
        {s.current_tool && s.status !== "ended" && (
          <div className="card-tool">
            Tool: <code>{s.current_tool}</code>
          </div>
        )}
        <div className="card-stats">
          <span>Last activity {ago(s.last_activity_at, now)}</span>
          <span>
            {tokens(used)} tokens · {sessionCost(s.cost_usd, s.cost_basis)}
          </span>
        </div>
      </Link>
    </li>
  );
});
