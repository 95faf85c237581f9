"""OTLP/HTTP receivers: POST /v1/logs, /v1/metrics, /v1/traces (protobuf or JSON, gzip).

Answers with the signal's Export*ServiceResponse in the request's encoding, after the
events are committed. Records from an agent we have no adapter for are kept raw and
reported through `partial_success`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from observatory import agents
from observatory.agents.base import Adapter
from observatory.ingest.body import BadInput, read_body
from observatory.ingest.otlp_decode import JSON, PROTOBUF, DecodeError, decode, media_type
from observatory.ingest.respond import error_response, ingest_or_503
from observatory.model import Event, now_ns
from observatory.store.events import Raw

log = logging.getLogger("observatory.ingest")

_RESPONSES = {
    "logs": (ExportLogsServiceResponse, "rejected_log_records"),
    "metrics": (ExportMetricsServiceResponse, "rejected_data_points"),
    "traces": (ExportTraceServiceResponse, "rejected_spans"),
}
_NORMALISER = {"logs": "normalise_log", "metrics": "normalise_metric", "traces": "normalise_span"}


def normalise(signal: str, records: list[Any]) -> tuple[list[Event], int, str, str]:
    """Records → events; returns (events, rejected count, error message, agent name)."""
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
    return events, rejected, message, agent_name or (sorted(unknown)[0] if unknown else "")


_ACCEPTED = {PROTOBUF: b"", JSON: b"{}"}  # an Export*ServiceResponse with nothing to report, encoded


def _respond(signal: str, encoding: str, rejected: int, message: str) -> Response:
    if not rejected and not message:
        return Response(_ACCEPTED[encoding], media_type=encoding)
    cls, field = _RESPONSES[signal]
    resp = cls()
    setattr(resp.partial_success, field, rejected)
    resp.partial_success.error_message = message
    if encoding == PROTOBUF:
        return Response(resp.SerializeToString(), media_type=PROTOBUF)
    return Response(json_format.MessageToJson(resp, indent=None), media_type=JSON)


def receiver(signal: str) -> Callable[[Request], Any]:
    async def export(request: Request) -> Response:
        obs = request.app.state.obs
        encoding = media_type(request.headers.get("content-type", ""))
        try:
            if encoding not in (PROTOBUF, JSON):
                raise BadInput(415, f"Content-Type must be {PROTOBUF} or {JSON}, not {encoding or 'missing'!r}")
            body = await read_body(request, obs.settings.max_body_bytes)
            try:
                records = decode(signal, body, encoding)
            except DecodeError as exc:
                raise BadInput(400, str(exc)) from None
        except BadInput as exc:
            return error_response(request, exc.status, str(exc))
        events, rejected, message, agent = normalise(signal, records)
        if message:
            log.warning("/v1/%s from %s: %s", signal, request.client.host if request.client else "?", message)
        raw = Raw(now_ns(), agent or "unknown", f"otlp-{signal}", encoding, body)
        return await ingest_or_503(request, events, raw, lambda: _respond(signal, encoding, rejected, message))
    export.__name__ = f"otlp_{signal}"
    return export


receivers = {f"/v1/{signal}": receiver(signal) for signal in _RESPONSES}
routes = [Route(path, endpoint, methods=["POST"]) for path, endpoint in receivers.items()]
