import { describe, expect, it } from "vitest";
import { resolveClickTarget } from "../../service-worker/click";
import { eventLabel, visibleRange, preview, storyEvents } from "./components/Timeline";
import { describeError } from "./api";
import { ago, sessionCost, tokens, usd } from "./format";
import { parseRoute } from "./router";
import { compareSessions, needsYou } from "./status";
import type { ObsEvent, Session } from "./types";
import { lastDays, pivot, unpriced } from "./views/CostsView";

const s = (id: string, status: Session["status"], last: string) => ({ id, status, last_activity_at: last }) as Session;

describe("session ordering", () => {
  it("puts the most urgent first, then the most recently active", () => {
    const list = [
      s("ended", "ended", "2026-11-23T10:09:00Z"),
      s("old-work", "thinking", "2026-11-23T10:00:00Z"),
      s("new-work", "running_tool", "2026-11-23T10:05:00Z"),
      s("waiting", "waiting_for_user", "2026-11-23T10:00:00Z"),
      s("stalled", "stalled", "2026-11-23T10:00:00Z"),
      s("crashed", "crashed", "2026-11-23T10:00:00Z"),
      s("approval", "needs_approval", "2026-11-23T09:00:00Z"),
    ];
    expect(list.sort(compareSessions).map((x) => x.id)).toEqual([
      "approval", "crashed", "stalled", "waiting", "new-work", "old-work", "ended",
    ]);
    expect(list.filter(needsYou).map((x) => x.id)).toEqual(["approval", "crashed", "stalled", "waiting"]);
  });
});

describe("timeline windowing", () => {
  it("renders only the rows in and near the viewport of 10,000", () => {
    expect(visibleRange(200, 844, 10_000, 64, 8)).toEqual({ start: 0, end: 19 });
    const mid = visibleRange(-64_000, 844, 10_000, 64, 8); // scrolled 1000 rows down
    expect(mid).toEqual({ start: 992, end: 1022 });
    expect(visibleRange(-640_000, 844, 10_000, 64, 8).end).toBe(10_000);
  });

  it("previews the command, file or prompt of an event", () => {
    const ev = { detail: { command: "npm test", description: "run tests" } } as unknown as ObsEvent;
    expect(preview(ev)).toBe("npm test");
    expect(preview({ detail: null } as ObsEvent)).toBe("");
  });

  // The detail of a real Claude Code metric point (shared/fixtures/claude-code/interactive-permission).
  const metric = {
    seq: 2,
    kind: "metric",
    name: "claude_code.token.usage",
    detail: { name: "claude_code.token.usage", value: 123.0, unit: "tokens", temporality: "delta",
              attrs: { model: "claude-opus-4-8[1m]", query_source: "main", type: "input" } },
  } as unknown as ObsEvent;

  it("previews a metric point as its short name, type and value", () => {
    expect(preview(metric)).toBe("token.usage · input = 123 tokens");
    const time = { ...metric, detail: { name: "claude_code.active_time.total", value: 0.41100000000000003, unit: "s", attrs: {} } };
    expect(preview(time)).toBe("active_time.total = 0.411 s");
  });

  it("labels events by kind and tool, and an uncategorised one by its own name", () => {
    expect(eventLabel({ kind: "tool_end", tool: "Bash" } as ObsEvent)).toBe("Tool finished · Bash");
    expect(eventLabel({ kind: "other", name: "claude_code.user_prompt", tool: null } as ObsEvent)).toBe("user_prompt");
    expect(eventLabel({ kind: "other", name: "SubagentStart", tool: null } as ObsEvent)).toBe("SubagentStart");
  });

  it("previews an API request by model and purpose, a session start by its source", () => {
    const api = { kind: "api_request", model: "claude-opus-4-8", detail: { request_id: "req_1", query_source: "repl_main_thread" } };
    expect(preview(api as unknown as ObsEvent)).toBe("claude-opus-4-8 · repl_main_thread");
    const start = { kind: "session_start", detail: { source: "startup", transcript_path: "/tmp/t.jsonl" } };
    expect(preview(start as unknown as ObsEvent)).toBe("startup");
  });

  it("leaves metric points out of the timeline unless asked", () => {
    const prompt = { seq: 1, kind: "prompt", detail: { prompt: "hi" } } as unknown as ObsEvent;
    expect(storyEvents([prompt, metric], false)).toEqual([prompt]);
    expect(storyEvents([prompt, metric], true)).toEqual([prompt, metric]);
  });
});

