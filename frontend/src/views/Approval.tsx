import { useEffect, useRef, useState } from "react";
import { api, errorText } from "../api";
import { sessionApprovals } from "../approvals";
import { useNow } from "../hooks";
import type { LiveState } from "../store";
import type { ApprovalRequest } from "../types";
import "./approval.css";

interface Approvals {
  away: { enabled: boolean; wait_s: number };
  pending: ApprovalRequest[];
  recent: ApprovalRequest[];
}

/** What the agent will do, exactly: the command, the diff, or the whole input. */
export function describeCall(tool: string | null, input: unknown): { label: string; text: string }[] {
  const o = (input && typeof input === "object" ? input : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  const lines = (prefix: string, s: string) =>
    s
      .split("\n")
      .map((l) => prefix + l)
      .join("\n");
  const out: { label: string; text: string }[] = [];
  const command = str(o.command) ?? str(o.cmd);
  const path = str(o.file_path) ?? str(o.path) ?? str(o.notebook_path);
  if (command !== null) out.push({ label: "Command", text: command });
  if (path !== null) out.push({ label: "File", text: path });
  const edits = Array.isArray(o.edits) ? (o.edits as Record<string, unknown>[]) : [o];
  const diff = edits
    .filter((e) => str(e.old_string) !== null || str(e.new_string) !== null)
    .map((e) => [lines("- ", str(e.old_string) ?? ""), lines("+ ", str(e.new_string) ?? "")].join("\n"));
  if (diff.length) out.push({ label: "Change", text: diff.join("\n\n") });
  else if (str(o.content) !== null) out.push({ label: "New content", text: str(o.content)! });
  if (!out.length || (command === null && path === null && !diff.length && str(o.content) === null))
    out.push({ label: tool ? `${tool} input` : "Input", text: JSON.stringify(input, null, 2) ?? "" });
  return out;
}

const OUTCOMES: Record<string, string> = {
  allowed: "Approved: the agent goes ahead.",
  denied: "Denied: the agent was told and will not run it.",
  timed_out: "Nobody answered in time: the question went back to the terminal.",
  answered_at_terminal: "Answered at the terminal.",
  hook_gone: "The agent stopped waiting (answered or cancelled at the terminal, or its hook timed out).",
  away_off: "Away mode was switched off: the question went back to the terminal.",
  server_stopped: "The Observatory server stopped: the question went back to the terminal.",
};

export function outcomeText(a: Pick<ApprovalRequest, "status" | "decided_by" | "message">): string {
  const base = OUTCOMES[a.status] ?? `Status: ${a.status}`;
  const who = a.decided_by && (a.status === "allowed" || a.status === "denied") ? ` (by ${a.decided_by})` : "";
  return base + who + (a.status === "denied" && a.message ? ` Message: “${a.message}”` : "");
}

/** "3:05" until the hold ends and the terminal takes over; null once past. */
export function timeLeft(expiresAt: string, now: number): string | null {
  const s = Math.floor((Date.parse(expiresAt) - now) / 1000);
  if (!(s >= 0)) return null;
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function Pending({ request, onDone }: { request: ApprovalRequest; onDone: (a: ApprovalRequest | null, error?: string) => void }) {
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState<"allow" | "deny" | null>(null);
  const now = useNow(1000);
  const left = timeLeft(request.expires_at, now);

  async function answer(decision: "allow" | "deny") {
    setBusy(decision);
    try {
      const body = decision === "deny" && message.trim() ? { decision, message: message.trim() } : { decision };
      onDone(await api<ApprovalRequest>("POST", `/api/approvals/${encodeURIComponent(request.id)}`, body));
    } catch (e) {
      onDone(null, errorText(e));
    } finally {
      setBusy(null);
    }
  }

  return (
    <section className="approval" aria-labelledby={`approval-${request.id}`}>
      <h2 id={`approval-${request.id}`}>
        {request.agent} asks to use <strong>{request.tool ?? "a tool"}</strong>
      </h2>
      {describeCall(request.tool, request.tool_input).map((part) => (
        <div key={part.label}>
          <p className="approval-label">{part.label}</p>
          <pre className="approval-input">{part.text}</pre>
        </div>
      ))}
      <dl className="approval-meta">
        <dt>Folder</dt>
        <dd>
          <code>{request.cwd ?? "unknown"}</code>
        </dd>
        <dt>Session</dt>
        <dd>
          <code>{request.session_id}</code>
        </dd>
      </dl>
      <label className="approval-message">
        Message to the agent if you deny (optional)
        <textarea value={message} maxLength={2000} rows={2} onChange={(e) => setMessage(e.target.value)} />
      </label>
      <div className="button-row">
        <button type="button" className="primary" disabled={busy !== null} onClick={() => void answer("allow")}>
          {busy === "allow" ? "Approving…" : "Approve"}
        </button>
        <button type="button" className="danger" disabled={busy !== null} onClick={() => void answer("deny")}>
          {busy === "deny" ? "Denying…" : "Deny"}
        </button>
      </div>
      <p className="muted">
        {left ? `Without an answer, the question goes back to the terminal in ${left}.` : "Waiting for the server…"}
      </p>
    </section>
  );
}

/**
 * The permission request a notification tap leads to (it opens the session's page): the tool,
 * its full input, folder and session, with Approve / Deny. Shows nothing when the session has
 * no request; after an answer, the outcome. Requests and outcomes come from the live store
 * ("approval" messages); they are read over HTTP once on mount, and again whenever the live
 * socket reopens, since changes made while it was down are not replayed.
 */
export function Approval({
  sessionId,
  live,
  remember,
}: {
  sessionId: string;
  live: LiveState;
  remember: (approvals: readonly ApprovalRequest[]) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const open = live.connection === "open";
  const fetched = useRef(false);

  useEffect(() => {
    if (fetched.current && !open) return;
    fetched.current = true;
    api<Approvals>("GET", `/api/approvals?session_id=${encodeURIComponent(sessionId)}&limit=1`).then(
      (data) => remember([...data.recent, ...data.pending]),
      () => {}, // the session page shows connection problems; the next reopen reads again
    );
  }, [sessionId, open, remember]);

  function done(approval: ApprovalRequest | null, failure?: string) {
    setError(failure ?? null);
    if (approval) remember([approval]);
  }

  const { pending, last } = sessionApprovals(live.approvals, sessionId);
  return (
    <>
      {pending && <Pending key={pending.id} request={pending} onDone={done} />}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {!pending && last && Date.now() - Date.parse(last.decided_at ?? last.created_at) < 15 * 60_000 && (
        <p role="status" className={`approval-result approval-${last.status}`}>
          {last.tool ?? "Tool"}: {outcomeText(last)}
        </p>
      )}
    </>
  );
}
