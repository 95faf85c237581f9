"""Pairing and credential routes, and the feature's start: `obs.services["devices"]`.

POST /api/pair {code, name} is the only route an unpaired device may call: it trades a one-time
code for the device cookie. It is called from inside the PWA (the QR opens /pair?code=… and the
page posts it; Settings lets a person type the code), so the cookie lands in the jar of whatever
opened it — the installed iOS home-screen app keeps its own. Failed attempts are limited per
source address (behind the tunnel: Cloudflare's Cf-Connecting-IP) and in total.
Listing devices and tokens is a read; making codes and tokens and revoking need control.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import segno
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from observatory import web
from observatory.auth import devices as dev
from observatory.auth.access import AccessVerifier
from observatory.auth.guard import FailureLimiter, client_address, require_control
from observatory.auth.policy import same_origin
from observatory.model import iso, now_ns
from observatory.store import devices as sql
from observatory.tunnel import pairing_url, public_base

log = logging.getLogger("observatory.auth")

PAIR_WINDOW_S = 600.0
TOTAL_FAILURES_FACTOR = 10  # failures from all sources together: many addresses still cannot guess
DEVICE_KINDS = (sql.DEVICE, sql.LOCAL)
INGEST_KINDS = (sql.INGEST,)

PAIR_REFUSED = {
    "unknown": "wrong pairing code; check it or make a new one with `observatory pair`",
    "used": "this pairing code was already used; make a new one with `observatory pair`",
    "expired": "this pairing code has expired; make a new one with `observatory pair`",
}


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise ValueError("the body must be JSON") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


class PairingLimits:
    """Failed pairing attempts in a 10-minute window: per source, and from all sources together."""

    def __init__(self, per_source: int) -> None:
        self.per_source = FailureLimiter(per_source, PAIR_WINDOW_S)
        self.total = FailureLimiter(per_source * TOTAL_FAILURES_FACTOR, PAIR_WINDOW_S)

    def retry_after(self, source: str) -> int:
        return max(self.per_source.retry_after(source), self.total.retry_after("*"))

    def failed(self, source: str) -> None:
        self.per_source.failed(source)
        self.total.failed("*")


async def pair(request: Request) -> Response:
    origin = request.headers.get("origin")
    if origin and not same_origin(request, origin):
        return _error(403, "pairing must be done from this site's own page")
    limits: PairingLimits = request.app.state.obs.services["pair_limits"]
    source = client_address(request)
    wait = limits.retry_after(source)
    if wait:
        log.warning("pairing refused for %s: too many failed attempts", source)
        return _error(429, f"too many failed pairing attempts; wait {wait} s", **{"Retry-After": str(wait)})
    try:
        body = await _json_object(request)
        code = dev.normalise_code(str(body.get("code") or ""))
        if not code:
            raise ValueError('the body needs "code": the pairing code')
    except ValueError as exc:
        return _error(400, str(exc))
    name = dev.clean_name(body.get("name"), "Unnamed device")
    outcome, device = await request.app.state.obs.store.write(dev.redeem, code, name)
    if device is None:
        limits.failed(source)
        log.warning("pairing refused for %s: %s code", source, outcome)
        return _error(403, PAIR_REFUSED[outcome])
    log.info("paired device %s (%r) from %s", device.id, device.name, source)
    response = JSONResponse({"device": {"id": device.id, "name": device.name},
                             "csrf_token": dev.csrf_for(device.credential)}, status_code=201)
    response.headers.append("set-cookie", dev.cookie_header(device.credential, dev.wants_secure_cookie(request)))
    return response


async def list_devices(request: Request) -> Response:
    rows = await request.app.state.obs.store.read(sql.list_credentials, DEVICE_KINDS)
    me = request.app.state.obs.services["devices"].device(request)
    for row in rows:
        row["current"] = me is not None and row["id"] == me.id
    return JSONResponse({"devices": rows})


async def _revoke(request: Request, kinds: tuple[str, ...], what: str) -> Response:
    refusal = await require_control(request)
    if refusal is not None:
        return refusal
    ref = request.path_params["id"]
    revoked = await request.app.state.obs.store.write(sql.revoke_credential, ref, kinds, now_ns())
    if not revoked:
        return _error(404, f"no {what} {ref!r}")
    log.info("revoked %s %s by %s", what, ", ".join(revoked), request.state.control_actor)
    return JSONResponse({"revoked": revoked})


async def revoke_device(request: Request) -> Response:
    return await _revoke(request, DEVICE_KINDS, "device")


def qr_svg(url: str) -> str:
    return segno.make(url, error="m").svg_inline(scale=5, title="Pairing QR code")


async def create_pairing_code(request: Request) -> Response:
    refusal = await require_control(request)
    if refusal is not None:
        return refusal
    obs = request.app.state.obs
    code, expires_at = await obs.store.write(dev.create_pairing_code, obs.settings.remote.pairing_ttl_s)
    url = pairing_url(public_base(obs.settings), code)
    log.info("pairing code made by %s", request.state.control_actor)
    return JSONResponse({"code": dev.display_code(code), "expires_at": iso(expires_at), "url": url,
                         "qr_svg": qr_svg(url) if url else None}, status_code=201)


async def list_ingest_tokens(request: Request) -> Response:
    rows = await request.app.state.obs.store.read(sql.list_credentials, INGEST_KINDS)
    return JSONResponse({"tokens": [{"id": r["id"], "host": r["name"], "created_at": r["created_at"],
                                     "last_used_at": r["last_used_at"]} for r in rows]})


async def create_ingest_token(request: Request) -> Response:
    refusal = await require_control(request)
    if refusal is not None:
        return refusal
    try:
        host = dev.clean_name((await _json_object(request)).get("host"), "")
        if not host:
            raise ValueError('the body needs "host": the name of the machine that will send')
    except ValueError as exc:
        return _error(400, str(exc))
    obs = request.app.state.obs
    token = await obs.store.write(dev.create_ingest_token, host)
    log.info("ingest token %s for host %r made by %s", token.id, host, request.state.control_actor)
    return JSONResponse({"id": token.id, "host": host, "token": token.credential,
                         "endpoint": public_base(obs.settings),
                         "otel_headers": f"Authorization=Bearer%20{token.credential}"}, status_code=201)


async def revoke_ingest_token(request: Request) -> Response:
    return await _revoke(request, INGEST_KINDS, "ingest token")


routes = [
    Route("/pair", web.shell, methods=["GET", "HEAD"]),
    Route("/api/pair", pair, methods=["POST"]),
    Route("/api/devices", list_devices, methods=["GET"]),
    Route("/api/devices/{id}", revoke_device, methods=["DELETE"]),
    Route("/api/pairing-codes", create_pairing_code, methods=["POST"]),
    Route("/api/ingest-tokens", list_ingest_tokens, methods=["GET"]),
    Route("/api/ingest-tokens", create_ingest_token, methods=["POST"]),
    Route("/api/ingest-tokens/{id}", revoke_ingest_token, methods=["DELETE"]),
]


async def start(obs: Any) -> None:
    remote = obs.settings.remote
    devices = dev.Devices(obs)
    obs.services["devices"] = devices
    obs.csrf_token_for = devices.csrf_token_for
    obs.services["pair_limits"] = PairingLimits(max(1, remote.pair_attempts))
    if remote.access_team_domain and remote.access_audience:
        obs.services["access"] = AccessVerifier(remote.access_team_domain, remote.access_audience,
                                                remote.access_certs_url)


async def stop(obs: Any) -> None:
    obs.services.pop("devices").close()
