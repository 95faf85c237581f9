"""Real Codex CLI, configured only by `observatory install`, reports one scripted session."""

from __future__ import annotations

import json
import subprocess
import tomllib

import pytest

from tests.realcli.conftest import Rig, ensure_cli

pytestmark = [pytest.mark.realcli, pytest.mark.agent("codex"), pytest.mark.timeout(600)]


def user_config(rig: Rig) -> str:
    return f"""# the user's own Codex setup
model = "gpt-5-codex"
model_provider = "fake"
approval_policy = "never"
sandbox_mode = "danger-full-access"

[projects."{rig.work}"]
trust_level = "trusted"

[model_providers.fake]
name = "fake"
base_url = "{rig.api.url}/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
"""


def test_codex_session_reaches_the_observatory(rig: Rig) -> None:
    codex = ensure_cli("codex")
    path = f"{codex.parent}:/usr/bin:/bin"
    codex_home = rig.home / ".codex"
    codex_home.mkdir()
    (codex_home / "config.toml").write_text(user_config(rig))
    result = rig.observatory("install", "--target", "codex", env={"PATH": path})
    assert result.returncode == 0, result.stderr
    assert "/hooks" in result.stdout and "trust" in result.stdout  # the user is told plainly
    config = tomllib.loads((codex_home / "config.toml").read_text())
    assert config["model_providers"]["fake"]["base_url"] == f"{rig.api.url}/v1"

    # Codex itself (app-server hooks/list) says our new hooks are untrusted; doctor reports it.
    doctor = rig.observatory("doctor", env={"PATH": path})
    trust = next(ln for ln in doctor.stdout.splitlines() if "codex hook trust" in ln)
    assert trust.startswith("[fail]") and "codex hooks/list" in trust, doctor.stdout
    assert doctor.returncode == 1

    env = {"PATH": path, "HOME": str(rig.home), "CODEX_HOME": str(codex_home), "OPENAI_API_KEY": "sk-dummy-not-real",
           "LANG": "C.UTF-8"}
    # --dangerously-bypass-hook-trust stands in for the one-time human review in /hooks.
    proc = subprocess.run([str(codex), "exec", "--dangerously-bypass-approvals-and-sandbox",
                           "--dangerously-bypass-hook-trust", "--skip-git-repo-check",
                           "Run the shell command 'echo hello' and tell me what it printed."],
                          cwd=rig.work, env=env, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    rollout = next((codex_home / "sessions").rglob("rollout-*.jsonl"))
    records = [json.loads(line) for line in rollout.read_text().splitlines()]
    session_id = next(r["payload"]["id"] for r in records if r["type"] == "session_meta")
    totals = [r["payload"]["info"]["total_token_usage"] for r in records
              if r["type"] == "event_msg" and r["payload"].get("type") == "token_count" and r["payload"].get("info")][-1]

    session = rig.wait_for(
        lambda ss: next((s for s in ss if s["id"] == session_id and s["tokens"]["output"] >= totals["output_tokens"]
                         and s["status"] == "ended"), None),
        what="the Codex session with its tokens")
    assert session["agent"] == "codex"
    assert session["cwd"] == str(rig.work)
    assert session["model"] == "gpt-5-codex"
    assert session["pid"] and session["pid"] > 1
    assert session["tool_calls"] == 1
    assert session["tokens"]["input"] + session["tokens"]["cache_read"] == totals["input_tokens"]
    assert session["tokens"]["output"] == totals["output_tokens"]
    assert session["tokens"]["reasoning"] == totals["reasoning_output_tokens"]

    events = rig.server.get(f"/api/sessions/{session_id}/events?limit=1000")["events"]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "session_start" and kinds.count("session_end") == 1  # OTLP logs come after: sent at exit
    assert kinds.count("tool_start") == 1 and kinds.count("tool_end") == 1
    assert kinds.count("turn_end") == 1  # the Stop hook and `notify` are one fact
    sessions = rig.server.get("/api/sessions")["sessions"]
    assert [s["id"] for s in sessions] == [session_id]

    assert rig.observatory("uninstall").returncode == 0
    assert (codex_home / "config.toml").read_text() == user_config(rig)
    assert not (codex_home / "hooks.json").exists()
