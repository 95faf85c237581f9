"""Paired devices, local browsers and ingest tokens: issuing, checking, revoking credentials.

A credential is `<id>.<secret>`; only sha256(secret) is stored (the secret is 256 random bits,
so a slow hash adds nothing) and compared in constant time. A device's CSRF token is an HMAC
of its secret: nothing more to store, and only the holder of the cookie can know it.

Checks read the credential's row on every request instead of caching it, so a revocation
made by the CLI (another process) applies to the very next request. The read is a primary-key
lookup on this service's own read-only WAL connection: microseconds, never waiting for the
writer, so it runs inline — also inside the synchronous render of the PWA shell.

The local browser (see `csrf_token_for`): when the PWA shell is requested on the LOCAL listener
by a loopback client naming a loopback Host (a DNS-rebinding page names its own host), and it
has no valid cookie, it is auto-paired as a "local browser" device. So the dashboard on this
machine uses the same cookie + CSRF path as a phone for kill/restart/ack, and no token ever
reaches JavaScript. Anyone who can reach loopback could already read everything; on a machine
shared with other users, set `[remote] local_auto_pair = false` and pair browsers with a code.
Local devices are refused on the remote listener.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import logging
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection

from observatory.auth.token import same_secret
from observatory.model import now_ns
from observatory.store import Saturated
from observatory.store import devices as sql
from observatory.store.db import connect

log = logging.getLogger("observatory.auth")

COOKIE = "observatory_device"
COOKIE_MAX_AGE_S = 400 * 86400  # the longest lifetime browsers honour
REMOTE_SCOPE = "observatory.remote"  # set by the remote policy on every request it lets through
ISSUE_SCOPE = "observatory.issue"  # a list the local-browser middleware reads after the response starts
CHECKED_SCOPE = "observatory.device"  # memo of this request's device check
TOUCH_EVERY_NS = 60 * 10**9
LOCAL_BROWSERS_KEPT = 20
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: codes are read and typed by people
CODE_LENGTH = 8  # 40 bits; with rate limiting and a 10-minute life, guessing is hopeless


@dataclass(frozen=True, slots=True)
class Issued:
    """A freshly made credential; its secret exists only here and in the client's hands."""

    id: str
    name: str
    kind: str
    secret: str

    @property
    def credential(self) -> str:
        return f"{self.id}.{self.secret}"

    @property
    def secret_hash(self) -> str:
        return hash_secret(self.secret)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(name: str, kind: str) -> Issued:
    return Issued(secrets.token_urlsafe(9), name, kind, secrets.token_urlsafe(32))


def csrf_for(credential: str) -> str:
    return hmac.new(credential.encode(), b"observatory-csrf", hashlib.sha256).hexdigest()


