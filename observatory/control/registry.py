"""Supervisors connected over WS /api/agents: their state, their link to a session, their reports.

Linking: hook events carry the agent's pid (X-Agent-Pid → Session.pid). A supervisor is
linked to the session whose pid is its child's pid or a descendant of it (an agent started
through `sh -c` or a node wrapper). Linking emits one supervisor event carrying
{"supervisor_id"} so sessions.py marks the session supervised.

Supervisor-only state (pid, command, connection) lives here, not in fake sessions: until a
supervisor links, its reports (e.g. an exit) go to the audit log only; once linked, its
exits become PROCESS_EXIT events of that session (exit ≠ 0 is a crash with certainty).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field
from typing import Any

import psutil
from starlette.websockets import WebSocket

from observatory.model import Event, Kind, Session, Source, cap_detail, now_ns
from observatory.store import Saturated

log = logging.getLogger("observatory.control")

CHECKED_MAX = 4096
INGEST_RETRIES = 20


@dataclass
class Supervisor:
    id: str
    agent: str
    name: str | None
    argv: list[str]
    cwd: str | None
    child_pid: int = 0
    running: bool = False
    session_id: str | None = None
    ws: WebSocket | None = None
    last_seq: int = 0
    pending: set[str] = field(default_factory=set)  # action ids sent, awaiting a result

    @property
    def connected(self) -> bool:
        return self.ws is not None

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "agent": self.agent, "name": self.name, "argv": self.argv, "cwd": self.cwd,
                "pid": self.child_pid, "running": self.running, "session_id": self.session_id,
                "connected": self.connected}


def _describe_exit(report: dict[str, Any]) -> str:
    sig = report.get("signal")
    if isinstance(sig, int):
        try:
            return f"killed by {signal.Signals(sig).name}"
        except ValueError:
            return f"killed by signal {sig}"
    return f"exit code {report.get('exit_code')}"


def _ancestors(pid: int) -> set[int]:
    try:
        return {p.pid for p in psutil.Process(pid).parents()}
    except psutil.Error:
        return set()


class Registry:
    def __init__(self, obs: Any, actions: Any) -> None:
        self.obs = obs
        self.actions = actions
        self.by_id: dict[str, Supervisor] = {}
        self._checked: dict[tuple[str, int], None] = {}  # (session, pid) pairs already tried

    def for_session(self, session_id: str) -> Supervisor | None:
        for sup in self.by_id.values():
            if sup.session_id == session_id:
                return sup
        return None

    # -- connection lifecycle ---------------------------------------------------------------

    async def hello(self, msg: dict[str, Any], ws: WebSocket) -> Supervisor:
        sup_id = str(msg["supervisor_id"])
        child = msg.get("child") if isinstance(msg.get("child"), dict) else {}
        sup = self.by_id.get(sup_id)
        if sup is None:
            sup = self.by_id[sup_id] = Supervisor(sup_id, str(msg.get("agent") or "unknown"), msg.get("name"),
                                                  list(msg.get("argv") or []), msg.get("cwd"))
        elif sup.ws is not None and sup.ws is not ws:
            await self._close_quietly(sup.ws)
        sup.ws = ws
        sup.child_pid = int(child.get("pid") or 0)
        sup.running = bool(child.get("running"))
        log.info("supervisor %s connected: pid %s %s", sup.id, sup.child_pid, sup.argv)
        known = msg.get("session_id")
        if isinstance(known, str) and self.obs.sessions.get(known) is not None:
            await self._link(sup, self.obs.sessions.get(known))
        else:
            await self._link_any(sup)
        return sup

    async def disconnected(self, sup: Supervisor, ws: WebSocket) -> None:
        if sup.ws is not ws:
            return  # a newer connection of the same supervisor took over
        sup.ws = None
        for action_id in list(sup.pending):
            await self.actions.finish(action_id, False, {"error": "the supervisor disconnected before answering"})
        sup.pending.clear()
        if not sup.running:
            self.by_id.pop(sup.id, None)  # finished: nothing left to control through it

    async def close_all(self) -> None:
        for sup in self.by_id.values():
            if sup.ws is not None:
                await self._close_quietly(sup.ws)

    @staticmethod
    async def _close_quietly(ws: WebSocket) -> None:
        try:
            await ws.close(code=1001)
        except (RuntimeError, OSError):
            pass

    # -- commands -------------------------------------------------------------------------------

    async def command(self, sup: Supervisor, action_id: str, action: str, grace_s: float) -> None:
        """Send kill/restart; the outcome arrives later as a `result` report."""
        assert sup.ws is not None
        sup.pending.add(action_id)
        try:
            await sup.ws.send_json({"type": action, "action_id": action_id, "session_id": sup.session_id,
                                    "grace_s": grace_s})
        except (RuntimeError, OSError) as exc:
            sup.pending.discard(action_id)
            await self.actions.finish(action_id, False, {"error": f"could not reach the supervisor: {exc}"})

    # -- reports --------------------------------------------------------------------------------

    async def report(self, sup: Supervisor, msg: dict[str, Any]) -> None:
        """Apply one report (once, even if resent after a reconnect), then acknowledge it."""
        seq = msg.get("seq")
        if not isinstance(seq, int):
            return
        if seq > sup.last_seq:
            kind = msg.get("type")
            if kind == "spawned":
                await self._spawned(sup, msg)
            elif kind == "exit":
                await self._exited(sup, msg)
            elif kind == "result" and isinstance(msg.get("action_id"), str):
                sup.pending.discard(msg["action_id"])
                detail = msg.get("detail") if isinstance(msg.get("detail"), dict) else {}
                await self.actions.finish(msg["action_id"], bool(msg.get("ok")), detail)
            sup.last_seq = seq
        if sup.ws is not None:
            await sup.ws.send_json({"type": "ack", "seq": seq})

    async def _spawned(self, sup: Supervisor, msg: dict[str, Any]) -> None:
        sup.child_pid = int(msg.get("pid") or 0)
        sup.running = True
        sup.argv = list(msg.get("argv") or sup.argv)
        if sup.session_id is None:
            await self._link_any(sup)
            return
        session = self.obs.sessions.get(sup.session_id)
        if session is not None and msg.get("restart"):
            # The resumed agent continues the same session: starting again, with its new pid.
            await self._ingest(self._event(sup, session, Kind.SESSION_START, msg, "supervisor_restart",
                                           pid=sup.child_pid, detail={"argv": " ".join(sup.argv)}))

    async def _exited(self, sup: Supervisor, msg: dict[str, Any]) -> None:
        sup.running = False
        if sup.session_id is None:
            await self._link_any(sup)  # the agent's first hook may have raced its exit
        session = self.obs.sessions.get(sup.session_id) if sup.session_id else None
        described = _describe_exit(msg)
        if session is None:
            await self.actions.audit(f"supervisor:{sup.id}", "process_exit", described, pid=msg.get("pid"))
            return
        detail = {"exit_code": msg.get("exit_code"), "signal": msg.get("signal"), "restarting": bool(msg.get("restarting")),
                  "requested": msg.get("requested")}
        await self._ingest(self._event(sup, session, Kind.PROCESS_EXIT, msg, "process_exit", pid=msg.get("pid"),
                                       detail=detail, status="ok" if described == "exit code 0" else "error"))

    def _event(self, sup: Supervisor, session: Session, kind: Kind, msg: dict[str, Any], name: str,
               detail: dict[str, Any], **fields: Any) -> Event:
        ts = msg.get("ts") if isinstance(msg.get("ts"), int) else now_ns()
        return Event(agent=session.agent, session_id=session.id, kind=kind, source=Source.SUPERVISOR, ts=ts,
                     received_at=now_ns(), name=name, key=f"supervisor:{sup.id}:{msg.get('seq')}",
                     detail=cap_detail({**detail, "supervisor_id": sup.id}), **fields)

    async def _ingest(self, event: Event) -> None:
        for _ in range(INGEST_RETRIES):
            try:
                await self.obs.pipeline.ingest([event], None)
                return
            except Saturated:
                await asyncio.sleep(0.25)
        log.error("dropped supervisor event %s for %s: writer saturated", event.kind, event.session_id)

    # -- linking --------------------------------------------------------------------------------

    async def session_changed(self, session: Session) -> None:
        """Bus consumer: a session got (or changed) its pid → maybe a supervisor's agent."""
        if not session.pid or session.status.value in ("ended", "crashed"):
            return
        linked = self.for_session(session.id)
        if linked is not None:
            return
        candidates = {s.child_pid: s for s in self.by_id.values() if s.session_id is None and s.child_pid}
        if not candidates:
            return
        sup = candidates.get(session.pid)
        if sup is None:
            pair = (session.id, session.pid)
            if pair in self._checked:
                return
            self._checked[pair] = None
            if len(self._checked) > CHECKED_MAX:
                del self._checked[next(iter(self._checked))]
            sup = next((candidates[p] for p in _ancestors(session.pid) if p in candidates), None)
        if sup is not None:
            await self._link(sup, session)

    async def _link_any(self, sup: Supervisor) -> None:
        if not sup.child_pid:
            return
        for session in list(self.obs.sessions.by_id.values()):
            if session.pid and self.for_session(session.id) is None and (
                    session.pid == sup.child_pid
                    or (session.status.value not in ("ended", "crashed") and sup.child_pid in _ancestors(session.pid))):
                await self._link(sup, session)
                return

    async def _link(self, sup: Supervisor, session: Session) -> None:
        sup.session_id = session.id
        log.info("supervisor %s linked to session %s", sup.id, session.id)
        if session.supervisor_id != sup.id:
            await self._ingest(self._event(sup, session, Kind.OTHER, {"seq": "link"}, "supervisor_linked",
                                           detail={"name": sup.name}))
        if sup.ws is not None:
            await sup.ws.send_json({"type": "linked", "session_id": session.id})
