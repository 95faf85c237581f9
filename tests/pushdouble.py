"""A local push-service double: a real uvicorn server on 127.0.0.1 (OS-picked port).

It plays the browser vendor's push service. For each subscription it hands out it holds
the browser's key pair, so it can verify the VAPID JWT (ES256 with `cryptography`, checking
aud/exp/sub and, once told, that `k` is the server's applicationServerKey) and decrypt the
aes128gcm body with http_ece. Every request is recorded; replies can be scripted per
subscription (410, 404, 429 + Retry-After, 503 …), by default 201.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import http_ece
import pytest
import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from observatory.auth.token import ensure_token
from conftest import fixture_hooks
from serverproc import Server, start_server


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    """One request the double received, and what it answered."""

    name: str
    status: int
    at: float  # time.time()
    headers: dict[str, str]
    claims: dict[str, Any] | None = None
    payload: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class _Client:
    """The browser side of one subscription."""

    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    replies: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)


class PushDouble:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.server_key: bytes | None = None  # the app server's VAPID public key, once known
        self._clients: dict[str, _Client] = {}
        self._cond = threading.Condition()
        app = Starlette(routes=[Route("/push/{name}", self._push, methods=["POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                                     lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, daemon=True, name="push-double")
        self.url = ""

    def __enter__(self) -> PushDouble:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("push double did not start")
            time.sleep(0.02)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(5)

    def expect_server_key(self, public_key_b64: str) -> None:
        """From now on, a JWT signed by any other key is refused (401)."""
        self.server_key = b64d(public_key_b64)

    def subscription(self, name: str) -> dict[str, Any]:
        """A browser-like PushSubscription JSON whose endpoint is this double."""
        private_key = ec.generate_private_key(ec.SECP256R1())
        self._clients[name] = _Client(private_key, os.urandom(16))
        public = private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                       serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": f"{self.url}/push/{name}",
                "keys": {"p256dh": b64e(public), "auth": b64e(self._clients[name].auth)}}

    def answer(self, name: str, status: int, **headers: str) -> None:
        """Script the next reply for `name` (queued; afterwards 201 again)."""
        self._clients[name].replies.append((status, {k.replace("_", "-"): v for k, v in headers.items()}))

    def deliveries(self, name: str | None = None) -> list[Received]:
        """Requests that verified, decrypted and were answered 201."""
        return [r for r in self.requests(name) if r.status == 201]

    def requests(self, name: str | None = None) -> list[Received]:
        with self._cond:
            return [r for r in self.received if name is None or r.name == name]

    def wait(self, count: int, name: str | None = None, timeout: float = 15, delivered: bool = True) -> list[Received]:
        """Block until `count` requests (delivered ones by default) have arrived; fail otherwise."""
        pick = self.deliveries if delivered else self.requests
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(pick(name)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} push requests for {name or 'any'}, got "
                                         f"{[(r.name, r.status, r.error) for r in self.requests(name)]}")
                self._cond.wait(left)
            return pick(name)

    def _verify_vapid(self, header: str, origin: str) -> dict[str, Any]:
        scheme, _, rest = header.partition(" ")
        if scheme != "vapid":
            raise ValueError(f"Authorization scheme {scheme!r}, want vapid")
        parts = dict(p.strip().split("=", 1) for p in rest.split(","))
        key = b64d(parts["k"])
        if self.server_key is not None and key != self.server_key:
            raise ValueError("k is not the server's VAPID public key")
        head, body, sig = parts["t"].split(".")
        if json.loads(b64d(head)) != {"typ": "JWT", "alg": "ES256"}:
            raise ValueError(f"JWT header {b64d(head)!r}")
        raw = b64d(sig)
        if len(raw) != 64:
            raise ValueError("JWT signature is not raw r||s")
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
        public.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
        claims = json.loads(b64d(body))
        if claims.get("aud") != origin:
            raise ValueError(f"aud {claims.get('aud')!r}, want {origin}")
        if not time.time() < claims["exp"] <= time.time() + 24 * 3600:
            raise ValueError(f"exp {claims['exp']} not within 24 h")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise ValueError(f"sub {claims.get('sub')!r}")
        return claims

    async def _push(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        record = Received(name, 201, time.time(), headers)
        client = self._clients.get(name)
        try:
            if client is None:
                record.status = 404
                raise ValueError("unknown subscription")
            record.claims = self._verify_vapid(headers.get("authorization", ""), self.url)
            if headers.get("content-encoding") != "aes128gcm":
                raise ValueError(f"Content-Encoding {headers.get('content-encoding')!r}")
            plain = http_ece.decrypt(body, private_key=client.private_key, auth_secret=client.auth,
                                     version="aes128gcm")
            record.payload = json.loads(plain)
        except (ValueError, KeyError, InvalidSignature, http_ece.ECEException) as exc:
            record.status = record.status if record.status != 201 else 401
            record.error = repr(exc)
        reply_headers: dict[str, str] = {}
        if record.status == 201 and client is not None and client.replies:
            record.status, reply_headers = client.replies.popleft()
        with self._cond:
            self.received.append(record)
            self._cond.notify_all()
        return Response(record.error or "", status_code=record.status, headers=reply_headers)


def serve_with_push(data_dir: Path, double: PushDouble, **env: str) -> tuple[Server, dict[str, str]]:
    """A real server that accepts the double's plain-http endpoints, plus its control headers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    token = ensure_token(data_dir)
    server = start_server(data_dir, env={"OBSERVATORY_PUSH_ALLOW_HTTP": "1", **env})
    double.expect_server_key(server.get("/api/push/key")["public_key"])
    return server, {"Authorization": f"Bearer {token}"}


def subscribe(server: Server, headers: dict[str, str], double: PushDouble, name: str, **extra: Any) -> str:
    status, body, _ = server.post("/api/push/subscriptions", {**double.subscription(name), **extra}, headers)
    assert status == 201, body
    return json.loads(body)["id"]


def post_hooks(server: Server, scenario: str, upto: str | None = "SessionEnd", **changes: Any) -> list[str]:
    """Post a Claude Code fixture scenario's hooks in order, stopping before the hook named `upto`."""
    posted = []
    for name, payload in fixture_hooks(scenario):
        if name == upto:
            break
        status, body, _ = server.post("/hooks/claude", {**payload, **changes})
        assert status == 200, body
        posted.append(name)
    return posted


@pytest.fixture
def double() -> Any:
    with PushDouble() as d:
        yield d


@pytest.fixture
def served(tmp_path: Path, double: PushDouble) -> Any:
    """(server, control headers) of a real server whose push goes to `double`."""
    server, headers = serve_with_push(tmp_path / "data", double)
    yield server, headers
    server.stop()
