"""OTLP/HTTP and hook ingest against a real server: real SDK exporters, bad input, durability."""

from __future__ import annotations

import gzip
import json
import os
import zlib

from hypothesis import HealthCheck, given, settings, strategies as st
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from conftest import FIXTURES, start_server

CLAUDE = Resource.create({"service.name": "claude-code", "service.version": "2.1.197"})
OK_LOGS = (FIXTURES / "claude-code" / "ok-protobuf" / "otlp" / "0007_v1_logs.bin").read_bytes()
PROTOBUF = {"Content-Type": "application/x-protobuf"}


def test_sdk_log_exporter_gzip_protobuf_creates_session_with_tokens(server):
    provider = LoggerProvider(resource=CLAUDE)
    exporter = OTLPLogExporter(endpoint=f"{server.url}/v1/logs", compression=Compression.Gzip)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("com.anthropic.claude_code.events")
    logger.emit(body="claude_code.api_request", attributes={
        "event.name": "api_request", "session.id": "sdk-session-1", "model": "claude-test",
        "input_tokens": 100, "output_tokens": 7, "cache_read_tokens": 3, "cache_creation_tokens": 2,
        "cost_usd": 0.25, "duration_ms": 12, "request_id": "req_1"})
    provider.shutdown()
    s = server.get("/api/sessions/sdk-session-1")
    assert s["tokens"] == {"input": 100, "output": 7, "cache_read": 3, "cache_write": 2, "reasoning": 0}
    assert s["cost_usd"] == 0.25
    assert s["model"] == "claude-test"


def test_sdk_metric_and_span_exporters_succeed(server):
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{server.url}/v1/metrics", compression=Compression.Gzip),
        export_interval_millis=3_600_000)
    meters = MeterProvider(resource=CLAUDE, metric_readers=[reader])
    meters.get_meter("com.anthropic.claude_code").create_counter("claude_code.cost.usage", unit="USD").add(
        0.5, {"session.id": "sdk-session-2", "model": "claude-test"})
    assert meters.force_flush()
    meters.shutdown()
    spans_exporter = OTLPSpanExporter(endpoint=f"{server.url}/v1/traces")
    tracer_provider = TracerProvider(resource=CLAUDE)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans_exporter))
    with tracer_provider.get_tracer("com.anthropic.claude_code.tracing").start_as_current_span(
            "claude_code.interaction", attributes={"session.id": "sdk-session-2"}):
        pass
    tracer_provider.shutdown()
    import sqlite3
    conn = sqlite3.connect(server.data_dir / "observatory.db")
    kinds = dict(conn.execute("SELECT kind, COUNT(*) FROM events WHERE session_id='sdk-session-2' GROUP BY kind"))
    assert kinds.get("metric", 0) >= 1  # force_flush and shutdown each export the cumulative point
    channels = {c for (c,) in conn.execute("SELECT channel FROM raw_records")}
    assert {"otlp-metrics", "otlp-traces"} <= channels
    # metrics alone never create a session nor add to totals (api_request events do)
    status, _, _ = server.post("/api/sessions/sdk-session-2", b"", method="GET")
    assert status == 404


def test_protobuf_response_is_export_logs_service_response_with_partial_success(server):
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    req = ExportLogsServiceRequest.FromString(OK_LOGS)
    for kv in req.resource_logs[0].resource.attributes:
        if kv.key == "service.name":
            kv.value.string_value = "some-other-agent"
    status, body, headers = server.post("/v1/logs", req.SerializeToString(), PROTOBUF)
    assert status == 200
    assert headers["content-type"] == "application/x-protobuf"
    resp = ExportLogsServiceResponse.FromString(body)
    assert resp.partial_success.rejected_log_records == len(req.resource_logs[0].scope_logs[0].log_records)
    assert "some-other-agent" in resp.partial_success.error_message
    status, body, _ = server.post("/v1/logs", OK_LOGS, PROTOBUF)
    assert status == 200 and ExportLogsServiceResponse.FromString(body).partial_success.rejected_log_records == 0


def test_json_response_is_json(server):
    body = (FIXTURES / "claude-code" / "ok-json" / "otlp" / "0010_v1_logs.json").read_bytes()
    status, out, headers = server.post("/v1/logs", body, {"Content-Type": "application/json"})
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert json.loads(out) == {}


