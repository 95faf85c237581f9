/**
 * The one live store: owns the WebSocket to /api/live, keeps sessions, alerts and the
 * timelines of the sessions being looked at, and hands immutable snapshots to React through
 * useSyncExternalStore (see live.ts).
 *
 * Protocol rules it enforces:
 * - first connect sends {"resume": null} and gets a snapshot; later connects resume from the
 *   highest seq seen, so the server only replays what was missed;
 * - an event whose seq is not above the highest event seq seen is a duplicate and is dropped;
 *   a session update older than the one held for that session is dropped;
 * - lost connections are retried with exponential backoff and jitter; silence longer than
 *   idleTimeoutMs (heartbeats come every 20 s) counts as a lost connection;
 * - updates are applied at once to a working state, which is published (what getSnapshot returns)
 *   and notified in batches, one per batchMs: a burst of messages costs one render, and what React
 *   renders does not change under it mid-render (only a connection change is readable at once).
 *   Between two publications the sessions record is copied once, not once per message.
 */
import { mergeApproval, type ApprovalsById } from "./approvals";
import type { Alert, ApprovalRequest, ObsEvent, ServerMessage, Session } from "./types";

export type Connection = "connecting" | "open" | "reconnecting" | "offline";

export interface Timeline {
  events: readonly ObsEvent[];
  loading: boolean;
  error: string | null;
}

export interface LiveState {
  connection: Connection;
  sessions: Readonly<Record<string, Session>>;
  /** Highest seq seen; what a reconnect resumes from. */
  seq: number | null;
  alerts: readonly Alert[];
  /** Why GET /api/alerts failed, if it did. */
  alertsError: string | null;
  /** Away mode's permission requests by id (see approvals.ts). */
  approvals: ApprovalsById;
  timelines: Readonly<Record<string, Timeline>>;
  /** Sessions were restored from the local cache and no live snapshot has arrived yet. */
  fromCache: boolean;
  savedAt: string | null;
  /** Milliseconds until the next reconnect attempt, while reconnecting. */
  retryInMs: number | null;
}

export interface SocketLike {
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  send(data: string): void;
  close(): void;
}

export interface OnlineSource {
  isOnline(): boolean;
  subscribe(onChange: () => void): () => void;
}

export interface StoreOptions {
  url: string;
  WebSocket: new (url: string) => SocketLike;
  getJson: <T>(path: string) => Promise<T>;
  storage?: Pick<Storage, "getItem" | "setItem"> | null;
  online?: OnlineSource;
  random?: () => number;
  batchMs?: number;
  idleTimeoutMs?: number;
  pageSize?: number;
}

export interface LiveStore {
  subscribe(listener: () => void): () => void;
  getSnapshot(): LiveState;
  start(): void;
  stop(): void;
  /** Keep the timeline of a session loaded and live; returns the matching unwatch. */
  watch(sessionId: string): () => void;
  upsertAlert(alert: Alert): void;
  /** Requests read over HTTP (the live socket only carries changes). */
  upsertApprovals(approvals: readonly ApprovalRequest[]): void;
  /** Reconnect now (e.g. the page became visible again) instead of waiting for the backoff. */
  retryNow(): void;
}

const CACHE_KEY = "observatory.sessions.v1";

/** Exponential backoff with "equal jitter": half fixed, half random, capped. attempt starts at 1. */
export function backoffDelay(attempt: number, random: () => number, baseMs = 500, maxMs = 30_000): number {
  const exp = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return exp / 2 + random() * (exp / 2);
}

/** Merge two seq-sorted event lists into one, dropping repeated seqs. */
export function mergeBySeq(a: readonly ObsEvent[], b: readonly ObsEvent[]): ObsEvent[] {
  if (a.length === 0) return [...b];
  if (b.length === 0 || b[0].seq > a[a.length - 1].seq) return [...a, ...b];
  const out: ObsEvent[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i].seq <= b[j].seq) ? a[i++] : b[j++];
    if (out.length === 0 || out[out.length - 1].seq !== next.seq) out.push(next);
  }
  return out;
}

const noOnline: OnlineSource = { isOnline: () => true, subscribe: () => () => {} };

