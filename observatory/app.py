"""Starlette app factory and lifespan: wires store, sessions, bus, pipeline and features."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import BaseRoute

from observatory import alert_settings, alerts, api, detect, live, metrics, push_api, web
from observatory.agents import prices
from observatory.auth import pairing_api
from observatory.auth.policy import LocalBrowserPairing, RemotePolicy
from observatory.away import api as away_api
from observatory.bus import Bus
from observatory.config import Settings
from observatory.control import api as control_api
from observatory.ingest import hooks, otlp
from observatory.ingest.fastpath import IngestFastPath
from observatory.pipeline import Pipeline
from observatory.sessions import Sessions
from observatory.store import Store

log = logging.getLogger("observatory")


@dataclass
class Observatory:
    """Everything a request handler may need, as `request.app.state.obs`."""

    settings: Settings
    store: Store
    sessions: Sessions
    bus: Bus
    pipeline: Pipeline
    metrics: Any = None
    services: dict[str, Any] = field(default_factory=dict)

    @property
    def live_clients(self) -> int:
        """Open WS /api/live connections: the clients the live fanout serves."""
        fanout = self.services.get("fanout")
        return len(fanout.clients) if fanout is not None else 0


def build(settings: Settings) -> Observatory:
    prices.configure(settings.prices)
    store = Store(settings.db_path, settings.writer_queue_max)
    sessions = Sessions()
    bus = Bus()
    pipeline = Pipeline(store, sessions, bus, settings.retention.raw_max_kb * 1024)
    obs = Observatory(settings, store, sessions, bus, pipeline)
    obs.metrics = metrics.Metrics(obs)
    return obs


# Each feature module may define `routes`, `async start(obs)` and `async stop(obs)`.
# Order matters for routes: the PWA shell (web) comes last, it catches page paths.
FEATURES: list[ModuleType] = [
    pairing_api, otlp, hooks, api, live, metrics, push_api, alerts, alert_settings, detect, control_api,
    away_api, web,
]


def settle_heap() -> None:
    """Freeze what start-up allocated (modules, routes, protobuf classes, restored sessions):
    it lives as long as the process, and a full collection scanning it paused the event loop
    for ~50 ms, a visible tail on live delivery."""
    gc.collect()
    gc.freeze()


def all_routes() -> list[BaseRoute]:
    return [route for feature in FEATURES for route in getattr(feature, "routes", [])]


def create_app(settings: Settings) -> Starlette:
    obs = build(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        obs.store.open()
        await obs.pipeline.restore()
        started = []
        try:
            for feature in FEATURES:
                if hasattr(feature, "start"):
                    await feature.start(obs)
                    started.append(feature)
            settle_heap()
            yield
        finally:
            for feature in reversed(started):
                if hasattr(feature, "stop"):
                    try:
                        await feature.stop(obs)
                    except Exception:
                        log.exception("stopping %s failed", feature.__name__)
            saved = obs.pipeline.save_sessions(wait=True)
            if saved is not None:
                await saved
            await obs.store.close()

    app = Starlette(routes=all_routes(), lifespan=lifespan, middleware=[
        Middleware(IngestFastPath, paths=otlp.receivers, hook=hooks.hook),
        Middleware(GZipMiddleware, minimum_size=1024),
        Middleware(LocalBrowserPairing)])
    app.state.obs = obs
    return app


def create_remote_app(app: Starlette) -> Starlette:
    """The remote listener's app: the same Observatory and routes behind the remote policy.
    No lifespan: the local app's lifespan owns the Observatory."""
    remote = Starlette(routes=app.routes, middleware=[Middleware(GZipMiddleware, minimum_size=1024),
                                                      Middleware(RemotePolicy)])
    remote.state.obs = app.state.obs
    return remote
