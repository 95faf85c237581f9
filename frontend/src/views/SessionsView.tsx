import { useDeferredValue, useId, useMemo, useState } from "react";
import { SessionCard } from "../components/SessionCard";
import { useNow } from "../hooks";
import { STATUS, STATUS_ORDER, compareSessions, needsYou } from "../status";
import type { LiveState } from "../store";
import type { Session } from "../types";

type StatusFilter = "all" | "needs_you" | Session["status"];

function keep(s: Session, status: StatusFilter, agent: string): boolean {
  if (agent !== "all" && s.agent !== agent) return false;
  if (status === "all") return true;
  if (status === "needs_you") return needsYou(s);
  return s.status === status;
}

export function SessionsView({ live }: { live: LiveState }) {
  // Deferred: with hundreds of sessions updating many times a second, React renders the list
  // as interruptible background work instead of one long task that blocks taps and scrolling.
  const now = useDeferredValue(useNow(1000));
  const sessions = useDeferredValue(live.sessions);
  const [status, setStatus] = useState<StatusFilter>("all");
  const [agent, setAgent] = useState("all");
  const ids = useId();
  const all = useMemo(() => Object.values(sessions).sort(compareSessions), [sessions]);
  const agents = useMemo(() => [...new Set(all.map((s) => s.agent))].sort(), [all]);
  const shown = all.filter((s) => keep(s, status, agent));
  const active = shown.filter((s) => s.status !== "ended");
  const ended = shown.filter((s) => s.status === "ended");

  return (
    <section aria-labelledby={`${ids}-h`}>
      <h1 id={`${ids}-h`} className="visually-hidden">
        Sessions
      </h1>
      <div className="filters">
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value as StatusFilter)}>
            <option value="all">All</option>
            <option value="needs_you">Needs you</option>
            {STATUS_ORDER.map((k) => (
              <option key={k} value={k}>
                {STATUS[k].label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Agent
          <select value={agent} onChange={(e) => setAgent(e.target.value)}>
            <option value="all">All</option>
            {agents.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </label>
      </div>
      {all.length === 0 ? (
        <p className="empty">
          No sessions yet. Install the hooks with <code>observatory install</code> and start an agent.
        </p>
      ) : (
        <>
          {active.length === 0 && <p className="empty">No active sessions match.</p>}
          <ul className="cards" aria-label="Active sessions">
            {active.map((s) => (
              <SessionCard key={s.id} session={s} now={now} />
            ))}
          </ul>
          {ended.length > 0 && (
            <details className="ended">
              <summary>Ended ({ended.length})</summary>
              <ul className="cards" aria-label="Ended sessions">
                {ended.map((s) => (
                  <SessionCard key={s.id} session={s} now={now} />
                ))}
              </ul>
            </details>
          )}
        </>
      )}
    </section>
  );
}
