"""Web Push delivery: one encrypted message per alert to every subscription that wants it.

Delivery runs as tasks on the loop (pywebpush's aiohttp client), so an alert never waits for
a phone's push service. Gone subscriptions (404/410) are deleted; 429/5xx and network errors
are retried a bounded number of times, honouring Retry-After (seconds or an HTTP date).
Every attempt is logged with its outcome, never with the endpoint URL (a bearer capability).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async

from observatory import vapid as keys
from observatory.config import PushSettings
from observatory.model import Alert, iso, now_ns
from observatory.quiet_hours import in_quiet_hours
from observatory.store import alerts as sql
from observatory.store.alerts import Subscription

log = logging.getLogger("observatory.push")

MAX_ATTEMPTS = 4
BACKOFF_S = 1.0  # doubled per attempt, with jitter
MAX_RETRY_WAIT_S = 60.0  # a longer Retry-After means the message would arrive too late to matter
REQUEST_TIMEOUT_S = 10.0
PAYLOAD_MAX_BYTES = 3000  # push services accept ~4 KB of ciphertext; keep clear of it
URGENT_KINDS = frozenset({"crash", "approval_needed"})  # Urgency high; they also break quiet hours
TEST_KIND = "test"


def topic(session_id: str) -> str:
    """Topic header: ≤ 32 chars of the base64url alphabet, so hash the session id.

    A newer message with the same topic replaces an undelivered older one at the push service.
    """
    return keys.b64url(hashlib.sha256(session_id.encode()).digest())[:32]


def payload(alert: Alert) -> bytes:
    """The JSON the service worker shows; the tag collapses notifications per session."""
    body = alert.body
    while True:
        data = {"title": alert.title[:120], "body": body, "url": alert.url if alert.session_id else "/",
                "tag": f"session-{alert.session_id}" if alert.session_id else "observatory-test",
                "kind": alert.kind, "session_id": alert.session_id, "created_at": iso(alert.created_at),
                "alert_id": str(alert.id)}
        encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        if len(encoded) <= PAYLOAD_MAX_BYTES or not body:
            return encoded
        body = body[: max(0, len(body) - (len(encoded) - PAYLOAD_MAX_BYTES) - 1)].rstrip() + "…"
        if len(body) <= 1:
            body = ""


def retry_after_s(value: str | None) -> float | None:
    """Retry-After as seconds from now: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def wants(sub: Subscription, kind: str, at: datetime) -> bool:
    """The subscription's kind filter and quiet hours; urgent kinds break through quiet hours."""
    if kind == TEST_KIND:
        return True
    if sub.kinds is not None and kind not in sub.kinds:
        return False
    return kind in URGENT_KINDS or not (sub.quiet_hours and in_quiet_hours(sub.quiet_hours, at))


class Pusher:
    """Holds the subscriptions in memory (no table read per alert) and delivers to them."""

    def __init__(self, store: Any, vapid: Vapid, settings: PushSettings) -> None:
        self.store = store
        self.vapid = vapid
        self.settings = settings  # read at each send, so a changed TTL applies at once
        self.subscriptions: dict[str, Subscription] = {}
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task] = set()
        self.attempts = 0  # for /api/health-like introspection and tests of the retry bound

    async def start(self) -> None:
        self.subscriptions = {s.endpoint: s for s in await self.store.read(sql.list_subscriptions)}
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    async def subscribe(self, sub: Subscription) -> int:
        sub.created_at = sub.created_at or now_ns()
        sub.id = await self.store.write(sql.upsert_subscription, sub)
        self.subscriptions[sub.endpoint] = sub
        return sub.id

    async def unsubscribe(self, endpoint: str) -> bool:
        self.subscriptions.pop(endpoint, None)
        return bool(await self.store.write(sql.delete_subscription, endpoint))

    def notify(self, alert: Alert) -> int:
        """Start one delivery per interested subscription; returns how many were started."""
        now = datetime.now(timezone.utc)
        targets = [s for s in self.subscriptions.values() if wants(s, alert.kind, now)]
        for sub in targets:
            task = asyncio.create_task(self.deliver(sub, alert))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(targets)

    async def send_test(self, endpoint: str | None) -> list[dict[str, Any]]:
        """Deliver a test message now and report each outcome (for the settings page)."""
        targets = [s for s in self.subscriptions.values() if endpoint is None or s.endpoint == endpoint]
        alert = Alert(session_id="", kind=TEST_KIND, title="Agent Observatory",
                      body="Test notification: push works on this device.", created_at=now_ns())
        outcomes = await asyncio.gather(*(self.deliver(s, alert) for s in targets))
        return [{"id": str(s.id), "outcome": o} for s, o in zip(targets, outcomes)]

    async def deliver(self, sub: Subscription, alert: Alert) -> str:
        """Send with bounded retries; returns the final outcome ("delivered", "gone", …)."""
        data = payload(alert).decode()
        headers = {"Urgency": "high" if alert.kind in URGENT_KINDS else "normal"}
        if alert.session_id:
            headers["Topic"] = topic(alert.session_id)
        host = urlsplit(sub.endpoint).hostname
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.attempts += 1
            started = time.monotonic()
            wait, outcome = await self._attempt(sub, data, headers)
            log.info("push alert=%s kind=%s subscription=%s host=%s attempt=%d → %s (%.0f ms)", alert.id,
                     alert.kind, sub.id, host, attempt, outcome, (time.monotonic() - started) * 1000)
            if wait is None:
                return outcome
            if attempt == MAX_ATTEMPTS:
                return f"gave up: {outcome}"
            delay = wait if wait > 0 else BACKOFF_S * 2 ** (attempt - 1) * (0.5 + random.random())
            if delay > MAX_RETRY_WAIT_S:
                log.warning("push alert=%s subscription=%s: Retry-After %.0f s is too long; dropped",
                            alert.id, sub.id, delay)
                return f"gave up: {outcome}"
            await asyncio.sleep(delay)
        return "gave up"

    async def _attempt(self, sub: Subscription, data: str, headers: dict[str, str]) -> tuple[float | None, str]:
        """One POST. Returns (None, outcome) when done, else (seconds to wait or 0 for backoff, outcome)."""
        try:
            await webpush_async(sub.info(), data, vapid_private_key=self.vapid,
                                vapid_claims={"sub": self.settings.subject},  # fresh dict: pywebpush fills in aud/exp
                                ttl=self.settings.ttl_s, headers=headers, aiohttp_session=self._http,
                                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S))
        except WebPushException as exc:
            status = exc.status_code
            if status in (404, 410):
                await self.unsubscribe(sub.endpoint)
                return None, f"gone ({status}): subscription deleted"
            if status == 429 or (status is not None and status >= 500):
                return retry_after_s(exc.retry_after) or 0.0, f"retry ({status})"
            return None, f"rejected ({status})"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            return 0.0, f"network error ({type(exc).__name__})"
        await self.store.write(sql.mark_delivered, sub.endpoint, now_ns())
        return None, "delivered"