def test_bad_input_gets_clear_4xx(server):
    cases = [
        ("/v1/logs", b"x", {"Content-Type": "text/plain"}, 415),
        ("/v1/logs", b"\xff\x00garbage", PROTOBUF, 400),
        ("/v1/logs", b"{not json", {"Content-Type": "application/json"}, 400),
        ("/v1/logs", b"[1,2]", {"Content-Type": "application/json"}, 400),
        ("/v1/logs", b'{"resourceLogs": "nope"}', {"Content-Type": "application/json"}, 400),
        ("/v1/logs", b"\x1f\x8bnot gzip", {**PROTOBUF, "Content-Encoding": "gzip"}, 400),
        ("/v1/logs", OK_LOGS, {**PROTOBUF, "Content-Encoding": "br"}, 415),
        ("/hooks/claude", b"{oops", {}, 400),
        ("/hooks/claude", b'"a string"', {}, 400),
        ("/hooks/nosuchagent", b"{}", {}, 404),
    ]
    for path, body, headers, expected in cases:
        status, out, _ = server.post(path, body, headers)
        assert status == expected, (path, body[:20], status, out)
        error = json.loads(out)["error"]
        assert error and "\n" not in error
    status, out, _ = server.post("/hooks/nosuchagent", b"{}")
    assert "claude" in json.loads(out)["error"] and "codex" in json.loads(out)["error"]
    assert "→ 415" in "".join(server.output) or server.proc.poll() is None



def test_ingest_paths_answer_wrong_methods_and_unknown_paths_like_any_route(server):
    """Ingest takes a short way past the browser middleware; what it does not route still gets
    the usual answers, and the server keeps serving."""
    assert server.post("/hooks/claude", b"", method="GET")[0] == 405
    assert server.post("/v1/logs", b"", method="PUT")[0] == 405
    assert server.post("/hooks/claude/extra/part", b"{}")[0] == 404
    assert server.post("/v1/nosuchsignal", OK_LOGS, PROTOBUF)[0] == 404
    status, out, headers = server.post("/hooks/claude", {"session_id": "fp-1", "hook_event_name": "SessionStart"})
    assert status == 200 and json.loads(out)["events"] == 1 and "set-cookie" not in {k.lower() for k in headers}
    assert server.get("/api/sessions/fp-1")["id"] == "fp-1"

def post_oversized(url: str, body: bytes) -> int:
    """The server may answer 413 before the client has sent everything: read the answer anyway."""
    import http.client
    from urllib.parse import urlsplit
    conn = http.client.HTTPConnection(urlsplit(url).netloc, timeout=10)
    try:
        conn.request("POST", "/v1/logs", body, PROTOBUF)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return conn.getresponse().status


def test_oversized_and_gzip_bomb_are_413(tmp_path):
    srv = start_server(tmp_path / "d", env={"OBSERVATORY_MAX_BODY_MB": "1"})
    try:
        assert post_oversized(srv.url, b"\x00" * (2 * 1024 * 1024)) == 413
        bomb = gzip.compress(b"\x00" * (64 * 1024 * 1024))  # 64 MiB inflated, ~64 KiB on the wire
        assert len(bomb) < 1024 * 1024
        status, out, _ = srv.post("/v1/logs", bomb, {**PROTOBUF, "Content-Encoding": "gzip"})
        assert status == 413 and b"decompressed" in out
        assert srv.post("/v1/logs", gzip.compress(OK_LOGS), {**PROTOBUF, "Content-Encoding": "gzip"})[0] == 200
    finally:
        srv.stop()


def _corruptions(data: bytes) -> list[bytes]:
    step = max(1, len(data) // 40)
    out = [data[:n] for n in range(1, len(data), step)]
    out += [data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:] for i in range(0, len(data), step)]
    return out


def test_truncated_and_corrupted_real_payloads_never_5xx(server):
    json_body = (FIXTURES / "claude-code" / "ok-json" / "otlp" / "0010_v1_logs.json").read_bytes()
    hook_body = (FIXTURES / "claude-code" / "ok-json" / "hooks" / "0005_PreToolUse.json").read_bytes()
    seen = set()
    for path, body, headers in [("/v1/logs", OK_LOGS, PROTOBUF),
                                ("/v1/logs", json_body, {"Content-Type": "application/json"}),
                                ("/hooks/claude", hook_body, {})]:
        for bad in _corruptions(body):
            status, _, _ = server.post(path, bad, headers)
            assert status < 500, (path, len(bad))
            seen.add(status)
    assert 400 in seen and 200 in seen
    assert server.get("/api/health")["status"] == "ok"


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.binary(max_size=2048),
       path=st.sampled_from(["/v1/logs", "/v1/metrics", "/v1/traces", "/hooks/claude", "/hooks/codex",
                             "/hooks/gemini", "/hooks/codex/notify"]),
       ctype=st.sampled_from(["application/x-protobuf", "application/json"]),
       gz=st.booleans())
def test_random_bodies_never_5xx(shared_server, body, path, ctype, gz):
    headers = {"Content-Type": ctype}
    if gz:
        body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    status, _, _ = shared_server.post(path, body, headers)
    assert status < 500


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(payload=st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                            lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=20), c, max_size=6),
                            max_leaves=30),
       event=st.sampled_from(["SessionStart", "PreToolUse", "PostToolUse", "Stop", "PermissionRequest",
                              "Notification", "SessionEnd", "AfterTool", "BeforeTool"]))
