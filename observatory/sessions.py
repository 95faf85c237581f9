"""Applies Events to Session state: the state machine of DESIGN.md. Nothing else changes sessions.

Ordering rule: agents deliver by two channels at different speeds (hooks at once, OTLP in
batches or only at exit), so an event older than the session's last status change still
adds to the totals but never moves the status back in time.
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from observatory.model import URGENCY, Event, Kind, Session, SessionStatus, Source
from observatory.agents import ADAPTERS, prices

S = SessionStatus
TERMINAL = (S.ENDED, S.CRASHED)
_QUIET_KINDS = (Kind.METRIC, Kind.OTHER)
_NEXT_STATUS = {
    Kind.SESSION_START: S.STARTING,
    Kind.PROMPT: S.THINKING,
    Kind.TOOL_START: S.RUNNING_TOOL,
    Kind.TOOL_END: S.THINKING,
    Kind.APPROVAL_NEEDED: S.NEEDS_APPROVAL,
    Kind.TURN_END: S.WAITING_FOR_USER,
    Kind.SESSION_END: S.ENDED,
}
# After these, an api_request (the model answering) means the agent is working again.
_RESUMES_THINKING = (S.STARTING, S.STALLED, S.WAITING_FOR_USER)


def git_branch(cwd: str | None) -> str | None:
    """The checked-out branch of the repository containing cwd (reads .git/HEAD, no subprocess)."""
    if not cwd:
        return None
    path = Path(cwd)
    for directory in (path, *path.parents):
        head = directory / ".git" / "HEAD"
        try:
            text = head.read_text().strip()
        except OSError:
            if (directory / ".git").exists():
                return None
            continue
        return text.removeprefix("ref: refs/heads/") if text.startswith("ref:") else text[:12]
    return None


def process_start_time(pid: int | None) -> float | None:
    if not pid:
        return None
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, ValueError):
        return None


class Sessions:
    def __init__(self) -> None:
        self.by_id: dict[str, Session] = {}
        self.applied_seq = 0

    def load(self, sessions: list[Session], applied_seq: int) -> None:
        self.by_id = {s.id: s for s in sessions}
        self.applied_seq = applied_seq

    def get(self, session_id: str) -> Session | None:
        return self.by_id.get(session_id)

    def _creates_session(self, ev: Event) -> bool:
        if ev.source in (Source.HOOK, Source.SUPERVISOR):
            return True
        adapter = ADAPTERS.get(ev.agent)
        return bool(getattr(adapter, "otlp_creates_sessions", True))

    def apply(self, ev: Event) -> Session | None:
        """Fold one stored event into its session; returns the session if it changed."""
        self.applied_seq = max(self.applied_seq, ev.seq)
        if not ev.session_id:
            return None
        s = self.by_id.get(ev.session_id)
        if s is None:
            if not self._creates_session(ev) or ev.kind in _QUIET_KINDS:
                return None
            s = self.by_id[ev.session_id] = Session(id=ev.session_id, agent=ev.agent, started_at=ev.ts,
                                                    status_since=ev.ts)
        s.last_seq = ev.seq
        self._fold_facts(s, ev)
        if ev.kind not in _QUIET_KINDS:
            s.last_activity_at = max(s.last_activity_at, ev.ts)
            self._transition(s, ev)
        return s

    def _fold_facts(self, s: Session, ev: Event) -> None:
        kind = ev.kind
        if kind == Kind.API_REQUEST:  # the one kind that carries tokens and cost (every adapter's)
            s.cost_usd += ev.cost_usd
            s.model = ev.model or s.model
            if ev.tokens:
                s.tokens = s.tokens + ev.tokens
                s.cost_basis = prices.less_certain(s.cost_basis, ev.detail.get("cost_basis") or prices.REPORTED)
        elif kind == Kind.TOOL_END:
            s.tool_calls += 1
        elif kind == Kind.PROMPT and not s.title:
            prompt = ev.detail.get("prompt")
            if isinstance(prompt, str) and prompt.strip():
                s.title = prompt.strip().splitlines()[0][:120]
        if ev.status == "error" and kind in (Kind.TOOL_END, Kind.API_ERROR, Kind.TURN_END):
            s.errors += 1
        if ev.cwd and ev.cwd != s.cwd:
            s.cwd = ev.cwd
            s.project = ev.project or os.path.basename(ev.cwd.rstrip("/")) or ev.cwd
            s.branch = ev.branch or git_branch(ev.cwd)
        if ev.pid and ev.pid != s.pid:
            s.pid = ev.pid
            s.pid_started_at = process_start_time(ev.pid)
        if ev.source == Source.SUPERVISOR and ev.detail.get("supervisor_id"):
            s.supervised = True
            s.supervisor_id = ev.detail["supervisor_id"]
            if kind == Kind.SESSION_START and ev.name == "supervisor_restart":
                s.restarted += 1

    def _transition(self, s: Session, ev: Event) -> None:
        if ev.ts < s.status_since:
            return  # late delivery: facts counted above, status stays
        if s.status in TERMINAL and ev.kind not in (Kind.SESSION_START, Kind.PROCESS_EXIT, Kind.PROMPT):
            return
        if ev.kind == Kind.PROCESS_EXIT:
            if ev.detail.get("restarting"):
                return  # the respawned agent's session_start follows; a restart is not a crash
            ok = ev.detail.get("exit_code") == 0 and not ev.detail.get("signal")
            asked = ev.detail.get("requested") in ("kill", "signal")  # stopped on purpose
            self._set(s, S.ENDED if ok or asked else S.CRASHED, ev.ts)
        elif ev.kind == Kind.API_REQUEST and s.status in _RESUMES_THINKING:
            self._set(s, S.THINKING, ev.ts)
        elif ev.kind == Kind.API_ERROR and s.status == S.STALLED:
            self._set(s, S.THINKING, ev.ts)
        elif ev.kind in _NEXT_STATUS:
            self._set(s, _NEXT_STATUS[ev.kind], ev.ts)
            s.current_tool = ev.tool if ev.kind in (Kind.TOOL_START, Kind.APPROVAL_NEEDED) else None
        elif s.status == S.STALLED:
            self._set(s, S.THINKING, ev.ts)

    @staticmethod
    def _set(s: Session, status: SessionStatus, ts: int) -> None:
        if s.status != status:
            s.status = status
            s.status_since = ts
        if status in TERMINAL:
            s.current_tool = None

    def mark(self, session_id: str, status: SessionStatus, ts: int) -> Session | None:
        """A derived transition decided outside the event flow (stall, vanished pid)."""
        s = self.by_id.get(session_id)
        if s is None or s.status == status or s.status in TERMINAL:
            return None
        self._set(s, status, ts)
        return s

    def ordered(self) -> list[Session]:
        """Most urgent first, then most recently active."""
        return sorted(self.by_id.values(), key=lambda s: (URGENCY[s.status], -s.last_activity_at))
