"""Control actions and the audit log: every attempt is recorded, every action gets an outcome.

An action is created `pending` when accepted (202) and finished exactly once as
`succeeded` or `failed`; each change is also published on the bus (type "action") so the
dashboard shows the outcome without polling.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from observatory.bus import Message
from observatory.model import now_ns
from observatory.store import control as sql
from observatory.store.control import AuditEntry

log = logging.getLogger("observatory.control")


class Actions:
    def __init__(self, obs: Any) -> None:
        self.obs = obs
        self._timeouts: dict[str, asyncio.TimerHandle] = {}

    async def audit(self, who: str, action: str, result: str, *, client: str | None = None,
                    session_id: str | None = None, pid: int | None = None, action_id: str | None = None) -> None:
        entry = AuditEntry(now_ns(), who, action, result, client, session_id, pid, action_id)
        await self.obs.store.write(sql.insert_audit, entry)

    async def create(self, session_id: str, action: str, who: str, client: str, pid: int | None,
                     via: str, timeout_s: float) -> str:
        """Record a pending action and its audit entry; it fails by itself after `timeout_s`."""
        action_id = uuid.uuid4().hex
        detail = {"via": via, "pid": pid}
        await self.obs.store.write(sql.insert_action, action_id, session_id, action, who, now_ns(), detail)
        await self.audit(who, action, f"accepted via {via}", client=client, session_id=session_id, pid=pid,
                         action_id=action_id)
        self._publish(action_id, session_id, action, "pending", detail)
        loop = asyncio.get_running_loop()
        self._timeouts[action_id] = loop.call_later(
            timeout_s, lambda: asyncio.ensure_future(
                self.finish(action_id, False, {"error": f"no outcome within {timeout_s:g} s"})))
        return action_id

    async def finish(self, action_id: str, ok: bool, detail: dict[str, Any]) -> None:
        timer = self._timeouts.pop(action_id, None)
        if timer is None:
            return  # already finished (or not ours): the first outcome stands
        timer.cancel()
        status = "succeeded" if ok else "failed"
        await self.obs.store.write(sql.finish_action, action_id, status, detail, now_ns())
        row = await self.obs.store.read(sql.get_action, action_id)
        if row is not None:
            log.info("action %s %s on %s: %s %s", action_id, row["action"], row["session_id"], status, detail)
            self._publish(action_id, row["session_id"], row["action"], status, row["detail"])

    async def get(self, action_id: str) -> dict[str, Any] | None:
        return await self.obs.store.read(sql.get_action, action_id)

    async def recent_audit(self, before_id: int | None, limit: int) -> list[dict[str, Any]]:
        return await self.obs.store.read(sql.list_audit, before_id, limit)

    async def fail_leftovers(self) -> None:
        """At start: actions a previous server run left pending can never finish now."""
        count = await self.obs.store.write(sql.fail_pending_actions, "the server restarted before an outcome",
                                           now_ns())
        if count:
            log.warning("marked %d pending control actions failed (server restarted)", count)

    def cancel_timeouts(self) -> None:
        for timer in self._timeouts.values():
            timer.cancel()
        self._timeouts.clear()

    def _publish(self, action_id: str, session_id: str, action: str, status: str, detail: dict[str, Any]) -> None:
        self.obs.bus.publish(Message("action", {"id": action_id, "session_id": session_id, "action": action,
                                                "status": status, "detail": detail}))
