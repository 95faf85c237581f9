"""Who may use each listener, as ASGI middleware.

`RemotePolicy` wraps the REMOTE listener's app (what the tunnel points at), deny by default:
every HTTP request and WebSocket needs a paired device's cookie, except the pairing exchange
and the few static files the pairing page needs to render. State-changing requests also need
the device's X-CSRF-Token; WebSockets need an Origin naming this host. Ingest routes are absent
unless `[remote] ingest` is on, and then take an ingest token instead of a cookie. With
Cloudflare Access configured, its JWT is required on everything, before anything else.
The check is here, around the router, so a route added later is protected without knowing it.

`LocalBrowserPairing` wraps the LOCAL listener's app: it only stores and sets the cookie of a
local browser that `Devices.csrf_token_for` auto-paired while rendering the PWA shell.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from observatory.auth import devices as dev
from observatory.auth.access import HEADER as ACCESS_HEADER
from observatory.auth.access import AccessDenied
from observatory.auth.token import same_secret

log = logging.getLogger("observatory.auth")

PAIR_EXCHANGE = "/api/pair"
PUBLIC_PATHS = frozenset({"/pair", "/sw.js", "/manifest.webmanifest", "/favicon.png"})
PUBLIC_PREFIXES = ("/assets/", "/icons/")
INGEST_PREFIXES = ("/v1/", "/hooks/")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

NOT_PAIRED = "this device is not paired: open the pairing link or type a code from `observatory pair`"
NOT_PAIRED_PAGE = """<!doctype html><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Not paired</title>
<p>This device is not paired with Agent Observatory.
<p><a href="/pair">Pair it</a> with the QR code or the code that <code>observatory pair</code> shows.
"""


def is_public(method: str, path: str) -> bool:
    """What an unpaired device may fetch: the pairing exchange and the pairing page's files."""
    if method == "POST":
        return path == PAIR_EXCHANGE
    return method in ("GET", "HEAD") and (path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES))


def is_ingest(path: str) -> bool:
    return path.startswith(INGEST_PREFIXES)


def same_origin(conn: HTTPConnection, origin: str) -> bool:
    """Origin names this host (as the browser reached it) or the configured public URL."""
    settings = conn.app.state.obs.settings
    if origin in settings.allowed_origins:
        return True
    public = settings.remote.public_url.rstrip("/")
    return (public != "" and origin == public) or urlsplit(origin).netloc == conn.headers.get("host", "")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _unauthorized(conn: HTTPConnection) -> Response:
    if conn.scope["type"] == "http" and "text/html" in conn.headers.get("accept", ""):
        return HTMLResponse(NOT_PAIRED_PAGE, status_code=401)
    return _error(401, NOT_PAIRED)


async def _access_refusal(conn: HTTPConnection) -> Response | None:
    verifier = conn.app.state.obs.services.get("access")
    if verifier is None:
        return None
    try:
        await verifier.verify(conn.headers.get(ACCESS_HEADER, ""))
    except AccessDenied as exc:
        return _error(401, str(exc))
    return None


def _ingest_refusal(conn: HTTPConnection) -> Response | None:
    obs = conn.app.state.obs
    if not obs.settings.remote.ingest:
        return _error(404, "not found: ingest is off on the remote listener ([remote] ingest = true turns it on)")
    if obs.services["devices"].verify_ingest(conn) is None:
        return _error(401, "ingest on the remote listener needs 'Authorization: Bearer <ingest token>' "
                           "(`observatory ingest-token add <host>`)")
    return None


def _device_refusal(conn: HTTPConnection, method: str) -> Response | None:
    devices = conn.app.state.obs.services["devices"]
    if devices.verify(conn) is None:
        return _unauthorized(conn)
    if conn.scope["type"] == "websocket":
        origin = conn.headers.get("origin", "")
        if not origin or not same_origin(conn, origin):
            return _error(403, "WebSocket Origin does not match this host")
    elif method not in SAFE_METHODS:
        expected = devices.csrf_token(conn)
        sent = conn.headers.get("x-csrf-token", "")
        if not (sent and expected and same_secret(sent, expected)):
            return _error(403, "missing or wrong X-CSRF-Token header; reload the app")
    return None


async def remote_refusal(conn: HTTPConnection) -> Response | None:
    """None when the policy lets this request through to the routes, else the answer to send."""
    refusal = await _access_refusal(conn)
    if refusal is not None:
        return refusal
    path = conn.url.path
    if is_ingest(path):
        return _ingest_refusal(conn)
    method = conn.scope.get("method", "GET")
    if conn.scope["type"] == "http" and is_public(method, path):
        return None
    return _device_refusal(conn, method)


class RemotePolicy:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope[dev.REMOTE_SCOPE] = True
        conn = HTTPConnection(scope, receive)
        refusal = await remote_refusal(conn)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        client = conn.client.host if conn.client else "?"
        log.warning("remote %s %s from %s refused: %d", scope["type"], conn.url.path,
                    conn.headers.get("cf-connecting-ip", client), refusal.status_code)
        if scope["type"] == "http":
            await refusal(scope, receive, send)
            return
        websocket = WebSocket(scope, receive, send)
        if "websocket.http.response" in scope.get("extensions", {}):
            await websocket.send_denial_response(refusal)
        else:
            await websocket.close(code=4000 + refusal.status_code)


class LocalBrowserPairing:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        issued: list[dev.Issued] = []
        scope[dev.ISSUE_SCOPE] = issued

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and issued and \
                    await scope["app"].state.obs.services["devices"].save_local(issued[0]):
                cookie = dev.cookie_header(issued[0].credential, dev.wants_secure_cookie(HTTPConnection(scope)))
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)
