"""Away mode over HTTP: the held permission hook, the switch, the approvals list and decisions.

POST /hooks/{agent}/permission ingests the hook like POST /hooks/{agent}; with away mode on it
then holds the answer until a decision from the phone, the wait running out, or the request
being answered at the terminal. Only a phone decision yields decision JSON; every other
outcome answers an empty body, which Claude Code (and Codex) read as "no decision": the
normal terminal prompt, which stays on screen while the hook is held, takes the answer.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from observatory import alert_settings
from observatory.agents.base import tool_detail
from observatory.auth.guard import client_address, require_control
from observatory.away import HOOK_TIMEOUT_S
from observatory.away.book import DECISIONS, ApprovalBook, Conflict
from observatory.bus import Consumer
from observatory.ingest.body import BadInput
from observatory.ingest.hooks import ingest_hook
from observatory.model import now_ns
from observatory.request_json import client_error, invalid, json_body
from observatory.store import approvals as sql
from observatory.store.approvals import Approval

log = logging.getLogger("observatory.away")

WAIT_MARGIN_S = 10  # the server always answers this long before the agent would give up
MAX_WAIT_S = HOOK_TIMEOUT_S - WAIT_MARGIN_S
MESSAGE_MAX = 2000
LIST_MAX = 200
DEFAULT_DENY_MESSAGE = "The user denied this from their phone (Observatory away mode)."


def book(request: Request) -> ApprovalBook:
    return request.app.state.obs.services["approvals"]


def decision_output(approval: Approval) -> dict[str, Any]:
    """Claude Code's documented PermissionRequest output (Codex reads the same shape)."""
    decision: dict[str, Any] = {"behavior": "allow"}
    if approval.status == "denied":
        decision = {"behavior": "deny", "message": approval.message or DEFAULT_DENY_MESSAGE}
    return {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}}


def no_decision() -> Response:
    return Response(b"", media_type="application/json")