def test_structurally_odd_hook_payloads_never_5xx(shared_server, payload, event):
    if isinstance(payload, dict):
        payload = {**payload, "hook_event_name": event, "session_id": "fuzz"}
    for agent in ("claude", "codex", "gemini"):
        status, _, _ = shared_server.post(f"/hooks/{agent}", json.dumps(payload).encode())
        assert status < 500


def test_rows_survive_kill_9_right_after_200(tmp_path):
    data = tmp_path / "d"
    srv = start_server(data)
    hooks = sorted((FIXTURES / "claude-code" / "ok-json" / "hooks").glob("*.json"))
    for p in hooks:
        assert srv.post("/hooks/claude", p.read_bytes(), {"X-Agent-Pid": str(os.getpid())})[0] == 200
    assert srv.post("/v1/logs", OK_LOGS, PROTOBUF)[0] == 200
    seq_before = srv.get("/api/health")["seq"]
    srv.stop(sig_kill=True)
    assert srv.proc.returncode == -9
    srv2 = start_server(data)
    try:
        assert srv2.get("/api/health")["seq"] == seq_before
        sessions = {s["id"]: s for s in srv2.get("/api/sessions")["sessions"]}
        assert "79810d94-a959-4246-ac3a-1ac937812cea" in sessions
        assert sessions["79810d94-a959-4246-ac3a-1ac937812cea"]["status"] == "ended"
        assert "4046fcd5-246f-41a4-8c59-57cc85ab7a12" in sessions  # from the protobuf logs
    finally:
        srv2.stop()


def test_a_locked_database_queues_then_answers_503_with_retry_after_and_loses_nothing(tmp_path):
    """Another process holding the write lock (`observatory prune`, say): hooks wait for their
    commit, past the writer's limit they are refused with 503 + Retry-After, and once the lock
    is gone every accepted event is stored and the server carries on."""
    import sqlite3
    import time
    from concurrent.futures import ThreadPoolExecutor
    srv = start_server(tmp_path / "d", env={"OBSERVATORY_WRITER_QUEUE_MAX": "3"})
    lock = sqlite3.connect(srv.data_dir / "observatory.db", isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
        hook = lambda i: srv.post("/hooks/claude", {"session_id": f"locked-{i}", "hook_event_name": "SessionStart"})
        with ThreadPoolExecutor(3) as pool:
            waiting = [pool.submit(hook, i) for i in range(3)]
            deadline = time.monotonic() + 10
            while srv.get("/api/health")["queue_depth"] < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert not any(f.done() for f in waiting)
            status, body, headers = hook(3)
            assert status == 503 and headers.get("retry-after") == "1"
            assert "writer queue full" in json.loads(body)["error"]
            lock.execute("COMMIT")
            assert [f.result()[0] for f in waiting] == [200, 200, 200]
        sessions = {s["id"] for s in srv.get("/api/sessions")["sessions"]}
        assert sessions == {"locked-0", "locked-1", "locked-2"}
        assert hook(4)[0] == 200
    finally:
        lock.close()
        srv.stop()


def test_raw_bodies_are_kept_compressed_up_to_the_cap(tmp_path):
    import sqlite3
    srv = start_server(tmp_path / "d", env={"OBSERVATORY_RETENTION_RAW_MAX_KB": "32"})
    hook = {"session_id": "raw-1", "hook_event_name": "SessionStart"}
    try:
        assert srv.post("/hooks/claude", hook)[0] == 200
        assert srv.post("/v1/logs", OK_LOGS, PROTOBUF)[0] == 200  # 19.8 KB: deflated
        assert srv.post("/v1/logs", OK_LOGS * 2, PROTOBUF)[0] == 200  # a valid request of 39.6 KB
    finally:
        srv.stop()
    conn = sqlite3.connect(srv.data_dir / "observatory.db")
    rows = conn.execute("SELECT channel, size, body FROM raw_records ORDER BY id").fetchall()
    assert [(channel, size) for channel, size, _ in rows] == [
        ("hook:claude", len(json.dumps(hook))), ("otlp-logs", len(OK_LOGS)), ("otlp-logs", 2 * len(OK_LOGS))]
    assert json.loads(zlib.decompress(rows[0][2])) == hook
    assert zlib.decompress(rows[1][2]) == OK_LOGS and len(rows[1][2]) < len(OK_LOGS) / 2
    assert rows[2][2] is None  # over the cap: counted, not kept


def test_metrics_endpoint_counts(server):
    for p in sorted((FIXTURES / "claude-code" / "ok-json" / "hooks").glob("*.json")):
        server.post("/hooks/claude", p.read_bytes())
    import urllib.request
    text = urllib.request.urlopen(server.url + "/metrics").read().decode()
    assert 'observatory_events_total{agent="claude",kind="session_start"} 1.0' in text
    assert 'observatory_sessions{status="ended"} 1.0' in text
    assert "observatory_queue_depth" in text and "observatory_ws_clients" in text
