"""`observatory run -- <agent command…>`: run an agent supervised, kill/restart it on request.

One inbox serialises everything that changes the agent (its exit, kill, restart, a local
SIGTERM), in arrival order. So "kill while restarting" has one defined outcome: the restart
completes (a new agent runs), then the kill stops that new agent and the supervisor exits.

Fail-open: the server is only told what happens. If it is down, unreachable or refuses us,
the agent runs exactly as it would alone, and the supervisor exits with the agent's code.
After a crash (exit ≠ 0) of a session the server knows, the supervisor waits `linger_s`
for a restart from the dashboard before giving the terminal back (Ctrl-C ends the wait).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from observatory.auth.token import read_token
from observatory.control.child import Child, ExitStatus
from observatory.control.link import Link
from observatory.control.resume import resume_args
from observatory.model import now_ns

log = logging.getLogger("observatory.supervisor")

REPORT_WAIT_S = 10.0  # how long a finishing supervisor tries to deliver its last reports
_FORWARDED = (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGWINCH)


@dataclass
class RunOptions:
    argv: list[str]
    agent: str
    ws_url: str
    data_dir: Path
    name: str | None = None
    kill_grace_s: float = 5.0
    linger_s: float = 0.0


class Supervisor:
    def __init__(self, opts: RunOptions) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.opts = opts
        self.child = Child()
        self.link = Link(opts.ws_url, lambda: read_token(opts.data_dir), self._hello, self._message)
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.session_id: str | None = None
        self.restarts = 0
        self.last_exit: ExitStatus | None = None
        self._reported_pid = 0

    async def run(self) -> int:
        """Start the agent and supervise it; returns the agent's exit code (128+N for signal N)."""
        loop = asyncio.get_running_loop()
        self.child.setup()
        for sig in _FORWARDED:
            loop.add_signal_handler(sig, self._signal, sig)
        loop.add_signal_handler(signal.SIGTERM, self.inbox.put_nowait, {"type": "kill", "requested": "signal"})
        try:
            self._spawn(self.opts.argv, restart=False)
        except OSError as exc:
            _tell(f"cannot start {self.opts.argv[0]!r}: {exc}")
            return 127
        link = asyncio.create_task(self.link.run())
        try:
            status = await self._supervise()
            await self._deliver_last_reports()
        finally:
            link.cancel()
        return status.shell_code

    async def _deliver_last_reports(self) -> None:
        """Give the server a bounded chance to learn how the agent ended (also across a
        server restart); never wait when no server was ever reached. Ctrl-C skips it."""
        if not self.link.outbox or not self.link.ever_connected:
            return
        if not self.link.connected:
            _tell(f"reconnecting to report how the agent ended (up to {REPORT_WAIT_S:g} s; Ctrl-C skips)")
        drained = asyncio.create_task(self.link.drain(REPORT_WAIT_S))
        quit_ = asyncio.create_task(self._quit_requested())
        await asyncio.wait({drained, quit_}, return_when=asyncio.FIRST_COMPLETED)
        drained.cancel()
        quit_.cancel()

    async def _quit_requested(self) -> None:
        while (await self.inbox.get()).get("type") not in ("quit", "kill"):
            pass

    # -- what the server sees -------------------------------------------------------------

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello", "supervisor_id": self.id, "name": self.opts.name, "agent": self.opts.agent,
            "argv": self.child.argv, "cwd": os.getcwd(), "host_pid": os.getpid(),
            "child": {"pid": self.child.pid, "started_at": self.child.started_at, "running": self.child.running},
            "session_id": self.session_id, "restarts": self.restarts,
        }

    def _message(self, msg: dict[str, Any]) -> None:
        if msg.get("type") == "linked" and isinstance(msg.get("session_id"), str):
            self.session_id = msg["session_id"]
            log.info("linked to session %s", self.session_id)
        elif msg.get("type") in ("kill", "restart"):
            self.inbox.put_nowait(msg)

    def _spawn(self, argv: list[str], restart: bool) -> None:
        env = {**os.environ, "OBSERVATORY_SUPERVISOR_ID": self.id}
        pid = self.child.spawn(argv, env)
        self.child.exit_future().add_done_callback(lambda _: self.inbox.put_nowait({"type": "exited", "pid": pid}))
        log.info("started %s as pid %d", argv, pid)
        self.link.report("spawned", pid=pid, started_at=self.child.started_at, argv=argv, restart=restart,
                         ts=now_ns())

    def _report_exit(self, status: ExitStatus, restarting: bool, requested: str | None) -> None:
        self.last_exit = status
        self._reported_pid = self.child.pid
        log.info("pid %d ended: %s", self.child.pid, status.describe())
        self.link.report("exit", pid=self.child.pid, exit_code=status.exit_code, signal=status.signal,
                         restarting=restarting, requested=requested, ts=now_ns())

    def _result(self, msg: dict[str, Any], ok: bool, **detail: Any) -> None:
        if msg.get("action_id"):
            self.link.report("result", action_id=msg["action_id"], ok=ok, detail=detail)

    # -- the inbox ----------------------------------------------------------------------------

    def _signal(self, sig: int) -> None:
        """Signals sent to the supervisor go to the agent's group; Ctrl-C while lingering quits."""
        if self.child.running:
            self.child.signal_group(sig)
        elif sig == signal.SIGINT:
            self.inbox.put_nowait({"type": "quit"})

    async def _supervise(self) -> ExitStatus:
        linger_until: float | None = None
        while True:
            timeout = None if linger_until is None else max(0.0, linger_until - time.monotonic())
            try:
                msg = await asyncio.wait_for(self.inbox.get(), timeout)
            except asyncio.TimeoutError:
                assert self.last_exit is not None
                return self.last_exit
            kind = msg.get("type")
            if kind == "exited":
                if msg["pid"] != self.child.pid or self._reported_pid == self.child.pid:
                    continue  # an exit an action already handled
                status = self.child.exit_future().result()
                self._report_exit(status, restarting=False, requested=None)
                if not self._should_linger(status):
                    return status
                linger_until = time.monotonic() + self.opts.linger_s
            elif kind == "kill":
                return await self._kill(msg)
            elif kind == "restart":
                if await self._restart(msg):
                    linger_until = None
                elif not self.child.running:
                    assert self.last_exit is not None
                    return self.last_exit
            elif kind == "quit" and self.last_exit is not None:
                return self.last_exit

    def _should_linger(self, status: ExitStatus) -> bool:
        if status.ok or self.opts.linger_s <= 0 or self.session_id is None or not self.link.connected:
            return False
        _tell(f"{self.opts.argv[0]} ended ({status.describe()}). Waiting up to {self.opts.linger_s:g} s "
              "for a restart from the dashboard; Ctrl-C to quit.")
        return True

    def _grace(self, msg: dict[str, Any]) -> float:
        value = msg.get("grace_s")
        return float(value) if isinstance(value, (int, float)) and value >= 0 else self.opts.kill_grace_s

    async def _kill(self, msg: dict[str, Any]) -> ExitStatus:
        if not self.child.running:
            assert self.last_exit is not None
            self._result(msg, True, note="the agent had already exited", exit_code=self.last_exit.exit_code,
                         signal=self.last_exit.signal)
            return self.last_exit
        status, escalated = await self.child.terminate(self._grace(msg))
        self._report_exit(status, restarting=False, requested=msg.get("requested", "kill"))
        self._result(msg, True, pid=self.child.pid, exit_code=status.exit_code, signal=status.signal,
                     escalated=escalated)
        return status

    async def _restart(self, msg: dict[str, Any]) -> bool:
        session_id = msg.get("session_id") or self.session_id
        if not session_id:
            self._result(msg, False, error="the supervisor is not linked to a session yet")
            return False
        old_pid, escalated = self.child.pid, False
        if self.child.running:
            status, escalated = await self.child.terminate(self._grace(msg))
            self._report_exit(status, restarting=True, requested="restart")
        argv = resume_args(self.opts.agent, session_id, self.opts.argv)
        try:
            self._spawn(argv, restart=True)
        except OSError as exc:
            self._result(msg, False, error=f"could not start {argv[0]!r}: {exc}")
            return False
        self.restarts += 1
        self._result(msg, True, old_pid=old_pid, pid=self.child.pid, argv=argv, escalated=escalated)
        return True


def _tell(text: str) -> None:
    """A line for the person at the terminal; a hung-up terminal must not crash the supervisor."""
    try:
        print(f"observatory: {text}", file=sys.stderr, flush=True)
    except OSError:
        log.info("%s (terminal gone)", text)


def run(opts: RunOptions) -> int:
    return asyncio.run(Supervisor(opts).run())
