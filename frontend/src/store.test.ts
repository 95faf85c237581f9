import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { backoffDelay, createLiveStore, mergeBySeq, type LiveStore, type SocketLike } from "./store";
import type { ObsEvent, ServerMessage, Session } from "./types";

/** A WebSocket double the test drives by hand: open it, push server messages, drop it. */
class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onerror: SocketLike["onerror"] = null;
  sent: unknown[] = [];
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.({} as CloseEvent);
  }
  open() {
    this.onopen?.({} as Event);
  }
  receive(msg: ServerMessage) {
    this.onmessage?.({ data: JSON.stringify(msg) } as MessageEvent);
  }
  static last(): FakeSocket {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }
}

function session(id: string, status: Session["status"], lastActivity = "2026-11-23T10:00:00Z"): Session {
  return {
    id,
    agent: "claude",
    status,
    cwd: `/work/${id}`,
    project: id,
    branch: "main",
    model: "claude-opus-4-8",
    pid: 1,
    supervised: false,
    started_at: "2026-11-23T09:00:00Z",
    last_activity_at: lastActivity,
    current_tool: null,
    tokens: { input: 0, output: 0, cache_read: 0, cache_write: 0, reasoning: 0 },
    cost_usd: 0,
    tool_calls: 0,
    errors: 0,
  };
}

function event(seq: number, sessionId = "a"): ObsEvent {
  return {
    seq,
    ts: "2026-11-23T10:00:00Z",
    agent: "claude",
    session_id: sessionId,
    kind: "tool_start",
    source: "hook",
    tool: "Bash",
    model: null,
    tokens: null,
    cost_usd: null,
    duration_ms: null,
    status: "ok",
    detail: { command: `echo ${seq}` },
  };
}

let store: LiveStore;
let getJson: ReturnType<typeof vi.fn>;
let storage: Map<string, string>;

function make(random = () => 0.5) {
  storage = new Map();
  getJson = vi.fn(async (path: string) => {
    if (path === "/api/alerts") return { alerts: [] };
    throw new Error(`unexpected GET ${path}`);
  });
  store = createLiveStore({
    url: "ws://test/api/live",
    WebSocket: FakeSocket,
    getJson: getJson as never,
    storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v) },
    random,
    batchMs: 10,
  });
  store.start();
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.all = [];
});
afterEach(() => {
  store.stop();
  vi.useRealTimers();
});

