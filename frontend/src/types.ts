/** Shapes of the Observatory API (see DESIGN.md "API contract"). */

export type SessionStatus =
  | "starting"
  | "thinking"
  | "running_tool"
  | "needs_approval"
  | "waiting_for_user"
  | "stalled"
  | "crashed"
  | "ended";

export interface Tokens {
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
  reasoning: number;
}

export interface Session {
  id: string;
  agent: string;
  status: SessionStatus;
  cwd: string | null;
  project: string | null;
  branch: string | null;
  model: string | null;
  pid: number | null;
  supervised: boolean;
  started_at: string | null;
  last_activity_at: string | null;
  current_tool: string | null;
  tokens: Tokens;
  cost_usd: number;
  cost_basis?: "" | "reported" | "estimated" | "unpriced";
  tool_calls: number;
  errors: number;
  /** First line of the first prompt, when known. */
  title?: string | null;
}

export interface ObsEvent {
  seq: number;
  ts: string | number | null;
  agent: string;
  session_id: string;
  kind: string;
  name?: string | null;
  source: string;
  tool: string | null;
  model: string | null;
  tokens: Partial<Tokens> | null;
  cost_usd: number | null;
  duration_ms: number | null;
  status: string | null;
  detail: Record<string, unknown> | null;
}

export interface Alert {
  id: string;
  session_id: string;
  kind: string;
  title: string;
  body: string;
  url: string;
  created_at: string;
  acked_at: string | null;
  resolved_at: string | null;
}

/** One permission request held by away mode (GET /api/approvals, and "approval" live messages). */
export interface ApprovalRequest {
  id: string;
  session_id: string;
  agent: string;
  tool: string | null;
  tool_input: unknown;
  cwd: string | null;
  status: string;
  created_at: string;
  expires_at: string;
  decided_at: string | null;
  decided_by: string | null;
  message: string | null;
  latency_ms: number | null;
}

export type ServerMessage =
  | { type: "snapshot"; sessions: Session[]; seq: number | null }
  | { type: "session"; session: Session; seq: number }
  | { type: "event"; event: ObsEvent }
  | { type: "alert"; alert: Alert }
  | { type: "approval"; approval: ApprovalRequest }
  | { type: "heartbeat" }
  | { type: "batch"; messages: ServerMessage[] };

export interface RuntimeConfig {
  vapidPublicKey: string | null;
  basePath: string;
  csrfToken: string | null;
}

declare global {
  interface Window {
    __OBSERVATORY__?: Partial<RuntimeConfig>;
  }
}
