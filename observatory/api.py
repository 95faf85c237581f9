"""The read API of DESIGN.md: sessions, their events, health, costs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from observatory import __version__
from observatory.model import now_ns
from observatory.store import events as sql

MAX_PAGE = 1000


def not_found(what: str) -> JSONResponse:
    return JSONResponse({"error": what}, status_code=404)


def bad_request(what: str) -> JSONResponse:
    return JSONResponse({"error": what}, status_code=400)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = int(raw)  # ValueError → 400 by the caller
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}")
    return value


async def list_sessions(request: Request) -> Response:
    obs = request.app.state.obs
    q = request.query_params
    wanted = {k: q[k] for k in ("status", "agent", "project") if q.get(k)}
    sessions = [s.to_api() for s in obs.sessions.ordered()]
    if wanted:
        sessions = [s for s in sessions if all(s[k] == v for k, v in wanted.items())]
    return JSONResponse({"sessions": sessions, "seq": obs.bus.seq})


async def get_session(request: Request) -> Response:
    session = request.app.state.obs.sessions.get(request.path_params["session_id"])
    if session is None:
        return not_found(f"no session {request.path_params['session_id']!r}")
    return JSONResponse(session.to_api())


async def session_events(request: Request) -> Response:
    obs = request.app.state.obs
    sid = request.path_params["session_id"]
    session = obs.sessions.get(sid)
    if session is None:
        return not_found(f"no session {sid!r}")
    try:
        after = _int_param(request, "after", 0, 0, 2**62)
        limit = _int_param(request, "limit", 200, 1, MAX_PAGE)
    except ValueError as exc:
        return bad_request(f"bad query parameter: {exc}")
    # Every committed event has been applied already: none of this session's is past its last_seq.
    events = await obs.store.read(sql.session_events, sid, after, limit + 1, session.last_seq)
    more = len(events) > limit
    events = events[:limit]
    return JSONResponse({"events": [e.to_api() for e in events],
                         "next": events[-1].seq if more else None})


async def health(request: Request) -> Response:
    obs = request.app.state.obs
    return JSONResponse({
        "status": "ok",
        "version": __version__,
        "schema_version": obs.store.schema_version,
        "seq": obs.bus.seq,
        "sessions": len(obs.sessions.by_id),
        "queue_depth": obs.store.pending,
        "ws_clients": obs.live_clients,
        "ingested": obs.pipeline.ingested(),
        "unknown_events": dict(obs.pipeline.unknown_events),
        "decode_worker": obs.services["decode_worker"].status(),
    })


async def costs(request: Request) -> Response:
    try:
        days = _int_param(request, "days", 30, 1, 3660)
    except ValueError as exc:
        return bad_request(f"bad query parameter: {exc}")
    since = now_ns() - days * 86400 * 10**9
    rows = await request.app.state.obs.store.read(sql.costs_by_day, since)
    return JSONResponse({"rows": rows})


routes = [
    Route("/api/health", health),
    Route("/api/sessions", list_sessions),
    Route("/api/sessions/{session_id}", get_session),
    Route("/api/sessions/{session_id}/events", session_events),
    Route("/api/costs", costs),
]
