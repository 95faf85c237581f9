"""OTLP/HTTP bodies (protobuf or JSON) → flat LogRecord / MetricPoint / SpanRecord lists.

JSON is converted into the same protobuf messages first (after turning OTLP/JSON's hex
trace/span ids into the base64 protobuf-JSON expects), so there is one walk over one shape.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from observatory.agents.base import Attrs, LogRecord, MetricPoint, SpanRecord

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
REQUEST_TYPES = {
    "logs": ExportLogsServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "traces": ExportTraceServiceRequest,
}
_ID_KEYS = {"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"}
_TEMPORALITY = {0: "unspecified", 1: "delta", 2: "cumulative"}


class DecodeError(ValueError):
    """The body is not a valid OTLP request of the expected signal and encoding."""


def parse_request(signal: str, body: bytes, encoding: str) -> Any:
    """Parse a body into the signal's Export*ServiceRequest message."""
    cls = REQUEST_TYPES[signal]
    if encoding == PROTOBUF:
        try:
            return cls.FromString(body)
        except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
            raise DecodeError(f"body is not a protobuf {cls.__name__}: {exc}") from None
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DecodeError(f"OTLP/JSON body must be an object, got {type(data).__name__}")
    try:
        return json_format.ParseDict(_hex_ids_to_base64(data), cls(), ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, AttributeError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DecodeError(f"body is not an OTLP/JSON {cls.__name__}: {first_line}") from None


def _hex_ids_to_base64(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k in _ID_KEYS and isinstance(v, str):
                try:
                    v = base64.b64encode(bytes.fromhex(v)).decode()
                except ValueError:
                    raise DecodeError(f"{k} is not hex: {v[:40]!r}") from None
            else:
                v = _hex_ids_to_base64(v)
            out[k] = v
        return out
    if isinstance(node, list):
        return [_hex_ids_to_base64(v) for v in node]
    return node


def any_value(v: AnyValue) -> Any:
    which = v.WhichOneof("value")
    if which == "string_value":
        return v.string_value
    if which == "int_value":
        return v.int_value
    if which == "double_value":
        return v.double_value
    if which == "bool_value":
        return v.bool_value
    if which == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return attrs(v.kvlist_value.values)
    if which == "bytes_value":
        return v.bytes_value.hex()
    return None


def attrs(kvs: Any) -> Attrs:
    """Key/values → dict. Strings are most attributes, so a non-empty one skips the dispatch."""
    out: Attrs = {}
    for kv in kvs:
        v = kv.value
        out[kv.key] = v.string_value or any_value(v)
    return out


_RESOURCES: dict[bytes, Attrs] = {}
_RESOURCES_KEPT = 256


def resource_attrs(resource: Any) -> Attrs:
    """An agent sends the same resource with every export: its attributes are parsed once and
    looked up by their wire bytes after that (a hook-sized request paid for them every time).
    Callers share the dict and must not change it."""
    key = resource.SerializeToString()
    found = _RESOURCES.get(key)
    if found is None:
        if len(_RESOURCES) >= _RESOURCES_KEPT:
            _RESOURCES.clear()
        found = _RESOURCES[key] = attrs(resource.attributes)
    return found


def logs(msg: ExportLogsServiceRequest) -> list[LogRecord]:
    out: list[LogRecord] = []
    for rl in msg.resource_logs:
        resource = resource_attrs(rl.resource)
        for sl in rl.scope_logs:
            scope = sl.scope.name
            for r in sl.log_records:
                out.append(LogRecord(
                    resource=resource,
                    scope=scope,
                    attrs=attrs(r.attributes),
                    body=any_value(r.body) if r.HasField("body") else None,
                    time_ns=r.time_unix_nano,
                    observed_ns=r.observed_time_unix_nano,
                    trace_id=r.trace_id.hex(),
                    span_id=r.span_id.hex(),
                    severity=r.severity_text,
                ))
    return out


def _number(dp: Any) -> float:
    return dp.as_double if dp.WhichOneof("value") == "as_double" else float(dp.as_int)


def metrics(msg: ExportMetricsServiceRequest) -> list[MetricPoint]:
    out: list[MetricPoint] = []
    for rm in msg.resource_metrics:
        resource = resource_attrs(rm.resource)
        for sm in rm.scope_metrics:
            scope = sm.scope.name
            for m in sm.metrics:
                which = m.WhichOneof("data")
                if which is None:
                    continue
                data = getattr(m, which)
                temporality = _TEMPORALITY.get(getattr(data, "aggregation_temporality", 0), "unspecified")
                if which == "gauge":
                    temporality = "gauge"
                for dp in data.data_points:
                    value = _number(dp) if which in ("sum", "gauge") else float(dp.sum)
                    out.append(MetricPoint(
                        resource=resource, scope=scope, name=m.name, unit=m.unit,
                        attrs=attrs(dp.attributes), value=value,
                        time_ns=dp.time_unix_nano, start_ns=dp.start_time_unix_nano,
                        temporality=temporality, kind=which,
                    ))
    return out


def spans(msg: ExportTraceServiceRequest) -> list[SpanRecord]:
    out: list[SpanRecord] = []
    for rs in msg.resource_spans:
        resource = resource_attrs(rs.resource)
        for ss in rs.scope_spans:
            scope = ss.scope.name
            for s in ss.spans:
                out.append(SpanRecord(
                    resource=resource, scope=scope, name=s.name, attrs=attrs(s.attributes),
                    start_ns=s.start_time_unix_nano, end_ns=s.end_time_unix_nano,
                    trace_id=s.trace_id.hex(), span_id=s.span_id.hex(),
                    parent_span_id=s.parent_span_id.hex(), status_code=s.status.code,
                    events=[{"name": e.name, "time_ns": e.time_unix_nano, "attrs": attrs(e.attributes)}
                            for e in s.events],
                ))
    return out


FLATTEN = {"logs": logs, "metrics": metrics, "traces": spans}


def decode(signal: str, body: bytes, encoding: str) -> list[Any]:
    """Body → flat records of that signal."""
    return FLATTEN[signal](parse_request(signal, body, encoding))


def decode_logs(body: bytes, content_type: str = PROTOBUF) -> list[LogRecord]:
    return decode("logs", body, media_type(content_type))


def decode_metrics(body: bytes, content_type: str = PROTOBUF) -> list[MetricPoint]:
    return decode("metrics", body, media_type(content_type))


def decode_traces(body: bytes, content_type: str = PROTOBUF) -> list[SpanRecord]:
    return decode("traces", body, media_type(content_type))


def media_type(content_type: str) -> str:
    """`application/json; charset=utf-8` → `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()
