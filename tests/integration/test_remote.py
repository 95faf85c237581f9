"""The remote listener against a real server subprocess with both listeners, real HTTP and WebSocket clients."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from remote_harness import (
    COOKIE,
    Listeners,
    cli,
    cookie_of,
    device_headers,
    new_code,
    pair,
    paired,
    start_listeners,
    ws_status,
)
from starlette.routing import Mount, Route, WebSocketRoute

from observatory.app import create_app
from observatory.auth.devices import csrf_for
from observatory.auth.policy import is_ingest, is_public
from observatory.config import Settings

# What an unpaired device may reach on purpose: the pairing exchange and the pairing page's files.
PUBLIC = {("POST", "/api/pair"), ("GET", "/pair"), ("HEAD", "/pair"), ("GET", "/sw.js"), ("HEAD", "/sw.js"),
          ("GET", "/manifest.webmanifest"), ("HEAD", "/manifest.webmanifest"), ("GET", "/favicon.png"),
          ("HEAD", "/favicon.png"), ("GET", "/assets/x"), ("HEAD", "/assets/x"), ("GET", "/icons/x"),
          ("HEAD", "/icons/x")}


@pytest.fixture
def listeners(tmp_path: Path):
    srv = start_listeners(tmp_path / "data", env={"OBSERVATORY_REMOTE_PAIR_ATTEMPTS": "3"})
    yield srv
    srv.server.stop()


def concrete(path: str) -> str:
    """A request path for a route pattern: every {param} becomes "x"."""
    return re.sub(r"\{[^}]+\}", "x", path)


def every_route(tmp_path: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(HTTP (method, path) pairs, WebSocket paths) of every route the app has, read from the app object."""
    app = create_app(Settings(data_dir=tmp_path / "routes"))
    http, ws = [], []
    for route in app.routes:
        if isinstance(route, WebSocketRoute):
            ws.append(concrete(route.path))
        elif isinstance(route, Route):
            http += [(method, concrete(route.path)) for method in sorted(route.methods or ["GET"])]
        elif isinstance(route, Mount):
            http += [("GET", concrete(route.path) + "/x"), ("HEAD", concrete(route.path) + "/x")]
        else:
            raise AssertionError(f"unknown route type {route!r}: teach this test how to call it")
    return http, ws


def test_every_route_refuses_an_unpaired_client(listeners: Listeners, tmp_path: Path):
    http, ws = every_route(tmp_path)
    assert len(http) > 20 and "/api/live" in ws
    public = set()
    with httpx.Client(base_url=listeners.remote, timeout=10) as client:
        for method, path in http:
            status = client.request(method, path).status_code
            if is_ingest(path):
                assert status == 404, (method, path)  # ingest is off: absent
            elif is_public(method, path):
                public.add((method, path))
                assert status != 401, (method, path)
            else:
                assert status == 401, (method, path, status)
    assert public <= PUBLIC, f"routes an unpaired device can reach: {sorted(public - PUBLIC)}"
    ws_base = listeners.remote.replace("http://", "ws://")
    for path in ws:
        assert ws_status(ws_base + path, Origin=listeners.remote) == 401, path
    # the same routes stay readable on the local listener (loopback reads are open)
    assert httpx.get(listeners.local + "/api/sessions").status_code == 200


