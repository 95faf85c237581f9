"""What an agent adapter receives and must provide.

Ingest decodes OTLP (protobuf or JSON) into the flat records below, so an adapter never
sees the wire encoding; hooks arrive as the hook's stdin JSON.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from observatory.model import Event, Kind, Source, cap_detail, parse_iso

Attrs = dict[str, Any]


@dataclass(slots=True)
class LogRecord:
    resource: Attrs
    scope: str
    attrs: Attrs
    body: Any
    time_ns: int
    observed_ns: int
    trace_id: str = ""
    span_id: str = ""
    severity: str = ""


@dataclass(slots=True)
class MetricPoint:
    resource: Attrs
    scope: str
    name: str
    unit: str
    attrs: Attrs
    value: float
    time_ns: int
    start_ns: int
    temporality: str  # "delta" | "cumulative" | "gauge"
    kind: str  # "sum" | "gauge" | "histogram"


@dataclass(slots=True)
class SpanRecord:
    resource: Attrs
    scope: str
    name: str
    attrs: Attrs
    start_ns: int
    end_ns: int
    trace_id: str
    span_id: str
    parent_span_id: str
    status_code: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class HookCall:
    payload: dict[str, Any]
    received_ns: int
    pid: int | None = None
    event_name: str | None = None  # from the URL when the payload does not name it


class Adapter(Protocol):
    """One agent CLI. `normalise_*` map its payloads to canonical Events."""

    name: str
    service_names: tuple[str, ...]

    def normalise_hook(self, call: HookCall) -> list[Event]: ...

    def normalise_log(self, rec: LogRecord) -> list[Event]: ...

    def normalise_metric(self, point: MetricPoint) -> list[Event]: ...

    def normalise_span(self, span: SpanRecord) -> list[Event]: ...


def as_int(value: Any, default: int = 0) -> int:
    """OTLP/JSON ints come as numbers or strings; many agents send numbers as strings."""
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return default


def as_float(value: Any, default: float | None = None) -> float | None:
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.lower() in ("true", "1", "yes"):
            return True
        if value.lower() in ("false", "0", "no"):
            return False
    return None


def as_json(value: Any) -> Any:
    """Attributes such as `tool_parameters` are JSON strings; decode when they are."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# --- Shared by the adapters (appended; see agents/claude.py, codex.py, gemini.py) ----------

INPUT_PREVIEW_CHARS = 500
OUTPUT_PREVIEW_CHARS = 500


def text(value: Any) -> str | None:
    """A non-empty string or None: payload fields are untrusted and may have any type."""
    return value if isinstance(value, str) and value else None


def compact_json(value: Any, limit: int = INPUT_PREVIEW_CHARS) -> str:
    """Small one-line JSON for `detail`, cut at `limit` characters."""
    try:
        out = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        out = str(value)
    return out if len(out) <= limit else out[:limit] + "…"


def digest(value: Any) -> str:
    """Short stable hash of a JSON-able value: a dedupe key part when an agent gives no id."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.blake2b(canonical.encode(), digest_size=6).hexdigest()


def tool_detail(tool_input: Any) -> dict[str, Any]:
    """What a person wants to see of a tool call: the command or file, else the input."""
    if isinstance(tool_input, str):
        tool_input = as_json(tool_input)
    if not isinstance(tool_input, dict):
        return {"input": compact_json(tool_input)} if tool_input is not None else {}
    command = text(tool_input.get("command")) or text(tool_input.get("cmd"))
    path = text(tool_input.get("file_path")) or text(tool_input.get("path"))
    detail: dict[str, Any] = {}
    if command:
        detail["command"] = command
    if path:
        detail["file_path"] = path
    if not detail:
        detail["input"] = compact_json(tool_input)
    return detail


def output_preview(response: Any, limit: int = OUTPUT_PREVIEW_CHARS) -> str | None:
    """A tool's output, short: Bash-like `{stdout, stderr}` dicts, plain strings, or JSON."""
    if response is None or response == "":
        return None
    if isinstance(response, dict):
        out = response.get("stdout") or response.get("returnDisplay") or response.get("output")
        err = response.get("stderr")
        if isinstance(out, str) or isinstance(err, str):
            response = "\n".join(s for s in (out, err) if isinstance(s, str) and s)
    if not isinstance(response, str):
        return compact_json(response, limit)
    return response if len(response) <= limit else response[:limit] + "…"


def hook_ts(call: HookCall) -> int:
    """A hook's own `timestamp` (Gemini sends one) else the time it reached us."""
    return parse_iso(text(call.payload.get("timestamp"))) or call.received_ns


def log_ts(rec: LogRecord) -> int:
    """Codex sends `timeUnixNano = 0`; fall back to the observed time, then `event.timestamp`."""
    return rec.time_ns or rec.observed_ns or parse_iso(text(rec.attrs.get("event.timestamp"))) or 0


def hook_event(agent: str, call: HookCall, session_id: str, name: str, kind: Kind, **fields: Any) -> Event:
    """An Event from a hook, with the fields every hook shares (time, cwd, pid, model)."""
    p = call.payload
    fields.setdefault("model", text(p.get("model")))
    fields["detail"] = cap_detail(fields.get("detail") or {})
    return Event(agent=agent, session_id=session_id, kind=kind, source=Source.HOOK, ts=hook_ts(call),
                 received_at=call.received_ns, cwd=text(p.get("cwd")), pid=call.pid, name=name, **fields)


def log_event(agent: str, rec: LogRecord, session_id: str, name: str, kind: Kind, **fields: Any) -> Event:
    """An Event from an OTLP log record; `received_at` is left for ingest to fill."""
    fields.setdefault("model", text(rec.attrs.get("model")))
    fields["detail"] = cap_detail(fields.get("detail") or {})
    return Event(agent=agent, session_id=session_id, kind=kind, source=Source.OTLP_LOG, ts=log_ts(rec),
                 name=name, **fields)


# Attributes every point carries that say nothing about the metric itself.
_METRIC_ATTR_NOISE = frozenset({
    "session.id", "user.id", "terminal.type", "installation.id", "organization.id", "user.email",
    "user.account_uuid", "service.version", "app.version", "interactive", "auth_type",
})
METRIC_ATTRS_MAX = 6


def metric_event(agent: str, point: MetricPoint, session_id: str) -> Event:
    """A metric point on the timeline. Never tokens or cost: totals come from api_request only."""
    attrs = {k: v for k, v in point.attrs.items()
             if k not in _METRIC_ATTR_NOISE and isinstance(v, (str, int, float, bool)) and len(str(v)) <= 80}
    detail = {
        "name": point.name,
        "value": point.value,
        "unit": point.unit,
        "temporality": point.temporality,
        "attrs": dict(list(attrs.items())[:METRIC_ATTRS_MAX]),
    }
    return Event(agent=agent, session_id=session_id, kind=Kind.METRIC, source=Source.OTLP_METRIC,
                 ts=point.time_ns, name=point.name, model=text(point.attrs.get("model")), detail=detail)



_ENVELOPE = frozenset({"session_id", "transcript_path", "cwd", "hook_event_name", "timestamp", "permission_mode"})
SCALAR_DETAIL_MAX = 8


def scalar_detail(payload: dict[str, Any]) -> dict[str, Any]:
    """The small scalar fields of a payload, for records shown on the timeline as `other`."""
    out = {k: v for k, v in payload.items() if k not in _ENVELOPE and isinstance(v, (str, int, float, bool))}
    return dict(list(out.items())[:SCALAR_DETAIL_MAX])
