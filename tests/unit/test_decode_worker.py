"""The decode worker: a real child process decodes exactly as the server would in-process,
events cross the pipe intact (as store rows), and a child that dies costs no request."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import os
import signal
import sys
import zlib

import pytest

from fixtures_util import AGENT_DIRS, FIXTURES, events_of, replay, scenarios
from observatory.ingest import decode_worker
from observatory.ingest.decode_worker import WORKER_MIN_BYTES, DecodeWorker
from observatory.ingest.otlp_decode import JSON, PROTOBUF, DecodeError
from observatory.ingest.otlp_normalise import normalise_body
from observatory.model import Kind
from observatory.store.events import event_row, row_event

CLAUDE_LOGS = (FIXTURES / "claude-code" / "ok-protobuf" / "otlp" / "0007_v1_logs.bin").read_bytes()


def _body(path) -> bytes:  # noqa: ANN001
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


# Claude's and Codex's OTLP adapters keep no memory between bodies (Gemini's does, and this
# process's copy has seen other tests' bodies), so the child must answer exactly as they do here.
BODIES = [("logs", PROTOBUF, CLAUDE_LOGS)] + [
    (p.name.split("_v1_")[1].split(".")[0], PROTOBUF if ".bin" in p.name else JSON, _body(p))
    for p in sorted((FIXTURES / "codex").glob("*/*_v1_*")) if ".meta." not in p.name
]
DIES_ON_INPUT = "import sys; sys.stdin.buffer.read(1)"  # a child that exits on its first request


def test_every_fixture_event_comes_back_exactly_from_its_store_row():
    """The child sends rows (and details), not events: the server's events are rebuilt from them."""
    events = [ev for agent in AGENT_DIRS for scenario in scenarios(agent)
              for ev in events_of(replay(agent, scenario))]
    assert len({ev.agent for ev in events}) == 3 and any(ev.tokens for ev in events)
    for ev in events:
        assert row_event(event_row(ev, 0), ev.detail) == ev, ev
        assert isinstance(row_event(event_row(ev, 0), ev.detail).kind, Kind)


async def test_the_child_answers_what_the_server_would_compute_itself():
    worker = DecodeWorker({}, 1 << 20)
    await worker.start()
    try:
        assert worker.pid not in (None, os.getpid())
        for signal_, encoding, body in BODIES:
            got = await asyncio.wait_for(worker.normalise(signal_, body, encoding, 123), 10)
            want = normalise_body(signal_, body, encoding)
            if got.rows is not None:  # rebuilt from rows, which carry the request's time, as stored
                want.events = [dataclasses.replace(ev, received_at=ev.received_at or 123) for ev in want.events]
            assert (got.events, got.rejected, got.message, got.agent) == (
                want.events, want.rejected, want.message, want.agent)
            if len(body) < WORKER_MIN_BYTES:  # decoded in the server: the writer makes the rows
                assert got.rows is None and got.deflated is None
                continue
            assert len(got.rows) == len(got.events)
            assert all(row[1] == 123 for row in got.rows)  # received_at, as handed over
            if len(body) > 1 << 20:  # over the raw cap: not kept, so not compressed either
                assert got.deflated is None
            else:
                assert zlib.decompress(got.deflated) == body
        with pytest.raises(DecodeError, match="not a protobuf"):
            await worker.normalise("logs", b"\xff\x00garbage", PROTOBUF, 1)
        assert worker.status() == {"pid": worker.pid, "restarts": 0, "pending": 0, "handed_back": 0}
    finally:
        await worker.stop()
    assert worker.pid is None


async def test_a_stateful_agents_body_is_always_decoded_in_the_server():
    """Gemini numbers repeated content per session: its memory must stay in one process. Its
    body comes back from the child undecoded even when the server's quick scan misses the
    name (spelled with a JSON escape here)."""
    path = FIXTURES / "gemini" / "ok-http-json" / "0017_v1_logs.json.gz"
    body = gzip.decompress(path.read_bytes())
    escaped = body.replace(b"gemini-cli", b"gemini\\u002dcli")
    assert len(body) >= WORKER_MIN_BYTES and b"gemini-cli" not in escaped
    worker = DecodeWorker({}, 1 << 20)
    await worker.start()
    try:
        for sent, handed_back in ((body, 0), (escaped, 1)):
            got = await asyncio.wait_for(worker.normalise("logs", sent, JSON, 1), 10)
            assert got.agent == "gemini" and got.events and got.rows is None  # not prepared by the child
            assert worker.status()["handed_back"] == handed_back
    finally:
        await worker.stop()


async def test_a_body_that_kills_two_children_is_refused_and_a_third_death_means_in_process():
    worker = DecodeWorker({}, 1 << 20, command=[sys.executable, "-c", DIES_ON_INPUT])
    await worker.start()
    try:
        with pytest.raises(DecodeError, match="crashed the decoder twice"):
            await asyncio.wait_for(worker.normalise("logs", CLAUDE_LOGS, PROTOBUF, 1), 10)
        assert worker.restarts == 2
        for _ in range(100):  # the third child is on its way
            if worker.pid is not None:
                break
            await asyncio.sleep(0.05)
        assert worker.pid is not None
        result = await asyncio.wait_for(worker.normalise("logs", CLAUDE_LOGS, PROTOBUF, 1), 10)
        assert worker.restarts == 3 and worker.pid is None  # gave up on children: decoded here
        assert result.agent == "claude" and result.events == normalise_body("logs", CLAUDE_LOGS, PROTOBUF).events
    finally:
        await worker.stop()


async def test_too_many_bytes_waiting_on_the_child_is_saturation(monkeypatch):
    from observatory.store import Saturated
    monkeypatch.setattr(decode_worker, "MAX_PENDING_BYTES", len(CLAUDE_LOGS) - 1)
    worker = DecodeWorker({}, 1 << 20)
    await worker.start()
    os.kill(worker.pid, signal.SIGSTOP)
    try:
        first = asyncio.create_task(worker.normalise("logs", CLAUDE_LOGS, PROTOBUF, 1))
        await asyncio.sleep(0.1)
        with pytest.raises(Saturated):
            await worker.normalise("logs", CLAUDE_LOGS, PROTOBUF, 1)
        os.kill(worker.pid, signal.SIGCONT)
        assert (await asyncio.wait_for(first, 10)).agent == "claude"
    finally:
        os.kill(worker.pid, signal.SIGCONT)
        await worker.stop()