describe("notification click target", () => {
  const base = "https://obs.example/";
  it("opens the deep link of the alert", () => {
    expect(resolveClickTarget({ url: "/s/abc" }, "", base)).toBe("https://obs.example/s/abc");
  });
  it("falls back to the session, and keeps a base path", () => {
    expect(resolveClickTarget({ session_id: "x y" }, "", "https://h/obs/")).toBe("https://h/obs/s/x%20y");
    expect(resolveClickTarget({ url: "/s/1" }, "open", "https://h/obs/")).toBe("https://h/obs/s/1");
  });
  it("routes kill/restart actions to the confirm step, never acting directly", () => {
    expect(resolveClickTarget({ url: "/s/abc" }, "kill", base)).toBe("https://obs.example/s/abc?confirm=kill");
  });
  it("refuses other origins", () => {
    expect(resolveClickTarget({ url: "https://evil.example/x" }, "", base)).toBe(base);
    expect(resolveClickTarget({ url: "//evil.example/x" }, "", base)).toBe("https://obs.example/evil.example/x");
  });
});

describe("routes, formats, errors", () => {
  it("parses app paths", () => {
    expect(parseRoute("/s/abc", "?confirm=kill")).toEqual({ name: "session", id: "abc", confirm: "kill" });
    expect(parseRoute("/alerts/")).toEqual({ name: "alerts" });
    expect(parseRoute("/nope").name).toBe("missing");
  });
  it("formats numbers for small screens", () => {
    const now = Date.parse("2026-11-23T10:00:12Z");
    expect(ago("2026-11-23T10:00:00Z", now)).toBe("12 s ago");
    expect(ago("2026-11-23T09:58:00Z", now)).toBe("2 min ago");
    expect([tokens(999), tokens(1234), tokens(45_678), tokens(2_500_000)]).toEqual(["999", "1.2k", "46k", "2.5M"]);
    expect([usd(0), usd(0.004), usd(1.5)]).toEqual(["$0.00", "<$0.01", "$1.50"]);
    expect(sessionCost(1.5, "reported")).toBe("$1.50");
    expect(sessionCost(1.5, "estimated")).toBe("≈$1.50");
    expect(sessionCost(1.5, "unpriced")).toBe("≥$1.50");
    expect(sessionCost(0, "unpriced")).toBe("cost n/a");
  });
  it("tells the user what to do on 401/403 and keeps server errors", () => {
    expect(describeError(401, undefined)).toMatch(/not paired.*observatory pair/);
    expect(describeError(403, "remote control disabled")).toBe("Not allowed (remote control disabled).");
    expect(describeError(409, "not supervised: use observatory run")).toBe("not supervised: use observatory run");
  });
  it("pivots cost rows into one series per model", () => {
    const row = (day: string, model: string, cost: number) =>
      ({ day, model, cost_usd: cost, input: 0, output: 0, cache_read: 0, cache_write: 0, reasoning: 0 });
    const days = lastDays(3, Date.parse("2026-11-23T15:00:00Z"));
    expect(days).toEqual(["2026-11-21", "2026-11-22", "2026-11-23"]);
    const p = pivot([row("2026-11-22", "b", 1), row("2026-11-21", "a", 2), row("2026-11-22", "a", 3)], days);
    expect(p.models).toEqual(["a", "b"]);
    const x = days.map((d) => Date.parse(d) / 1000);
    expect(p.data).toEqual([x, [2, 3, 0], [0, 1, 0]]);
  });
  it("marks a model with tokens but no cost as unpriced, not free", () => {
    const r = { day: "", model: "gemini-3.8-flash", cost_usd: 0, input: 10, output: 5, cache_read: 0, cache_write: 0, reasoning: 0 };
    expect(unpriced(r)).toBe(true);
    expect(unpriced({ ...r, cost_usd: 0.01 })).toBe(false);
    expect(unpriced({ ...r, input: 0, output: 0 })).toBe(false);
  });
});
