"""SQL of control: actions (kill/restart and their outcome) and the append-only audit log."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from observatory.model import iso


@dataclass(slots=True)
class AuditEntry:
    ts: int  # ns
    who: str
    action: str
    result: str
    client: str | None = None
    session_id: str | None = None
    pid: int | None = None
    action_id: str | None = None


def insert_action(conn: sqlite3.Connection, action_id: str, session_id: str, action: str, who: str,
                  created_at: int, detail: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO control_actions (id, session_id, action, who, status, detail, created_at) "
        "VALUES (?, ?, ?, ?, 'pending', ?, ?)",
        (action_id, session_id, action, who, json.dumps(detail), created_at))


def finish_action(conn: sqlite3.Connection, action_id: str, status: str, detail: dict[str, Any],
                  finished_at: int) -> None:
    """Pending → succeeded|failed, once: a late second answer never overwrites the first."""
    conn.execute(
        "UPDATE control_actions SET status = ?, detail = ?, finished_at = ? WHERE id = ? AND status = 'pending'",
        (status, json.dumps(detail), finished_at, action_id))


def fail_pending_actions(conn: sqlite3.Connection, reason: str, finished_at: int) -> int:
    """At start: actions left pending by a server that stopped can no longer finish."""
    return conn.execute(
        "UPDATE control_actions SET status = 'failed', detail = json_set(detail, '$.error', ?), finished_at = ? "
        "WHERE status = 'pending'", (reason, finished_at)).rowcount


def get_action(conn: sqlite3.Connection, action_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT id, session_id, action, who, status, detail, created_at, finished_at "
        "FROM control_actions WHERE id = ?", (action_id,)).fetchone()
    if row is None:
        return None
    return {"id": row[0], "session_id": row[1], "action": row[2], "who": row[3], "status": row[4],
            "detail": json.loads(row[5]), "created_at": iso(row[6]), "finished_at": iso(row[7])}


def insert_audit(conn: sqlite3.Connection, entry: AuditEntry) -> None:
    conn.execute(
        "INSERT INTO audit (ts, who, client, action, session_id, pid, result, action_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (entry.ts, entry.who, entry.client, entry.action, entry.session_id, entry.pid, entry.result,
         entry.action_id))


def list_audit(conn: sqlite3.Connection, before_id: int | None, limit: int) -> list[dict[str, Any]]:
    """Newest first; each attempt with the outcome of the action it started, if any."""
    rows = conn.execute(
        "SELECT a.id, a.ts, a.who, a.client, a.action, a.session_id, a.pid, a.result, a.action_id, c.status "
        "FROM audit a LEFT JOIN control_actions c ON c.id = a.action_id "
        "WHERE a.id < ? ORDER BY a.id DESC LIMIT ?",
        (before_id if before_id is not None else 2**62, limit)).fetchall()
    return [{"id": r[0], "time": iso(r[1]), "who": r[2], "client": r[3], "action": r[4], "session_id": r[5],
             "pid": r[6], "result": r[7], "action_id": r[8], "outcome": r[9]} for r in rows]
