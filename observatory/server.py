"""Running the app under uvicorn: one server per listener in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette
from uvicorn.loops.auto import auto_loop_factory

from observatory.app import create_app, create_remote_app
from observatory.config import Settings

log = logging.getLogger("observatory")


def bound_port(server: uvicorn.Server) -> int:
    return server.servers[0].sockets[0].getsockname()[1]


class RemoteServer(uvicorn.Server):
    """The remote listener: the main server owns the signals; this one stops when it stops."""

    def __init__(self, config: uvicorn.Config, main: uvicorn.Server) -> None:
        super().__init__(config)
        self.main = main

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def on_tick(self, counter: int) -> bool:
        return self.main.should_exit or await super().on_tick(counter)


def _config(app: Starlette, port: int, log_level: str, lifespan: str) -> uvicorn.Config:
    """No per-message deflate on WebSockets: every live client gets the same frames, and
    compressing them once per client was a third of the server's CPU with 50 clients.
    No proxy headers: nothing local should pick its client address by X-Forwarded-For, and
    behind the tunnel the visitor's address is Cf-Connecting-IP (auth.guard.client_address)."""
    return uvicorn.Config(app, host=app.state.obs.settings.host, port=port, log_level=log_level,
                          access_log=False, lifespan=lifespan, ws_ping_interval=20, ws_ping_timeout=20,
                          ws_per_message_deflate=False, proxy_headers=False, timeout_graceful_shutdown=3)


async def _start(server: uvicorn.Server) -> asyncio.Task | None:
    """The serving task once the server listens; None when it failed to start."""
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            return None
        await asyncio.sleep(0.02)
    return task


def run(settings: Settings, log_level: str = "info") -> int:
    """Serve on uvloop when it is installed, as `uvicorn.run` would: embedding uvicorn
    through `Server.serve` skips its loop set-up, and the default loop cost a sixth more
    CPU per ingest request."""
    with asyncio.Runner(loop_factory=auto_loop_factory()) as runner:
        return runner.run(serve(settings, log_level))


async def serve(settings: Settings, log_level: str = "info") -> int:
    """Serve until SIGINT/SIGTERM; prints the URL once listening (port 0 = any free port).

    With remote_port set (-1 = any free port) a second listener serves the same app behind
    the remote-access policy (observatory/auth/policy.py), for a tunnel to point at."""
    app = create_app(settings)
    server = uvicorn.Server(_config(app, settings.port, log_level, "on"))
    task = await _start(server)
    if task is None:
        return 1
    port = bound_port(server)
    app.state.obs.settings.port = port
    remote_task = None
    if settings.remote_port:
        remote = RemoteServer(_config(create_remote_app(app), max(settings.remote_port, 0), log_level, "off"), server)
        remote_task = await _start(remote)
        if remote_task is None:
            server.should_exit = True
            await task
            return 1
        settings.remote_port = bound_port(remote)
        print(f"Remote listener on http://{settings.host}:{settings.remote_port}", flush=True)
    print(f"Observatory serving on http://{settings.host}:{port}", flush=True)
    print(f"  data dir: {settings.data_dir}", flush=True)
    if os.environ.get("OBSERVATORY_EXIT_WITH_PARENT") == "1":
        asyncio.create_task(_exit_with_parent(server))
    await task
    if remote_task is not None:
        await remote_task
    return 0


async def _exit_with_parent(server: uvicorn.Server) -> None:
    """Test servers stop themselves when the process that started them is gone."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(1)
    server.should_exit = True
