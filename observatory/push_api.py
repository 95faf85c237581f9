"""The push feature: VAPID key at start, subscription endpoints, test message.

GET /api/push/key is open (the PWA needs it before it can subscribe); subscribing,
unsubscribing and sending a test change state, so they need the control credential.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from observatory import quiet_hours, vapid
from observatory.auth.guard import require_control
from observatory.config import ALERT_KINDS
from observatory.ingest.body import BadInput
from observatory.push import Pusher
from observatory.request_json import client_error, invalid, json_body
from observatory.store.alerts import Subscription

log = logging.getLogger("observatory.push")

ENDPOINT_MAX = 2048
P256DH_BYTES = 65  # an uncompressed P-256 point
AUTH_BYTES = 16


def _key(keys: dict[str, Any], name: str, size: int) -> str:
    value = keys.get(name)
    if not isinstance(value, str) or not value:
        raise invalid(f"keys.{name} is missing (send the browser's PushSubscription.toJSON())")
    try:
        raw = vapid.b64url_decode(value)
    except ValueError:
        raise invalid(f"keys.{name} is not base64url") from None
    if len(raw) != size:
        raise invalid(f"keys.{name} must decode to {size} bytes, got {len(raw)}")
    if name == "p256dh" and raw[0] != 4:
        raise invalid("keys.p256dh must be an uncompressed P-256 point (first byte 0x04)")
    return value


def parse_subscription(body: Any, http_ok: bool) -> Subscription:
    """Validate the browser's PushSubscription JSON (+ "kinds", "quiet_hours")."""
    if not isinstance(body, dict):
        raise invalid("body must be a PushSubscription JSON object")
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > ENDPOINT_MAX:
        raise invalid("endpoint must be the push service URL from the browser's subscription")
    parts = urlsplit(endpoint)
    if parts.scheme != "https" and not (parts.scheme == "http" and http_ok):
        raise invalid("endpoint must be an https URL (plain http only with OBSERVATORY_PUSH_ALLOW_HTTP=1)")
    if not parts.hostname:
        raise invalid("endpoint has no host")
    keys = body.get("keys")
    if not isinstance(keys, dict):
        raise invalid("keys {p256dh, auth} are missing")
    kinds = body.get("kinds")
    if kinds is not None:
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise invalid("kinds must be a list of alert kinds")
        unknown = sorted(set(kinds) - set(ALERT_KINDS))
        if unknown:
            raise invalid(f"unknown alert kinds {unknown}; known: {ALERT_KINDS}")
    try:
        quiet = quiet_hours.validate(body.get("quiet_hours"))
    except ValueError as exc:
        raise invalid(str(exc)) from None
    return Subscription(endpoint=endpoint, p256dh=_key(keys, "p256dh", P256DH_BYTES),
                        auth=_key(keys, "auth", AUTH_BYTES), kinds=kinds, quiet_hours=quiet)


def pusher(request: Request) -> Pusher:
    return request.app.state.obs.services["push"]


async def public_key(request: Request) -> Response:
    return JSONResponse({"public_key": request.app.state.obs.vapid_public_key})


async def subscribe(request: Request) -> Response:
    if (refused := await require_control(request)) is not None:
        return refused
    try:
        sub = parse_subscription(await json_body(request), request.app.state.obs.settings.push.allow_http)
    except BadInput as exc:
        return client_error(request, exc)
    sub_id = await pusher(request).subscribe(sub)
    log.info("push subscription %d saved (host %s, kinds %s)", sub_id, urlsplit(sub.endpoint).hostname,
             sub.kinds or "all")
    return JSONResponse({"id": str(sub_id)}, status_code=201)


async def unsubscribe(request: Request) -> Response:
    if (refused := await require_control(request)) is not None:
        return refused
    try:
        body = await json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("endpoint"), str):
            raise invalid('body must be {"endpoint": "<the subscription endpoint>"}')
    except BadInput as exc:
        return client_error(request, exc)
    if not await pusher(request).unsubscribe(body["endpoint"]):
        return JSONResponse({"error": "no subscription with that endpoint"}, status_code=404)
    return JSONResponse({"deleted": True})


async def send_test(request: Request) -> Response:
    """Deliver a test notification now; answers each subscription's outcome."""
    if (refused := await require_control(request)) is not None:
        return refused
    try:
        body = await json_body(request) or {}
        endpoint = body.get("endpoint") if isinstance(body, dict) else None
        if endpoint is not None and not isinstance(endpoint, str):
            raise invalid("endpoint must be a string")
    except BadInput as exc:
        return client_error(request, exc)
    results = await pusher(request).send_test(endpoint)
    if not results:
        return JSONResponse({"error": "no push subscription yet; enable notifications in the app first"},
                            status_code=404)
    return JSONResponse({"results": results})


async def start(obs: Any) -> None:
    keys = vapid.load_or_create(obs.settings.data_dir)
    obs.vapid_public_key = vapid.application_server_key(keys)
    obs.services["push"] = Pusher(obs.store, keys, obs.settings.push)
    await obs.services["push"].start()


async def stop(obs: Any) -> None:
    await obs.services["push"].stop()


routes = [
    Route("/api/push/key", public_key),
    Route("/api/push/subscriptions", subscribe, methods=["POST"]),
    Route("/api/push/subscriptions", unsubscribe, methods=["DELETE"]),
    Route("/api/push/test", send_test, methods=["POST"]),
]
