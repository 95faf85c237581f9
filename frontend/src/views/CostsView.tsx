import { useEffect, useMemo, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { tokens, usd } from "../format";
import { useApi } from "../hooks";

export interface CostRow {
  day: string;
  model: string;
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
  reasoning: number;
  cost_usd: number;
}

const DAYS = 30;
const COLORS = ["#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626"];

/** The `n` UTC days ending today, oldest first, as "YYYY-MM-DD". */
export function lastDays(n: number, now = Date.now()): string[] {
  const today = Math.floor(now / 86_400_000) * 86_400_000;
  return Array.from({ length: n }, (_, i) => new Date(today - (n - 1 - i) * 86_400_000).toISOString().slice(0, 10));
}

/** Pivot rows into uPlot's columnar data: x = every day (unix seconds), one cost series per model. */
export function pivot(rows: CostRow[], days: string[]): { models: string[]; data: uPlot.AlignedData } {
  const models = [...new Set(rows.map((r) => r.model))].sort();
  const cost = models.map(() => days.map(() => 0));
  for (const r of rows) {
    const d = days.indexOf(r.day);
    if (d >= 0) cost[models.indexOf(r.model)][d] += r.cost_usd;
  }
  const x = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
  return { models, data: [x, ...cost] };
}

/** Tokens but no cost: an agent that reports none, on a model missing from [prices]. */
export function unpriced(r: CostRow): boolean {
  return r.cost_usd === 0 && r.input + r.output + r.cache_read + r.cache_write + r.reasoning > 0;
}

/** Axis labels precise enough to tell ticks apart (small daily costs are fractions of a cent). */
function money(incr: number) {
  const decimals = Math.max(2, -Math.floor(Math.log10(incr || 1)));
  return (v: number) => `$${v.toFixed(decimals)}`;
}

function Chart({ rows }: { rows: CostRow[] }) {
  const box = useRef<HTMLDivElement>(null);
  const { models, data } = useMemo(() => pivot(rows, lastDays(DAYS)), [rows]);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const css = getComputedStyle(el);
    const ink = css.getPropertyValue("--muted").trim() || "#555";
    const grid = css.getPropertyValue("--line").trim() || "#ddd";
    const axis = { stroke: ink, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
    const plot = new uPlot(
      {
        width: el.clientWidth,
        height: 240,
        scales: { x: { time: true } },
        legend: { live: false },
        axes: [axis, { ...axis, values: (_u, vals, _i, _space, incr) => vals.map(money(incr)), size: 64 }],
        series: [
          {},
          ...models.map((m, i) => ({
            label: m,
            stroke: COLORS[i % COLORS.length],
            width: 2,
            points: { show: true, size: 6 },
          })),
        ],
      },
      data,
      el,
    );
    const ro = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: 240 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [models, data]);
  return <div ref={box} className="chart" role="img" aria-label="Daily cost per model (the same numbers are in the table below)" />;
}

export default function CostsView() {
  const { data, error, loading } = useApi<{ rows: CostRow[] }>(`/api/costs?days=${DAYS}`);
  const rows = data?.rows ?? [];
  const perModel = useMemo(() => {
    const m = new Map<string, CostRow>();
    for (const r of rows) {
      const t = m.get(r.model) ?? { ...r, day: "", input: 0, output: 0, cache_read: 0, cache_write: 0, reasoning: 0, cost_usd: 0 };
      for (const k of ["input", "output", "cache_read", "cache_write", "reasoning", "cost_usd"] as const) t[k] += r[k];
      m.set(r.model, t);
    }
    return [...m.values()].sort((a, b) => b.cost_usd - a.cost_usd);
  }, [rows]);
  const total = perModel.reduce((s, r) => s + r.cost_usd, 0);

  return (
    <section aria-labelledby="costs-h">
      <h1 id="costs-h">Costs · last {DAYS} days</h1>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {loading && !data && <p className="muted">Loading…</p>}
      {data && rows.length === 0 && <p className="empty">No token usage recorded yet.</p>}
      {rows.length > 0 && (
        <>
          <p className="total">
            Total <strong>{usd(total)}</strong>
          </p>
          <Chart rows={rows} />
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Tokens and cost per model</caption>
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Input</th>
                  <th scope="col">Output</th>
                  <th scope="col">Cache</th>
                  <th scope="col">Cost</th>
                </tr>
              </thead>
              <tbody>
                {perModel.map((r) => (
                  <tr key={r.model}>
                    <th scope="row">{r.model}</th>
                    <td>{tokens(r.input)}</td>
                    <td>{tokens(r.output + r.reasoning)}</td>
                    <td>{tokens(r.cache_read + r.cache_write)}</td>
                    <td>{unpriced(r) ? "n/a" : usd(r.cost_usd)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {perModel.some(unpriced) && (
            <p className="note">
              n/a: the agent reports no cost and the model has no price yet; add it under <code>[prices]</code> in
              config.toml. Codex and Gemini costs are estimated from list prices.
            </p>
          )}
        </>
      )}
    </section>
  );
}
