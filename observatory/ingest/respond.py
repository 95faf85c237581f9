"""What both ingest channels answer: errors logged and explained, 503 when saturated."""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from observatory.model import Event
from observatory.store import Saturated
from observatory.store.events import Raw

log = logging.getLogger("observatory.ingest")


def error_response(request: Request, status: int, message: str, **headers: str) -> JSONResponse:
    client = request.client.host if request.client else "?"
    log.warning("%s %s from %s → %d: %s", request.method, request.url.path, client, status, message)
    obs = request.app.state.obs
    obs.pipeline.rejected_requests += 1
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def busy(request: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After: the writer (or the decoder) is saturated; OTLP clients retry."""
    return error_response(request, 503, f"{exc}; retry shortly", **{"Retry-After": "1"})


async def ingest_or_503(request: Request, events: list[Event], raw: Raw,
                        ok: Callable[[], Response], rows: list[tuple] | None = None) -> Response:
    try:
        await request.app.state.obs.pipeline.ingest(events, raw, rows)
    except Saturated as exc:
        return busy(request, exc)
    return ok()
