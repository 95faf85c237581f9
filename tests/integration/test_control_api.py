"""Control API against a real server: credentials, rate limit, audit, unsupervised kill by pid."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import stat
import subprocess
import sys
import uuid

import psutil
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from control_harness import AGENTS, agent_env, alive, audit, bearer, control, token, wait_action, wait_for, wait_session
from remote_harness import device_headers, paired, start_listeners
from serverproc import REPO, start_server


@pytest.fixture
def spawn_agent(tmp_path):
    """An unsupervised fake agent (the test is its parent, as a shell would be)."""
    procs: list[subprocess.Popen] = []

    def spawn(server, script: str, session_id: str) -> tuple[subprocess.Popen, dict]:
        record = tmp_path / f"rec-{uuid.uuid4().hex}.jsonl"
        proc = subprocess.Popen([sys.executable, str(AGENTS / script), "--session-id", session_id],
                                cwd=REPO, env=agent_env(server.url, record), stdout=subprocess.DEVNULL)
        procs.append(proc)
        rec = wait_for(lambda: record.exists() and record.read_text().strip() and json.loads(record.read_text()),
                       15, "the agent to announce itself")
        wait_session(server, session_id, pid=proc.pid)
        return proc, rec

    yield spawn
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)


def test_missing_and_wrong_tokens_are_refused_audited_and_never_logged(server):
    status, body, _ = control(server, "any-session", "kill", headers={})
    assert status == 401 and "observatory token" in body["error"]
    status, body, _ = control(server, "any-session", "kill", headers={"Authorization": "Bearer WRONG-sekrit-123"})
    assert status == 403 and "wrong control token" in body["error"]
    status, _, _ = control(server, "any-session", "restart", headers={"Authorization": "Basic abc"})
    assert status == 401
    entries = audit(server)
    assert [(a["who"], a["action"], a["result"][:11]) for a in reversed(entries)] == [
        ("anonymous", "kill", "refused 401"), ("invalid token", "kill", "refused 403"),
        ("anonymous", "restart", "refused 401")]
    assert all(a["session_id"] == "any-session" and a["client"] == "127.0.0.1" for a in entries)
    logs = "".join(server.output)
    assert "control refused" in logs
    assert "WRONG-sekrit-123" not in logs and token(server) not in logs
    status, _, _ = server.post("/api/audit", b"", method="GET")
    assert status == 401


def test_failures_are_rate_limited_per_client(server):
    for _ in range(10):
        assert control(server, "s", "kill", headers={"Authorization": "Bearer nope"})[0] == 403
    status, body, headers = control(server, "s", "kill", headers={"Authorization": "Bearer nope"})
    assert status == 429 and "too many" in body["error"]
    assert 1 <= int({k.lower(): v for k, v in headers.items()}["retry-after"]) <= 60
    # Even the right token waits: guessing must not be able to race the limit.
    assert control(server, "s", "kill")[0] == 429


def test_token_file_is_private_and_the_cli_prints_and_rotates_it(server):
    path = server.data_dir / "control-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    run = lambda *a: subprocess.run([sys.executable, "-m", "observatory", "token", "--data-dir",  # noqa: E731
                                     str(server.data_dir), *a], capture_output=True, text=True, cwd=REPO, timeout=60)
    old = token(server)
    printed = run()
    assert printed.returncode == 0 and printed.stdout.strip() == old
    rotated = run("--rotate")
    new = rotated.stdout.strip()
    assert rotated.returncode == 0 and new != old and len(new) >= 40
    assert path.read_text().strip() == new and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert control(server, "unknown", "kill", headers={"Authorization": f"Bearer {old}"})[0] == 403
    status, body, _ = control(server, "unknown", "kill", headers={"Authorization": f"Bearer {new}"})
    assert status == 404 and "no session" in body["error"]


def test_unknown_session_and_action_answer_404(server):
    status, body, _ = control(server, "no-such-session", "kill")
    assert status == 404 and body["error"]
    status, body, _ = server.post("/api/actions/nope", b"", method="GET")
    assert status == 404 and json.loads(body)["error"]
    assert audit(server)[0]["result"] == "refused 404: unknown session"


def test_unsupervised_session_is_killed_by_pid_with_its_tree(server, spawn_agent):
    s = str(uuid.uuid4())
    proc, rec = spawn_agent(server, "claude_grandchildren.py", s)
    tree = [proc.pid, *rec["grandchildren"]]
    assert wait_session(server, s, pid=proc.pid)["supervised"] is False

    status, body, _ = control(server, s, "restart")
    assert status == 409 and "observatory run" in body["error"]
    assert alive(proc.pid)

    status, body, _ = control(server, s, "kill")
    assert status == 202 and body["via"] == "pid"
    action = wait_action(server, body["action_id"])
    assert action["status"] == "succeeded" and action["detail"]["processes"] == 3
    assert proc.wait(10) == -15
    wait_for(lambda: not any(alive(p) for p in tree), 10, "the whole tree to be gone")
    results = [(a["action"], a["result"]) for a in audit(server)]
    assert ("kill", "accepted via pid") in results
    assert any(act == "restart" and r.startswith("refused 409") for act, r in results)


def test_pid_reuse_never_kills_a_stranger(tmp_path, spawn_agent):
    data = tmp_path / "data"
    server = start_server(data)
    s = str(uuid.uuid4())
    try:
        stranger, _ = spawn_agent(server, "claude_sleep.py", s)
        server.stop()
        # The session recorded this pid when another process held it, an hour earlier.
        conn = sqlite3.connect(data / "observatory.db")
        with conn:
            recorded = psutil.Process(stranger.pid).create_time() - 3600
            conn.execute("UPDATE sessions SET data = json_set(data, '$.pid_started_at', ?) WHERE id = ?",
                         (recorded, s))
        conn.close()
        server = start_server(data)
        status, body, _ = control(server, s, "kill")
        assert status == 409 and "different process" in body["error"], body
        assert alive(stranger.pid)
        entry = audit(server)[0]
        assert entry["pid"] == stranger.pid and entry["result"].startswith("refused 409: pid")
    finally:
        server.stop()


def test_a_vanished_pid_is_refused(server, spawn_agent):
    s = str(uuid.uuid4())
    proc, _ = spawn_agent(server, "claude_sleep.py", s)
    proc.kill()
    proc.wait(5)
    status, body, _ = control(server, s, "kill")
    assert status == 409 and "gone" in body["error"]


def test_a_paired_device_needs_the_csrf_header(tmp_path, spawn_agent):
    listeners = start_listeners(tmp_path / "data")
    try:
        server = listeners.server
        s = str(uuid.uuid4())
        proc, _ = spawn_agent(server, "claude_sleep.py", s)
        cookie, csrf = paired(listeners, "Test phone")
        status, body, _ = control(server, s, "kill", headers=device_headers(cookie))
        assert status == 403 and "X-CSRF-Token" in body["error"]
        status, body, _ = control(server, s, "kill", headers=device_headers(cookie, "forged"))
        assert status == 403
        assert alive(proc.pid)
        status, body, _ = control(server, s, "kill", headers=device_headers(cookie, csrf))
        assert status == 202, body
        assert wait_action(server, body["action_id"])["who"] == "device:Test phone"
        assert proc.wait(10) == -15
        whos = [(a["who"], a["result"][:11]) for a in audit(server)]
        assert whos[:3] == [("device:Test phone", "accepted vi"), ("device:Test phone", "refused 403"),
                            ("device:Test phone", "refused 403")]
    finally:
        listeners.server.stop()


def test_supervisor_socket_needs_the_token(server):
    async def attempt(headers: dict[str, str]) -> int:
        try:
            async with connect(server.url.replace("http", "ws") + "/api/agents", additional_headers=headers,
                               proxy=None, open_timeout=5):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    assert asyncio.run(attempt({"Authorization": "Bearer wrong"})) == 403
    assert asyncio.run(attempt({})) == 403
    assert asyncio.run(attempt(bearer(server))) == 101
    refused = [a for a in audit(server) if a["action"] == "connect_supervisor"]
    assert [a["who"] for a in refused] == ["anonymous", "invalid token"]


def test_supervisor_list_is_visible(server):
    assert server.get("/api/supervisors") == {"supervisors": []}
