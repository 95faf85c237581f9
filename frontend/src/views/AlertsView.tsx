import { useState } from "react";
import { api, errorText } from "../api";
import { Link } from "../components/Link";
import { ago } from "../format";
import { useNow } from "../hooks";
import { liveStore } from "../live";
import type { LiveState } from "../store";
import type { Alert } from "../types";

const KIND: Record<string, string> = {
  crash: "Crash",
  turn_failed: "Turn failed",
  stall: "Stall",
  completion: "Finished",
  approval_needed: "Needs approval",
  error_burst: "Errors",
  budget: "Budget",
};

export function alertKindLabel(kind: string): string {
  return KIND[kind] ?? kind;
}

function appPath(alertUrl: string): string {
  try {
    return new URL(alertUrl, location.origin).pathname;
  } catch {
    return "/";
  }
}

function AlertItem({ alert: a, now }: { alert: Alert; now: number }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function ack() {
    setBusy(true);
    setError(null);
    try {
      const res = await api<Partial<Alert> | null>("POST", `/api/alerts/${encodeURIComponent(a.id)}/ack`);
      liveStore.upsertAlert(res && res.id ? (res as Alert) : { ...a, acked_at: new Date().toISOString() });
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <li className={`alert-item${a.acked_at ? " acked" : ""}`}>
      <div className="card-top">
        <span className={`badge kind-${a.kind}`}>{alertKindLabel(a.kind)}</span>
        <time className="muted" dateTime={a.created_at}>
          {ago(a.created_at, now)}
        </time>
      </div>
      <Link to={appPath(a.url || `/s/${a.session_id}`)} className="alert-title">
        {a.title}
      </Link>
      {a.body && <p>{a.body}</p>}
      <div className="button-row">
        {a.acked_at ? (
          <span className="muted">Acknowledged</span>
        ) : (
          <button type="button" onClick={() => void ack()} disabled={busy} aria-label={`Acknowledge: ${a.title}`}>
            Acknowledge
          </button>
        )}
        {a.resolved_at && <span className="muted">Resolved</span>}
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </li>
  );
}

export function AlertsView({ live }: { live: LiveState }) {
  const now = useNow(5000);
  return (
    <section aria-labelledby="alerts-h">
      <h1 id="alerts-h">Alerts</h1>
      {live.alertsError && (
        <p role="alert" className="error">
          {live.alertsError}
        </p>
      )}
      {live.alerts.length === 0 ? (
        <p className="empty">No alerts. Crashes, stalls, approvals and finished turns show up here.</p>
      ) : (
        <ul className="alerts">
          {live.alerts.map((a) => (
            <AlertItem key={a.id} alert={a} now={now} />
          ))}
        </ul>
      )}
    </section>
  );
}
