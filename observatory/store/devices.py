"""SQL of remote access: credentials (paired devices, local browsers, ingest tokens) and pairing codes.

Only hashes of secrets are stored. A credential is `<id>.<secret>`: the id selects the row,
the secret's hash is compared in constant time by the caller (observatory/auth/devices.py).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from observatory.model import iso

# Kinds of credential: a device paired with a one-time code (phone, tablet), a browser on the
# observatory's own machine (auto-paired over loopback), a remote host's ingest token.
DEVICE = "device"
LOCAL = "local"
INGEST = "ingest"


@dataclass(frozen=True, slots=True)
class Stored:
    """What a check needs to know about one live (not revoked) credential."""

    id: str
    name: str
    kind: str
    secret_hash: str
    last_used_at: int | None


def insert_credential(conn: sqlite3.Connection, cred_id: str, name: str, kind: str, secret_hash: str,
                      created_at: int) -> None:
    conn.execute("INSERT INTO credentials (id, name, kind, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                 (cred_id, name, kind, secret_hash, created_at))


def live_credential(conn: sqlite3.Connection, cred_id: str) -> Stored | None:
    row = conn.execute("SELECT id, name, kind, secret_hash, last_used_at FROM credentials "
                       "WHERE id = ? AND revoked_at IS NULL", (cred_id,)).fetchone()
    return Stored(*row) if row else None


def touch_credential(conn: sqlite3.Connection, cred_id: str, at: int) -> None:
    conn.execute("UPDATE credentials SET last_used_at = ? WHERE id = ?", (at, cred_id))


def list_credentials(conn: sqlite3.Connection, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """Live credentials of these kinds, newest first, without their hashes."""
    marks = ",".join("?" * len(kinds))
    rows = conn.execute(f"SELECT id, name, kind, created_at, last_used_at FROM credentials "  # noqa: S608
                        f"WHERE kind IN ({marks}) AND revoked_at IS NULL ORDER BY created_at DESC, id",
                        kinds).fetchall()
    return [{"id": r[0], "name": r[1], "kind": r[2], "created_at": iso(r[3]),
             "last_used_at": iso(r[4])} for r in rows]


def revoke_credential(conn: sqlite3.Connection, ref: str, kinds: tuple[str, ...], at: int) -> list[str]:
    """Revoke the live credential(s) of these kinds whose id or name is `ref`; returns the ids revoked."""
    marks = ",".join("?" * len(kinds))
    rows = conn.execute(f"SELECT id FROM credentials WHERE (id = ? OR name = ?) AND kind IN ({marks}) "  # noqa: S608
                        f"AND revoked_at IS NULL", (ref, ref, *kinds)).fetchall()
    ids = [r[0] for r in rows]
    conn.executemany("UPDATE credentials SET revoked_at = ? WHERE id = ?", [(at, i) for i in ids])
    return ids


def prune_local(conn: sqlite3.Connection, keep: int) -> None:
    """Auto-paired local browsers are cheap to re-issue: keep only the most recently used."""
    conn.execute("DELETE FROM credentials WHERE kind = ? AND id NOT IN (SELECT id FROM credentials "
                 "WHERE kind = ? AND revoked_at IS NULL ORDER BY COALESCE(last_used_at, created_at) DESC "
                 "LIMIT ?)", (LOCAL, LOCAL, keep))


def insert_pairing_code(conn: sqlite3.Connection, code_hash: str, created_at: int, expires_at: int) -> None:
    conn.execute("DELETE FROM pairing_codes WHERE expires_at < ?", (created_at,))
    conn.execute("INSERT INTO pairing_codes (code_hash, created_at, expires_at) VALUES (?, ?, ?)",
                 (code_hash, created_at, expires_at))


def redeem_pairing_code(conn: sqlite3.Connection, code_hash: str, now: int, cred_id: str, name: str,
                        secret_hash: str) -> str:
    """Use a code once and create its device in the same transaction: "ok", "unknown", "used" or "expired"."""
    row = conn.execute("SELECT expires_at, used_at FROM pairing_codes WHERE code_hash = ?", (code_hash,)).fetchone()
    if row is None:
        return "unknown"
    if row[1] is not None:
        return "used"
    if row[0] <= now:
        return "expired"
    conn.execute("UPDATE pairing_codes SET used_at = ?, device_id = ? WHERE code_hash = ?", (now, cred_id, code_hash))
    insert_credential(conn, cred_id, name, DEVICE, secret_hash, now)
    return "ok"

