"""OTLP/HTTP receivers: POST /v1/logs, /v1/metrics, /v1/traces (protobuf or JSON, gzip).

Answers with the signal's Export*ServiceResponse in the request's encoding, after the
events are committed. Records from an agent we have no adapter for are kept raw and
reported through `partial_success`. The decode worker (a child process) turns bodies into
events; the feature's start and stop run it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from observatory.ingest.body import BadInput, read_body
from observatory.ingest.decode_worker import DecodeWorker, WorkerGone
from observatory.ingest.otlp_decode import JSON, PROTOBUF, DecodeError, media_type
from observatory.ingest.respond import busy, error_response, ingest_or_503
from observatory.model import now_ns
from observatory.store import Saturated
from observatory.store.events import Raw

log = logging.getLogger("observatory.ingest")

_RESPONSES = {
    "logs": (ExportLogsServiceResponse, "rejected_log_records"),
    "metrics": (ExportMetricsServiceResponse, "rejected_data_points"),
    "traces": (ExportTraceServiceResponse, "rejected_spans"),
}
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
            received = now_ns()
            try:
                result = await obs.services["decode_worker"].normalise(signal, body, encoding, received)
            except DecodeError as exc:
                raise BadInput(400, str(exc)) from None
        except BadInput as exc:
            return error_response(request, exc.status, str(exc))
        except (Saturated, WorkerGone) as exc:
            return busy(request, exc)
        if result.message:
            log.warning("/v1/%s from %s: %s", signal, request.client.host if request.client else "?", result.message)
        raw = Raw(received, result.agent or "unknown", f"otlp-{signal}", encoding, body, result.deflated)
        return await ingest_or_503(request, result.events, raw,
                                   lambda: _respond(signal, encoding, result.rejected, result.message), result.rows)
    export.__name__ = f"otlp_{signal}"
    return export


async def start(obs: Any) -> None:
    worker = obs.services["decode_worker"] = DecodeWorker(obs.settings.prices, obs.pipeline.raw_max_bytes)
    if obs.settings.decode_worker and (os.cpu_count() or 1) > 1:
        await worker.start()


async def stop(obs: Any) -> None:
    await obs.services["decode_worker"].stop()


receivers = {f"/v1/{signal}": receiver(signal) for signal in _RESPONSES}
routes = [Route(path, endpoint, methods=["POST"]) for path, endpoint in receivers.items()]
