"""`observatory doctor` against a real server and a throwaway home."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from observatory.auth.token import ensure_token, token_path
from observatory.vapid import load_or_create
from tests.conftest import REPO, Server


def observatory(home: Path, data: Path, port: int, *args: str, extra_env: dict[str, str] | None = None,
                ) -> subprocess.CompletedProcess:
    env = {"HOME": str(home), "SHELL": "/bin/bash", "PATH": "/usr/bin:/bin", "OBSERVATORY_PORT": str(port),
           **(extra_env or {})}
    return subprocess.run([sys.executable, "-c", "import sys; from observatory.cli import main; sys.exit(main())",
                           *args, "--data-dir", str(data)], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=60)


def line(out: str, label: str) -> str:
    found = [ln for ln in out.splitlines() if f"] {label}:" in ln]
    assert found, f"no {label!r} line in:\n{out}"
    return found[0]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    (home / ".codex" / "config.toml").write_text('model = "gpt-5-codex"\n')
    return home


def test_doctor_finds_untrusted_codex_hooks_and_a_readable_token(server: Server, home: Path) -> None:
    data = server.data_dir
    ensure_token(data)
    load_or_create(data)
    assert observatory(home, data, server.port, "install", "--target", "codex").returncode == 0

    os.chmod(token_path(data), 0o644)
    result = observatory(home, data, server.port, "doctor")
    out = result.stdout
    assert result.returncode == 1, out
    assert line(out, "server").startswith("[ ok ]")
    assert line(out, "port").startswith("[ ok ]") and "is ours" in line(out, "port")
    assert line(out, "database").startswith("[ ok ]") and "is current" in line(out, "database")
    assert line(out, "data dir").startswith("[ ok ]")
    assert line(out, "hook client").startswith("[ ok ]")
    assert line(out, "codex telemetry").startswith("[ ok ]")
    trust = line(out, "codex hook trust")
    assert trust.startswith("[fail]") and "10 of 10 observatory hooks are not trusted" in trust
    assert "type /hooks" in out
    assert line(out, "control token").startswith("[fail]") and f"fix: chmod 600 {token_path(data)}" in out
    assert line(out, "vapid keys").startswith("[ ok ]")
    assert line(out, "shell env").startswith("[warn]") and f". {data}/env.sh" in out
    assert line(out, "claude").startswith("[ ok ]") and "skipped" in line(out, "claude")

    # The user trusts the hooks in Codex's /hooks: Codex records one trusted_hash per hook key.
    hooks_json = home / ".codex" / "hooks.json"
    events = json.loads(hooks_json.read_text())["hooks"]
    snake = {"SessionStart": "session_start", "UserPromptSubmit": "user_prompt_submit", "PreToolUse": "pre_tool_use",
             "PermissionRequest": "permission_request", "PostToolUse": "post_tool_use", "Stop": "stop",
             "SubagentStop": "subagent_stop", "PreCompact": "pre_compact", "PostCompact": "post_compact",
             "SessionEnd": "session_end"}
    with open(home / ".codex" / "config.toml", "a") as fh:
        for event in events:
            fh.write(f'\n[hooks.state."{hooks_json}:{snake[event]}:0:0"]\ntrusted_hash = "sha256:00"\n')
    os.chmod(token_path(data), 0o600)
    env_vars = dict(ln.removeprefix("export ").split("=", 1) for ln in (data / "env.sh").read_text().splitlines()
                    if ln.startswith("export "))
    result = observatory(home, data, server.port, "doctor", extra_env=env_vars)
    out = result.stdout
    assert line(out, "codex hook trust").startswith("[ ok ]"), out
    assert line(out, "control token").startswith("[ ok ]")
    assert line(out, "shell env").startswith("[ ok ]")
    assert result.returncode == 0, out


def test_doctor_with_the_server_down_and_the_port_taken(tmp_path: Path, home: Path) -> None:
    with socket.socket() as other:  # another program holds the port
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        result = observatory(home, tmp_path / "data", other.getsockname()[1], "doctor")
    out = result.stdout
    assert result.returncode == 1
    assert line(out, "server").startswith("[fail]") and "fix: observatory serve" in out
    assert line(out, "port").startswith("[fail]") and "taken by another program" in line(out, "port")
    assert line(out, "database").startswith("[warn]")
    assert line(out, "hook client").startswith("[fail]")
