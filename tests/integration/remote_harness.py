"""Helpers for the remote-access tests: a real server with both listeners, the real CLI, pairing."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import websockets

from serverproc import REPO, Server, start_server

COOKIE = "observatory_device"


@dataclass
class Listeners:
    server: Server
    remote: str  # http://127.0.0.1:<port> of the remote listener

    @property
    def local(self) -> str:
        return self.server.url

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    @property
    def remote_host(self) -> str:
        return self.remote.removeprefix("http://")

    def logs(self) -> str:
        return "".join(self.server.output)


def start_listeners(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Listeners:
    """`observatory serve` with the remote listener on an OS-picked port (remote_port = -1)."""
    server = start_server(data_dir, *args, env={"OBSERVATORY_REMOTE_PORT": "-1", **(env or {})})
    lines = [line for line in server.output if line.startswith("Remote listener on ")]
    assert lines, "".join(server.output)
    return Listeners(server, lines[0].split()[-1].strip())


def cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real `observatory` command (options that every command takes go first)."""
    command, *rest = args
    return subprocess.run([sys.executable, "-m", "observatory", command, "--data-dir", str(data_dir), *rest],
                          capture_output=True, text=True, timeout=60, cwd=REPO, env={**os.environ, **(env or {})})


def new_code(data_dir: Path, env: dict[str, str] | None = None) -> str:
    out = cli(data_dir, "pair", env=env)
    assert out.returncode == 0, out.stderr
    return re.search(r"Pairing code: (\S+)", out.stdout).group(1)


def cookie_of(response: httpx.Response) -> tuple[str, str]:
    """(cookie value, the whole Set-Cookie header) of the device cookie a response sets."""
    header = next(h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE + "="))
    return header.split(";")[0].split("=", 1)[1], header


def pair(remote: str, code: str, name: str = "Test phone", **headers: str) -> httpx.Response:
    return httpx.post(f"{remote}/api/pair", json={"code": code, "name": name}, headers=headers, timeout=10)


def paired(listeners: Listeners, name: str = "Test phone") -> tuple[str, str]:
    """Pair a new device through the remote listener: (cookie value, CSRF token)."""
    response = pair(listeners.remote, new_code(listeners.data_dir), name)
    assert response.status_code == 201, response.text
    return cookie_of(response)[0], response.json()["csrf_token"]


def device_headers(cookie: str, csrf: str | None = None) -> dict[str, str]:
    headers = {"Cookie": f"{COOKIE}={cookie}"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return headers


def ws_status(url: str, **headers: str) -> int:
    """The HTTP status of a WebSocket handshake (101 when it was accepted)."""

    async def attempt() -> int:
        try:
            async with websockets.connect(url, additional_headers=headers, open_timeout=10) as ws:
                await ws.send(json.dumps({"resume": None}))
                assert json.loads(await asyncio.wait_for(ws.recv(), 10))
                return 101
        except websockets.exceptions.InvalidStatus as exc:
            return exc.response.status_code

    return asyncio.run(attempt())