describe("live store", () => {
  it("asks for a snapshot first and publishes the sessions it gets", async () => {
    make();
    const ws = FakeSocket.last();
    ws.open();
    expect(ws.sent).toEqual([{ resume: null }]);
    ws.receive({ type: "snapshot", sessions: [session("a", "thinking"), session("b", "crashed")], seq: 7 });
    await vi.advanceTimersByTimeAsync(20);
    const s = store.getSnapshot();
    expect(Object.keys(s.sessions).sort()).toEqual(["a", "b"]);
    expect(s.seq).toBe(7);
    expect(s.connection).toBe("open");
    expect(s.fromCache).toBe(false);
  });

  it("batches a burst of updates into one notification", async () => {
    make();
    const listener = vi.fn();
    store.subscribe(listener);
    const ws = FakeSocket.last();
    ws.open();
    ws.receive({ type: "snapshot", sessions: [session("a", "thinking")], seq: 1 });
    for (let i = 2; i < 100; i++) ws.receive({ type: "session", session: session("a", i % 2 ? "thinking" : "running_tool"), seq: i });
    await vi.advanceTimersByTimeAsync(20);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(store.getSnapshot().seq).toBe(99);
    expect(store.getSnapshot().sessions.a.status).toBe("thinking");
  });

  it("unpacks a batch frame in order, like the same messages sent one by one", async () => {
    make();
    getJson.mockImplementation(async () => ({ events: [], next: null, alerts: [] }));
    store.watch("a");
    const ws = FakeSocket.last();
    ws.open();
    ws.receive({ type: "snapshot", sessions: [session("a", "thinking")], seq: 1 });
    ws.receive({
      type: "batch",
      messages: [
        { type: "event", event: event(2) },
        { type: "event", event: event(2) },
        { type: "event", event: event(3) },
        { type: "session", session: session("a", "waiting_for_user"), seq: 3 },
      ],
    });
    await vi.advanceTimersByTimeAsync(20);
    const s = store.getSnapshot();
    expect(s.timelines.a.events.map((e) => e.seq)).toEqual([2, 3]);
    expect(s.sessions.a.status).toBe("waiting_for_user");
    expect(s.seq).toBe(3);
  });

  it("drops session updates older than the one it holds (ordering)", async () => {
    make();
    const ws = FakeSocket.last();
    ws.open();
    ws.receive({ type: "snapshot", sessions: [], seq: 0 });
    ws.receive({ type: "session", session: session("a", "waiting_for_user"), seq: 5 });
    ws.receive({ type: "session", session: session("a", "thinking"), seq: 3 });
    await vi.advanceTimersByTimeAsync(20);
    expect(store.getSnapshot().sessions.a.status).toBe("waiting_for_user");
    expect(store.getSnapshot().seq).toBe(5);
  });

  it("resumes from the last seq after a drop and suppresses replayed duplicates", async () => {
    make();
    getJson.mockImplementation(async (path: string) => {
      if (path.startsWith("/api/sessions/a/events")) return { events: [], next: null };
      return { alerts: [] };
    });
    store.watch("a");
    let ws = FakeSocket.last();
    ws.open();
    ws.receive({ type: "snapshot", sessions: [session("a", "thinking")], seq: 10 });
    ws.receive({ type: "event", event: event(11) });
    ws.receive({ type: "event", event: event(12) });
    await vi.advanceTimersByTimeAsync(20);
    ws.close(); // connection lost
    expect(store.getSnapshot().connection).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(1000); // backoff with random()=0.5: 375 ms
    ws = FakeSocket.last();
    expect(FakeSocket.all).toHaveLength(2);
    ws.open();
    expect(ws.sent).toEqual([{ resume: 12 }]);
    // The server replays 12 (already seen) and 13, then the session state.
    ws.receive({ type: "event", event: event(12) });
    ws.receive({ type: "event", event: event(13) });
    ws.receive({ type: "event", event: event(13) });
    ws.receive({ type: "session", session: session("a", "running_tool"), seq: 13 });
    await vi.advanceTimersByTimeAsync(20);
    const s = store.getSnapshot();
    expect(s.timelines.a.events.map((e) => e.seq)).toEqual([11, 12, 13]);
    expect(s.sessions.a.status).toBe("running_tool");
    expect(s.seq).toBe(13);
  });

  it("merges a timeline's history with live events that arrived while it loaded", async () => {
    make();
    let answer: (v: unknown) => void = () => {};
    getJson.mockImplementation((path: string) => {
      if (path === "/api/sessions/a/events?after=0&limit=1000") return new Promise((r) => (answer = r));
      return Promise.resolve({ alerts: [] });
    });
    const ws = FakeSocket.last();
    ws.open();
    ws.receive({ type: "snapshot", sessions: [session("a", "thinking")], seq: 4 });
    store.watch("a");
    ws.receive({ type: "event", event: event(5) });
    ws.receive({ type: "event", event: event(6) });
    await vi.advanceTimersByTimeAsync(20);
    answer({ events: [event(1), event(2), event(4), event(5)], next: null });
    await vi.advanceTimersByTimeAsync(20);
    const t = store.getSnapshot().timelines.a;
    expect(t.events.map((e) => e.seq)).toEqual([1, 2, 4, 5, 6]);
    expect(t.loading).toBe(false);
  });

  it("pages through long histories with after=next", async () => {
    make();
    const pages: Record<string, unknown> = {
      "/api/sessions/a/events?after=0&limit=1000": { events: [event(1), event(2)], next: 2 },
      "/api/sessions/a/events?after=2&limit=1000": { events: [event(3)], next: null },
    };
    getJson.mockImplementation(async (path: string) => pages[path] ?? { alerts: [] });
    const ws = FakeSocket.last();
    ws.open();
    ws.receive({ type: "snapshot", sessions: [session("a", "thinking")], seq: 3 });
    store.watch("a");
    await vi.advanceTimersByTimeAsync(20);
    expect(store.getSnapshot().timelines.a.events.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it("reconnects with exponential backoff and jitter, and resets after a good connection", async () => {
    make(() => 1); // jitter at its maximum: delay = full exponential step
    FakeSocket.last().close();
    const opensAt: number[] = [];
    let t = 0;
    for (let i = 0; i < 5; i++) {
      const before = FakeSocket.all.length;
      while (FakeSocket.all.length === before) {
        await vi.advanceTimersByTimeAsync(50);
        t += 50;
      }
      opensAt.push(t);
      FakeSocket.last().close(); // refused again
    }
    const gaps = opensAt.map((v, i) => v - (i ? opensAt[i - 1] : 0));
    expect(gaps).toEqual([500, 1000, 2000, 4000, 8000]);
    // A connection that delivers a message resets the backoff.
    while (FakeSocket.all.length === 6) await vi.advanceTimersByTimeAsync(50);
    const ws = FakeSocket.last();
    ws.open();
    ws.receive({ type: "heartbeat" });
    ws.close();
    const n = FakeSocket.all.length;
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.all.length).toBe(n + 1);
  });

  it("treats a silent connection as dead", async () => {
    make();
    const ws = FakeSocket.last();
    ws.open();
    ws.receive({ type: "snapshot", sessions: [], seq: 0 });
    await vi.advanceTimersByTimeAsync(49_000);
    expect(ws.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(ws.closed).toBe(true);
  });

  it("restores the last known sessions from storage until a snapshot arrives", async () => {
    make();
    const ws = FakeSocket.last();
    ws.open();
    ws.receive({ type: "snapshot", sessions: [session("a", "stalled")], seq: 3 });
    await vi.advanceTimersByTimeAsync(20);
    store.stop();
    const saved = storage;
    store = createLiveStore({
      url: "ws://test/api/live",
      WebSocket: FakeSocket,
      getJson: getJson as never,
      storage: { getItem: (k) => saved.get(k) ?? null, setItem: () => {} },
    });
    const s = store.getSnapshot();
    expect(s.fromCache).toBe(true);
    expect(s.sessions.a.status).toBe("stalled");
    expect(s.savedAt).not.toBeNull();
  });

  it("applies batched deltas in order, with the same duplicate rules", async () => {
    make();
    getJson.mockImplementation(async (path: string) =>
      path.startsWith("/api/sessions/a/events") ? { events: [], next: null } : { alerts: [] },
    );
    store.watch("a");
    const ws = FakeSocket.last();
    ws.open();
    ws.receive({ type: "snapshot", sessions: [], seq: 0 });
    ws.receive({
      type: "batch",
      messages: [
        { type: "event", event: event(1) },
        { type: "session", session: session("a", "thinking"), seq: 1 },
        { type: "event", event: event(2) },
        { type: "event", event: event(1) },
        { type: "session", session: session("a", "running_tool"), seq: 2 },
      ],
    });
    await vi.advanceTimersByTimeAsync(20);
    expect(store.getSnapshot().sessions.a.status).toBe("running_tool");
    expect(store.getSnapshot().timelines.a.events.map((e) => e.seq)).toEqual([1, 2]);
    expect(store.getSnapshot().seq).toBe(2);
  });

  it("keeps alerts newest first and updates them in place", async () => {
    make();
    const ws = FakeSocket.last();
    ws.open();
    const alert = (id: string, at: string, acked: string | null = null) => ({
      id, session_id: "a", kind: "crash", title: `t${id}`, body: "", url: "/s/a", created_at: at, acked_at: acked, resolved_at: null,
    });
    ws.receive({ type: "alert", alert: alert("1", "2026-11-23T10:00:00Z") });
    ws.receive({ type: "alert", alert: alert("2", "2026-11-23T11:00:00Z") });
    ws.receive({ type: "alert", alert: alert("1", "2026-11-23T10:00:00Z", "2026-11-23T12:00:00Z") });
    await vi.advanceTimersByTimeAsync(20);
    const alerts = store.getSnapshot().alerts;
    expect(alerts.map((a) => a.id)).toEqual(["2", "1"]);
    expect(alerts[1].acked_at).toBe("2026-11-23T12:00:00Z");
  });
});

describe("helpers", () => {
  it("backoffDelay doubles up to the cap, jitter spans the upper half", () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, () => 0))).toEqual([250, 500, 1000, 2000]);
    expect(backoffDelay(20, () => 1)).toBe(30_000);
    expect(backoffDelay(20, () => 0)).toBe(15_000);
  });

  it("mergeBySeq sorts and removes repeated seqs", () => {
    const seqs = mergeBySeq([event(1), event(3), event(5)], [event(2), event(3), event(6)]).map((e) => e.seq);
    expect(seqs).toEqual([1, 2, 3, 5, 6]);
  });
});
