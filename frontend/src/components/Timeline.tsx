import { memo, useLayoutEffect, useRef } from "react";
import { clock, eventTime, tokens, usd } from "../format";
import type { ObsEvent } from "../types";
import { useWindow } from "../windowing";

export { visibleRange } from "../windowing";

/** Fixed row height: windowing by hand needs no measuring, so 10,000 rows cost ~30 DOM nodes. */
export const ROW = 64;
const OVERSCAN = 8;

const KIND: Record<string, string> = {
  session_start: "Session started",
  prompt: "Prompt",
  api_request: "API request",
  api_error: "API error",
  tool_start: "Tool started",
  tool_end: "Tool finished",
  approval_needed: "Needs approval",
  turn_end: "Turn ended",
  subagent_end: "Subagent finished",
  compact: "Context compacted",
  session_end: "Session ended",
  process_exit: "Process exited",
  metric: "Metric",
};

/** Agent prefixes of OTel event names: `claude_code.user_prompt` reads as `user_prompt`. */
function shortName(name: string): string {
  return name.replace(/^(claude_code|codex|gemini_cli)\./, "");
}

/** What happened, and with which tool: `Tool finished · Bash`; an uncategorised event by its own name. */
export function eventLabel(ev: ObsEvent): string {
  const what = KIND[ev.kind] ?? (ev.kind === "other" && ev.name ? shortName(ev.name) : ev.kind);
  return ev.tool ? `${what} · ${ev.tool}` : what;
}

/** Metric points feed the totals and costs, not the story of a session: an agent sends a dozen
 * every export interval, so the timeline leaves them out unless asked. */
export function storyEvents(events: readonly ObsEvent[], withMetrics: boolean): readonly ObsEvent[] {
  return withMetrics ? events : events.filter((ev) => ev.kind !== "metric");
}

function number(v: unknown): string {
  return typeof v === "number" ? String(Number(v.toPrecision(6))) : String(v);
}

/** `token.usage · input = 123 tokens`: the metric without its agent prefix, its type, its value. */
function metricPreview(ev: ObsEvent, d: Record<string, unknown>): string {
  const name = shortName(String(d.name ?? ev.name ?? ""));
  const attrs = (d.attrs ?? {}) as Record<string, unknown>;
  const type = typeof attrs.type === "string" ? ` · ${attrs.type}` : "";
  const unit = typeof d.unit === "string" && d.unit ? ` ${d.unit}` : "";
  return `${name}${type} = ${number(d.value)}${unit}`;
}

/** One line of what the event was about: the command, file, prompt or error text. */
export function preview(ev: ObsEvent): string {
  const d = ev.detail ?? {};
  if (ev.kind === "metric" && "value" in d) return metricPreview(ev, d);
  if (ev.kind === "api_request") return [ev.model, d.query_source].filter((v) => typeof v === "string" && v).join(" · ");
  for (const k of ["command", "file_path", "prompt", "error", "message", "pattern", "url", "reason", "source"]) {
    const v = d[k];
    if (typeof v === "string" && v) return v;
  }
  const keys = Object.keys(d);
  return keys.length ? JSON.stringify(d).slice(0, 200) : "";
}

function isError(ev: ObsEvent): boolean {
  return ev.status === "error" || ev.kind === "api_error";
}

function side(ev: ObsEvent): string {
  if (ev.kind === "api_request" && ev.tokens) {
    const t = ev.tokens;
    return `${tokens((t.input ?? 0) + (t.output ?? 0) + (t.cache_read ?? 0) + (t.cache_write ?? 0))} tok · ${usd(ev.cost_usd)}`;
  }
  if (ev.duration_ms != null) return `${(ev.duration_ms / 1000).toFixed(1)} s`;
  return "";
}

const Row = memo(function Row({ ev, index, total, onOpen }: { ev: ObsEvent; index: number; total: number; onOpen: (ev: ObsEvent) => void }) {
  return (
    <li
      className={`row${isError(ev) ? " row-error" : ""}`}
      style={{ transform: `translateY(${index * ROW}px)` }}
      aria-setsize={total}
      aria-posinset={index + 1}
    >
      <button type="button" onClick={() => onOpen(ev)}>
        <span className="row-head">
          <span className="row-kind">
            {isError(ev) && <span aria-hidden="true">⚠ </span>}
            {eventLabel(ev)}
          </span>
          <span className="row-side">
            {side(ev)} <time>{clock(eventTime(ev.ts))}</time>
          </span>
        </span>
        <span className="row-preview">{preview(ev) || "\u00a0"}</span>
      </button>
    </li>
  );
});

/** Newest-first event list, windowed against the page scroll. */
export function Timeline({ events, onOpen }: { events: readonly ObsEvent[]; onOpen: (ev: ObsEvent) => void }) {
  const ref = useRef<HTMLOListElement>(null);
  const count = events.length;

  // New events are added at the top: when the reader has scrolled into the list, keep what they read in place.
  // (Declared before the window's own layout effect, so the window is measured after this scroll.)
  const shownCount = useRef(count);
  useLayoutEffect(() => {
    const added = count - shownCount.current;
    shownCount.current = count;
    const el = ref.current;
    if (added > 0 && el && el.getBoundingClientRect().top < 0) scrollBy(0, added * ROW);
  }, [count]);
  const range = useWindow(ref, { rows: count, rowHeight: ROW, overscan: OVERSCAN });

  const rows = [];
  for (let i = range.start; i < range.end; i++) {
    const ev = events[count - 1 - i];
    rows.push(<Row key={ev.seq} ev={ev} index={i} total={count} onOpen={onOpen} />);
  }
  return (
    <ol
      ref={ref}
      className="timeline"
      style={{ height: count * ROW }}
      aria-label={`Timeline, ${count} events, newest first`}
      onFocus={range.onFocus}
    >
      {rows}
    </ol>
  );
}