async def _hook_gone(request: Request) -> None:
    """Returns when the agent closes the held request (its hook timeout, or Esc at the prompt)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _hold(request: Request, approvals: ApprovalBook, approval: Approval, wait_s: float) -> Approval:
    outcome = approvals.outcome(approval)
    gone = asyncio.ensure_future(_hook_gone(request))
    try:
        await asyncio.wait({outcome, gone}, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if outcome.done():
        return outcome.result()
    try:
        return await approvals.settle(approval.id, "hook_gone" if gone.done() and not gone.cancelled()
                                      else "timed_out")
    except Conflict:
        return outcome.result()  # decided in the same instant: the first outcome stands


async def permission_hook(request: Request) -> Response:
    payload, answer = await ingest_hook(request)
    if payload is None:
        return answer  # refused or saturated: the agent counts a hook error and shows its prompt
    obs = request.app.state.obs
    away = obs.settings.away
    if not away.enabled or payload.get("hook_event_name", "PermissionRequest") != "PermissionRequest" \
            or not isinstance(payload.get("session_id"), str):
        return no_decision()
    approvals = book(request)
    wait_s = min(float(away.wait_s), MAX_WAIT_S)
    try:
        approval = await approvals.open(request.path_params["agent"], payload, wait_s)
        outcome = await _hold(request, approvals, approval, wait_s)
    except Exception:  # never a hang, never a silent allow: the terminal prompt takes over
        log.exception("holding a permission request failed; the agent falls back to its prompt")
        return no_decision()
    if outcome.status in DECISIONS.values():
        return JSONResponse(decision_output(outcome))
    return no_decision()


# The switch --------------------------------------------------------------------------------

def away_state(request: Request) -> dict[str, Any]:
    away = request.app.state.obs.settings.away
    return {"enabled": away.enabled, "wait_s": away.wait_s, "max_wait_s": MAX_WAIT_S,
            "pending": len(book(request).waiting())}


def parse_away(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not body or not set(body) <= {"enabled", "wait_s"}:
        raise invalid('body must be {"enabled": true|false, "wait_s": <seconds>} (either may be left out)')
    change: dict[str, Any] = {}
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise invalid("enabled must be true or false")
        change["enabled"] = body["enabled"]
    if "wait_s" in body:
        wait = body["wait_s"]
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not math.isfinite(wait) \
                or not 1 <= wait <= MAX_WAIT_S:
            raise invalid(f"wait_s must be a number of seconds from 1 to {MAX_WAIT_S} "
                          f"(the permission hook is installed with a {HOOK_TIMEOUT_S} s timeout)")
        change["wait_s"] = int(wait) if wait == int(wait) else wait
    return change


async def get_away(request: Request) -> Response:
    return JSONResponse(away_state(request))


async def put_away(request: Request) -> Response:
    if (refused := await require_control(request)) is not None:
        return refused
    settings = request.app.state.obs.settings
    try:
        change = parse_away(await json_body(request))
    except BadInput as exc:
        return client_error(request, exc)
    try:
        alert_settings.save(settings.config_path, change, section="away")
    except OSError as exc:
        log.error("could not save away mode to %s: %s", settings.config_path, exc)
        return JSONResponse({"error": f"could not write {settings.config_path}: {exc.strerror}"}, status_code=500)
    for name, value in change.items():
        setattr(settings.away, name, value)
    who = request.state.control_actor
    log.info("away mode changed by %s: %s", who, change)
    await request.app.state.obs.services["control_actions"].audit(
        who, "away", f"set {change}", client=client_address(request))
    if change.get("enabled") is False:
        await book(request).settle_all("away_off")  # held hooks return: the terminal prompts take over
    shadowed = sorted(n for n in change if f"OBSERVATORY_AWAY_{n.upper()}" in os.environ)
    return JSONResponse({**away_state(request), "overridden_by_environment": shadowed})


# Approvals ---------------------------------------------------------------------------------

async def list_approvals(request: Request) -> Response:
    session_id = request.query_params.get("session_id") or None
    try:
        limit = int(request.query_params.get("limit", "50"))
    except ValueError:
        return JSONResponse({"error": "limit must be an integer"}, status_code=400)
    if not 1 <= limit <= LIST_MAX:
        return JSONResponse({"error": f"limit must be between 1 and {LIST_MAX}"}, status_code=400)
    approvals = book(request)
    pending = [a.to_api() for a in approvals.waiting(session_id)]
    recent = [a.to_api() for a in await approvals.recent(session_id, limit)]
    return JSONResponse({"away": away_state(request), "pending": pending, "recent": recent})


def parse_decision(body: Any) -> tuple[str, str | None]:
    if not isinstance(body, dict) or body.get("decision") not in DECISIONS or not set(body) <= {"decision", "message"}:
        raise invalid('body must be {"decision": "allow" | "deny", "message": "<optional, told to the agent>"}')
    message = body.get("message")
    if message is not None and not isinstance(message, str):
        raise invalid("message must be a string")
    if message and len(message) > MESSAGE_MAX:
        raise invalid(f"message must be at most {MESSAGE_MAX} characters")
    return body["decision"], (message.strip() or None) if message else None


async def decide(request: Request) -> Response:
    obs = request.app.state.obs
    audit = obs.services["control_actions"].audit
    approval_id = request.path_params["approval_id"]
    client = client_address(request)
    refused = await require_control(request)
    who = request.state.control_actor
    if refused is not None:
        await audit(who, "approval", f"refused {refused.status_code} (approval {approval_id})", client=client)
        return refused
    try:
        decision, message = parse_decision(await json_body(request))
    except BadInput as exc:
        return client_error(request, exc)
    approvals = book(request)
    current = await approvals.find(approval_id)
    if current is None:
        return JSONResponse({"error": f"no approval request {approval_id!r}"}, status_code=404)
    try:
        approval = await approvals.settle(approval_id, DECISIONS[decision], who,
                                          message if decision == "deny" else None)
    except Conflict:
        settled = await approvals.find(approval_id)
        status = settled.status if settled else "unknown"
        await audit(who, f"approval_{decision}", f"refused 409: already {status} (approval {approval_id})",
                    client=client, session_id=current.session_id)
        error = f"this request is no longer waiting (it was {status.replace('_', ' ')}); nothing was sent to the agent"
        return JSONResponse({"error": error, "approval": settled.to_api() if settled else None}, status_code=409)
    summary = tool_detail(approval.tool_input)
    what = summary.get("command") or summary.get("file_path") or summary.get("input") or ""
    await audit(who, f"approval_{decision}",
                f"{approval.status} {approval.tool}: {what[:300]} after {approval.latency_ms:.0f} ms "
                f"(approval {approval.id}{', message: ' + message[:200] if message and decision == 'deny' else ''})",
                client=client, session_id=approval.session_id)
    return JSONResponse(approval.to_api())


async def start(obs: Any) -> None:
    approvals = ApprovalBook(obs)
    obs.services["approvals"] = approvals
    count = await obs.store.write(sql.abandon_pending, now_ns())
    if count:
        log.warning("%d permission requests were held when the server stopped; their terminals answered them", count)
    follower = Consumer(obs.bus, approvals.on_message, "away mode", obs.settings.ws_queue_max, types=("event",))
    follower.start()
    obs.services["approvals_follower"] = follower


async def stop(obs: Any) -> None:
    await obs.services["approvals_follower"].stop()
    await obs.services["approvals"].settle_all("server_stopped")


routes = [
    Route("/hooks/{agent}/permission", permission_hook, methods=["POST"]),
    Route("/api/away", get_away),
    Route("/api/away", put_away, methods=["PUT"]),
    Route("/api/approvals", list_approvals),
    Route("/api/approvals/{approval_id}", decide, methods=["POST"]),
]
