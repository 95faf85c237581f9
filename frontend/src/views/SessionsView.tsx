import { useCallback, useDeferredValue, useId, useLayoutEffect, useMemo, useRef, useState } from "react";
import { SessionCard } from "../components/SessionCard";
import { useNow } from "../hooks";
import { STATUS, STATUS_ORDER, compareSessions, needsYou } from "../status";
import type { LiveState } from "../store";
import type { Session } from "../types";
import { useWindow } from "../windowing";

type StatusFilter = "all" | "needs_you" | Session["status"];

function keep(s: Session, status: StatusFilter, agent: string): boolean {
  if (agent !== "all" && s.agent !== agent) return false;
  if (status === "all") return true;
  if (status === "needs_you") return needsYou(s);
  return s.status === status;
}

/** Grid rows mounted beyond each edge of the viewport (keyboard focus moves into them, then the window follows). */
const OVERSCAN_ROWS = 3;

interface Grid {
  cols: number;
  /** Card height plus the gap between rows, in pixels. */
  pitch: number;
  gap: number;
}

/** The card grid's columns and row pitch as CSS lays them out (card height is in rem, columns depend on width). */
function readGrid(el: HTMLElement): Grid {
  const css = getComputedStyle(el);
  const gap = parseFloat(css.rowGap) || 0;
  const tracks = css.gridTemplateColumns;
  return { cols: tracks === "none" ? 1 : tracks.split(" ").length, pitch: (parseFloat(css.gridAutoRows) || 0) + gap, gap };
}

/**
 * One list of session cards, windowed: every card has the same height (set in CSS), so only the grid rows
 * in or near the viewport are mounted and the list keeps the height of all of them. Live updates and
 * the ticking "last activity" re-render only the mounted cards.
 */
function CardList({ label, sessions, now }: { label: string; sessions: readonly Session[]; now: number }) {
  const ref = useRef<HTMLUListElement>(null);
  const [grid, setGrid] = useState<Grid>({ cols: 1, pitch: 0, gap: 0 });
  const measureGrid = useCallback(() => {
    const el = ref.current;
    if (!el) return;
    const next = readGrid(el);
    setGrid((g) => (g.cols === next.cols && g.pitch === next.pitch && g.gap === next.gap ? g : next));
  }, []);
  useLayoutEffect(measureGrid, [measureGrid]);
  const total = sessions.length;
  const rows = Math.ceil(total / grid.cols);
  const { start, end, onFocus } = useWindow(ref, {
    rows,
    rowHeight: grid.pitch,
    overscan: OVERSCAN_ROWS,
    perRow: grid.cols,
    onResize: measureGrid,
  });
  const first = start * grid.cols;
  const style = grid.pitch ? { height: Math.max(0, rows * grid.pitch - grid.gap), paddingTop: start * grid.pitch } : undefined;
  return (
    <ul ref={ref} className="cards" aria-label={label} style={style} onFocus={onFocus}>
      {sessions.slice(first, end * grid.cols).map((s, i) => (
        <SessionCard key={s.id} session={s} now={now} position={first + i + 1} total={total} />
      ))}
    </ul>
  );
}

/**
 * All sessions in compareSessions' order, sorted starting from the previous order: a live update moves only
 * the few sessions that changed, and on such a nearly sorted list the engine's merge sort (TimSort) needs
 * about one comparison per session instead of n·log n. The previous order is only a starting point, so a
 * render React throws away leaves nothing wrong behind.
 */
function useSorted(sessions: Readonly<Record<string, Session>>): Session[] {
  const previous = useRef<readonly Session[]>([]);
  return useMemo(() => {
    const next: Session[] = [];
    const placed = new Set<string>();
    for (const old of previous.current) {
      const s = sessions[old.id];
      if (s) {
        next.push(s);
        placed.add(s.id);
      }
    }
    for (const s of Object.values(sessions)) if (!placed.has(s.id)) next.push(s);
    return (previous.current = next.sort(compareSessions));
  }, [sessions]);
}

export function SessionsView({ live }: { live: LiveState }) {
  // Deferred: with hundreds of sessions updating many times a second, React renders the list (sorting,
  // filtering, the mounted cards) as interruptible background work that never holds up taps and scrolling.
  const now = useDeferredValue(useNow(1000));
  const sessions = useDeferredValue(live.sessions);
  const [status, setStatus] = useState<StatusFilter>("all");
  const [agent, setAgent] = useState("all");
  const [endedOpen, setEndedOpen] = useState(false);
  const ids = useId();
  const all = useSorted(sessions);
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
          <CardList label="Active sessions" sessions={active} now={now} />
          {ended.length > 0 && (
            <details className="ended" open={endedOpen} onToggle={(e) => setEndedOpen(e.currentTarget.open)}>
              <summary>Ended ({ended.length})</summary>
              {endedOpen && <CardList label="Ended sessions" sessions={ended} now={now} />}
            </details>
          )}
        </>
      )}
    </section>
  );
}
