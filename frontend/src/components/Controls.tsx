import { useEffect, useRef, useState } from "react";
import { api, errorText } from "../api";
import type { Session } from "../types";
import { Dialog } from "./Dialog";

type Action = "kill" | "restart";

const TEXT: Record<Action, { label: string; confirm: string }> = {
  kill: {
    label: "Kill",
    confirm: "Stop this agent process now? Work in progress in the current turn is lost.",
  },
  restart: {
    label: "Restart",
    confirm: "Stop this agent and start it again, resuming the same session?",
  },
};

const FINAL = new Set(["done", "ok", "succeeded", "success", "failed", "error", "rejected"]);

/** Kill / restart with a confirm step; the action's progress is polled from /api/actions/{id}. */
export function Controls({ session, ask }: { session: Session; ask: string | null }) {
  const [asking, setAsking] = useState<Action | null>(ask === "kill" || ask === "restart" ? ask : null);
  const [progress, setProgress] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const mounted = useRef(true);
  useEffect(() => () => void (mounted.current = false), []);

  async function run(action: Action) {
    setAsking(null);
    setError(null);
    setProgress(`${TEXT[action].label}: requested…`);
    try {
      const { action_id } = await api<{ action_id: string }>(
        "POST",
        `/api/sessions/${encodeURIComponent(session.id)}/${action}`,
      );
      for (let i = 0; i < 60 && mounted.current; i++) {
        const a = await api<{ status: string; detail?: string | null }>("GET", `/api/actions/${encodeURIComponent(action_id)}`);
        if (!mounted.current) return;
        setProgress(`${TEXT[action].label}: ${a.status}${a.detail ? ` — ${a.detail}` : ""}`);
        if (FINAL.has(a.status)) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    } catch (e) {
      if (!mounted.current) return;
      setProgress(null);
      setError(errorText(e));
    }
  }

  const canKill = session.status !== "ended" && session.status !== "crashed";
  return (
    <div className="controls">
      <div className="button-row">
        {canKill && (
          <button type="button" className="danger" onClick={() => setAsking("kill")}>
            Kill…
          </button>
        )}
        <button type="button" onClick={() => setAsking("restart")}>
          Restart…
        </button>
      </div>
      <p role="status" className="muted">
        {progress}
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <Dialog
        open={asking !== null}
        title={asking ? `${TEXT[asking].label} this agent?` : ""}
        onClose={() => setAsking(null)}
        actions={
          asking && (
            <button type="button" className={asking === "kill" ? "danger" : "primary"} onClick={() => void run(asking)}>
              {TEXT[asking].label}
            </button>
          )
        }
      >
        <p>{asking ? TEXT[asking].confirm : ""}</p>
      </Dialog>
    </div>
  );
}
