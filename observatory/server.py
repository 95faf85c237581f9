"""Running the app under uvicorn: one server per listener in one event loop."""

from __future__ import annotations

import asyncio
import logging
import os

import uvicorn

from observatory.app import create_app
from observatory.config import Settings

log = logging.getLogger("observatory")


def bound_port(server: uvicorn.Server) -> int:
    return server.servers[0].sockets[0].getsockname()[1]


async def serve(settings: Settings, log_level: str = "info") -> int:
    """Serve until SIGINT/SIGTERM; prints the URL once listening (port 0 = any free port)."""
    app = create_app(settings)
    cfg = uvicorn.Config(app, host=settings.host, port=settings.port, log_level=log_level,
                         access_log=False, lifespan="on", ws_ping_interval=20, ws_ping_timeout=20,
                         timeout_graceful_shutdown=3)
    server = uvicorn.Server(cfg)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            return 1
        await asyncio.sleep(0.02)
    port = bound_port(server)
    app.state.obs.settings.port = port
    print(f"Observatory serving on http://{settings.host}:{port}", flush=True)
    print(f"  data dir: {settings.data_dir}", flush=True)
    if os.environ.get("OBSERVATORY_EXIT_WITH_PARENT") == "1":
        asyncio.create_task(_exit_with_parent(server))
    await task
    return 0


async def _exit_with_parent(server: uvicorn.Server) -> None:
    """Test servers stop themselves when the process that started them is gone."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(1)
    server.should_exit = True
