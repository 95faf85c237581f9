"""Pure parts of control: resume arguments, agent guessing, exit statuses, agent command lines, URLs."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from observatory.auth.guard import FailureLimiter
from observatory.auth.token import ensure_token, read_token, rotate_token, same_secret
from observatory.config import Settings
from observatory.control.child import ExitStatus
from observatory.control.cli import agents_ws_url
from observatory.control.pidkill import looks_like_agent
from observatory.control.resume import guess_agent, resume_args


@pytest.mark.parametrize("argv, expected", [
    (["claude"], ["claude", "--resume", "S"]),
    (["claude", "--model", "opus", "--resume", "OLD"], ["claude", "--model", "opus", "--resume", "S"]),
    (["claude", "-c", "--session-id=OLD", "-r", "X"], ["claude", "--resume", "S"]),
    (["gemini", "-m", "pro", "--resume", "latest"], ["gemini", "-m", "pro", "--resume", "S"]),
    (["codex", "resume", "OLD"], ["codex", "resume", "S"]),
    (["codex", "fix the tests"], ["codex", "resume", "S"]),
])
def test_resume_args(argv, expected):
    assert resume_args(guess_agent(argv), "S", argv) == expected


def test_unknown_agents_restart_with_the_same_command():
    assert guess_agent(["python", "agent.py"]) == "unknown"
    assert resume_args("unknown", "S", ["python", "agent.py"]) == ["python", "agent.py"]
    assert guess_agent(["/usr/local/bin/claude", "-p", "hi"]) == "claude"


@pytest.mark.parametrize("status, code, ok", [
    (ExitStatus(0, None), 0, True),
    (ExitStatus(3, None), 3, False),
    (ExitStatus(None, signal.SIGTERM), 143, False),
    (ExitStatus(None, signal.SIGKILL), 137, False),
])
def test_exit_status_as_a_shell_reports_it(status, code, ok):
    assert (status.shell_code, status.ok) == (code, ok)


def test_exit_status_from_a_real_wait():
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    _, status = os.waitpid(pid, 0)
    assert ExitStatus.from_wait(status) == ExitStatus(7, None)


@pytest.mark.parametrize("cmdline, agent, expected", [
    (["/home/u/.local/bin/claude", "--resume", "x"], "claude", True),
    (["node", "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js"], "claude", True),
    (["/usr/bin/codex"], "codex", True),
    (["/usr/bin/codex"], "claude", False),
    (["python3", "server.py"], "claude", False),
    (["bash"], "gemini", False),
    ([], "claude", False),
])
def test_looks_like_agent(cmdline, agent, expected):
    assert looks_like_agent(cmdline, agent) is expected


def test_agents_ws_url():
    settings = Settings(data_dir=Path("."), host="0.0.0.0", port=4318)
    assert agents_ws_url(settings, None) == "ws://127.0.0.1:4318/api/agents"
    assert agents_ws_url(settings, "https://obs.example.com/base/") == "wss://obs.example.com/base/api/agents"


def test_token_file(tmp_path):
    first = ensure_token(tmp_path)
    assert (tmp_path / "control-token").stat().st_mode & 0o777 == 0o600
    assert ensure_token(tmp_path) == first == read_token(tmp_path)
    second = rotate_token(tmp_path)
    assert second != first and read_token(tmp_path) == second
    assert same_secret(second, second) and not same_secret(first, second)


def test_failure_limiter_window():
    limiter = FailureLimiter(limit=2, window_s=60)
    assert limiter.retry_after("a") == 0
    limiter.failed("a")
    limiter.failed("a")
    assert 1 <= limiter.retry_after("a") <= 60
    assert limiter.retry_after("b") == 0
