"""POST /hooks/{agent}: a hook's stdin JSON → the agent's adapter → events.

`X-Agent-Pid` carries the agent's process id (the hook's parent's parent for Claude Code).
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from observatory import agents
from observatory.agents.base import HookCall
from observatory.ingest.body import BadInput, read_body
from observatory.ingest.respond import error_response, ingest_or_503
from observatory.model import now_ns
from observatory.store.events import Raw

HOOK_BODY_LIMIT = 4 * 1024 * 1024


async def _payload(request: Request) -> tuple[object, dict, bytes]:
    name = request.path_params["agent"]
    adapter = agents.get(name)
    if adapter is None:
        raise BadInput(404, f"unknown agent {name!r}; known agents: {', '.join(sorted(agents.ADAPTERS))}")
    body = await read_body(request, min(HOOK_BODY_LIMIT, request.app.state.obs.settings.max_body_bytes))
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(400, f"hook body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise BadInput(400, f"hook body must be a JSON object, got {type(payload).__name__}")
    return adapter, payload, body


def _pid(request: Request) -> int | None:
    value = request.headers.get("x-agent-pid", "")
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


async def ingest_hook(request: Request) -> tuple[dict | None, Response]:
    """Parse, normalise and store one hook call: (its payload, or None when refused; the answer)."""
    try:
        adapter, payload, body = await _payload(request)
    except BadInput as exc:
        return None, error_response(request, exc.status, str(exc))
    received = now_ns()
    call = HookCall(payload, received, _pid(request), request.query_params.get("event"))
    events = adapter.normalise_hook(call)  # type: ignore[attr-defined]
    raw = Raw(received, adapter.name, f"hook:{adapter.name}", "application/json",  # type: ignore[attr-defined]
              body)
    answer = await ingest_or_503(request, events, raw, lambda: JSONResponse({"ok": True, "events": len(events)}))
    return (payload if answer.status_code == 200 else None), answer


async def hook(request: Request) -> Response:
    return (await ingest_hook(request))[1]


async def notify(request: Request) -> Response:
    """Codex's legacy `notify` program JSON (agent-turn-complete), a fallback channel."""
    try:
        adapter, payload, body = await _payload(request)
        normalise = getattr(adapter, "normalise_notify", None)
        if normalise is None:
            raise BadInput(404, f"agent {adapter.name!r} has no notify channel")  # type: ignore[attr-defined]
    except BadInput as exc:
        return error_response(request, exc.status, str(exc))
    received = now_ns()
    events = normalise(payload, received)
    raw = Raw(received, adapter.name, f"notify:{adapter.name}", "application/json",  # type: ignore[attr-defined]
              body)
    return await ingest_or_503(request, events, raw, lambda: JSONResponse({"ok": True, "events": len(events)}))


routes = [
    Route("/hooks/{agent}", hook, methods=["POST"]),
    Route("/hooks/{agent}/notify", notify, methods=["POST"]),
]
