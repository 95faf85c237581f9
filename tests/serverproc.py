"""A real `observatory serve` subprocess on an OS-picked 127.0.0.1 port (tests and benchmarks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Server:
    url: str
    data_dir: Path
    proc: subprocess.Popen
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None  # appends the rest of the output until the process exits

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        req = urllib.request.Request(self.url + path, headers=headers or {})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)

    def post(self, path: str, body: bytes | dict | list, headers: dict[str, str] | None = None,
             method: str = "POST") -> tuple[int, bytes, dict[str, str]]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        req = urllib.request.Request(self.url + path, data=data, headers=hdrs, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read(), dict(resp.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)

    def stop(self, sig_kill: bool = False, grace: float = 10) -> None:
        """Stop the server (SIGTERM, or SIGKILL after `grace` seconds); `output` is then complete."""
        if self.proc.poll() is None:
            if sig_kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.reader is not None:
            self.reader.join(5)


def start_server(data_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 30,
                 checkout: Path = REPO, wrapper: tuple[str, ...] = ()) -> Server:
    """Start `observatory serve --port 0` and wait for the URL it prints. It runs the code of
    `checkout` (the working directory comes first on `python -m`'s path), e.g. for an A/B,
    under `wrapper` if given (e.g. valgrind)."""
    full_env = {**os.environ, "OBSERVATORY_EXIT_WITH_PARENT": "1", "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen(
        [*wrapper, sys.executable, "-m", "observatory", "serve", "--port", "0", "--data-dir", str(data_dir),
         "--log-level", "warning", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env, cwd=checkout)
    output: list[str] = []
    url = None
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        output.append(line)
        if line.startswith("Observatory serving on "):
            url = line.split()[-1].strip()
            break
    if url is None:
        proc.kill()
        raise RuntimeError("server did not start:\n" + "".join(output))

    def drain() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            output.append(line)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    return Server(url, data_dir, proc, output, reader)
