"""Helpers of the control tests: a supervised fake agent, the token, actions, process checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from serverproc import REPO, Server

AGENTS = REPO / "tests" / "agents"


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def alive(pid: int) -> bool:
    """Running and not a zombie (PID 1 here does not reap orphans)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def agent_env(url: str, record: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "OBS_TEST_URL": url, "OBS_TEST_RECORD": str(record), "PYTHONUNBUFFERED": "1", **extra}


def supervise_argv(data_dir: Path, url: str, script: str, *args: str, linger: float = 0,
                   wrapper: str | None = None) -> list[str]:
    """The real CLI; with `wrapper="sh"` the agent runs as a child of `sh -c` (a forking shell)."""
    agent = [sys.executable, str(AGENTS / script), *args]
    if wrapper:
        agent = [wrapper, "-c", '"$@"; exit $?', wrapper, *agent]
    return [sys.executable, "-m", "observatory", "run", "--data-dir", str(data_dir), "--url", url,
            "--agent", "claude", "--linger", str(linger), "--verbose", "--", *agent]


class Supervised:
    """`observatory run -- python tests/agents/<script>` as a real subprocess."""

    def __init__(self, server: Server, tmp: Path, script: str, *args: str, linger: float = 0,
                 url: str | None = None, wrapper: str | None = None) -> None:
        self.record = tmp / f"record-{time.monotonic_ns()}.jsonl"
        self.log = tmp / f"supervisor-{time.monotonic_ns()}.log"
        self._log_fh = open(self.log, "w")
        self.proc = subprocess.Popen(
            supervise_argv(server.data_dir, url or server.url, script, *args, linger=linger, wrapper=wrapper),
            cwd=REPO, env=agent_env(server.url, self.record), stdin=subprocess.DEVNULL,
            stdout=self._log_fh, stderr=subprocess.STDOUT)

    def records(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]

    def wait_records(self, n: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        return wait_for(lambda: len(self.records()) >= n and self.records(), timeout, f"{n} agent records")

    def wait(self, timeout: float = 30.0) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("supervisor did not exit; its output:\n" + self.output()) from None

    def output(self) -> str:
        self._log_fh.flush()
        return self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        for rec in self.records():
            for pid in [rec["pid"], *rec.get("grandchildren", [])]:
                if alive(pid):
                    os.kill(pid, 9)
        self._log_fh.close()


def token(server: Server) -> str:
    return (server.data_dir / "control-token").read_text().strip()


def bearer(server: Server) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(server)}"}


def control(server: Server, session_id: str, action: str, headers: dict[str, str] | None = None
            ) -> tuple[int, dict[str, Any], dict[str, str]]:
    status, body, hdrs = server.post(f"/api/sessions/{session_id}/{action}", b"",
                                     bearer(server) if headers is None else headers)
    return status, json.loads(body), hdrs


def wait_action(server: Server, action_id: str, timeout: float = 30.0) -> dict[str, Any]:
    return wait_for(lambda: (a := server.get(f"/api/actions/{action_id}"))["status"] != "pending" and a,
                    timeout, f"action {action_id} to finish")


def session(server: Server, session_id: str) -> dict[str, Any] | None:
    try:
        return server.get(f"/api/sessions/{session_id}")
    except OSError:
        return None


def wait_session(server: Server, session_id: str, timeout: float = 15.0, **expected: Any) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        s = session(server, session_id)
        return s if s and all(s.get(k) == v for k, v in expected.items()) else None
    return wait_for(check, timeout, f"session {session_id} with {expected}")


def events(server: Server, session_id: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in server.get(f"/api/sessions/{session_id}/events?limit=1000")["events"] if e["kind"] == kind]


def audit(server: Server) -> list[dict[str, Any]]:
    return server.get("/api/audit?limit=500", bearer(server))["audit"]
