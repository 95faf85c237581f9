"""Control API: kill / restart a session, action outcomes, the audit log, WS /api/agents.

A supervised session (its `observatory run` connected) is killed or restarted by its
supervisor; an unsupervised one can only be killed, by pid, after pidkill verifies the
process is still the agent first seen. Every attempt, allowed or refused, is audited.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from observatory.auth.guard import authorize, client_address, require_control
from observatory.auth.token import ensure_token
from observatory.control import pidkill
from observatory.control.actions import Actions
from observatory.control.registry import Registry

log = logging.getLogger("observatory.control")

HELLO_WAIT_S = 10.0
SUPERVISOR_ANSWER_S = 15.0  # beyond the kill grace: a restart also spawns the new agent
AUDIT_PAGE_MAX = 500


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _control(request: Request, action: str) -> Response:
    obs = request.app.state.obs
    actions: Actions = obs.services["control_actions"]
    registry: Registry = obs.services["supervisors"]
    session_id = request.path_params["session_id"]
    client = client_address(request)
    refusal = await require_control(request)
    who = request.state.control_actor

    async def audit(result: str, pid: int | None = None) -> None:
        await actions.audit(who, action, result, client=client, session_id=session_id, pid=pid)

    if refusal is not None:
        await audit(f"refused {refusal.status_code}: {json.loads(bytes(refusal.body))['error']}")
        return refusal
    session = obs.sessions.get(session_id)
    if session is None:
        await audit("refused 404: unknown session")
        return _error(404, f"no session {session_id!r}")
    grace = obs.settings.control.kill_grace_s
    sup = registry.for_session(session_id)
    if sup is not None and sup.connected:
        action_id = await actions.create(session_id, action, who, client, sup.child_pid, f"supervisor:{sup.id}",
                                         grace + SUPERVISOR_ANSWER_S)
        await registry.command(sup, action_id, action, grace)
        return JSONResponse({"action_id": action_id, "via": "supervisor"}, status_code=202)
    if action == "restart":
        reason = (f"the supervisor of session {session_id} is not connected (has its `observatory run` ended?)"
                  if sup is not None or session.supervised else
                  f"session {session_id} is not supervised, so it cannot be restarted from here; start the agent "
                  "as `observatory run -- claude …` to make restart possible (it can still be killed)")
        await audit(f"refused 409: {reason}", session.pid)
        return _error(409, reason)
    try:
        proc = pidkill.verified_process(session)
    except pidkill.Refused as exc:
        await audit(f"refused 409: {exc}", session.pid)
        return _error(409, str(exc))
    action_id = await actions.create(session_id, action, who, client, proc.pid, "pid", grace + SUPERVISOR_ANSWER_S)
    asyncio.create_task(_kill_by_pid(actions, action_id, proc, grace))
    return JSONResponse({"action_id": action_id, "via": "pid"}, status_code=202)


async def _kill_by_pid(actions: Actions, action_id: str, proc: Any, grace: float) -> None:
    try:
        detail = await pidkill.terminate_tree(proc, grace)
    except Exception as exc:  # the outcome must be recorded whatever happens
        log.exception("kill by pid failed")
        await actions.finish(action_id, False, {"error": f"kill failed: {exc}"})
        return
    await actions.finish(action_id, not detail["survivors"], detail)


async def kill(request: Request) -> Response:
    return await _control(request, "kill")


async def restart(request: Request) -> Response:
    return await _control(request, "restart")


async def get_action(request: Request) -> Response:
    row = await request.app.state.obs.services["control_actions"].get(request.path_params["action_id"])
    if row is None:
        return _error(404, f"no action {request.path_params['action_id']!r}")
    return JSONResponse(row)


async def audit_log(request: Request) -> Response:
    refusal = await require_control(request)
    if refusal is not None:
        return refusal
    try:
        limit = int(request.query_params.get("limit", "100"))
        before = request.query_params.get("before")
        before_id = int(before) if before else None
    except ValueError:
        return _error(400, "limit and before must be integers")
    if not 1 <= limit <= AUDIT_PAGE_MAX:
        return _error(400, f"limit must be between 1 and {AUDIT_PAGE_MAX}")
    rows = await request.app.state.obs.services["control_actions"].recent_audit(before_id, limit)
    return JSONResponse({"audit": rows, "next": rows[-1]["id"] if len(rows) == limit else None})


async def list_supervisors(request: Request) -> Response:
    registry: Registry = request.app.state.obs.services["supervisors"]
    return JSONResponse({"supervisors": [s.to_api() for s in registry.by_id.values()]})


async def agents(ws: WebSocket) -> None:
    """A supervisor's connection: hello, then reports (each acknowledged); commands go back."""
    obs = ws.app.state.obs
    actions: Actions = obs.services["control_actions"]
    registry: Registry = obs.services["supervisors"]
    refusal = await authorize(ws, allow_device=False)
    if refusal is not None:
        await actions.audit(ws.state.control_actor, "connect_supervisor", f"refused {refusal.status_code}",
                            client=client_address(ws))
        await ws.close(code=1008)
        return
    await ws.accept()
    try:
        hello = await asyncio.wait_for(ws.receive_json(), HELLO_WAIT_S)
        if not isinstance(hello, dict) or hello.get("type") != "hello" or not hello.get("supervisor_id"):
            await ws.close(code=1003, reason="first message must be a hello with a supervisor_id")
            return
    except (asyncio.TimeoutError, ValueError, WebSocketDisconnect):
        await ws.close(code=1003, reason="expected a JSON hello")
        return
    sup = await registry.hello(hello, ws)
    try:
        while True:
            msg = await ws.receive_json()
            if isinstance(msg, dict):
                await registry.report(sup, msg)
    except (WebSocketDisconnect, RuntimeError):
        pass
    except ValueError:
        log.warning("supervisor %s sent a non-JSON message; closing", sup.id)
        await ws.close(code=1003, reason="messages must be JSON")
    finally:
        await registry.disconnected(sup, ws)


async def _follow_sessions(obs: Any, registry: Registry) -> None:
    sub = obs.bus.subscribe(obs.settings.ws_queue_max, types=("session",))
    try:
        while True:
            msg = await sub.get()
            if sub.overflowed:
                sub.overflowed = False
                for session in list(obs.sessions.by_id.values()):
                    await registry.session_changed(session)
            else:
                try:
                    await registry.session_changed(msg.obj)
                except Exception:
                    log.exception("linking session %s failed", msg.obj.id)
    finally:
        sub.close()


async def start(obs: Any) -> None:
    ensure_token(obs.settings.data_dir)
    actions = Actions(obs)
    registry = Registry(obs, actions)
    obs.services["control_actions"] = actions
    obs.services["supervisors"] = registry
    await actions.fail_leftovers()
    obs.services["control_follower"] = asyncio.create_task(_follow_sessions(obs, registry))


async def stop(obs: Any) -> None:
    obs.services["control_follower"].cancel()
    obs.services["control_actions"].cancel_timeouts()
    await obs.services["supervisors"].close_all()


routes = [
    Route("/api/sessions/{session_id}/kill", kill, methods=["POST"]),
    Route("/api/sessions/{session_id}/restart", restart, methods=["POST"]),
    Route("/api/actions/{action_id}", get_action),
    Route("/api/audit", audit_log),
    Route("/api/supervisors", list_supervisors),
    WebSocketRoute("/api/agents", agents),
]
