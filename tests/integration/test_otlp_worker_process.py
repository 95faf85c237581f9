"""A real server decodes OTLP in a child process; killing that child loses no request."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from conftest import FIXTURES, start_server

OK_LOGS = (FIXTURES / "claude-code" / "ok-protobuf" / "otlp" / "0007_v1_logs.bin").read_bytes()
PROTOBUF = {"Content-Type": "application/x-protobuf"}


def _logs_for_session(session_id: str) -> bytes:
    """The real export, as another session's (every record names its session)."""
    req = ExportLogsServiceRequest.FromString(OK_LOGS)
    for rl in req.resource_logs:
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                for kv in rec.attributes:
                    if kv.key == "session.id":
                        kv.value.string_value = session_id
    return req.SerializeToString()


def _events_by_session(data_dir) -> dict[str, int]:  # noqa: ANN001
    conn = sqlite3.connect(data_dir / "observatory.db")
    try:
        return dict(conn.execute("SELECT session_id, COUNT(*) FROM events GROUP BY session_id"))
    finally:
        conn.close()


def test_otlp_is_decoded_by_a_child_of_the_server(server):
    worker = server.get("/api/health")["decode_worker"]
    child = psutil.Process(worker["pid"])
    assert child.ppid() == server.proc.pid
    assert "observatory.ingest.decode_worker" in child.cmdline()
    assert server.post("/v1/logs", OK_LOGS, PROTOBUF)[0] == 200
    session = server.get("/api/sessions/4046fcd5-246f-41a4-8c59-57cc85ab7a12")
    assert session["tokens"]["input"] > 0 and session["cost_usd"] > 0


def test_a_killed_decode_worker_is_replaced_and_every_request_it_held_is_stored(tmp_path):
    srv = start_server(tmp_path / "data")
    try:
        first = srv.get("/api/health")["decode_worker"]["pid"]
        os.kill(first, signal.SIGSTOP)  # holds every request handed to it
        bodies = {f"killed-{i}": _logs_for_session(f"killed-{i}") for i in range(24)}
        with ThreadPoolExecutor(8) as pool:
            posts = [pool.submit(srv.post, "/v1/logs", body, PROTOBUF) for body in bodies.values()]
            time.sleep(0.5)
            assert not any(p.done() for p in posts)
            assert srv.get("/api/health")["decode_worker"]["pending"] == 8
            os.kill(first, signal.SIGKILL)
            statuses = [p.result(timeout=20)[0] for p in posts]
        assert statuses == [200] * len(bodies)
        worker = srv.get("/api/health")["decode_worker"]
        assert worker["restarts"] == 1 and worker["pending"] == 0
        assert worker["pid"] != first and psutil.Process(worker["pid"]).ppid() == srv.proc.pid
        counts = _events_by_session(srv.data_dir)
        assert {sid: counts.get(sid) for sid in bodies} == {sid: 2 for sid in bodies}
    finally:
        srv.stop()
    assert not psutil.pid_exists(worker["pid"]) or psutil.Process(worker["pid"]).status() == "zombie"


def test_without_the_worker_the_server_decodes_in_process(tmp_path):
    srv = start_server(tmp_path / "data", env={"OBSERVATORY_DECODE_WORKER": "false"})
    try:
        assert srv.get("/api/health")["decode_worker"] == {"pid": None, "restarts": 0, "pending": 0, "handed_back": 0}
        assert psutil.Process(srv.proc.pid).children() == []
        assert srv.post("/v1/logs", OK_LOGS, PROTOBUF)[0] == 200
        assert srv.get("/api/sessions/4046fcd5-246f-41a4-8c59-57cc85ab7a12")["tokens"]["input"] > 0
    finally:
        srv.stop()


def test_the_worker_exits_with_a_server_killed_by_sigkill(tmp_path):
    srv = start_server(tmp_path / "data")
    child = psutil.Process(srv.get("/api/health")["decode_worker"]["pid"])
    srv.stop(sig_kill=True)
    child.wait(timeout=5)  # its input closed with the server: no orphan decoding nothing
    assert not child.is_running()
