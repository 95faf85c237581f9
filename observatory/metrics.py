"""GET /metrics in the Prometheus text format, read from the pipeline's and alert book's
counters when scraped: a bus subscriber counting every event cost each ingest batch a
task wake-up and a labelled-counter lookup per event."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class _Counts(Collector):
    """Events stored by agent and kind, alerts raised by kind."""

    def __init__(self, obs) -> None:  # noqa: ANN001
        self.obs = obs

    def collect(self) -> Iterator[CounterMetricFamily]:
        events = CounterMetricFamily("observatory_events", "Events stored, by agent and kind", labels=["agent", "kind"])
        for (agent, kind), n in sorted(self.obs.pipeline.stored_kinds.items()):
            events.add_metric([agent, kind], n)
        yield events
        alerts = CounterMetricFamily("observatory_alerts", "Alerts raised, by kind", labels=["kind"])
        book = self.obs.services.get("alerts")
        for kind, n in sorted(book.raised.items() if book is not None else ()):
            alerts.add_metric([kind], n)
        yield alerts


class Metrics:
    """One registry per app, so several apps (tests) never share counters."""

    def __init__(self, obs) -> None:  # noqa: ANN001
        self.registry = CollectorRegistry()
        self.registry.register(_Counts(obs))
        Gauge("observatory_queue_depth", "Records waiting for the SQLite writer",
              registry=self.registry).set_function(lambda: obs.store.pending)
        Gauge("observatory_ws_clients", "Connected live WebSocket clients",
              registry=self.registry).set_function(lambda: obs.live_clients)
        self.sessions = Gauge("observatory_sessions", "Sessions by status", ["status"], registry=self.registry)
        self.obs = obs

    def render(self) -> bytes:
        counts: dict[str, int] = {}
        for s in self.obs.sessions.by_id.values():
            counts[s.status.value] = counts.get(s.status.value, 0) + 1
        self.sessions.clear()
        for status, n in counts.items():
            self.sessions.labels(status).set(n)
        return generate_latest(self.registry)


async def metrics(request: Request) -> Response:
    return Response(request.app.state.obs.metrics.render(), media_type=CONTENT_TYPE_LATEST)


routes = [Route("/metrics", metrics)]
