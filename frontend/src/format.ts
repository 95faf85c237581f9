/** Small, locale-light formatting helpers shared by the views. */

export function ago(iso: string | null, now: number): string {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function tokens(n: number | null | undefined): string {
  const v = n ?? 0;
  if (v < 1000) return String(v);
  if (v < 1_000_000) return `${(v / 1000).toFixed(v < 10_000 ? 1 : 0)}k`;
  return `${(v / 1_000_000).toFixed(1)}M`;
}

export function usd(n: number | null | undefined): string {
  const v = n ?? 0;
  if (v > 0 && v < 0.01) return "<$0.01";
  return `$${v.toFixed(2)}`;
}

/** A session's cost as certain as it is: Claude reports it, Codex and Gemini costs are estimated
 * from list prices (≈), and a model with no known price leaves the total a lower bound or unknown. */
export function sessionCost(cost: number, basis: string | undefined): string {
  if (basis === "estimated") return `≈${usd(cost)}`;
  if (basis === "unpriced") return cost > 0 ? `≥${usd(cost)}` : "cost n/a";
  return usd(cost);
}

/** Event times arrive as ISO strings or nanosecond integers (the agent's clock). */
export function eventTime(ts: string | number | null): Date | null {
  if (ts == null) return null;
  const d = typeof ts === "number" ? new Date(ts > 1e15 ? ts / 1e6 : ts) : new Date(ts);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function clock(d: Date | null): string {
  return d ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
}

export function shortPath(p: string | null): string {
  if (!p) return "";
  const parts = p.split("/").filter(Boolean);
  return parts.length > 2 ? `…/${parts.slice(-2).join("/")}` : p;
}