export function createLiveStore(opts: StoreOptions): LiveStore {
  const random = opts.random ?? Math.random;
  const batchMs = opts.batchMs ?? 16;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 50_000;
  const pageSize = opts.pageSize ?? 1000;
  const online = opts.online ?? noOnline;

  let state: LiveState = {
    connection: "connecting",
    sessions: {},
    seq: null,
    alerts: [],
    alertsError: null,
    approvals: {},
    timelines: {},
    fromCache: false,
    savedAt: null,
    retryInMs: null,
  };
  const cached = readCache();
  if (cached) state = { ...state, sessions: cached.sessions, fromCache: true, savedAt: cached.savedAt };
  /** The state last handed to subscribers; `state` runs ahead of it until the next flush. */
  let published = state;
  /** state.sessions is a copy made since the last flush, not yet published: it may be written in place. */
  let sessionsCopied = false;
  /** The state subscribers were last told about. */
  let notified = state;

  const listeners = new Set<() => void>();
  const sessionSeq = new Map<string, number>();
  const watchers = new Map<string, number>();
  const pendingEvents = new Map<string, ObsEvent[]>();
  let lastEventSeq = -Infinity;
  let synced = false; // a live snapshot arrived during this page's life
  let socket: SocketLike | null = null;
  let attempt = 0;
  let running = false;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let idleTimer: ReturnType<typeof setTimeout> | null = null;
  let flushTimer: ReturnType<typeof setTimeout> | null = null;
  let lastSaved = 0;
  let unsubscribeOnline: (() => void) | null = null;

  function readCache(): { sessions: Record<string, Session>; savedAt: string } | null {
    try {
      const raw = opts.storage?.getItem(CACHE_KEY);
      return raw ? JSON.parse(raw) : null;
    } catch {
      return null;
    }
  }

  function saveCache(force: boolean) {
    const now = Date.now();
    if (!opts.storage || (!force && now - lastSaved < 2000)) return;
    lastSaved = now;
    try {
      opts.storage.setItem(CACHE_KEY, JSON.stringify({ sessions: state.sessions, savedAt: new Date(now).toISOString() }));
    } catch {
      /* storage full or disabled: the cache is a convenience only */
    }
  }

  function emit() {
    for (const l of listeners) l();
  }

  /** Connection changes are rare and readable at once; subscribers hear of every change with the next batch. */
  function set(patch: Partial<LiveState>) {
    state = { ...state, ...patch };
    if ("connection" in patch) publish();
    scheduleFlush();
  }

  function publish() {
    published = state;
    sessionsCopied = false;
  }

  function scheduleFlush() {
    if (flushTimer === null) flushTimer = setTimeout(flush, batchMs);
  }

  function flush() {
    flushTimer = null;
    if (pendingEvents.size) {
      const timelines = { ...state.timelines };
      for (const [id, evs] of pendingEvents) {
        const t = timelines[id];
        if (t) timelines[id] = { ...t, events: mergeBySeq(t.events, evs) };
      }
      pendingEvents.clear();
      state = { ...state, timelines };
    }
    publish();
    if (notified === published) return;
    notified = published;
    emit();
  }

  function setTimeline(id: string, patch: Partial<Timeline>) {
    const prev = state.timelines[id] ?? { events: [], loading: false, error: null };
    set({ timelines: { ...state.timelines, [id]: { ...prev, ...patch } } });
  }

  function bumpSeq(seq: number) {
    if (state.seq === null || seq > state.seq) state = { ...state, seq };
  }

  function applySession(session: Session, seq: number) {
    if (seq < (sessionSeq.get(session.id) ?? -Infinity)) return;
    sessionSeq.set(session.id, seq);
    const sessions = sessionsCopied ? (state.sessions as Record<string, Session>) : { ...state.sessions };
    sessionsCopied = true;
    sessions[session.id] = session;
    set({ sessions });
    saveCache(false);
  }

  function handle(msg: ServerMessage) {
    switch (msg.type) {
      case "snapshot": {
        const sessions: Record<string, Session> = {};
        const seq = msg.seq ?? -1;
        sessionSeq.clear();
        for (const s of msg.sessions) {
          sessions[s.id] = s;
          sessionSeq.set(s.id, seq);
        }
        // The snapshot is authoritative, also about where the event stream stands.
        lastEventSeq = seq;
        synced = true;
        sessionsCopied = true;
        set({ sessions, seq: msg.seq, fromCache: false, savedAt: null });
        saveCache(true);
        // A snapshot means events may have been skipped: fill the watched timelines' gaps.
        for (const id of watchers.keys()) void loadTimeline(id, lastTimelineSeq(id));
        void loadAlerts();
        break;
      }
      case "session":
        applySession(msg.session, msg.seq);
        bumpSeq(msg.seq);
        break;
      case "event": {
        const ev = msg.event;
        if (ev.seq <= lastEventSeq) return; // duplicate (replayed or resent)
        lastEventSeq = ev.seq;
        bumpSeq(ev.seq);
        if (watchers.has(ev.session_id)) {
          const list = pendingEvents.get(ev.session_id) ?? [];
          list.push(ev);
          pendingEvents.set(ev.session_id, list);
        }
        scheduleFlush();
        break;
      }
      case "alert":
        upsertAlert(msg.alert);
        break;
      case "approval":
        upsertApprovals([msg.approval]);
        break;
      case "batch": // several deltas from one ingest request, in order
        for (const m of msg.messages) handle(m);
        break;
      case "heartbeat":
        break;
    }
  }

  /** Newest first; O(alerts), not a sort per message (hundreds of sessions raise and resolve alerts in bursts). */
  function upsertAlert(alert: Alert) {
    const alerts = state.alerts.filter((a) => a.id !== alert.id);
    let at = 0;
    while (at < alerts.length && alerts[at].created_at > alert.created_at) at++;
    alerts.splice(at, 0, alert);
    set({ alerts });
  }

  function upsertApprovals(list: readonly ApprovalRequest[]) {
    const approvals = list.reduce(mergeApproval, state.approvals);
    if (approvals !== state.approvals) set({ approvals });
  }

  async function loadAlerts() {
    try {
      const res = await opts.getJson<{ alerts: Alert[] }>("/api/alerts");
      for (const a of res.alerts) upsertAlert(a);
      if (state.alertsError) set({ alertsError: null });
    } catch (e) {
      set({ alertsError: e instanceof Error ? e.message : String(e) });
    }
  }

  function lastTimelineSeq(id: string): number {
    const pending = pendingEvents.get(id);
    if (pending?.length) return pending[pending.length - 1].seq;
    const events = state.timelines[id]?.events;
    return events?.length ? events[events.length - 1].seq : 0;
  }

  /** Page through the session's events after `after` into its timeline. */
  async function loadTimeline(id: string, after: number) {
    if (!state.sessions[id]) {
      try {
        applySession(await opts.getJson<Session>(`/api/sessions/${encodeURIComponent(id)}`), -1);
      } catch (e) {
        setTimeline(id, { loading: false, error: e instanceof Error ? e.message : String(e) });
        return;
      }
    }
    setTimeline(id, { loading: true, error: null });
    try {
      for (;;) {
        const page = await opts.getJson<{ events: ObsEvent[]; next: number | null }>(
          `/api/sessions/${encodeURIComponent(id)}/events?after=${after}&limit=${pageSize}`,
        );
        if (!watchers.has(id)) return;
        const t = state.timelines[id];
        setTimeline(id, { events: mergeBySeq(t.events, page.events) });
        if (page.next === null || page.next === undefined || page.events.length === 0) break;
        after = page.next;
      }
      setTimeline(id, { loading: false });
    } catch (e) {
      setTimeline(id, { loading: false, error: e instanceof Error ? e.message : String(e) });
    }
  }

  function armIdle() {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => socket?.close(), idleTimeoutMs);
  }

  function connect() {
    retryTimer = null;
    if (!running) return;
    const connection = !online.isOnline() ? "offline" : attempt === 0 ? "connecting" : "reconnecting";
    set({ connection, retryInMs: null });
    const ws = new opts.WebSocket(opts.url);
    socket = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ resume: synced ? state.seq : null }));
      set({ connection: "open" });
      armIdle();
    };
    ws.onmessage = (ev) => {
      if (socket !== ws) return;
      attempt = 0;
      armIdle();
      let msg: ServerMessage;
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      handle(msg);
    };
    ws.onerror = () => ws.close();
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      if (idleTimer) clearTimeout(idleTimer);
      if (running) scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    attempt += 1;
    const delay = backoffDelay(attempt, random);
    set({ connection: online.isOnline() ? "reconnecting" : "offline", retryInMs: Math.round(delay) });
    retryTimer = setTimeout(connect, delay);
  }

  function retryNow() {
    if (!running || socket) return;
    if (retryTimer) clearTimeout(retryTimer);
    connect();
  }

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    getSnapshot: () => published,
    start() {
      if (running) return;
      running = true;
      unsubscribeOnline = online.subscribe(() => {
        if (online.isOnline()) retryNow();
        else if (!socket || state.connection !== "open") set({ connection: "offline" });
      });
      if (!online.isOnline()) set({ connection: "offline" });
      connect();
    },
    stop() {
      running = false;
      unsubscribeOnline?.();
      for (const t of [retryTimer, idleTimer, flushTimer]) if (t) clearTimeout(t);
      retryTimer = idleTimer = flushTimer = null;
      const ws = socket;
      socket = null;
      ws?.close();
    },
    watch(id) {
      const n = watchers.get(id) ?? 0;
      watchers.set(id, n + 1);
      if (n === 0) {
        setTimeline(id, { events: [], loading: true, error: null });
        void loadTimeline(id, 0);
      }
      return () => {
        const left = (watchers.get(id) ?? 1) - 1;
        if (left > 0) return void watchers.set(id, left);
        watchers.delete(id);
        pendingEvents.delete(id);
        const { [id]: _dropped, ...rest } = state.timelines;
        set({ timelines: rest });
      };
    },
    upsertAlert,
    upsertApprovals,
    retryNow,
  };
}
