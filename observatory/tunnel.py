"""`observatory tunnel`: run Cloudflare's `cloudflared` in front of the remote listener.

A named tunnel (stable hostname, see config/cloudflared.example.yml) is the recommended path:
the installed PWA and its push subscriptions are tied to the site's origin, so the URL must
not change. A quick tunnel (random https://<words>.trycloudflare.com, no account) is a try-out
only: its URL changes at every start, which breaks the installed app and its notifications.

While the tunnel runs, its public URL is kept in <data dir>/tunnel-url so the server's pairing
codes (made from the local dashboard) link to it; the file goes when the tunnel stops.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from observatory.config import Settings

QUICK_URL = re.compile(r"https://[a-z0-9-]+\.trycloudflare\.com")
CONNECTED = "Registered tunnel connection"
URL_FILE = "tunnel-url"
START_TIMEOUT_S = 60.0
STOP_GRACE_S = 5.0

INSTALL_HELP = """\
cloudflared is not installed (or not on PATH). Install it, then run `observatory tunnel` again:
  macOS:          brew install cloudflared
  Debian/Ubuntu:  add Cloudflare's apt repository (https://pkg.cloudflare.com/), then
                  sudo apt-get install cloudflared
  other systems:  https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/"""

NAMED_HELP = """\
No named tunnel given. The recommended setup is a named tunnel with a stable hostname:
  cloudflared tunnel login
  cloudflared tunnel create observatory
  cloudflared tunnel route dns observatory observatory.example.com
  set [remote] public_url = "https://observatory.example.com" in {config}
  observatory tunnel --name observatory
(config/cloudflared.example.yml shows the same as a cloudflared config file: --cloudflared-config.)
To just try it out: observatory tunnel --quick  (the URL changes at every start)."""

QUICK_WARNING = """\
QUICK TUNNEL (try-out): this URL changes every time the tunnel starts. An app installed on a
phone's home screen from it, and its push subscriptions, stop working at the next start.
Use a named tunnel with a stable hostname for daily use: observatory tunnel --help"""


@dataclass(frozen=True)
class TunnelPlan:
    command: list[str]
    public_url: str | None  # known up front for a named tunnel; parsed from the output for a quick one

    @property
    def quick(self) -> bool:
        return self.public_url is None


class TunnelError(Exception):
    """Something the user must fix; the message says what."""


def public_base(settings: Settings) -> str | None:
    """The https origin phones use: the configured public URL, else a running tunnel's."""
    if settings.remote.public_url:
        return settings.remote.public_url.rstrip("/")
    try:
        return (settings.data_dir / URL_FILE).read_text().strip() or None
    except OSError:
        return None


def pairing_url(base: str | None, code: str) -> str | None:
    """The link a QR code carries: it opens the PWA's pairing page, which posts the code."""
    return f"{base}/pair?code={code}" if base else None


def plan(settings: Settings, quick: bool, name: str | None, cloudflared_config: str | None,
         hostname: str | None) -> TunnelPlan:
    if settings.remote_port <= 0:
        raise TunnelError("the remote listener is off: set remote_port (e.g. remote_port = 8443) in "
                          f"{settings.config_path} or OBSERVATORY_REMOTE_PORT, then restart `observatory serve`")
    binary = shutil.which("cloudflared")
    if binary is None:
        raise TunnelError(INSTALL_HELP)
    origin = f"http://127.0.0.1:{settings.remote_port}"
    common = [binary, "tunnel", "--no-autoupdate", "--grace-period", f"{int(STOP_GRACE_S) - 2}s"]
    if quick:
        return TunnelPlan([*common, "--url", origin], None)
    public = (f"https://{hostname}" if hostname else settings.remote.public_url).rstrip("/")
    if not (name or cloudflared_config) or not public:
        raise TunnelError(NAMED_HELP.format(config=settings.config_path))
    where = ["--config", cloudflared_config] if cloudflared_config else ["--url", origin]
    return TunnelPlan([*common, *where, "run", *([name] if name else [])], public)


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Cloudflared:
    """The child process; its output is read on a thread and kept (the last lines) for errors."""

    def __init__(self, command: list[str]) -> None:
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.tail: collections.deque[str] = collections.deque(maxlen=20)
        self.url: str | None = None
        self.connected = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.tail.append(line.rstrip())
            found = QUICK_URL.search(line)
            if found and self.url is None:
                self.url = found.group(0)
                self.connected.set()
            if CONNECTED in line:
                self.connected.set()
        self.connected.set()

    def wait_ready(self, timeout: float) -> None:
        if not self.connected.wait(timeout) or self.proc.poll() is not None:
            raise TunnelError("cloudflared did not connect:\n  " + "\n  ".join(self.tail))

    def stop(self) -> None:
        """SIGTERM to its process group, SIGKILL after the grace period."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def run(settings: Settings, tunnel: TunnelPlan, on_ready: Callable[[str], None]) -> int:
    """Start cloudflared, call on_ready(public URL), wait; stops the child however this ends."""
    if not listening(settings.remote_port):
        print(f"warning: nothing listens on 127.0.0.1:{settings.remote_port} yet; start `observatory serve` "
              "(with the same config) for the tunnel to reach it", file=sys.stderr)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    url_file = settings.data_dir / URL_FILE
    child = Cloudflared(tunnel.command)
    try:
        child.wait_ready(START_TIMEOUT_S)
        url = tunnel.public_url or child.url
        if url is None:
            raise TunnelError("cloudflared did not print a trycloudflare.com URL:\n  " + "\n  ".join(child.tail))
        _write_private(url_file, url)
        on_ready(url)
        child.proc.wait()
        print("cloudflared exited:\n  " + "\n  ".join(child.tail), file=sys.stderr)
        return child.proc.returncode or 1
    finally:
        child.stop()
        url_file.unlink(missing_ok=True)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
