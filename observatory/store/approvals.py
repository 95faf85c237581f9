"""SQL of away mode: permission requests held for a decision from the phone, and their outcome."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from observatory.model import iso

PENDING = "pending"


@dataclass(slots=True)
class Approval:
    """One permission request an agent is (or was) waiting on.

    status: pending → allowed | denied (answered from the phone) | timed_out | answered_at_terminal |
    hook_gone (the agent stopped waiting: its hook timed out or the prompt was cancelled) | away_off |
    server_stopped. Only `allowed` and `denied` ever reach the agent as a decision.
    """

    id: str
    session_id: str
    agent: str
    tool: str | None
    tool_input: Any
    cwd: str | None
    created_at: int  # ns
    expires_at: int  # ns
    status: str = PENDING
    decided_at: int | None = None
    decided_by: str | None = None
    message: str | None = None

    @property
    def latency_ms(self) -> float | None:
        return round((self.decided_at - self.created_at) / 1e6, 1) if self.decided_at else None

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "session_id": self.session_id, "agent": self.agent, "tool": self.tool,
                "tool_input": self.tool_input, "cwd": self.cwd, "status": self.status,
                "created_at": iso(self.created_at), "expires_at": iso(self.expires_at),
                "decided_at": iso(self.decided_at), "decided_by": self.decided_by, "message": self.message,
                "latency_ms": self.latency_ms}


_COLUMNS = ("id, session_id, agent, tool, tool_input, cwd, created_at, expires_at, status, decided_at, "
            "decided_by, message")


def _row(r: tuple[Any, ...]) -> Approval:
    return Approval(id=r[0], session_id=r[1], agent=r[2], tool=r[3], tool_input=json.loads(r[4]), cwd=r[5],
                    created_at=r[6], expires_at=r[7], status=r[8], decided_at=r[9], decided_by=r[10],
                    message=r[11])


def insert_approval(conn: sqlite3.Connection, a: Approval) -> None:
    conn.execute(f"INSERT INTO approvals ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                 (a.id, a.session_id, a.agent, a.tool, json.dumps(a.tool_input), a.cwd, a.created_at,
                  a.expires_at, a.status, a.decided_at, a.decided_by, a.message))


def settle_approval(conn: sqlite3.Connection, a: Approval) -> None:
    """pending → its outcome, once: a second outcome never overwrites the first."""
    conn.execute("UPDATE approvals SET status = ?, decided_at = ?, decided_by = ?, message = ? "
                 "WHERE id = ? AND status = 'pending'", (a.status, a.decided_at, a.decided_by, a.message, a.id))


def abandon_pending(conn: sqlite3.Connection, at: int) -> int:
    """At start: requests a previous server run held are answered (by the terminal) or gone."""
    return conn.execute("UPDATE approvals SET status = 'server_stopped', decided_at = ? WHERE status = 'pending'",
                        (at,)).rowcount


def get_approval(conn: sqlite3.Connection, approval_id: str) -> Approval | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM approvals WHERE id = ?", (approval_id,)).fetchone()
    return _row(row) if row else None


def list_approvals(conn: sqlite3.Connection, session_id: str | None, limit: int) -> list[Approval]:
    """Newest first."""
    where, args = ("WHERE session_id = ?", (session_id,)) if session_id else ("", ())
    rows = conn.execute(f"SELECT {_COLUMNS} FROM approvals {where} ORDER BY created_at DESC LIMIT ?",
                        (*args, limit))
    return [_row(r) for r in rows]
