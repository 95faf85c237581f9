"""`observatory tunnel` with a stand-in `cloudflared` on PATH (the real one cannot be installed here).

The stand-in prints what the real one prints (a quick tunnel's banner with its trycloudflare.com URL,
then "Registered tunnel connection"), records its pid and arguments, and runs until signalled.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from remote_harness import Listeners, pair, start_listeners

from observatory.remote_cli import terminal_qr
from serverproc import REPO

QUICK_URL = "https://gentle-river-harbor-example.trycloudflare.com"

FAKE_CLOUDFLARED = f"""#!/bin/sh
echo "$$ $*" > "$FAKE_CLOUDFLARED_LOG"
trap 'echo stopped >> "$FAKE_CLOUDFLARED_LOG"; exit 0' TERM INT
say() {{ echo "2026-11-23T10:00:00Z INF $*" >&2; }}
say "Thank you for trying Cloudflare Tunnel. Doing so, without a Cloudflare account, is a quick way to \\
experiment and try it out. However, be aware that these account-less Tunnels have no uptime guarantee. \\
If you intend to use Tunnels in production you should use a pre-created named tunnel by following: \\
https://developers.cloudflare.com/cloudflare-one/connections/connect-apps"
case "$*" in *" run"*) ;; *)
say "Requesting new quick Tunnel on trycloudflare.com..."
say "+--------------------------------------------------------------------------------------------+"
say "|  Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):  |"
say "|  {QUICK_URL}                                        |"
say "+--------------------------------------------------------------------------------------------+"
;; esac
say "Version 2024.8.2"
say "Registered tunnel connection connIndex=0 connection=0b6c0a2e event=0 ip=198.41.192.7 location=ams01 protocol=quic"
while :; do sleep 1 & wait $!; done
"""


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "cloudflared"
    script.write_text(FAKE_CLOUDFLARED)
    script.chmod(0o755)
    return folder


@pytest.fixture
def listeners(tmp_path: Path):
    srv = start_listeners(tmp_path / "data")
    yield srv
    srv.server.stop()


def remote_port(listeners: Listeners) -> str:
    return listeners.remote.rsplit(":", 1)[1]


def start_tunnel(data_dir: Path, path: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "observatory", "tunnel", "--data-dir", str(data_dir), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PATH": path, **(env or {})})


def read_until(proc: subprocess.Popen, marker: str, timeout: float = 30) -> str:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    proc.kill()
    raise AssertionError("no " + repr(marker) + " in:\n" + "".join(seen) + proc.stderr.read())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM])
def test_quick_tunnel_reports_its_url_and_qr_and_stops_cloudflared(listeners, fake_bin, tmp_path, stop_with):
    log = tmp_path / "cloudflared.log"
    proc = start_tunnel(listeners.data_dir, f"{fake_bin}:{os.environ['PATH']}", "--quick",
                        env={"OBSERVATORY_REMOTE_PORT": remote_port(listeners), "FAKE_CLOUDFLARED_LOG": str(log)})
    out = read_until(proc, "Ctrl-C stops the tunnel")
    pid, *args = log.read_text().split()
    assert args[:2] == ["tunnel", "--no-autoupdate"] and f"http://127.0.0.1:{remote_port(listeners)}" in args
    assert f"Tunnel up: {QUICK_URL}" in out
    assert "QUICK TUNNEL" in out and "changes every time" in out and "push subscriptions" in out
    link = re.search(rf"open: ({re.escape(QUICK_URL)}/pair\?code=(\S+))", out)
    assert link, out
    assert terminal_qr(link.group(1)) in out  # the QR encodes exactly the pairing link
    url_file = listeners.data_dir / "tunnel-url"
    assert url_file.read_text().strip() == QUICK_URL and url_file.stat().st_mode & 0o777 == 0o600
    # the code in the QR pairs a phone through the remote listener the tunnel points at
    assert pair(listeners.remote, link.group(2)).status_code == 201

    proc.send_signal(stop_with)
    proc.wait(15)
    deadline = time.monotonic() + 5
    while alive(int(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(int(pid))
    assert "stopped" in log.read_text()  # it got a signal it could clean up on, not just SIGKILL
    assert not url_file.exists()


def test_named_tunnel_uses_the_stable_hostname(listeners, fake_bin, tmp_path):
    log = tmp_path / "cloudflared.log"
    proc = start_tunnel(listeners.data_dir, f"{fake_bin}:{os.environ['PATH']}", "--name", "observatory",
                        "--hostname", "obs.example.test",
                        env={"OBSERVATORY_REMOTE_PORT": remote_port(listeners), "FAKE_CLOUDFLARED_LOG": str(log)})
    try:
        out = read_until(proc, "Ctrl-C stops the tunnel")
    finally:
        proc.terminate()
        proc.wait(15)
    assert log.read_text().splitlines()[0].split()[-2:] == ["run", "observatory"]
    assert "Tunnel up: https://obs.example.test" in out and "QUICK" not in out
    assert re.search(r"open: https://obs\.example\.test/pair\?code=[A-Z2-9]{4}-[A-Z2-9]{4}", out)


def test_missing_cloudflared_explains_how_to_install(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = start_tunnel(tmp_path / "data", str(empty), "--quick", env={"OBSERVATORY_REMOTE_PORT": "8443"})
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "cloudflared is not installed" in err and "brew install cloudflared" in err


def test_refuses_without_a_remote_listener_or_a_named_tunnel(fake_bin, tmp_path):
    path = f"{fake_bin}:{os.environ['PATH']}"
    proc = start_tunnel(tmp_path / "data", path, "--quick", env={"OBSERVATORY_REMOTE_PORT": "0"})
    assert proc.wait(30) == 1 and "remote listener is off" in proc.stderr.read()
    proc = start_tunnel(tmp_path / "data", path, env={"OBSERVATORY_REMOTE_PORT": "8443"})
    err = proc.communicate(timeout=30)[1]
    assert proc.returncode == 1
    assert "named tunnel" in err and "observatory tunnel --quick" in err and "changes at every start" in err
