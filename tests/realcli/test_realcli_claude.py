"""Real Claude Code, configured only by `observatory install`, reports one scripted session."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.realcli.conftest import Rig, ensure_cli

pytestmark = [pytest.mark.realcli, pytest.mark.agent("claude"), pytest.mark.timeout(600)]
API_KEY = "sk-ant-dummy-not-a-real-key"


def test_claude_session_reaches_the_observatory(rig: Rig) -> None:
    claude = ensure_cli("claude")
    # A user who already has Claude Code set up: onboarding done, some settings of their own.
    (rig.home / ".claude").mkdir()
    (rig.home / ".claude" / "settings.json").write_text(json.dumps({"theme": "dark", "env": {"MY_VAR": "1"}}))
    (rig.home / ".claude.json").write_text(json.dumps({"hasCompletedOnboarding": True}))
    result = rig.observatory("install", "--target", "claude", env={"PATH": f"{claude.parent}:/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr

    env = {"PATH": f"{claude.parent}:/usr/bin:/bin", "HOME": str(rig.home), "TERM": "dumb", "LANG": "C.UTF-8",
           "ANTHROPIC_BASE_URL": rig.api.url, "ANTHROPIC_API_KEY": API_KEY,
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
           "DISABLE_ERROR_REPORTING": "1", "CLAUDE_CODE_MAX_RETRIES": "1"}
    proc = subprocess.Popen([str(claude), "Run the shell command: echo hello", "-p", "--output-format",
                             "stream-json", "--verbose", "--allowedTools", "Bash"],
                            cwd=rig.work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    messages = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    result_msg = next(m for m in messages if m.get("type") == "result")
    session_id = result_msg["session_id"]
    hook_outcomes = {m["hook_name"]: m["outcome"] for m in messages if m.get("subtype") == "hook_response"}
    assert hook_outcomes == {"SessionStart:startup": "success"}  # the only command hook; it printed nothing

    # OTLP logs (tokens, cost, model) are flushed as the CLI exits: wait for them.
    session = rig.wait_for(lambda ss: next((s for s in ss if s["id"] == session_id and s["cost_usd"] > 0), None),
                           what="the session with its cost")
    assert session["agent"] == "claude"
    assert session["cwd"] == str(rig.work)
    assert session["pid"] == proc.pid  # from SessionStart's `$PPID`: Claude Code itself
    assert session["status"] == "ended"
    assert session["model"] and session["model"].startswith("claude-")
    assert session["tool_calls"] == 1

    # Tokens and cost equal what Claude Code itself counted (its transcript and its result line).
    transcript = next((rig.home / ".claude" / "projects").rglob(f"{session_id}.jsonl"))
    usage_by_message: dict[str, dict] = {}
    for line in transcript.read_text().splitlines():
        record = json.loads(line)
        if record.get("type") == "assistant":
            usage_by_message[record["message"]["id"]] = record["message"]["usage"]
    assert session["tokens"]["input"] == sum(u["input_tokens"] for u in usage_by_message.values())
    assert session["tokens"]["output"] == sum(u["output_tokens"] for u in usage_by_message.values())
    assert session["tokens"]["input"] == result_msg["usage"]["input_tokens"]
    assert session["tokens"]["output"] == result_msg["usage"]["output_tokens"]
    assert session["cost_usd"] == pytest.approx(result_msg["total_cost_usd"], rel=1e-6)

    events = rig.server.get(f"/api/sessions/{session_id}/events?limit=1000")["events"]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "session_start" and kinds[-1] == "session_end"
    assert kinds.count("tool_start") == 1 and kinds.count("tool_end") == 1
    assert "turn_end" in kinds and "api_request" in kinds
    tool = next(e for e in events if e["kind"] == "tool_start")
    assert tool["tool"] == "Bash" and tool["detail"]["command"] == "echo hello"

    # And `observatory uninstall` leaves the user's settings as they were.
    assert rig.observatory("uninstall").returncode == 0
    assert json.loads((rig.home / ".claude" / "settings.json").read_text()) == {"theme": "dark", "env": {"MY_VAR": "1"}}
    assert os.path.exists(rig.home / ".claude.json")
