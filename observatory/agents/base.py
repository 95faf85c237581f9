"""What an agent adapter receives and must provide.

Ingest decodes OTLP (protobuf or JSON) into the flat records below, so an adapter never
sees the wire encoding; hooks arrive as the hook's stdin JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from observatory.model import Event

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
