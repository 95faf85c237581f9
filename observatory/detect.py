"""Alert rules: what deserves a buzz on the phone, and — as important — what does not.

Event-driven kinds fire as the event passes the bus; time-based ones come from a 1 s
APScheduler tick over in-memory session state (no table scan per tick).

Kinds and default thresholds (config file section [alerts], env OBSERVATORY_ALERTS_<KEY>,
GET/PUT /api/settings/alerts):

- approval_needed: the agent shows a permission prompt (Claude Code's PermissionRequest hook,
  at once). The Notification `permission_prompt` ~6 s later is the same fact: no second alert.
- completion: a turn ended and the agent waits for the user (Claude Code's Stop hook, at once;
  the `idle_prompt` Notification 60 s later is the same fact). Only after real work: the turn
  made at least one tool call or model request, or lasted >= 30 s (COMPLETION_MIN_TURN_S), so a
  slash command or an instant reply does not buzz.
- turn_failed: a turn ended in an error (StopFailure hook / api_retries_exhausted).
- crash: the process exited != 0 or by a signal; or the agent's pid vanished without a session
  end (checked each tick, confirmed after 3 s, PID_GRACE_S). Pid checks apply only to
  unsupervised sessions whose pid was seen alive on this machine (psutil, start time matched),
  and the alert is pushed only for deaths this server witnessed (not for pids already gone at start).
- stall: thinking with no new event for stall_thinking_s = 180 s, or a tool running for
  stall_tool_s = 660 s (Claude's Bash tool times out at 600 s), overridable per tool with
  tool_stall_s = { Bash = 1200 }. Measured from the session's last activity. The session is
  marked `stalled`; the alert resolves when activity resumes.
- error_burst: error_burst_count = 3 API errors within error_burst_window_s = 300 s. Claude Code
  emits api_error only after its retries failed, so each one is a real failure.
- budget: a session's cost reaches budget_usd (0 = off). Fires again only if the budget changes.

No floods:
- an event older than LATE_S = 120 s when it reaches us (backfill, a reconnecting exporter, a
  resumed session replaying history) never alerts; restart replay publishes no events at all;
  a stall whose threshold passed more than LATE_S ago (e.g. while the server was down) marks
  the session but does not push;
- one open alert per (session, kind) until it resolves, and cooldown_s = 300 s between two
  alerts of one (session, kind) (approval_needed excepted: see alerts.py).
Alerts resolve when the session moves on: approval_needed when it leaves needs_approval,
completion/turn_failed when it leaves waiting_for_user, stall when it leaves stalled, crash when it
runs again, error_burst on the next successful model request, everything when the session ends.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable
from typing import Any

import psutil
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from observatory.alerts import AlertBook
from observatory.bus import Consumer, Message
from observatory.model import Event, Kind, Session, SessionStatus, now_ns

log = logging.getLogger("observatory.detect")

S = SessionStatus
LATE_S = 120.0
PID_GRACE_S = 3.0
COMPLETION_MIN_TURN_S = 30.0
TICK_S = 1.0
QUEUE_MAX = 200_000
TERMINAL = (S.ENDED, S.CRASHED)
_WORK = (Kind.TOOL_START, Kind.TOOL_END, Kind.API_REQUEST)
_NS = 1_000_000_000


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


async def _in_turn(*works: Awaitable[None]) -> None:
    for work in works:
        await work


def label(s: Session) -> str:
    """How a person recognises the session on a lock screen."""
    return s.project or (s.title or "")[:40] or f"{s.agent} {s.id[:8]}"


def stale_kinds(s: Session) -> list[str]:
    """Kinds whose condition no longer holds for the session as it is now."""
    kinds = []
    if s.status != S.NEEDS_APPROVAL:
        kinds.append("approval_needed")
    if s.status != S.STALLED:
        kinds.append("stall")
    if s.status != S.WAITING_FOR_USER:
        kinds += ["completion", "turn_failed"]
    if s.status != S.CRASHED:
        kinds.append("crash")
    if s.status in TERMINAL:
        kinds += ["error_burst", "budget"]
    return kinds


def pid_alive(pid: int, started_at: float) -> bool:
    """The same process still exists (a reused pid has another start time; a zombie is dead)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return abs(proc.create_time() - started_at) < 1.0
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # e.g. AccessDenied: it exists
        return True


