"""Who may control agents: the bearer token, or a paired device plus its CSRF header.

`require_control(request)` answers None when allowed (and records who in
`request.state.control_actor`: "token" or "device:<name>"), else the 401/403/429 JSON
response to return. Failures are counted per client address so guessing the token is
pointless, and logged without the credential.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import deque
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

from observatory.auth.devices import on_remote
from observatory.auth.token import read_token, same_secret

log = logging.getLogger("observatory.auth")

MAX_FAILURES = 10
WINDOW_S = 60.0
TRACKED_CLIENTS = 4096


class FailureLimiter:
    """Failed attempts per client address in a sliding window; bounded memory."""

    def __init__(self, limit: int = MAX_FAILURES, window_s: float = WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.get(client, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def retry_after(self, client: str) -> int:
        """Seconds until this client may try again; 0 when it may now."""
        now = time.monotonic()
        times = self._recent(client, now)
        if len(times) < self.limit:
            return 0
        return max(1, int(times[0] + self.window_s - now + 0.999))

    def failed(self, client: str) -> None:
        now = time.monotonic()
        times = self._recent(client, now)
        times.append(now)
        self._failures.pop(client, None)
        self._failures[client] = times
        if len(self._failures) > TRACKED_CLIENTS:
            del self._failures[next(iter(self._failures))]


def client_address(conn: HTTPConnection) -> str:
    """Who to rate-limit and audit: behind the tunnel every peer is cloudflared on loopback,
    so on the remote listener the visitor's address comes from Cf-Connecting-IP."""
    if on_remote(conn) and conn.headers.get("cf-connecting-ip"):
        return conn.headers["cf-connecting-ip"]
    return conn.client.host if conn.client else "unknown"


def _limiter(conn: HTTPConnection) -> FailureLimiter:
    return conn.app.state.obs.services.setdefault("control_failures", FailureLimiter())


async def _call(fn: Any, conn: HTTPConnection) -> Any:
    result = fn(conn)
    return await result if inspect.isawaitable(result) else result


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _check_token(conn: HTTPConnection, given: str) -> tuple[str, int, str]:
    """(actor, status, error); status 0 when the token is right."""
    expected = read_token(conn.app.state.obs.settings.data_dir)
    if expected and same_secret(given, expected):
        return "token", 0, ""
    return "invalid token", 403, "wrong control token; `observatory token` prints the current one"


async def _authenticate(conn: HTTPConnection, allow_device: bool) -> tuple[str, int, str]:
    given = _bearer(conn)
    if given is not None:
        return _check_token(conn, given)
    devices = conn.app.state.obs.services.get("devices") if allow_device else None
    if devices is not None:
        name = await _call(devices.verify, conn)
        if name:
            expected = await _call(devices.csrf_token, conn)
            sent = conn.headers.get("x-csrf-token", "")
            if expected and sent and same_secret(sent, str(expected)):
                return f"device:{name}", 0, ""
            return f"device:{name}", 403, "missing or wrong X-CSRF-Token header; reload the dashboard"
    return "anonymous", 401, ("control needs a credential: header 'Authorization: Bearer <token>' "
                              "(`observatory token` prints it) or a paired device")


async def authorize(conn: HTTPConnection, allow_device: bool = True) -> Response | None:
    """None when allowed; else the refusal. Sets conn.state.control_actor either way."""
    client = client_address(conn)
    limiter = _limiter(conn)
    wait = limiter.retry_after(client)
    if wait:
        conn.state.control_actor = "rate-limited"
        log.warning("control refused for %s %s: too many failed attempts", client, conn.url.path)
        return JSONResponse({"error": f"too many failed control attempts; retry in {wait} s"},
                            status_code=429, headers={"Retry-After": str(wait)})
    actor, status, error = await _authenticate(conn, allow_device)
    conn.state.control_actor = actor
    if status == 0:
        return None
    limiter.failed(client)
    log.warning("control refused for %s %s (%s): %s", client, conn.url.path, actor, error)
    return JSONResponse({"error": error}, status_code=status)


async def require_control(request: HTTPConnection) -> Response | None:
    """The check every control endpoint runs first (token or device + CSRF)."""
    return await authorize(request, allow_device=True)
