"""Cloudflare Access as a second factor, verified against a fake team certs endpoint on loopback.

Cloudflare's edge cannot exist here, so the test plays it: RSA keys made here sign the
`Cf-Access-Jwt-Assertion` JWTs, and a local HTTP server serves their JWKS as the team's certs URL.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from remote_harness import COOKIE, Listeners, cookie_of, device_headers, new_code, pair, start_listeners, ws_status

TEAM = "observatory-test"
ISSUER = f"https://{TEAM}.cloudflareaccess.com"
AUDIENCE = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2"
KID = "test-key-1"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict:
    numbers = key.public_key().public_numbers()
    return {"kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig", "e": b64(numbers.e.to_bytes(3, "big")),
            "n": b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big"))}


def jwt(key: rsa.RSAPrivateKey, kid: str = KID, alg: str = "RS256", **overrides: object) -> str:
    now = int(time.time())
    claims = {"aud": [AUDIENCE], "iss": ISSUER, "email": "me@example.com", "iat": now, "nbf": now,
              "exp": now + 600, "type": "app", **overrides}
    signing_input = f"{b64(json.dumps({'alg': alg, 'kid': kid}).encode())}.{b64(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


class FakeCerts:
    """The team's certs URL: serves the JWKS and counts how often it is fetched."""

    def __init__(self, keys: list[dict]) -> None:
        self.fetches = 0
        body = json.dumps({"keys": keys}).encode()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.fetches += 1
                self.send_response(200 if self.path == "/cdn-cgi/access/certs" else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/cdn-cgi/access/certs"


@pytest.fixture(scope="module")
def team_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def behind_access(tmp_path: Path, team_key: rsa.RSAPrivateKey) -> Iterator[tuple[Listeners, FakeCerts]]:
    certs = FakeCerts([jwk(team_key, KID)])
    srv = start_listeners(tmp_path / "data", env={"OBSERVATORY_REMOTE_ACCESS_TEAM_DOMAIN": TEAM,
                                                  "OBSERVATORY_REMOTE_ACCESS_AUDIENCE": AUDIENCE,
                                                  "OBSERVATORY_REMOTE_ACCESS_CERTS_URL": certs.url})
    yield srv, certs
    srv.server.stop()
    certs.httpd.shutdown()


def test_access_jwt_is_required_as_a_second_factor(behind_access, team_key):
    srv, certs = behind_access
    assertion = {"Cf-Access-Jwt-Assertion": jwt(team_key)}
    code = new_code(srv.data_dir)
    refused = pair(srv.remote, code)
    assert refused.status_code == 401 and "Cloudflare Access" in refused.json()["error"]
    paired = pair(srv.remote, code, **assertion)
    assert paired.status_code == 201, paired.text
    cookie, _ = cookie_of(paired)
    sessions = srv.remote + "/api/sessions"
    assert httpx.get(sessions, headers={**device_headers(cookie), **assertion}).status_code == 200
    assert httpx.get(sessions, headers=device_headers(cookie)).status_code == 401  # cookie alone: no
    assert httpx.get(sessions, headers=assertion).status_code == 401  # Access alone: no
    live = srv.remote.replace("http://", "ws://") + "/api/live"
    with_cookie = {"Origin": srv.remote, "Cookie": f"{COOKIE}={cookie}"}
    assert ws_status(live, **with_cookie, **assertion) == 101
    assert ws_status(live, **with_cookie) == 401
    assert certs.fetches == 1  # the team's keys are cached


def test_bad_assertions_are_refused(behind_access, team_key):
    srv, _ = behind_access
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    paired = pair(srv.remote, new_code(srv.data_dir), **{"Cf-Access-Jwt-Assertion": jwt(team_key)})
    cookie, _ = cookie_of(paired)
    bad = {
        "audience": jwt(team_key, aud=["another-app"]),
        "issuer": jwt(team_key, iss="https://other-team.cloudflareaccess.com"),
        "expired": jwt(team_key, exp=int(time.time()) - 3600),
        "not valid yet": jwt(team_key, nbf=int(time.time()) + 3600),
        "bad signature": jwt(other_key),
        "unknown key": jwt(team_key, kid="rotated-away"),
        "algorithm": jwt(team_key, alg="HS256"),
        "garbage": "not.a.jwt",
    }
    for why, assertion in bad.items():
        response = httpx.get(srv.remote + "/api/sessions",
                             headers={**device_headers(cookie), "Cf-Access-Jwt-Assertion": assertion})
        assert response.status_code == 401, why
        assert "Cloudflare Access" in response.json()["error"], why
