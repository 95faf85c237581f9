"""Away mode against a real server: the real PermissionRequest payload is held until the API decides."""

from __future__ import annotations

import json
import socket
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.conftest import Server, fixture_hooks, start_server
from tests.integration.test_live import recv_until

HOOKS = dict(fixture_hooks("interactive-permission"))
PERMISSION = HOOKS["PermissionRequest"]
SESSION = PERMISSION["session_id"]
HOLD_URL = "/hooks/claude/permission"


def token(server: Server) -> str:
    return (server.data_dir / "control-token").read_text().strip()


def auth(server: Server) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(server)}"}


def post_hook(server: Server, path: str, payload: dict, timeout: float = 30) -> tuple[int, bytes, float]:
    """(status, body, seconds) of one hook call as Claude Code makes it."""
    started = time.monotonic()
    req = urllib.request.Request(server.url + path, data=json.dumps(payload).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.read(), time.monotonic() - started


def start_session(server: Server) -> None:
    for name in ("SessionStart", "UserPromptSubmit", "PreToolUse"):
        assert server.post("/hooks/claude", HOOKS[name])[0] == 200


def wait_pending(server: Server, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = server.get("/api/approvals")["pending"]
        if pending:
            return pending[0]
        time.sleep(0.02)
    raise AssertionError("no pending approval appeared")


def decide(server: Server, approval_id: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    headers = auth(server) if headers is None else headers
    status, raw, _ = server.post(f"/api/approvals/{approval_id}", body, headers)
    return status, json.loads(raw)


@pytest.fixture
def away(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "data", env={"OBSERVATORY_AWAY_ENABLED": "1", "OBSERVATORY_AWAY_WAIT_S": "20"})
    yield srv
    srv.stop()


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


def test_away_off_answers_at_once_with_no_decision(server: Server) -> None:
    start_session(server)
    status, body, seconds = post_hook(server, HOLD_URL, PERMISSION)
    assert (status, body) == (200, b"")
    assert seconds < 2
    assert server.get(f"/api/sessions/{SESSION}")["status"] == "needs_approval"  # ingested like /hooks/claude
    kinds = [e["kind"] for e in server.get(f"/api/sessions/{SESSION}/events")["events"]]
    assert kinds.count("approval_needed") == 1
    assert server.get("/api/approvals") == {"away": server.get("/api/away"), "pending": [], "recent": []}


def test_approve_from_the_api_answers_the_held_hook_with_allow(away: Server, pool: ThreadPoolExecutor) -> None:
    start_session(away)
    held: Future = pool.submit(post_hook, away, HOLD_URL, PERMISSION)
    pending = wait_pending(away)
    assert not held.done()
    assert pending["tool"] == "Bash" and pending["tool_input"] == PERMISSION["tool_input"]
    assert pending["cwd"] == PERMISSION["cwd"] and pending["session_id"] == SESSION and pending["status"] == "pending"

    status, decided = decide(away, pending["id"], {"decision": "allow"})
    assert status == 200 and decided["status"] == "allowed" and decided["decided_by"] == "token"
    code, body, _ = held.result(timeout=10)
    assert code == 200
    assert json.loads(body) == {"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                                                       "decision": {"behavior": "allow"}}}

    # First answer stands: a second decision is refused and nothing else reaches the agent.
    status, again = decide(away, pending["id"], {"decision": "deny"})
    assert status == 409 and "no longer waiting" in again["error"] and again["approval"]["status"] == "allowed"
    recent = away.get("/api/approvals")["recent"]
    assert [r["status"] for r in recent] == ["allowed"] and recent[0]["latency_ms"] > 0

    audit = away.get("/api/audit", auth(away))["audit"]
    entries = {a["action"]: a for a in audit}
    assert entries["approval_allow"]["who"] == "token" and entries["approval_allow"]["session_id"] == SESSION
    assert "allowed Bash: rm -f notes.txt after" in entries["approval_allow"]["result"]
    assert pending["id"] in entries["approval_allow"]["result"]
    assert entries["approval_deny"]["result"].startswith("refused 409: already allowed")


def test_deny_carries_the_message_to_the_agent(away: Server, pool: ThreadPoolExecutor) -> None:
    start_session(away)
    held = pool.submit(post_hook, away, HOLD_URL, PERMISSION)
    pending = wait_pending(away)
    status, decided = decide(away, pending["id"], {"decision": "deny", "message": "  not on main, use a branch "})
    assert status == 200 and decided["status"] == "denied" and decided["message"] == "not on main, use a branch"
    assert json.loads(held.result(timeout=10)[1])["hookSpecificOutput"]["decision"] == {
        "behavior": "deny", "message": "not on main, use a branch"}


def test_timeout_answers_empty_after_wait_s(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "data", env={"OBSERVATORY_AWAY_ENABLED": "1", "OBSERVATORY_AWAY_WAIT_S": "1.5"})
    try:
        start_session(srv)
        status, body, seconds = post_hook(srv, HOLD_URL, PERMISSION)
        assert (status, body) == (200, b"")
        assert 1.4 <= seconds < 6
        assert srv.get("/api/approvals")["recent"][0]["status"] == "timed_out"
    finally:
        srv.stop()


@pytest.mark.parametrize("name", ["PostToolUse", "Stop", "SessionEnd"])
def test_answer_at_the_terminal_releases_the_held_hook(away: Server, pool: ThreadPoolExecutor, name: str) -> None:
    start_session(away)
    held = pool.submit(post_hook, away, HOLD_URL, PERMISSION)
    pending = wait_pending(away)
    if name == "PostToolUse":  # the user chose "Yes" at the terminal: the tool ran
        payload = {**HOOKS["PreToolUse"], "hook_event_name": "PostToolUse",
                   "tool_response": {"stdout": "", "stderr": "", "interrupted": False}}
    else:
        payload = {**HOOKS["SessionEnd"], "hook_event_name": name, "prompt_id": PERMISSION["prompt_id"]}
    assert away.post("/hooks/claude", payload)[0] == 200
    assert held.result(timeout=10)[:2] == (200, b"")
    recent = away.get("/api/approvals")["recent"]
    assert recent[0]["id"] == pending["id"] and recent[0]["status"] == "answered_at_terminal"
    assert decide(away, pending["id"], {"decision": "allow"})[0] == 409


def test_another_tool_ending_does_not_release(away: Server, pool: ThreadPoolExecutor) -> None:
    start_session(away)
    held = pool.submit(post_hook, away, HOLD_URL, PERMISSION)
    pending = wait_pending(away)
    other = {**HOOKS["PreToolUse"], "hook_event_name": "PostToolUse", "tool_input": {"command": "ls"},
             "tool_use_id": "toolu_other", "tool_response": {"stdout": "a"}}
    assert away.post("/hooks/claude", other)[0] == 200
    time.sleep(0.5)
    assert not held.done() and away.get("/api/approvals")["pending"][0]["id"] == pending["id"]
    assert decide(away, pending["id"], {"decision": "allow"})[0] == 200
    assert json.loads(held.result(timeout=10)[1])["hookSpecificOutput"]["decision"]["behavior"] == "allow"


def test_agent_closing_the_request_marks_it_gone(away: Server) -> None:
    """Claude Code closes the held request on its hook timeout and on Esc at the prompt."""
    start_session(away)
    body = json.dumps(PERMISSION).encode()
    with socket.create_connection(("127.0.0.1", away.port)) as sock:
        sock.sendall(b"POST " + HOLD_URL.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        pending = wait_pending(away)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and away.get("/api/approvals")["pending"]:
        time.sleep(0.05)
    assert away.get("/api/approvals")["recent"][0] | {"id": pending["id"], "status": "hook_gone"} == \
        away.get("/api/approvals")["recent"][0]


def test_switching_away_off_releases_held_hooks_and_persists(away: Server, pool: ThreadPoolExecutor) -> None:
    start_session(away)
    held = pool.submit(post_hook, away, HOLD_URL, PERMISSION)
    wait_pending(away)
    status, raw, _ = away.post("/api/away", {"enabled": False}, auth(away), method="PUT")
    assert status == 200 and json.loads(raw)["enabled"] is False
    assert held.result(timeout=10)[:2] == (200, b"")
    assert away.get("/api/approvals")["recent"][0]["status"] == "away_off"
    assert tomllib.loads((away.data_dir / "config.toml").read_text())["away"]["enabled"] is False
    assert json.loads(raw)["overridden_by_environment"] == ["enabled"]  # this test's env sets it


def test_control_credential_is_required_and_refusals_audited(away: Server, pool: ThreadPoolExecutor) -> None:
    start_session(away)
    held = pool.submit(post_hook, away, HOLD_URL, PERMISSION)
    pending = wait_pending(away)
    status, body = decide(away, pending["id"], {"decision": "allow"}, headers={})
    assert status == 401 and "credential" in body["error"]
    status, body = decide(away, pending["id"], {"decision": "allow"}, headers={"Authorization": "Bearer nope"})
    assert status == 403
    assert away.post("/api/away", {"enabled": False}, method="PUT")[0] == 401
    assert not held.done() and away.get("/api/approvals")["pending"]
    results = [a["result"] for a in away.get("/api/audit", auth(away))["audit"] if a["action"] == "approval"]
    assert any(r.startswith("refused 401") for r in results) and any(r.startswith("refused 403") for r in results)
    assert decide(away, pending["id"], {"decision": "deny"})[0] == 200
    held.result(timeout=10)


@pytest.mark.parametrize("body, error", [
    ({"decision": "maybe"}, "decision"), ({}, "decision"), ({"decision": "deny", "message": 5}, "message"),
    ({"decision": "deny", "message": "x" * 2001}, "at most"), ({"decision": "allow", "extra": 1}, "decision"),
])
def test_bad_decisions_are_4xx_with_a_reason(away: Server, body: dict, error: str) -> None:
    status, answer = decide(away, "whatever", body)
    assert status == 400 and error in answer["error"]


def test_unknown_request_and_bad_switch(away: Server) -> None:
    assert decide(away, "no-such-id", {"decision": "allow"}) == (404, {"error": "no approval request 'no-such-id'"})
    for body in ({"enabled": "yes"}, {"wait_s": 0}, {"wait_s": 100000}, {"other": 1}, []):
        status, raw, _ = away.post("/api/away", body, auth(away), method="PUT")
        assert status == 400 and json.loads(raw)["error"]
    status, raw, _ = away.post("/api/away", {"wait_s": 30}, auth(away), method="PUT")
    assert status == 200 and away.get("/api/away")["wait_s"] == 30


def test_server_killed_while_holding_breaks_the_request(away: Server, pool: ThreadPoolExecutor) -> None:
    """The hook client sees an error (Claude Code then keeps its own prompt: tests/realcli)."""
    start_session(away)
    held = pool.submit(post_hook, away, HOLD_URL, PERMISSION)
    wait_pending(away)
    away.stop(sig_kill=True)
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        held.result(timeout=10)


async def test_the_pwa_sees_requests_and_outcomes_live(away: Server, pool: ThreadPoolExecutor) -> None:
    start_session(away)
    async with connect(away.url.replace("http://", "ws://") + "/api/live", origin=away.url) as ws:
        await ws.send(json.dumps({"resume": None}))
        held = pool.submit(post_hook, away, HOLD_URL, PERMISSION)
        opened = (await recv_until(ws, lambda m: m["type"] == "approval"))[-1]["approval"]
        assert opened["status"] == "pending" and opened["tool_input"] == PERMISSION["tool_input"]
        assert decide(away, opened["id"], {"decision": "deny"})[0] == 200
        settled = (await recv_until(ws, lambda m: m["type"] == "approval"))[-1]["approval"]
        assert (settled["id"], settled["status"]) == (opened["id"], "denied")
        assert held.result(timeout=10)[0] == 200
