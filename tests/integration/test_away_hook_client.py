"""Away mode through the sh+curl command-hook client (Codex's PermissionRequest hook, as installed).

Codex runs `/bin/sh <data dir>/hooks/hook.sh <url>/hooks/codex/permission "$PPID"` with the hook
JSON on stdin and reads its stdout as the hook's output: the decision JSON, or nothing.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from observatory import hook
from tests.conftest import FIXTURES, Server, start_server

CODEX = FIXTURES / "codex" / "interactive-permission"
PERMISSION = json.loads((CODEX / "0006_hooks_PermissionRequest.json").read_text())
START = json.loads((CODEX / "0002_hooks_SessionStart.json").read_text())


def run_hook(server: Server, payload: dict) -> tuple[subprocess.CompletedProcess, float]:
    script = Path(hook.__file__).with_name(hook.SCRIPT_NAME)
    command = hook.command(script, f"{server.url}/hooks/codex/permission", "0")
    started = time.monotonic()
    proc = subprocess.run(["/bin/sh", "-c", command], input=json.dumps(payload), capture_output=True, text=True,
                          timeout=60)
    return proc, time.monotonic() - started


def wait_pending(server: Server) -> dict:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if pending := server.get("/api/approvals")["pending"]:
            return pending[0]
        time.sleep(0.02)
    raise AssertionError("the permission request was not held")


@pytest.fixture
def away(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "data", env={"OBSERVATORY_AWAY_ENABLED": "1", "OBSERVATORY_AWAY_WAIT_S": "30"})
    assert srv.post("/hooks/codex", START)[0] == 200
    yield srv
    srv.stop()


def test_codex_hook_prints_the_phone_decision(away: Server) -> None:
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(run_hook, away, PERMISSION)
        pending = wait_pending(away)
        assert pending["agent"] == "codex" and pending["tool_input"] == PERMISSION["tool_input"]
        token = (away.data_dir / "control-token").read_text().strip()
        status, _, _ = away.post(f"/api/approvals/{pending['id']}", {"decision": "deny", "message": "not today"},
                                 {"Authorization": f"Bearer {token}"})
        assert status == 200
        proc, _ = held.result(timeout=30)
    assert proc.returncode == 0 and proc.stderr == ""
    assert json.loads(proc.stdout) == {"hookSpecificOutput": {
        "hookEventName": "PermissionRequest", "decision": {"behavior": "deny", "message": "not today"}}}


def test_codex_hook_prints_nothing_when_the_server_dies_while_holding(away: Server) -> None:
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(run_hook, away, PERMISSION)
        wait_pending(away)
        away.stop(sig_kill=True)
        proc, _ = held.result(timeout=30)
    assert (proc.returncode, proc.stdout) == (0, "")  # no decision: Codex asks at the terminal


def test_codex_hook_with_away_off_or_no_server_returns_at_once(server: Server, tmp_path: Path) -> None:
    proc, seconds = run_hook(server, PERMISSION)
    assert (proc.returncode, proc.stdout) == (0, "") and seconds < 2
    assert server.get(f"/api/sessions/{PERMISSION['session_id']}")["status"] == "needs_approval"
    server.stop()
    proc, seconds = run_hook(server, PERMISSION)
    assert (proc.returncode, proc.stdout) == (0, "") and seconds < 2