class Detector:
    def __init__(self, obs: Any, book: AlertBook) -> None:
        self.obs = obs
        self.book = book
        self.live: set[str] = set()  # non-terminal sessions, the only ones a tick looks at
        self.turn_worked: dict[str, bool] = {}
        self.turn_started: dict[str, int] = {}
        self.api_errors: dict[str, deque[int]] = {}
        self.budget_fired: dict[str, float] = {}
        self.pid_seen_alive: set[str] = set()
        self.pid_missing_since: dict[str, int] = {}
        self.consumer = Consumer(obs.bus, self.handle, "detector", QUEUE_MAX, types=("event", "session"))
        self._scheduler: AsyncIOScheduler | None = None

    @property
    def settings(self) -> Any:
        return self.obs.settings.alerts

    def start(self) -> None:
        self.live = {s.id for s in self.obs.sessions.by_id.values() if s.status not in TERMINAL}
        self.consumer.start()
        self._scheduler = AsyncIOScheduler()
        self._scheduler.add_job(self.tick, "interval", seconds=TICK_S, max_instances=1, coalesce=True,
                                misfire_grace_time=None)
        self._scheduler.start()

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        await self.consumer.stop()

    def handle(self, msg: Message) -> Awaitable[None] | None:
        if msg.type == "event":
            return self.on_event(msg.obj)
        self.on_session(msg.obj)
        return None

    # Event-driven rules.

    def on_event(self, ev: Event) -> Awaitable[None] | None:
        """The alert an event calls for, to await, or None (nearly always)."""
        sid = ev.session_id
        self._track_turn(ev)
        session = self.obs.sessions.get(sid)
        if session is None:
            return None
        if self.book.open:  # what the session moved past closes now: its snapshot may be held a window
            self.book.resolve(sid, stale_kinds(session))
        if now_ns() - ev.ts > LATE_S * _NS:
            return None
        work = None
        if ev.kind == Kind.APPROVAL_NEEDED and session.status == S.NEEDS_APPROVAL:
            work = self._approval(session, ev)
        elif ev.kind == Kind.TURN_END and session.status == S.WAITING_FOR_USER:
            work = self._turn_end(session, ev)
        elif ev.kind == Kind.PROCESS_EXIT:
            work = self._process_exit(session, ev)
        elif ev.kind == Kind.API_ERROR:
            work = self._api_error(session, ev)
        elif ev.kind == Kind.API_REQUEST and ev.status == "ok":
            self.book.resolve(sid, ("error_burst",))
        if self._budget_due(session):
            work = _in_turn(work, self._budget(session)) if work is not None else self._budget(session)
        return work

    def _track_turn(self, ev: Event) -> None:
        if ev.kind == Kind.PROMPT:
            self.turn_worked[ev.session_id] = False
            self.turn_started[ev.session_id] = ev.ts
        elif ev.kind in _WORK:
            self.turn_worked[ev.session_id] = True

    async def _approval(self, s: Session, ev: Event) -> None:
        what = ev.detail.get("command") or ev.detail.get("file_path") or ev.detail.get("message") or ""
        tool = ev.tool or s.current_tool
        body = f"{tool}: {what}" if tool and what else (what or f"{s.agent} is waiting for your answer")
        await self.book.fire(s.id, "approval_needed", f"{label(s)}: needs your approval", body)

    async def _turn_end(self, s: Session, ev: Event) -> None:
        if ev.status == "error":
            error = ev.detail.get("error") or ev.detail.get("last_assistant_message") or "the turn failed"
            await self.book.fire(s.id, "turn_failed", f"{label(s)}: turn failed", str(error))
            return
        started = self.turn_started.get(s.id)
        long_turn = started is not None and ev.ts - started >= COMPLETION_MIN_TURN_S * _NS
        if not (self.turn_worked.get(s.id, True) or long_turn):
            return
        body = ev.detail.get("last_assistant_message") or f"{s.agent} finished and waits for you"
        await self.book.fire(s.id, "completion", f"{label(s)}: finished", str(body))

    async def _process_exit(self, s: Session, ev: Event) -> None:
        if s.status != S.CRASHED:
            return  # a clean exit, a kill the user asked for, or the exit half of a restart
        code, signal = ev.detail.get("exit_code"), ev.detail.get("signal")
        how = f"killed by {signal}" if signal else f"exited with code {code}"
        await self.book.fire(s.id, "crash", f"{label(s)}: crashed", f"{s.agent} {how}")

    async def _api_error(self, s: Session, ev: Event) -> None:
        window = self.api_errors.setdefault(s.id, deque())
        window.append(ev.ts)
        horizon = ev.ts - self.settings.error_burst_window_s * _NS
        while window and window[0] < horizon:
            window.popleft()
        if len(window) >= self.settings.error_burst_count:
            error = ev.detail.get("error") or "API error"
            body = f"{len(window)} API errors in {duration(self.settings.error_burst_window_s)}; last: {error}"
            await self.book.fire(s.id, "error_burst", f"{label(s)}: API errors", body)

    def _budget_due(self, s: Session) -> bool:
        budget = float(self.settings.budget_usd)
        return 0 < budget <= s.cost_usd and self.budget_fired.get(s.id) != budget

    async def _budget(self, s: Session) -> None:
        if not self._budget_due(s):
            return
        budget = float(self.settings.budget_usd)
        if s.id in self.budget_fired:  # the budget changed since the last alert: a new crossing
            self.book.resolve(s.id, ("budget",))
        self.budget_fired[s.id] = budget
        spent = {"estimated": f"about ${s.cost_usd:.2f} spent (estimated from list prices)",
                 "unpriced": f"at least ${s.cost_usd:.2f} spent (some requests have no price)",
                 }.get(s.cost_basis, f"${s.cost_usd:.2f} spent")
        await self.book.fire(s.id, "budget", f"{label(s)}: budget reached", f"{spent}; the budget is ${budget:.2f}")

    def on_session(self, s: Session) -> None:
        self.book.resolve(s.id, stale_kinds(s))
        if s.status in TERMINAL:
            self._forget(s.id)
        else:
            self.live.add(s.id)

    def _forget(self, sid: str) -> None:
        self.live.discard(sid)
        for table in (self.turn_worked, self.turn_started, self.api_errors, self.budget_fired,
                      self.pid_missing_since):
            table.pop(sid, None)
        self.pid_seen_alive.discard(sid)

    # Time-based rules (the tick).

    async def tick(self) -> None:
        now = now_ns()
        for sid in list(self.live):
            s = self.obs.sessions.get(sid)
            if s is None or s.status in TERMINAL:
                self._forget(sid)
                continue
            try:
                await self._check_stall(s, now)
                await self._check_pid(s, now)
            except Exception:
                log.exception("tick failed for session %s", sid)

    def stall_limit_s(self, s: Session) -> float | None:
        if s.status == S.THINKING:
            return float(self.settings.stall_thinking_s)
        if s.status == S.RUNNING_TOOL:
            return float(self.settings.tool_stall_s.get(s.current_tool or "", self.settings.stall_tool_s))
        return None

    async def _check_stall(self, s: Session, now: int) -> None:
        limit = self.stall_limit_s(s)
        if limit is None or limit <= 0 or now - s.last_activity_at < limit * _NS:
            return
        idle_s = (now - s.last_activity_at) / _NS
        doing = f"{s.current_tool} running" if s.status == S.RUNNING_TOOL else "thinking"
        if self.obs.pipeline.mark(s.id, S.STALLED, now) is None:
            return
        if now - (s.last_activity_at + limit * _NS) > LATE_S * _NS:
            log.info("session %s marked stalled without an alert: its threshold passed long ago", s.id)
            return
        await self.book.fire(s.id, "stall", f"{label(s)}: stalled",
                             f"No progress for {duration(idle_s)} ({doing})")

    async def _check_pid(self, s: Session, now: int) -> None:
        if not s.pid or s.supervised or s.pid_started_at is None:
            return
        if pid_alive(s.pid, s.pid_started_at):
            self.pid_seen_alive.add(s.id)
            self.pid_missing_since.pop(s.id, None)
            return
        since = self.pid_missing_since.setdefault(s.id, now)
        if now - since < PID_GRACE_S * _NS:
            return
        witnessed = s.id in self.pid_seen_alive
        if self.obs.pipeline.mark(s.id, S.CRASHED, now) is None:
            return
        if witnessed:
            await self.book.fire(s.id, "crash", f"{label(s)}: crashed",
                                 f"{s.agent} (pid {s.pid}) is gone without ending its session")
        else:
            log.info("session %s marked crashed without an alert: pid %s was gone before we watched", s.id, s.pid)


async def start(obs: Any) -> None:
    detector = obs.services["detector"] = Detector(obs, obs.services["alerts"])
    detector.start()


async def stop(obs: Any) -> None:
    await obs.services["detector"].stop()
