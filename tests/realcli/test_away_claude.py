"""Away mode with the real interactive Claude Code in a pty, configured only by `observatory install`.

The fake model asks for `touch approved.txt`, which needs permission. While the observatory
holds the PermissionRequest hook, Claude Code's own prompt is on screen too (measured: the
hook and the prompt race; answering "Yes" at the terminal leaves the hook request open, Esc
closes it). A phone decision must move the agent; anything else must leave the prompt working.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realcli.conftest import Rig, ensure_cli, running_rig
from tests.realcli.pty_session import PtySession

pytestmark = [pytest.mark.realcli, pytest.mark.timeout(300)]
API_KEY = "sk-ant-dummy-not-a-real-key"
COMMAND = "touch approved.txt"
PROMPT_TEXT = "Do you want to proceed?"
RECORDER = Path(__file__).with_name("fake_anthropic_recording.py")


@pytest.fixture
def away_rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    """A Rig whose server holds prompts for `wait_s` (marker `away_wait(seconds)`, default 60)."""
    marker = request.node.get_closest_marker("away_wait")
    wait_s = marker.args[0] if marker else 60
    with running_rig(tmp_path, "claude", {"OBSERVATORY_AWAY_WAIT_S": str(wait_s)},
                     RECORDER, {"FAKE_TOOL_COMMAND": COMMAND}) as rig:
        yield rig


def start_claude(rig: Rig, away: bool) -> PtySession:
    claude = ensure_cli("claude")
    (rig.home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "numStartups": 1,
        "projects": {str(rig.work): {"hasTrustDialogAccepted": True}},
        "customApiKeyResponses": {"approved": [API_KEY[-20:]], "rejected": []}}))
    installed = rig.observatory("install", "--target", "claude", env={"PATH": f"{claude.parent}:/usr/bin:/bin"})
    assert installed.returncode == 0, installed.stderr
    switched = rig.observatory("away", "on" if away else "off")
    assert switched.returncode == 0, switched.stderr
    assert f"away mode is {'on' if away else 'off'}" in switched.stdout
    env = {"PATH": f"{claude.parent}:/usr/bin:/bin", "HOME": str(rig.home), "TERM": "xterm-256color",
           "LANG": "C.UTF-8", "ANTHROPIC_BASE_URL": rig.api.url, "ANTHROPIC_API_KEY": API_KEY,
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
           "DISABLE_ERROR_REPORTING": "1", "CLAUDE_CODE_MAX_RETRIES": "1"}
    return PtySession([str(claude), f"Run the shell command: {COMMAND}"], rig.work, env)


def pending_approval(rig: Rig, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = rig.server.get("/api/approvals")["pending"]
        if pending:
            return pending[0]
        time.sleep(0.05)
    raise AssertionError("Claude Code's permission request never reached the observatory")


def decide(rig: Rig, approval_id: str, body: dict) -> dict:
    token = (rig.server.data_dir / "control-token").read_text().strip()
    status, raw, _ = rig.server.post(f"/api/approvals/{approval_id}", body, {"Authorization": f"Bearer {token}"})
    assert status == 200, raw
    return json.loads(raw)


def wait_file(path: Path, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return time.monotonic()
        time.sleep(0.01)
    return None


def turn_ended(rig: Rig, session_id: str) -> dict:
    return rig.wait_for(lambda ss: next((s for s in ss if s["id"] == session_id and s["status"] == "waiting_for_user"),
                                        None), what="the turn's end")


def test_approve_from_the_phone_runs_the_tool_and_the_session_continues(away_rig: Rig) -> None:
    rig = away_rig
    session = start_claude(rig, away=True)
    try:
        approval = pending_approval(rig)
        assert approval["tool"] == "Bash" and approval["tool_input"]["command"] == COMMAND
        assert approval["cwd"] == str(rig.work)
        assert rig.server.get(f"/api/sessions/{approval['session_id']}")["status"] == "needs_approval"
        time.sleep(1.0)
        assert not (rig.work / "approved.txt").exists()  # held: nothing ran by itself

        asked = time.monotonic()
        decided = decide(rig, approval["id"], {"decision": "allow"})
        ran = wait_file(rig.work / "approved.txt", 30)
        assert ran is not None, session.screen()[-1500:]
        print(f"\n[away] API approve → file on disk: {(ran - asked) * 1000:.0f} ms")
        assert ran - asked < 5  # lenient on a shared machine; bench/approval_latency.py measures it
        assert decided["status"] == "allowed"
        session.wait_for("Allowed by PermissionRequest hook", timeout=30)
        turn_ended(rig, approval["session_id"])
    finally:
        session.close()


def test_deny_from_the_phone_stops_the_tool_and_tells_the_agent(away_rig: Rig) -> None:
    rig = away_rig
    session = start_claude(rig, away=True)
    try:
        approval = pending_approval(rig)
        decide(rig, approval["id"], {"decision": "deny", "message": "Not now: use the staging folder"})
        session.wait_for("Denied by PermissionRequest hook", timeout=30)
        turn_ended(rig, approval["session_id"])
        assert not (rig.work / "approved.txt").exists()
        told = (rig.api.log_dir / "user_content.jsonl").read_text()
        assert "Not now: use the staging folder" in told  # in the tool_result the model received next
    finally:
        session.close()


@pytest.mark.away_wait(3)
def test_timeout_leaves_the_terminal_prompt_working(away_rig: Rig) -> None:
    rig = away_rig
    session = start_claude(rig, away=True)
    try:
        approval = pending_approval(rig)
        session.wait_for(PROMPT_TEXT, timeout=30)
        deadline = time.monotonic() + 15
        while rig.server.get("/api/approvals")["pending"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rig.server.get("/api/approvals")["recent"][0]["status"] == "timed_out"
        time.sleep(1.0)
        assert not (rig.work / "approved.txt").exists()  # never a silent allow
        mark = session.mark()
        session.type(b"1")  # the user answers the prompt that is still on screen
        assert wait_file(rig.work / "approved.txt", 30) is not None, session.screen(mark)[-1500:]
        turn_ended(rig, approval["session_id"])
    finally:
        session.close()


def test_server_killed_while_holding_leaves_the_prompt_working(away_rig: Rig) -> None:
    rig = away_rig
    session = start_claude(rig, away=True)
    try:
        pending_approval(rig)
        session.wait_for(PROMPT_TEXT, timeout=30)
        rig.server.stop(sig_kill=True)
        time.sleep(2.0)
        assert session.poll() is None and not (rig.work / "approved.txt").exists()
        session.type(b"1")
        assert wait_file(rig.work / "approved.txt", 30) is not None, session.screen()[-1500:]
        session.wait_for("The command printed", timeout=30)
    finally:
        session.close()


def test_answer_at_the_terminal_resolves_the_phone_request(away_rig: Rig) -> None:
    rig = away_rig
    session = start_claude(rig, away=True)
    try:
        approval = pending_approval(rig)
        session.wait_for(PROMPT_TEXT, timeout=30)
        session.type(b"1")
        assert wait_file(rig.work / "approved.txt", 30) is not None
        deadline = time.monotonic() + 15
        while rig.server.get("/api/approvals")["pending"] and time.monotonic() < deadline:
            time.sleep(0.1)
        recent = rig.server.get("/api/approvals")["recent"][0]
        assert recent["id"] == approval["id"] and recent["status"] == "answered_at_terminal"
        token = (rig.server.data_dir / "control-token").read_text().strip()
        status, _, _ = rig.server.post(f"/api/approvals/{approval['id']}", {"decision": "deny"},
                                       {"Authorization": f"Bearer {token}"})
        assert status == 409  # a late phone answer changes nothing
    finally:
        session.close()


def test_away_off_changes_nothing(away_rig: Rig) -> None:
    rig = away_rig
    session = start_claude(rig, away=False)
    try:
        session.wait_for(PROMPT_TEXT, timeout=60)
        sessions = rig.wait_for(lambda ss: [s for s in ss if s["status"] == "needs_approval"], what="needs_approval")
        assert rig.server.get("/api/approvals")["pending"] == [] and rig.server.get("/api/approvals")["recent"] == []
        time.sleep(1.0)
        assert not (rig.work / "approved.txt").exists()
        session.type(b"1")
        assert wait_file(rig.work / "approved.txt", 30) is not None
        turn_ended(rig, sessions[0]["id"])
    finally:
        session.close()

