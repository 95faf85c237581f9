import { afterEach, describe, expect, it, vi } from "vitest";
import { SETTLED_KEPT, mergeApproval, sessionApprovals, type ApprovalsById } from "./approvals";
import { createLiveStore, type LiveStore, type SocketLike } from "./store";
import type { ApprovalRequest, ServerMessage } from "./types";

function request(id: string, status = "pending", over: Partial<ApprovalRequest> = {}): ApprovalRequest {
  const settled = status !== "pending";
  return {
    id,
    session_id: "s1",
    agent: "claude",
    tool: "Bash",
    tool_input: { command: "rm -f notes.txt" },
    cwd: "/w",
    status,
    created_at: "2026-11-23T10:00:00.000Z",
    expires_at: "2026-11-23T10:15:00.000Z",
    decided_at: settled ? "2026-11-23T10:01:00.000Z" : null,
    decided_by: settled ? "device:phone" : null,
    message: null,
    latency_ms: settled ? 60_000 : null,
    ...over,
  };
}

describe("approvals by id", () => {
  it("adds a request and replaces it with its outcome", () => {
    const held = mergeApproval({}, request("a"));
    expect(sessionApprovals(held, "s1")).toEqual({ pending: request("a"), last: null });
    const settled = mergeApproval(held, request("a", "allowed"));
    expect(sessionApprovals(settled, "s1")).toEqual({ pending: null, last: request("a", "allowed") });
  });

  it("never reopens an outcome with a late pending copy, and keeps identity when nothing changes", () => {
    const settled = mergeApproval({}, request("a", "denied"));
    expect(mergeApproval(settled, request("a"))).toBe(settled);
    expect(mergeApproval(settled, request("a", "denied"))).toBe(settled);
  });

  it("picks the oldest waiting request and the newest outcome of the session asked about", () => {
    let byId: ApprovalsById = {};
    byId = mergeApproval(byId, request("new", "pending", { created_at: "2026-11-23T10:05:00.000Z" }));
    byId = mergeApproval(byId, request("old", "pending", { created_at: "2026-11-23T10:02:00.000Z" }));
    byId = mergeApproval(byId, request("x1", "allowed", { decided_at: "2026-11-23T10:03:00.000Z" }));
    byId = mergeApproval(byId, request("x2", "timed_out", { decided_at: "2026-11-23T10:04:00.000Z" }));
    byId = mergeApproval(byId, request("other", "pending", { session_id: "s2" }));
    const { pending, last } = sessionApprovals(byId, "s1");
    expect([pending?.id, last?.id]).toEqual(["old", "x2"]);
    expect(sessionApprovals(byId, "s3")).toEqual({ pending: null, last: null });
  });

  it("keeps a bounded number of outcomes, dropping the oldest, and every waiting request", () => {
    let byId: ApprovalsById = mergeApproval({}, request("waiting"));
    for (let i = 0; i < SETTLED_KEPT + 5; i++) {
      const at = new Date(Date.UTC(2026, 10, 23, 10, 0, i)).toISOString();
      byId = mergeApproval(byId, request(`done${i}`, "allowed", { decided_at: at }));
    }
    expect(Object.keys(byId)).toHaveLength(SETTLED_KEPT + 1);
    expect(byId.waiting).toBeDefined();
    expect(byId.done0).toBeUndefined();
    expect(byId[`done${SETTLED_KEPT + 4}`]).toBeDefined();
  });
});

describe("the live store's approval messages", () => {
  let store: LiveStore;
  let socket: { onmessage: SocketLike["onmessage"]; onopen: SocketLike["onopen"] } | null = null;

  class Socket implements SocketLike {
    onopen: SocketLike["onopen"] = null;
    onmessage: SocketLike["onmessage"] = null;
    onclose: SocketLike["onclose"] = null;
    onerror: SocketLike["onerror"] = null;
    constructor() {
      socket = this;
    }
    send() {}
    close() {}
  }

  const receive = (msg: ServerMessage) => socket?.onmessage?.({ data: JSON.stringify(msg) } as MessageEvent);

  afterEach(() => {
    store.stop();
    vi.useRealTimers();
  });

  it("keeps requests by id from live messages (also inside a batch) and merges fetched ones", async () => {
    vi.useFakeTimers();
    store = createLiveStore({ url: "ws://t/api/live", WebSocket: Socket, getJson: async () => ({}) as never, batchMs: 5 });
    store.start();
    socket?.onopen?.({} as Event);
    const listener = vi.fn();
    store.subscribe(listener);
    receive({ type: "approval", approval: request("a") });
    await vi.advanceTimersByTimeAsync(10);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(sessionApprovals(store.getSnapshot().approvals, "s1").pending?.id).toBe("a");

    receive({ type: "batch", messages: [{ type: "approval", approval: request("a", "answered_at_terminal") }] });
    store.upsertApprovals([request("a")]); // a fetch that started before the outcome: stale
    await vi.advanceTimersByTimeAsync(10);
    expect(sessionApprovals(store.getSnapshot().approvals, "s1")).toEqual({
      pending: null,
      last: request("a", "answered_at_terminal"),
    });

    listener.mockClear();
    store.upsertApprovals([request("a", "answered_at_terminal")]);
    await vi.advanceTimersByTimeAsync(10);
    expect(listener).not.toHaveBeenCalled(); // nothing changed: no render
  });
});
