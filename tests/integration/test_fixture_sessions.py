"""Real captured sessions replayed through a real server give the right sessions and totals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES
from observatory.ingest.otlp_decode import decode_logs
from replay import replay

CLAUDE_SCENARIOS = sorted(p.name for p in (FIXTURES / "claude-code").iterdir() if p.is_dir())


def transcript_usage(folder: Path) -> dict[str, int]:
    """Token sums of every assistant message (by message id) in the scenario's transcripts."""
    usage: dict[str, dict] = {}
    for path in (folder / "transcript").rglob("*.jsonl"):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("type") == "assistant":
                usage[rec["message"]["id"]] = rec["message"].get("usage", {})
    keys = {"input": "input_tokens", "output": "output_tokens", "cache_read": "cache_read_input_tokens",
            "cache_write": "cache_creation_input_tokens"}
    return {ours: sum(u.get(theirs, 0) for u in usage.values()) for ours, theirs in keys.items()}


def title_call_usage(folder: Path) -> dict[str, int]:
    """Interactive sessions make one title call that no transcript records; it is still real spend."""
    out = {"input": 0, "output": 0}
    for path in (folder / "otlp").glob("*_v1_logs.*"):
        if path.suffix not in (".json", ".bin") or ".meta" in path.name or ".decoded" in path.name:
            continue
        ctype = "application/x-protobuf" if path.suffix == ".bin" else "application/json"
        for rec in decode_logs(path.read_bytes(), ctype):
            if rec.attrs.get("query_source") == "generate_session_title" and \
                    rec.attrs.get("event.name") == "api_request":
                out["input"] += int(rec.attrs["input_tokens"])
                out["output"] += int(rec.attrs["output_tokens"])
    return out


@pytest.mark.parametrize("scenario", CLAUDE_SCENARIOS)
def test_claude_session_totals_equal_transcript(server, scenario):
    folder = FIXTURES / "claude-code" / scenario
    statuses = replay(server.post, folder, "claude")
    assert set(statuses) == {200}
    sessions = server.get("/api/sessions")["sessions"]
    assert len(sessions) == 1
    s = sessions[0]
    expected = transcript_usage(folder)
    title = title_call_usage(folder)
    assert s["tokens"]["input"] == expected["input"] + title["input"]
    assert s["tokens"]["output"] == expected["output"] + title["output"]
    assert s["tokens"]["cache_read"] == expected["cache_read"]
    assert s["tokens"]["cache_write"] == expected["cache_write"]
    assert s["status"] == "ended"
    assert s["agent"] == "claude"
    assert s["id"] in {p.stem for p in (folder / "transcript").glob("*.jsonl")}


def test_claude_tool_call_counted_once_across_hook_and_otel(server):
    replay(server.post, FIXTURES / "claude-code" / "ok-json", "claude")
    s = server.get("/api/sessions")["sessions"][0]
    assert s["tool_calls"] == 1
    events = server.get(f"/api/sessions/{s['id']}/events?limit=1000")["events"]
    kinds = [e["kind"] for e in events]
    assert kinds.count("tool_end") == 1
    assert kinds.count("prompt") == 1
    assert s["cost_usd"] > 0


def test_claude_failed_turn_is_an_error_and_waits(server):
    replay(server.post, FIXTURES / "claude-code" / "api-error-529", "claude")
    s = server.get("/api/sessions")["sessions"][0]
    events = server.get(f"/api/sessions/{s['id']}/events?limit=1000")["events"]
    failed = [e for e in events if e["kind"] == "turn_end" and e["status"] == "error"]
    assert len(failed) == 1
    assert s["errors"] >= 1


def test_codex_title_thread_is_not_a_phantom_session(server):
    folder = FIXTURES / "codex" / "interactive-permission"
    assert set(replay(server.post, folder, "codex")) == {200}
    sessions = server.get("/api/sessions")["sessions"]
    hook_ids = {json.loads(p.read_text())["session_id"] for p in folder.glob("*_hooks_*.json")
                if not p.name.endswith(".meta.json")}
    assert [s["id"] for s in sessions] == sorted(hook_ids)
    assert sessions[0]["agent"] == "codex"
    assert sessions[0]["status"] == "ended"
    assert sessions[0]["tokens"]["output"] > 0


@pytest.mark.parametrize("agent,scenario", [("codex", "ok-json"), ("codex", "ok-protobuf"),
                                            ("gemini", "ok-http-json")])
def test_codex_and_gemini_sessions(server, agent, scenario):
    assert set(replay(server.post, FIXTURES / agent / scenario, agent)) == {200}
    sessions = server.get("/api/sessions")["sessions"]
    assert len(sessions) == 1
    s = sessions[0]
    assert s["agent"] == agent
    assert s["status"] == "ended"
    assert s["tool_calls"] == 1
    assert s["tokens"]["input"] > 0 and s["tokens"]["output"] > 0