def new_pairing_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """What a person typed ("abcd-efgh", "ABCD EFGH") → the code."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def display_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def code_hash(code: str) -> str:
    return hash_secret(normalise_code(code))


def clean_name(text: Any, default: str) -> str:
    """A device or host name for lists and logs: printable, one line, at most 64 characters."""
    name = "".join(ch for ch in str(text or "") if ch.isprintable()).strip()[:64]
    return name or default


def cookie_header(value: str, secure: bool, max_age: int = COOKIE_MAX_AGE_S) -> str:
    attrs = f"{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict"
    return attrs + "; Secure" if secure else attrs


def on_remote(conn: HTTPConnection) -> bool:
    return bool(conn.scope.get(REMOTE_SCOPE))


def wants_secure_cookie(conn: HTTPConnection) -> bool:
    """Secure everywhere but plain-http loopback (behind the tunnel the browser sees https)."""
    return on_remote(conn) or conn.url.scheme in ("https", "wss")


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_request(conn: HTTPConnection) -> bool:
    """Loopback client AND a loopback Host header (a DNS-rebinding page carries its own name)."""
    client = conn.client.host if conn.client else ""
    return _is_loopback_host(client) and _is_loopback_host(conn.url.hostname or "")


def _bearer(conn: HTTPConnection) -> str:
    scheme, _, value = conn.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


class Devices:
    """`obs.services["devices"]`: the checks the remote policy and the control guard call."""

    def __init__(self, obs: Any) -> None:
        self.obs = obs
        self._conn: sqlite3.Connection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _check(self, credential: str, kinds: tuple[str, ...]) -> sql.Stored | None:
        cred_id, _, secret = credential.partition(".")
        if not cred_id or not secret:
            return None
        if self._conn is None:
            self._conn = connect(self.obs.store.path, readonly=True)
        stored = sql.live_credential(self._conn, cred_id)
        if stored is None or stored.kind not in kinds or not same_secret(hash_secret(secret), stored.secret_hash):
            return None
        now = now_ns()
        if (stored.last_used_at or 0) < now - TOUCH_EVERY_NS:
            with contextlib.suppress(Saturated):  # "last used" is a nicety; never refuse for it
                self.obs.store.submit(sql.touch_credential, stored.id, now, wait=False)
        return stored

    def device(self, conn: HTTPConnection) -> sql.Stored | None:
        """The device this request's cookie proves, checked once per request."""
        if CHECKED_SCOPE not in conn.scope:
            cookie = conn.cookies.get(COOKIE, "")
            kinds = (sql.DEVICE,) if on_remote(conn) else (sql.DEVICE, sql.LOCAL)
            conn.scope[CHECKED_SCOPE] = self._check(cookie, kinds) if cookie else None
        return conn.scope[CHECKED_SCOPE]

    def verify(self, conn: HTTPConnection) -> str | None:
        """The paired device's name, or None (the control guard's contract)."""
        stored = self.device(conn)
        return stored.name if stored else None

    def csrf_token(self, conn: HTTPConnection) -> str | None:
        return csrf_for(conn.cookies[COOKIE]) if self.device(conn) else None

    def verify_ingest(self, conn: HTTPConnection) -> str | None:
        """The host an `Authorization: Bearer <ingest token>` belongs to, or None."""
        token = _bearer(conn)
        stored = self._check(token, (sql.INGEST,)) if token else None
        return stored.name if stored else None

    def csrf_token_for(self, conn: HTTPConnection) -> str | None:
        """For the PWA shell: this device's CSRF token, auto-pairing a local browser when allowed."""
        token = self.csrf_token(conn)
        if token is not None or not self._may_auto_pair(conn):
            return token
        issued = conn.scope[ISSUE_SCOPE]
        if not issued:
            issued.append(issue("Local browser", sql.LOCAL))
        return csrf_for(issued[0].credential)

    def _may_auto_pair(self, conn: HTTPConnection) -> bool:
        return (self.obs.settings.remote.local_auto_pair and ISSUE_SCOPE in conn.scope
                and not on_remote(conn) and conn.scope.get("method") == "GET" and is_loopback_request(conn))

    async def save_local(self, local: Issued) -> bool:
        """Store an auto-paired local browser; False when the writer is saturated (no cookie then)."""
        try:
            await self.obs.store.write(_insert_local, local)
        except Saturated:
            log.warning("could not auto-pair a local browser: the database writer is saturated")
            return False
        log.info("auto-paired a local browser as device %s", local.id)
        return True


def _insert_local(conn: sqlite3.Connection, local: Issued) -> None:
    sql.insert_credential(conn, local.id, local.name, local.kind, local.secret_hash, now_ns())
    sql.prune_local(conn, LOCAL_BROWSERS_KEPT)


# Write jobs, run by the server's writer (`await store.write(fn, ...)`) or the CLI's own connection.

def create_pairing_code(conn: sqlite3.Connection, ttl_s: float) -> tuple[str, int]:
    """A new one-time code and when it expires (ns)."""
    code = new_pairing_code()
    now = now_ns()
    expires_at = now + int(ttl_s * 1e9)
    sql.insert_pairing_code(conn, code_hash(code), now, expires_at)
    return code, expires_at


def redeem(conn: sqlite3.Connection, code: str, name: str) -> tuple[str, Issued | None]:
    """Exchange a code for a new device credential: ("ok", device) or (why not, None)."""
    device = issue(name, sql.DEVICE)
    outcome = sql.redeem_pairing_code(conn, code_hash(code), now_ns(), device.id, device.name, device.secret_hash)
    return outcome, device if outcome == "ok" else None


def create_ingest_token(conn: sqlite3.Connection, host: str) -> Issued:
    token = issue(host, sql.INGEST)
    sql.insert_credential(conn, token.id, token.name, token.kind, token.secret_hash, now_ns())
    return token
