"""SQL for alerts and push subscriptions. Write functions run as the writer's jobs."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from observatory.model import Alert

_ALERT_COLUMNS = "id, session_id, kind, title, body, created_at, acked_at, resolved_at"


def _row_to_alert(r: tuple[Any, ...]) -> Alert:
    return Alert(id=r[0], session_id=r[1], kind=r[2], title=r[3], body=r[4], created_at=r[5],
                 acked_at=r[6], resolved_at=r[7])


def insert_alert(conn: sqlite3.Connection, alert: Alert) -> int:
    cur = conn.execute("INSERT INTO alerts (session_id, kind, title, body, created_at) VALUES (?,?,?,?,?)",
                       (alert.session_id, alert.kind, alert.title, alert.body, alert.created_at))
    return int(cur.lastrowid)  # type: ignore[arg-type]


def resolve_alerts(conn: sqlite3.Connection, ids: list[int], at: int) -> None:
    conn.executemany("UPDATE alerts SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL",
                     [(at, i) for i in ids])


def ack_alert(conn: sqlite3.Connection, alert_id: int, at: int) -> Alert | None:
    """Acknowledge once: a second ack keeps the first time. None when there is no such alert."""
    conn.execute("UPDATE alerts SET acked_at = ? WHERE id = ? AND acked_at IS NULL", (at, alert_id))
    row = conn.execute(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    return _row_to_alert(row) if row else None


def list_alerts(conn: sqlite3.Connection, session_id: str | None, limit: int) -> list[Alert]:
    """Newest first."""
    if session_id is None:
        rows = conn.execute(f"SELECT {_ALERT_COLUMNS} FROM alerts ORDER BY id DESC LIMIT ?", (limit,))
    else:
        rows = conn.execute(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE session_id = ? ORDER BY id DESC LIMIT ?",
                            (session_id, limit))
    return [_row_to_alert(r) for r in rows]


def recent_alerts(conn: sqlite3.Connection, since: int) -> list[Alert]:
    """Alerts still open, or created since `since`: what dedupe and cooldown must remember at start."""
    rows = conn.execute(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE resolved_at IS NULL OR created_at >= ? "
                        "ORDER BY id", (since,))
    return [_row_to_alert(r) for r in rows]


@dataclass(slots=True)
class Subscription:
    """A browser's PushSubscription plus what it wants to hear about."""

    endpoint: str
    p256dh: str
    auth: str
    kinds: list[str] | None = None  # None = every enabled kind
    quiet_hours: dict[str, str] | None = None  # {"start": "22:00", "end": "07:00", "tz": "Europe/Paris"}
    created_at: int = 0
    id: int = 0

    def info(self) -> dict[str, Any]:
        """The shape pywebpush takes."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


def upsert_subscription(conn: sqlite3.Connection, sub: Subscription) -> int:
    """One row per endpoint: a browser re-subscribing replaces its keys and preferences."""
    conn.execute(
        "INSERT INTO push_subscriptions (endpoint, p256dh, auth, kinds, quiet_hours, created_at) "
        "VALUES (?,?,?,?,?,?) ON CONFLICT(endpoint) DO UPDATE SET p256dh = excluded.p256dh, "
        "auth = excluded.auth, kinds = excluded.kinds, quiet_hours = excluded.quiet_hours",
        (sub.endpoint, sub.p256dh, sub.auth, _json_or_null(sub.kinds), _json_or_null(sub.quiet_hours),
         sub.created_at))
    return int(conn.execute("SELECT id FROM push_subscriptions WHERE endpoint = ?", (sub.endpoint,)).fetchone()[0])


def delete_subscription(conn: sqlite3.Connection, endpoint: str) -> int:
    return conn.execute("DELETE FROM push_subscriptions WHERE endpoint = ?", (endpoint,)).rowcount


def mark_delivered(conn: sqlite3.Connection, endpoint: str, at: int) -> None:
    conn.execute("UPDATE push_subscriptions SET last_ok_at = ? WHERE endpoint = ?", (at, endpoint))


def list_subscriptions(conn: sqlite3.Connection) -> list[Subscription]:
    rows = conn.execute("SELECT id, endpoint, p256dh, auth, kinds, quiet_hours, created_at "
                        "FROM push_subscriptions ORDER BY id")
    return [Subscription(id=r[0], endpoint=r[1], p256dh=r[2], auth=r[3],
                         kinds=json.loads(r[4]) if r[4] else None,
                         quiet_hours=json.loads(r[5]) if r[5] else None, created_at=r[6]) for r in rows]


def _json_or_null(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))
