"""JSON request bodies for the API's state-changing endpoints, and their 4xx answers."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from observatory.ingest.body import BadInput, read_body

log = logging.getLogger("observatory.api")

API_BODY_LIMIT = 64 * 1024


def invalid(message: str) -> BadInput:
    """A 400 with one line a person can act on."""
    return BadInput(400, message)


async def json_body(request: Request, limit: int = API_BODY_LIMIT) -> Any:
    """The parsed body (None when empty); BadInput 400/413 otherwise."""
    body = await read_body(request, limit)
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid(f"body is not JSON: {exc}") from None


def client_error(request: Request, exc: BadInput) -> JSONResponse:
    log.warning("%s %s → %d: %s", request.method, request.url.path, exc.status, exc)
    return JSONResponse({"error": str(exc)}, status_code=exc.status)
