"""Real Gemini CLI, configured only by `observatory install`, reports one scripted session."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.realcli.conftest import Rig, ensure_cli

pytestmark = [pytest.mark.realcli, pytest.mark.agent("gemini"), pytest.mark.timeout(600)]
# With GOOGLE_GEMINI_BASE_URL alone the CLI picks auth "gateway", which -p rejects; folder
# trust would downgrade --yolo (../shared/research/codex-gemini-telemetry.md §2.1).
# The model-router call (one non-streaming generateContent per prompt) is billed and reported
# over OTLP (api_response) but Gemini does not write it to its session file; fake_gemini.py
# answers it with usageMetadata(prompt=50, candidates=5).
ROUTER_USAGE = (50, 5)
USER_SETTINGS = {"security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": False}},
                 "privacy": {"usageStatisticsEnabled": False}}


def test_gemini_session_reaches_the_observatory(rig: Rig) -> None:
    gemini = ensure_cli("gemini")
    path = f"{gemini.parent}:/usr/bin:/bin"
    settings = rig.home / ".gemini" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps(USER_SETTINGS, indent=2) + "\n")
    result = rig.observatory("install", "--target", "gemini", env={"PATH": path})
    assert result.returncode == 0, result.stderr

    env = {"PATH": path, "HOME": str(rig.home), "GEMINI_API_KEY": "dummy-not-a-real-key",
           "GOOGLE_GEMINI_BASE_URL": rig.api.url, "LANG": "C.UTF-8"}
    proc = subprocess.run([str(gemini), "--yolo", "-p", "Run the shell command 'echo hello' and tell me what it printed."],
                          cwd=rig.work, env=env, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("The command printed: hello")  # our hooks added nothing to the answer

    session_file = next((rig.home / ".gemini" / "tmp").rglob("session-*.jsonl"))
    lines = [json.loads(line) for line in session_file.read_text().splitlines()]
    session_id = lines[0]["sessionId"]
    tokens = {r["id"]: r["tokens"] for r in lines if r.get("type") == "gemini" and r.get("tokens")}
    router_calls = len(list(rig.api.log_dir.glob("*_generateContent.json")))
    assert router_calls == 1

    session = rig.wait_for(
        lambda ss: next((s for s in ss if s["id"] == session_id and s["tokens"]["output"] > 0
                         and s["status"] == "ended"), None),
        what="the Gemini session with its tokens")
    assert session["agent"] == "gemini"
    assert session["cwd"] == str(rig.work)
    assert session["model"] and session["model"].startswith("gemini-")
    assert session["pid"] and session["pid"] > 1
    assert session["tool_calls"] == 1
    assert session["tokens"]["input"] + session["tokens"]["cache_read"] == (
        sum(t["input"] for t in tokens.values()) + router_calls * ROUTER_USAGE[0])
    assert session["tokens"]["output"] == sum(t["output"] for t in tokens.values()) + router_calls * ROUTER_USAGE[1]

    events = rig.server.get(f"/api/sessions/{session_id}/events?limit=1000")["events"]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "session_start" and kinds.count("session_end") == 1
    assert kinds.count("tool_start") == 1 and kinds.count("tool_end") == 1
    assert kinds.count("turn_end") == 1

    assert rig.observatory("uninstall").returncode == 0
    assert settings.read_text() == json.dumps(USER_SETTINGS, indent=2) + "\n"
