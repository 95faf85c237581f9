import { useMemo, useState } from "react";
import { Controls } from "../components/Controls";
import { Dialog } from "../components/Dialog";
import { Link } from "../components/Link";
import { StatusBadge } from "../components/StatusBadge";
import { Timeline, eventLabel, storyEvents } from "../components/Timeline";
import { ago, clock, eventTime, sessionCost, tokens } from "../format";
import { useNow } from "../hooks";
import { useWatch } from "../live";
import type { LiveState } from "../store";
import type { ObsEvent, Session } from "../types";

function Breakdown({ s }: { s: Session }) {
  const t = s.tokens ?? { input: 0, output: 0, cache_read: 0, cache_write: 0, reasoning: 0 };
  const rows: [string, string][] = [
    ["Input", tokens(t.input)],
    ["Output", tokens(t.output)],
    ["Cache read", tokens(t.cache_read)],
    ["Cache write", tokens(t.cache_write)],
    ["Reasoning", tokens(t.reasoning)],
    ["Cost", sessionCost(s.cost_usd, s.cost_basis)],
    ["Tool calls", String(s.tool_calls ?? 0)],
    ["Errors", String(s.errors ?? 0)],
  ];
  return (
    <dl className="stats">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function SessionView({ live, id, confirm }: { live: LiveState; id: string; confirm: string | null }) {
  useWatch(id);
  const now = useNow(1000);
  const [open, setOpen] = useState<ObsEvent | null>(null);
  const s = live.sessions[id];
  const timeline = live.timelines[id];
  const [withMetrics, setWithMetrics] = useState(false);
  const events = timeline?.events;
  const story = useMemo(() => storyEvents(events ?? [], false), [events]);
  const shown = withMetrics && events ? events : story;
  const metrics = (events?.length ?? 0) - story.length;

  return (
    <article className="detail" aria-labelledby="session-title">
      <Link to="/" className="back">
        ← All sessions
      </Link>
      <header className="detail-head">
        <h1 id="session-title">{s?.project || s?.cwd || `Session ${id.slice(0, 8)}`}</h1>
        {s && <StatusBadge status={s.status} />}
      </header>
      {s ? (
        <>
          <p className="card-meta">
            <span>{s.agent}</span>
            {s.model && <span>{s.model}</span>}
            {s.branch && <span>⎇ {s.branch}</span>}
            {s.pid != null && <span>pid {s.pid}</span>}
            <span>{s.supervised ? "supervised" : "not supervised"}</span>
          </p>
          {s.cwd && (
            <p className="muted path">
              <code>{s.cwd}</code>
            </p>
          )}
          <p className="muted">
            Last activity {ago(s.last_activity_at, now)}
            {s.current_tool && s.status !== "ended" ? ` · ${s.status === "needs_approval" ? "asks to run" : "running"} ${s.current_tool}` : ""}
          </p>
          <Breakdown s={s} />
          <Controls session={s} ask={confirm} />
        </>
      ) : (
        !timeline?.error && <p className="muted">Loading session…</p>
      )}
      {timeline?.error && (
        <p role="alert" className="error">
          {timeline.error}
        </p>
      )}
      <div className="timeline-head">
        <h2 className="section-title">
          Timeline {timeline?.loading && <span className="muted">(loading…)</span>}
        </h2>
        {metrics > 0 && (
          <label className="switch">
            <input type="checkbox" checked={withMetrics} onChange={(e) => setWithMetrics(e.target.checked)} />
            Show metrics ({metrics})
          </label>
        )}
      </div>
      {timeline && shown.length === 0 && !timeline.loading && !timeline.error && (
        <p className="empty">{metrics > 0 ? "Only metric points so far." : "No events yet."}</p>
      )}
      {timeline && <Timeline events={shown} onOpen={setOpen} />}
      <Dialog open={open !== null} title={open ? eventLabel(open) : ""} onClose={() => setOpen(null)}>
        {open && (
          <>
            <p className="muted">
              #{open.seq} · {clock(eventTime(open.ts))} · {open.source}
              {open.status ? ` · ${open.status}` : ""}
            </p>
            <pre className="json">{JSON.stringify(open.detail ?? {}, null, 2)}</pre>
          </>
        )}
      </Dialog>
    </article>
  );
}
