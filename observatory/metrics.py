"""GET /metrics in the Prometheus text format, fed from the bus and live gauges."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from observatory.bus import Consumer, Message


class Metrics:
    """One registry per app, so several apps (tests) never share counters."""

    def __init__(self, obs) -> None:  # noqa: ANN001
        self.registry = CollectorRegistry()
        self.events = Counter("observatory_events", "Events stored, by agent and kind", ["agent", "kind"],
                              registry=self.registry)
        self.alerts = Counter("observatory_alerts", "Alerts raised, by kind", ["kind"], registry=self.registry)
        Gauge("observatory_queue_depth", "Records waiting for the SQLite writer",
              registry=self.registry).set_function(lambda: obs.store.pending)
        Gauge("observatory_ws_clients", "Connected live WebSocket clients",
              registry=self.registry).set_function(lambda: obs.live_clients)
        self.sessions = Gauge("observatory_sessions", "Sessions by status", ["status"], registry=self.registry)
        self.obs = obs
        self.consumer = Consumer(obs.bus, self._count, "metrics")

    def start(self) -> None:
        self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def _count(self, msg: Message) -> None:
        if msg.type == "event":
            self.events.labels(msg.obj.agent, msg.obj.kind.value).inc()
        elif msg.type == "alert" and msg.obj.acked_at is None and msg.obj.resolved_at is None:
            self.alerts.labels(msg.obj.kind).inc()  # not the updates of an alert (ack, resolve)

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
