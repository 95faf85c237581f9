"""Cloudflare Access as a second factor: verify the `Cf-Access-Jwt-Assertion` JWT of each request.

When Access guards the tunnel's hostname, Cloudflare's edge signs every request it lets through
with the team's RS256 keys. Checking that assertion here means a leaked tunnel URL plus a stolen
device cookie are still not enough: the request must also have passed Access. Only RS256 is
accepted (the algorithm is never taken from the token's say-so), with the configured audience,
the team's issuer and a live expiry. The team's keys are fetched from its certs URL and cached;
an unknown key id (Cloudflare rotates keys) refetches them, at most once a minute.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import urllib.request
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

log = logging.getLogger("observatory.auth")

HEADER = "cf-access-jwt-assertion"
KEYS_TTL_S = 3600.0
REFETCH_AFTER_S = 60.0
LEEWAY_S = 60


class AccessDenied(Exception):
    """The assertion is missing or not valid; the message says why (never the token)."""


def team_host(team_domain: str) -> str:
    """"myteam", "myteam.cloudflareaccess.com" or its https URL → "myteam.cloudflareaccess.com"."""
    host = team_domain.strip().removeprefix("https://").rstrip("/")
    return host if "." in host else f"{host}.cloudflareaccess.com"


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_key(jwk: dict[str, Any]) -> rsa.RSAPublicKey:
    numbers = rsa.RSAPublicNumbers(int.from_bytes(_b64(jwk["e"]), "big"), int.from_bytes(_b64(jwk["n"]), "big"))
    return numbers.public_key()


def _fetch_keys(url: str) -> dict[str, rsa.RSAPublicKey]:
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 (https URL from the config)
        jwks = json.load(resp)
    return {k["kid"]: _public_key(k) for k in jwks.get("keys", []) if k.get("kty") == "RSA" and "kid" in k}


class AccessVerifier:
    def __init__(self, team_domain: str, audience: str, certs_url: str = "") -> None:
        self.issuer = f"https://{team_host(team_domain)}"
        self.audience = audience
        self.certs_url = certs_url or f"{self.issuer}/cdn-cgi/access/certs"
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def _key(self, kid: str) -> rsa.RSAPublicKey:
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if age > KEYS_TTL_S or (kid not in self._keys and age > REFETCH_AFTER_S):
                try:
                    self._keys = await asyncio.to_thread(_fetch_keys, self.certs_url)
                    self._fetched_at = time.monotonic()
                except (OSError, ValueError, KeyError) as exc:
                    log.warning("cannot fetch Cloudflare Access keys from %s: %s", self.certs_url, exc)
        key = self._keys.get(kid)
        if key is None:
            raise AccessDenied("Cloudflare Access assertion signed by an unknown key")
        return key

    async def verify(self, token: str) -> dict[str, Any]:
        """The assertion's claims when it is valid, else AccessDenied."""
        if not token:
            raise AccessDenied("this hostname requires Cloudflare Access; sign in through Access")
        try:
            head_b64, claims_b64, sig_b64 = token.split(".")
            header = json.loads(_b64(head_b64))
            claims = json.loads(_b64(claims_b64))
            signature = _b64(sig_b64)
        except (ValueError, TypeError):
            raise AccessDenied("Cloudflare Access assertion is not a JWT") from None
        if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "RS256":
            raise AccessDenied("Cloudflare Access assertion must be an RS256 JWT")
        key = await self._key(str(header.get("kid", "")))
        try:
            key.verify(signature, f"{head_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise AccessDenied("Cloudflare Access assertion has a bad signature") from None
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if self.audience not in audiences:
            raise AccessDenied("Cloudflare Access assertion is for another application (audience)")
        if claims.get("iss") != self.issuer:
            raise AccessDenied("Cloudflare Access assertion is from another team (issuer)")
        now = time.time()
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, (int, float)) or exp < now - LEEWAY_S:
            raise AccessDenied("Cloudflare Access assertion has expired; reload to sign in again")
        if not isinstance(nbf, (int, float)) or nbf > now + LEEWAY_S:
            raise AccessDenied("Cloudflare Access assertion is not valid yet")
