"""The pending-approval book: who waits for a decision, and the first answer that counts.

Each held permission request is an `Approval` plus a future its hook handler awaits. The
first outcome wins (a phone decision, the wait running out, the request being answered at
the terminal, the agent giving up, away mode switched off); later ones are refused, so the
agent gets at most one decision. The terminal answer is read from the session's next events:
measured with Claude Code 2.1.197, approving at the terminal leaves the held hook request
open (its answer is then ignored), so the book must release it itself when the tool ends or
the turn ends; rejecting at the terminal (Esc) closes the request at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from typing import Any

from observatory.agents.base import text, tool_detail
from observatory.bus import Message
from observatory.model import Event, Kind, now_ns
from observatory.store import approvals as sql
from observatory.store.approvals import PENDING, Approval

log = logging.getLogger("observatory.away")

# Events after which a session's prompt is no longer on screen: a new turn, the turn's end, the end.
TURN_OVER = frozenset({Kind.TURN_END, Kind.PROMPT, Kind.SESSION_END, Kind.PROCESS_EXIT})
DECISIONS = {"allow": "allowed", "deny": "denied"}


class Conflict(Exception):
    """The request is no longer pending: its first outcome stands."""


class ApprovalBook:
    def __init__(self, obs: Any) -> None:
        self.obs = obs
        self.pending: dict[str, Approval] = {}
        self._futures: dict[str, asyncio.Future[Approval]] = {}
        self._after_seq: dict[str, int] = {}  # approval id → last event seq when it was opened

    async def open(self, agent: str, payload: dict[str, Any], wait_s: float) -> Approval:
        now = now_ns()
        approval = Approval(id=uuid.uuid4().hex, session_id=str(payload["session_id"]), agent=agent,
                            tool=text(payload.get("tool_name")), tool_input=payload.get("tool_input"),
                            cwd=text(payload.get("cwd")), created_at=now, expires_at=now + int(wait_s * 1e9))
        self.pending[approval.id] = approval
        self._futures[approval.id] = asyncio.get_running_loop().create_future()
        self._after_seq[approval.id] = self.obs.bus.seq
        await self.obs.store.write(sql.insert_approval, approval)
        self._publish(approval)
        return approval

    def outcome(self, approval: Approval) -> asyncio.Future[Approval]:
        """The future of its first outcome; ask right after `open`, before it can be settled."""
        return self._futures[approval.id]

    async def settle(self, approval_id: str, status: str, who: str | None = None,
                     message: str | None = None) -> Approval:
        """Record the first outcome and wake the waiting hook; Conflict when there was one already."""
        approval = self.pending.get(approval_id)
        if approval is None or approval.status != PENDING:
            raise Conflict(approval_id)
        approval.status, approval.decided_at, approval.decided_by, approval.message = status, now_ns(), who, message
        self._after_seq.pop(approval_id, None)
        self._futures.pop(approval_id).set_result(approval)
        log.info("approval %s (%s %s in %s): %s by %s after %.0f ms", approval.id, approval.tool,
                 tool_detail(approval.tool_input), approval.session_id, status, who or "-", approval.latency_ms)
        try:
            await self.obs.store.write(sql.settle_approval, approval)
        finally:
            del self.pending[approval_id]  # kept until written, so a reader always finds it somewhere
            self._publish(approval)
        return approval

    def waiting(self, session_id: str | None = None) -> list[Approval]:
        return [a for a in self.pending.values() if a.status == PENDING and session_id in (None, a.session_id)]

    async def settle_all(self, status: str) -> None:
        for approval_id in [a.id for a in self.waiting()]:
            try:
                await self.settle(approval_id, status)
            except Conflict:
                pass

    async def find(self, approval_id: str) -> Approval | None:
        return self.pending.get(approval_id) or await self.obs.store.read(sql.get_approval, approval_id)

    async def recent(self, session_id: str | None, limit: int) -> list[Approval]:
        """Settled requests, newest first (including any whose outcome is being written)."""
        settling = [a for a in self.pending.values() if a.status != PENDING and session_id in (None, a.session_id)]
        ids = {a.id for a in self.pending.values()}
        rows = await self.obs.store.read(sql.list_approvals, session_id, limit)
        return (settling[::-1] + [a for a in rows if a.id not in ids and a.status != PENDING])[:limit]

    # The terminal answered first: the session moved on without us.

    def answered_by(self, ev: Event) -> list[str]:
        """Ids of the pending requests this event shows to be answered (or moot) already."""
        out = []
        for approval in self.waiting(ev.session_id):
            if ev.seq <= self._after_seq.get(approval.id, 0):
                continue
            if ev.kind in TURN_OVER or (ev.kind == Kind.TOOL_END and _same_call(approval, ev)):
                out.append(approval.id)
        return out

    def on_message(self, msg: Message) -> Awaitable[None] | None:
        """Bus consumer (events): release requests the user answered at the terminal."""
        return self._release_answered(msg.obj) if self.pending else None

    async def _release_answered(self, ev: Event) -> None:
        for approval_id in self.answered_by(ev):
            try:
                await self.settle(approval_id, "answered_at_terminal")
            except Conflict:
                pass

    def _publish(self, approval: Approval) -> None:
        self.obs.bus.publish(Message("approval", approval.to_api()))


def _same_call(approval: Approval, ev: Event) -> bool:
    if ev.tool != approval.tool:
        return False
    wanted = tool_detail(approval.tool_input)
    return all(ev.detail.get(key) == value for key, value in wanted.items() if key != "input")
