"""The alert book: dedupe, cooldown, storage, bus and push for what the detector decides.

One open alert per (session, kind) until it resolves; after one fires, the same
(session, kind) stays quiet for `cooldown_s` even if it resolved meanwhile — except
approval_needed: every new permission prompt blocks the agent until someone answers, so
each one is worth a buzz (the notification tag still collapses them per session).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from observatory.auth.guard import require_control
from observatory.bus import Message
from observatory.model import Alert, now_ns
from observatory.store import alerts as sql

log = logging.getLogger("observatory.alerts")

NO_COOLDOWN_KINDS = frozenset({"approval_needed"})
LIST_LIMIT = 200
COOLDOWN_MEMORY_PRUNE_S = 60.0


class AlertBook:
    def __init__(self, obs: Any) -> None:
        self.obs = obs
        self.open: dict[tuple[str, str], Alert] = {}
        self.last_fired: dict[tuple[str, str], int] = {}  # ns, for the cooldown
        self.suppressed = 0
        self.raised: Counter[str] = Counter()  # by kind, for /metrics
        self._pruned_at = 0

    @property
    def settings(self) -> Any:
        return self.obs.settings.alerts

    async def load(self) -> None:
        """Remember open alerts and recent firings, so a restart neither repeats nor forgets them."""
        since = now_ns() - int(self.settings.cooldown_s * 1e9)
        for alert in await self.obs.store.read(sql.recent_alerts, since):
            key = (alert.session_id, alert.kind)
            self.last_fired[key] = max(self.last_fired.get(key, 0), alert.created_at)
            if alert.resolved_at is None:
                self.open[key] = alert

    def is_open(self, session_id: str, kind: str) -> bool:
        return (session_id, kind) in self.open

    async def fire(self, session_id: str, kind: str, title: str, body: str) -> Alert | None:
        """Store, publish and push one alert, unless disabled, already open or cooling down."""
        if kind not in self.settings.kinds:
            return None
        key = (session_id, kind)
        now = now_ns()
        self._prune(now)
        if key in self.open:
            return None
        if kind not in NO_COOLDOWN_KINDS and now - self.last_fired.get(key, 0) < self.settings.cooldown_s * 1e9:
            self.suppressed += 1
            log.info("alert %s for session %s suppressed: cooldown", kind, session_id)
            return None
        alert = Alert(session_id=session_id, kind=kind, title=title, body=body, created_at=now)
        self.open[key] = alert  # claimed before the await: a concurrent fire sees it open
        self.last_fired[key] = now
        try:
            alert.id = await self.obs.store.write(sql.insert_alert, alert)
        except Exception:  # e.g. the writer is saturated: give the next occurrence its chance
            log.exception("could not store the %s alert for session %s", kind, session_id)
            self.open.pop(key, None)
            self.last_fired.pop(key, None)
            return None
        if alert.resolved_at is not None:  # resolved while it was being stored
            self.obs.store.submit(sql.resolve_alerts, [alert.id], alert.resolved_at, weight=0, wait=False)
        log.info("alert %d %s for session %s: %s", alert.id, kind, session_id, title)
        self.raised[kind] += 1
        self._publish(alert)
        push = self.obs.services.get("push")
        if push is not None:
            push.notify(alert)
        return alert

    def resolve(self, session_id: str, kinds: tuple[str, ...] | frozenset[str]) -> list[Alert]:
        """Close the open alerts of these kinds for the session (the session moved on).
        Called for every session change, so the usual case (nothing open) returns at once."""
        if not self.open:
            return []
        now = now_ns()
        closed = []
        for kind in kinds:
            alert = self.open.pop((session_id, kind), None)
            if alert is None:
                continue
            alert.resolved_at = now
            closed.append(alert)
            self._publish(alert)
        stored = [a.id for a in closed if a.id]
        if stored:
            self.obs.store.submit(sql.resolve_alerts, stored, now, weight=0, wait=False)
        return closed

    def _prune(self, now: int) -> None:
        """Forget cooldowns that have run out, so memory follows the active sessions only."""
        if now - self._pruned_at < COOLDOWN_MEMORY_PRUNE_S * 1e9:
            return
        self._pruned_at = now
        horizon = now - int(self.settings.cooldown_s * 1e9)
        self.last_fired = {k: t for k, t in self.last_fired.items() if t >= horizon}

    async def ack(self, alert_id: int) -> Alert | None:
        alert = await self.obs.store.write(sql.ack_alert, alert_id, now_ns())
        if alert is None:
            return None
        live = self.open.get((alert.session_id, alert.kind))
        if live is not None and live.id == alert.id:
            live.acked_at = alert.acked_at
        self._publish(alert)
        return alert

    def _publish(self, alert: Alert) -> None:
        """A snapshot: the live alert changes later (ack, resolve); each change is published anew
        and clients upsert by id. Only a fresh one (neither acked nor resolved) is a new alert."""
        self.obs.bus.publish(Message("alert", dataclasses.replace(alert)))


async def list_alerts(request: Request) -> Response:
    session_id = request.query_params.get("session_id") or None
    raw_limit = request.query_params.get("limit", str(LIST_LIMIT))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
        return JSONResponse({"error": "limit must be a whole number from 1 to 1000"}, status_code=400)
    alerts = await request.app.state.obs.store.read(sql.list_alerts, session_id, int(raw_limit))
    return JSONResponse({"alerts": [a.to_api() for a in alerts]})


async def ack_alert(request: Request) -> Response:
    if (refused := await require_control(request)) is not None:
        return refused
    raw_id = request.path_params["alert_id"]
    if not raw_id.isdigit() or len(raw_id) > 18:
        return JSONResponse({"error": f"alert id must be a number, got {raw_id!r}"}, status_code=400)
    alert = await request.app.state.obs.services["alerts"].ack(int(raw_id))
    if alert is None:
        return JSONResponse({"error": f"no alert {raw_id}"}, status_code=404)
    return JSONResponse(alert.to_api())


async def start(obs: Any) -> None:
    book = obs.services["alerts"] = AlertBook(obs)
    await book.load()


routes = [
    Route("/api/alerts", list_alerts),
    Route("/api/alerts/{alert_id}/ack", ack_alert, methods=["POST"]),
]