def test_pairing_sets_a_hardened_cookie_that_opens_http_and_websocket(listeners: Listeners):
    response = pair(listeners.remote, new_code(listeners.data_dir), "Ana's iPhone")
    assert response.status_code == 201, response.text
    cookie, header = cookie_of(response)
    attrs = {a.strip().lower() for a in header.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= attrs
    csrf = response.json()["csrf_token"]
    assert csrf == csrf_for(cookie)
    sessions = httpx.get(listeners.remote + "/api/sessions", headers=device_headers(cookie))
    assert sessions.status_code == 200 and "sessions" in sessions.json()
    devices = httpx.get(listeners.remote + "/api/devices", headers=device_headers(cookie)).json()["devices"]
    assert [(d["name"], d["kind"], d["current"]) for d in devices] == [("Ana's iPhone", "device", True)]
    live = listeners.remote.replace("http://", "ws://") + "/api/live"
    assert ws_status(live, Origin=listeners.remote, Cookie=f"{COOKIE}={cookie}") == 101
    assert ws_status(live, Origin="https://evil.example", Cookie=f"{COOKIE}={cookie}") == 403
    assert ws_status(live, Cookie=f"{COOKIE}={cookie}") == 403  # browsers always send an Origin
    assert httpx.get(listeners.remote + "/api/sessions", headers=device_headers(cookie + "x")).status_code == 401


def test_pairing_code_works_once(listeners: Listeners):
    code = new_code(listeners.data_dir)
    assert pair(listeners.remote, code.lower().replace("-", " ")).status_code == 201  # typed by hand
    again = pair(listeners.remote, code)
    assert again.status_code == 403 and "already used" in again.json()["error"]


def test_pairing_code_expires(listeners: Listeners):
    code = new_code(listeners.data_dir, env={"OBSERVATORY_REMOTE_PAIRING_TTL_S": "0.5"})
    time.sleep(1.0)
    response = pair(listeners.remote, code)
    assert response.status_code == 403 and "expired" in response.json()["error"]


def test_pairing_attempts_are_rate_limited_per_source(listeners: Listeners):
    code = new_code(listeners.data_dir)
    phone = {"Cf-Connecting-IP": "203.0.113.7"}  # behind the tunnel every peer is cloudflared on loopback
    for _ in range(3):
        assert pair(listeners.remote, "WRONG-CODE", **phone).status_code == 403
    limited = pair(listeners.remote, code, **phone)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert pair(listeners.remote, code, **{"Cf-Connecting-IP": "198.51.100.9"}).status_code == 201


def test_state_changes_need_the_csrf_header(listeners: Listeners):
    cookie, csrf = paired(listeners)
    url = listeners.remote + "/api/pairing-codes"
    missing = httpx.post(url, headers=device_headers(cookie))
    assert missing.status_code == 403 and "X-CSRF-Token" in missing.json()["error"]
    assert httpx.post(url, headers=device_headers(cookie, "0" * 64)).status_code == 403
    made = httpx.post(url, headers=device_headers(cookie, csrf))
    assert made.status_code == 201 and re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", made.json()["code"])


def test_revoked_device_is_refused_from_its_next_request(listeners: Listeners):
    phone, phone_csrf = paired(listeners, "phone")
    tablet, _ = paired(listeners, "tablet")
    assert httpx.get(listeners.remote + "/api/sessions", headers=device_headers(tablet)).status_code == 200
    # revoked from another device through the API …
    tablet_id = next(d["id"] for d in httpx.get(listeners.remote + "/api/devices",
                                                headers=device_headers(phone)).json()["devices"]
                     if d["name"] == "tablet")
    revoked = httpx.delete(f"{listeners.remote}/api/devices/{tablet_id}", headers=device_headers(phone, phone_csrf))
    assert revoked.status_code == 200, revoked.text
    assert httpx.get(listeners.remote + "/api/sessions", headers=device_headers(tablet)).status_code == 401
    # … and by the CLI, a different process, while the server runs
    listed = cli(listeners.data_dir, "devices")
    assert "phone" in listed.stdout and "tablet" not in listed.stdout
    assert cli(listeners.data_dir, "devices", "revoke", "phone").returncode == 0
    assert httpx.get(listeners.remote + "/api/sessions", headers=device_headers(phone)).status_code == 401
    assert cli(listeners.data_dir, "devices", "revoke", "phone").returncode == 1


def test_local_browser_is_auto_paired_only_over_loopback(listeners: Listeners):
    page = httpx.get(listeners.local + "/pair", headers={"Accept": "text/html"})
    if page.status_code == 503:
        pytest.fail("the PWA is not built: bash scripts/build_frontend.sh")
    cookie, header = cookie_of(page)
    assert "Secure" not in header and "HttpOnly" in header and "SameSite=Strict" in header
    csrf = csrf_for(cookie)
    assert json.dumps(csrf) in page.text  # window.__OBSERVATORY__.csrfToken
    # the dashboard on this machine can use guarded routes with the cookie and its CSRF token …
    made = httpx.post(listeners.local + "/api/pairing-codes", headers=device_headers(cookie, csrf))
    assert made.status_code == 201, made.text
    assert httpx.post(listeners.local + "/api/pairing-codes", headers=device_headers(cookie)).status_code == 403
    # … the code it shows pairs a phone …
    assert pair(listeners.remote, made.json()["code"]).status_code == 201
    # … but the local cookie is worth nothing on the remote listener
    assert httpx.get(listeners.remote + "/api/sessions", headers=device_headers(cookie)).status_code == 401
    # a page whose Host is not loopback (DNS rebinding) gets no cookie
    rebound = httpx.get(listeners.local + "/pair", headers={"Accept": "text/html", "Host": "evil.example"})
    assert not rebound.headers.get_list("set-cookie")
    # nor does the remote listener's pairing page
    assert not httpx.get(listeners.remote + "/pair").headers.get_list("set-cookie")


def test_nothing_secret_in_the_logs(tmp_path: Path):
    srv = start_listeners(tmp_path / "data", "--log-level", "debug", env={"OBSERVATORY_REMOTE_INGEST": "1"})
    try:
        code = new_code(srv.data_dir)
        cookie, csrf = paired(srv)
        token = re.search(r"^  (\S+\.\S+)$", cli(srv.data_dir, "ingest-token", "add", "vm1").stdout, re.M).group(1)
        httpx.post(srv.remote + "/v1/logs", headers={"Authorization": f"Bearer {token}x"}, content=b"{}")
        httpx.post(srv.remote + "/v1/logs", headers={"Authorization": f"Bearer {token}"}, content=b"{}")
        httpx.post(srv.remote + "/api/pairing-codes", headers=device_headers(cookie))
        httpx.post(srv.remote + "/api/pairing-codes", headers=device_headers(cookie, csrf))
        pair(srv.remote, code)
        pair(srv.remote, code)
        httpx.get(srv.remote + "/api/sessions", headers=device_headers(cookie + "x"))
    finally:
        srv.server.stop()
    logs = srv.logs()
    assert "paired device" in logs and "refused" in logs  # the events themselves are logged
    for secret in (cookie, cookie.split(".")[1], csrf, token.split(".")[1], code, code.replace("-", "")):
        assert secret not in logs


def test_remote_ingest_needs_an_ingest_token(tmp_path: Path, fixtures_dir: Path):
    srv = start_listeners(tmp_path / "data", env={"OBSERVATORY_REMOTE_INGEST": "true"})
    try:
        added = cli(srv.data_dir, "ingest-token", "add", "build-vm")
        assert added.returncode == 0, added.stderr
        token = re.search(r"^  (\S+\.\S+)$", added.stdout, re.M).group(1)
        assert f'OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20{token}"' in added.stdout
        start = (fixtures_dir / "claude-code" / "ok-json" / "hooks" / "0001_SessionStart.json").read_bytes()
        session_id = json.loads(start)["session_id"]
        url = srv.remote + "/hooks/claude"
        cookie, csrf = paired(srv)
        for headers in ({}, {"Authorization": f"Bearer {token}x"}, {"Authorization": "Bearer nope"},
                        device_headers(cookie, csrf)):  # a device cookie is not an ingest credential
            refused = httpx.post(url, content=start, headers=headers)
            assert refused.status_code == 401 and "ingest token" in refused.json()["error"]
        assert httpx.post(url, content=start, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        sessions = httpx.get(srv.local + "/api/sessions").json()["sessions"]
        assert session_id in [s["id"] for s in sessions]
        # the token opens ingest only, not the dashboard or the API
        assert httpx.get(srv.remote + "/api/sessions", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        assert "build-vm" in cli(srv.data_dir, "ingest-token", "list").stdout
        assert cli(srv.data_dir, "ingest-token", "revoke", "build-vm").returncode == 0
        assert httpx.post(url, content=start, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    finally:
        srv.server.stop()

