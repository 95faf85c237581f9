"""Real agent CLIs from npm, a scripted fake model API on loopback, a real observatory.

The CLIs are installed once into ~/.cache/agent-observatory/realcli/<cli> (pinned to the
versions the research captured; OBSERVATORY_REALCLI_CACHE moves it). Tests skip only when the
npm registry cannot be reached; any other failure to install fails them. The fake model APIs
are the capture harnesses' own (../shared/tools/*_capture/fake_*.py), run as subprocesses.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, Server, start_server

TOOLS = REPO.parent / "shared" / "tools"
CACHE = Path(os.environ.get("OBSERVATORY_REALCLI_CACHE", Path.home() / ".cache" / "agent-observatory" / "realcli"))
PACKAGES = {
    "claude": ("@anthropic-ai/claude-code@2.1.197", "claude"),
    "codex": ("@openai/codex@0.169.0", "codex"),
    "gemini": ("@google/gemini-cli@0.61.0", "gemini"),
}
FAKE_APIS = {
    "claude": TOOLS / "claude_capture" / "fake_anthropic.py",
    "codex": TOOLS / "codex_capture" / "fake_openai.py",
    "gemini": TOOLS / "gemini_capture" / "fake_gemini.py",
}


def progress(message: str) -> None:
    """Straight to the terminal: pytest captures stdout, and a 245 MB install needs a word."""
    print(f"[realcli] {message}", file=sys.__stderr__, flush=True)


def registry_reachable() -> bool:
    try:
        out = subprocess.run(["npm", "ping"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0


def ensure_cli(name: str) -> Path:
    """Path of the CLI's bin, npm-installing it into the cache when missing (idempotent)."""
    spec, bin_name = PACKAGES[name]
    folder = CACHE / name
    binary = folder / "node_modules" / ".bin" / bin_name
    if binary.exists():
        return binary
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed; the realcli tests need node + npm")
    if not registry_reachable():
        pytest.skip("the npm registry is unreachable; cannot install " + spec)
    folder.mkdir(parents=True, exist_ok=True)
    progress(f"npm install {spec} into {folder} (one time; claude-code is ~245 MB) ...")
    started = time.monotonic()
    proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(folder), spec],
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 or not binary.exists():
        pytest.fail(f"npm install {spec} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    progress(f"installed {spec} in {time.monotonic() - started:.0f} s")
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class FakeApi:
    url: str
    proc: subprocess.Popen
    log_dir: Path


def start_fake_api(name: str, log_dir: Path, script: Path | None = None,
                   env: dict[str, str] | None = None) -> FakeApi:
    """The harness's fake API for `name` (or `script`, e.g. a wrapper of it), with extra `env` knobs."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "FAKE_PORT": str(port), "FAKE_LOG": str(log_dir / "requests.jsonl"),
           "FAKE_LOG_DIR": str(log_dir), **(env or {})}
    proc = subprocess.Popen([sys.executable, str(script or FAKE_APIS[name])], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return FakeApi(f"http://127.0.0.1:{port}", proc, log_dir)
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"fake {name} API did not start")


@dataclass
class Rig:
    """One throwaway machine: a home, a work dir, the observatory and a fake model API."""

    home: Path
    work: Path
    server: Server
    api: FakeApi

    def observatory(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        full_env = {"HOME": str(self.home), "SHELL": "/bin/bash", "PATH": os.environ["PATH"],
                    "OBSERVATORY_PORT": str(self.server.port), **(env or {})}
        return subprocess.run([sys.executable, "-c", "import sys; from observatory.cli import main; sys.exit(main())",
                               *args, "--data-dir", str(self.server.data_dir)],
                              capture_output=True, text=True, env=full_env, cwd=REPO, timeout=120)

    def wait_for(self, predicate, timeout: float = 30.0, what: str = "condition"):  # noqa: ANN001
        """Poll the API until `predicate(sessions)` returns something truthy."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.server.get("/api/sessions")["sessions"]
            found = predicate(last)
            if found:
                return found
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}; sessions: {last}")


@contextlib.contextmanager
def running_rig(tmp_path: Path, name: str, server_env: dict[str, str] | None = None,
                script: Path | None = None, api_env: dict[str, str] | None = None) -> Iterator[Rig]:
    """A server and the fake API for `name` (or `script`), stopped when the block ends."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    server = start_server(tmp_path / "data", env=server_env)
    api = start_fake_api(name, tmp_path / "fake_api", script, api_env)
    try:
        yield Rig(home, work, server, api)
    finally:
        api.proc.kill()
        api.proc.wait()
        server.stop()


@pytest.fixture
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    with running_rig(tmp_path, request.node.get_closest_marker("agent").args[0]) as r:
        yield r


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "agent(name): which CLI a realcli test drives")
    config.addinivalue_line("markers", "away_wait(seconds): how long the server holds a prompt (test_away_claude)")
