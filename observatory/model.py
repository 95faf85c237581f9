"""The project's vocabulary: Event, Session, SessionStatus, Alert.

Every input (OTLP record, hook payload, supervisor report) becomes one or more `Event`s;
every other module speaks in these types only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

DETAIL_MAX_CHARS = 2000


class Kind(StrEnum):
    SESSION_START = "session_start"
    PROMPT = "prompt"
    API_REQUEST = "api_request"
    API_ERROR = "api_error"
    TOOL_START = "tool_start"
    TOOL_END = "tool_end"
    APPROVAL_NEEDED = "approval_needed"
    TURN_END = "turn_end"
    SUBAGENT_END = "subagent_end"
    COMPACT = "compact"
    SESSION_END = "session_end"
    PROCESS_EXIT = "process_exit"
    METRIC = "metric"
    OTHER = "other"


class Source(StrEnum):
    OTLP_LOG = "otlp-log"
    OTLP_METRIC = "otlp-metric"
    OTLP_SPAN = "otlp-span"
    HOOK = "hook"
    NOTIFY = "notify"  # a CLI's after-turn notify program (Codex); it may name hidden threads
    SUPERVISOR = "supervisor"


class SessionStatus(StrEnum):
    STARTING = "starting"
    THINKING = "thinking"
    RUNNING_TOOL = "running_tool"
    NEEDS_APPROVAL = "needs_approval"
    WAITING_FOR_USER = "waiting_for_user"
    STALLED = "stalled"
    CRASHED = "crashed"
    ENDED = "ended"


URGENCY = {
    SessionStatus.NEEDS_APPROVAL: 0,
    SessionStatus.CRASHED: 1,
    SessionStatus.STALLED: 2,
    SessionStatus.WAITING_FOR_USER: 3,
    SessionStatus.RUNNING_TOOL: 4,
    SessionStatus.THINKING: 4,
    SessionStatus.STARTING: 4,
    SessionStatus.ENDED: 5,
}


@dataclass(slots=True, unsafe_hash=True)  # hashable: it is a value, and Event's default
class Tokens:
    """Token classes of a request, disjoint so that their sum is all it used: `input` is the
    uncached input, `output` the answer without `reasoning` (thinking) tokens. A value:
    never changed once made (see Event on why that is not enforced)."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(self.input + other.input, self.output + other.output, self.cache_read + other.cache_read,
                      self.cache_write + other.cache_write, self.reasoning + other.reasoning)

    def __bool__(self) -> bool:
        return bool(self.input or self.output or self.cache_read or self.cache_write or self.reasoning)

    def to_dict(self) -> dict[str, int]:
        return {"input": self.input, "output": self.output, "cache_read": self.cache_read,
                "cache_write": self.cache_write, "reasoning": self.reasoning}


NO_TOKENS = Tokens()


@dataclass(slots=True)
class Event:
    """One normalised fact about an agent session.

    Nothing changes an event once made, except the store stamping its identity (`stamp`).
    That is a rule, not enforced with `frozen=True`: a frozen dataclass sets each field
    through `object.__setattr__`, and made constructing an event 9x slower (3.5 vs 0.4 µs),
    paid twice per OTLP record (by the decode worker, and by the server from its row).

    `key` is the dedupe key: the same fact arriving by hook and by OTel (e.g. a tool call's
    end, keyed by its tool-use id) carries the same key and is merged, never counted twice.
    """

    agent: str
    session_id: str
    kind: Kind
    source: Source
    ts: int  # agent's time, ns since the epoch
    received_at: int = 0  # ns
    seq: int = 0  # assigned by the store
    tool: str | None = None
    model: str | None = None
    tokens: Tokens = NO_TOKENS
    cost_usd: float = 0.0
    duration_ms: float | None = None
    status: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)
    raw_ref: int | None = None
    cwd: str | None = None
    project: str | None = None
    branch: str | None = None
    pid: int | None = None
    key: str | None = None
    name: str = ""  # the agent's own event name, e.g. "PostToolUse" or "claude_code.api_request"

    def stamp(self, seq: int, received_at: int, raw_ref: int | None) -> Event:
        """The store gives a fresh event its identity once, before anyone else sees it."""
        self.seq = seq
        self.received_at = received_at
        self.raw_ref = raw_ref
        return self

    def to_api(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": iso(self.ts),
            "agent": self.agent,
            "session_id": self.session_id,
            "kind": self.kind.value,
            "name": self.name,
            "source": self.source.value,
            "tool": self.tool,
            "model": self.model,
            "tokens": self.tokens.to_dict(),
            "cost_usd": self.cost_usd,
            "duration_ms": self.duration_ms,
            "status": self.status,
            "detail": self.detail,
        }


def cap_detail(detail: dict[str, Any], limit: int = DETAIL_MAX_CHARS) -> dict[str, Any]:
    """Keep `detail` small: long strings are cut, with a marker a person can see."""
    out: dict[str, Any] = {}
    for k, v in detail.items():
        if v is None:
            continue
        if isinstance(v, str) and len(v) > limit:
            v = v[:limit] + f"… [{len(v) - limit} more chars]"
        out[k] = v
    return out


@dataclass(slots=True)
class Session:
    """Live state of one agent session; only `sessions.py` changes it."""

    id: str
    agent: str
    status: SessionStatus = SessionStatus.STARTING
    cwd: str | None = None
    project: str | None = None
    branch: str | None = None
    model: str | None = None
    pid: int | None = None
    pid_started_at: float | None = None
    supervised: bool = False
    supervisor_id: str | None = None
    restarted: int = 0
    started_at: int = 0  # ns
    last_activity_at: int = 0  # ns
    status_since: int = 0  # ns, when the status last changed
    current_tool: str | None = None
    tokens: Tokens = NO_TOKENS
    cost_usd: float = 0.0
    cost_basis: str = ""  # "reported" by the agent, "estimated" from prices, "unpriced": the least certain seen
    tool_calls: int = 0
    errors: int = 0
    last_seq: int = 0
    title: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agent": self.agent,
            "status": self.status.value,
            "cwd": self.cwd,
            "project": self.project,
            "branch": self.branch,
            "model": self.model,
            "pid": self.pid,
            "supervised": self.supervised,
            "restarted": self.restarted,
            "started_at": iso(self.started_at),
            "last_activity_at": iso(self.last_activity_at),
            "status_since": iso(self.status_since),
            "current_tool": self.current_tool,
            "tokens": self.tokens.to_dict(),
            "cost_usd": round(self.cost_usd, 6),
            "cost_basis": self.cost_basis,
            "tool_calls": self.tool_calls,
            "errors": self.errors,
            "title": self.title,
            "last_seq": self.last_seq,
        }


@dataclass(slots=True)
class Alert:
    session_id: str
    kind: str
    title: str
    body: str
    created_at: int  # ns
    id: int = 0
    acked_at: int | None = None
    resolved_at: int | None = None

    @property
    def url(self) -> str:
        return f"/s/{self.session_id}"

    def to_api(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "session_id": self.session_id,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "url": self.url,
            "created_at": iso(self.created_at),
            "acked_at": iso(self.acked_at),
            "resolved_at": iso(self.resolved_at),
        }


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def now_ns() -> int:
    return time.time_ns()


def iso(ns: int | None) -> str | None:
    """ISO 8601 UTC with milliseconds, as the API contract promises."""
    if not ns:
        return None
    dt = datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str | None) -> int | None:
    """ISO 8601 (as agents send it, e.g. `2026-11-23T08:43:13.712Z`) → ns, or None."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    delta = dt - _EPOCH  # exact integer arithmetic: a float timestamp loses ~100 ns
    return (delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000
