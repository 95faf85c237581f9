"""The shipped hook client (sh + curl) against a real server, a dead port and a hung one."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from importlib import resources
from pathlib import Path

from observatory import hook
from tests.conftest import FIXTURES, Server, fixture_hooks

SCRIPT = Path(str(resources.files("observatory.hook").joinpath(hook.SCRIPT_NAME)))


def run_hook(url: str, payload: dict) -> tuple[subprocess.CompletedProcess, float]:
    """As an agent runs it: `/bin/sh -c <command>` with the payload on stdin."""
    started = time.monotonic()
    proc = subprocess.run(["/bin/sh", "-c", hook.command(SCRIPT, url)], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=30)
    return proc, time.monotonic() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_hook_posts_stdin_with_the_agents_pid(server: Server) -> None:
    hooks = fixture_hooks("ok-json")
    event, start = hooks[0]
    assert event == "SessionStart"
    proc, _ = run_hook(f"{server.url}/hooks/claude", start)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    session = server.get(f"/api/sessions/{start['session_id']}")
    # `$PPID` of the `/bin/sh -c` is whoever spawned it: here this test process, under an agent the agent.
    assert session["pid"] == os.getpid()
    assert session["agent"] == "claude" and session["cwd"] == start["cwd"]

    for _, payload in hooks[1:]:
        assert run_hook(f"{server.url}/hooks/claude", payload)[0].returncode == 0
    events = server.get(f"/api/sessions/{start['session_id']}/events")["events"]
    assert {"session_start", "tool_start", "tool_end", "turn_end", "session_end"} <= {e["kind"] for e in events}


def test_hook_with_the_server_down_exits_0_fast_and_silent() -> None:
    proc, elapsed = run_hook(f"http://127.0.0.1:{free_port()}/hooks/claude", {"session_id": "x"})
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert elapsed < 1.0  # bench/hook_latency.py measures the real figure (a few ms)


def test_hook_gives_up_on_a_hung_server() -> None:
    with socket.socket() as listener:  # accepts connections into the backlog, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        proc, elapsed = run_hook(f"http://127.0.0.1:{listener.getsockname()[1]}/hooks/claude", {"session_id": "x"})
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert elapsed < 5.0  # curl -m 2


def test_hook_without_curl_still_exits_0(tmp_path: Path) -> None:
    proc = subprocess.run(["/bin/sh", "-c", hook.command(SCRIPT, "http://127.0.0.1:9/hooks/claude")],
                          input="{}", capture_output=True, text=True, env={"PATH": str(tmp_path)}, timeout=30)
    assert (proc.returncode, proc.stdout) == (0, "")


def test_notify_mode_posts_the_json_argument(server: Server) -> None:
    folder = FIXTURES / "codex" / "ok-json"
    start = json.loads((folder / "0001_hooks_SessionStart.json").read_text())
    notify = json.loads((folder / "0007_notify.json").read_text())
    assert run_hook(f"{server.url}/hooks/codex", start)[0].returncode == 0
    # Codex runs notify = [..., url, "0"] with the JSON appended as the last argument.
    proc = subprocess.run(["/bin/sh", str(SCRIPT), f"{server.url}/hooks/codex/notify", "0", json.dumps(notify)],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    events = server.get(f"/api/sessions/{start['session_id']}/events")["events"]
    assert [e["kind"] for e in events] == ["session_start", "turn_end"]
    assert server.get(f"/api/sessions/{start['session_id']}")["status"] == "waiting_for_user"


def test_hook_on_a_remote_host_sends_its_ingest_token(tmp_path: Path) -> None:
    from tests.integration.remote_harness import cli, start_listeners
    listeners = start_listeners(tmp_path / "data", env={"OBSERVATORY_REMOTE_INGEST": "1"})
    try:
        added = cli(listeners.data_dir, "ingest-token", "add", "build-vm").stdout
        token = re.search(r"^  (\S+\.\S+)$", added, re.M).group(1)
        start = fixture_hooks("ok-json")[0][1]
        url = f"{listeners.remote}/hooks/claude"
        assert run_hook(url, start)[0].returncode == 0  # no token: refused, and still exit 0
        assert listeners.server.get("/api/sessions")["sessions"] == []
        proc = subprocess.run(["/bin/sh", "-c", hook.command(SCRIPT, url)], input=json.dumps(start),
                              capture_output=True, text=True, timeout=30,
                              env={**os.environ, "OBSERVATORY_INGEST_TOKEN": token})
        assert (proc.returncode, proc.stdout) == (0, "")
        session = listeners.server.get(f"/api/sessions/{start['session_id']}")
        assert session["agent"] == "claude"
    finally:
        listeners.server.stop()
