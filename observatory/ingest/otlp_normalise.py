"""An OTLP body → canonical Events: the work the decode worker does for every OTLP request.

Records from an agent we have no adapter for yield no events: they are counted as rejected
(reported through `partial_success`) and their body is still kept raw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from observatory import agents
from observatory.agents.base import Adapter
from observatory.ingest.otlp_decode import decode
from observatory.model import Event
from observatory.store.events import compress, event_row

_NORMALISER = {"logs": "normalise_log", "metrics": "normalise_metric", "traces": "normalise_span"}


@dataclass(slots=True)
class Normalised:
    events: list[Event]
    rejected: int  # records no adapter took
    message: str  # why they were rejected, for partial_success and the log
    agent: str  # the adapter's name (or the unknown service.name) the raw body is filed under
    rows: list[tuple[Any, ...]] | None = field(default=None)  # the events' store rows, when prepared
    deflated: bytes | None = None  # the body compressed for the store, when prepared


def normalise_body(signal: str, body: bytes, encoding: str) -> Normalised:
    """Decode and normalise; raises otlp_decode.DecodeError for a body that is not OTLP."""
    return normalise(signal, decode(signal, body, encoding))


def prepare(result: Normalised, body: bytes, received_at: int, raw_max_bytes: int) -> Normalised:
    """Do the writer's per-record work ahead of it (the decode worker does, in parallel)."""
    result.rows = [event_row(ev, received_at) for ev in result.events]
    if len(body) <= raw_max_bytes:
        result.deflated = compress(body)
    return result


def keeps_state(records: list[Any]) -> bool:
    """Are any of these records for an adapter that remembers earlier ones (agents.STATEFUL_SERVICES)?"""
    resources = {id(rec.resource): rec.resource for rec in records}
    return any(str(r.get("service.name", "")) in agents.STATEFUL_SERVICES for r in resources.values())


def normalise(signal: str, records: list[Any]) -> Normalised:
    events: list[Event] = []
    rejected = 0
    unknown: set[str] = set()
    agent_name = ""
    method = _NORMALISER[signal]
    cache: dict[str, Callable[[Any], list[Event]] | None] = {}
    for rec in records:
        service = str(rec.resource.get("service.name", ""))
        fn = cache.get(service, ...)
        if fn is ...:
            adapter: Adapter | None = agents.by_service_name(service)
            fn = cache[service] = getattr(adapter, method) if adapter else None
            if adapter:
                agent_name = adapter.name
        if fn is None:
            rejected += 1
            unknown.add(service or "(none)")
            continue
        events.extend(fn(rec))
    message = ""
    if unknown:
        known = ", ".join(sorted(s for a in agents.ADAPTERS.values() for s in a.service_names))
        message = f"no adapter for service.name {', '.join(sorted(unknown))} (known: {known}); kept raw"
    return Normalised(events, rejected, message, agent_name or (sorted(unknown)[0] if unknown else ""))
