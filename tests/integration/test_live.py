"""WS /api/live with real `websockets` clients against a real server."""

from __future__ import annotations

import asyncio
import json
import weakref

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from conftest import fixture_hooks
from serverproc import start_server


def ws_url(server) -> str:
    return server.url.replace("http://", "ws://") + "/api/live"


def post_hook(server, payload: dict, **changes) -> None:
    status, body, _ = server.post("/hooks/claude", {**payload, **changes})
    assert status == 200, body


# Messages of a batch frame not read yet, per connection (keyed by the connection itself: an id()
# is reused once a closed connection is collected, and handed its leftovers to a new one).
_pending: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def recv_json(ws, timeout: float = 5) -> dict:
    """The next protocol message, unpacking the server's batch frames."""
    queue = _pending.setdefault(ws, [])
    if not queue:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        queue.extend(frame["messages"] if frame["type"] == "batch" else [frame])
    return queue.pop(0)


async def recv_until(ws, predicate, timeout: float = 5) -> list[dict]:
    out = []
    while True:
        msg = await recv_json(ws, timeout)
        out.append(msg)
        if predicate(msg):
            return out


async def test_snapshot_then_live_deltas(server):
    hooks = fixture_hooks("ok-json")
    post_hook(server, hooks[0][1])
    async with connect(ws_url(server)) as ws:
        await ws.send(json.dumps({"resume": None}))
        snap = await recv_json(ws)
        assert snap["type"] == "snapshot"
        assert [s["id"] for s in snap["sessions"]] == [hooks[0][1]["session_id"]]
        assert snap["seq"] == 1
        await asyncio.to_thread(post_hook, server, hooks[1][1])  # UserPromptSubmit
        msgs = await recv_until(ws, lambda m: m["type"] == "session")
        event = next(m["event"] for m in msgs if m["type"] == "event")
        assert event["kind"] == "prompt" and event["seq"] == 2
        assert msgs[-1]["session"]["status"] == "thinking"


async def test_resume_gets_exactly_the_missed_events_in_order(server):
    base = fixture_hooks("ok-json")[0][1]
    post_hook(server, base)
    async with connect(ws_url(server)) as ws:
        await ws.send(json.dumps({"resume": None}))
        last = (await recv_json(ws))["seq"]
    for i in range(30):  # missed while disconnected
        post_hook(server, base, hook_event_name="UserPromptSubmit", prompt=f"p{i}", prompt_id=f"id{i}")
    async with connect(ws_url(server)) as ws:
        await ws.send(json.dumps({"resume": last}))
        msgs = await recv_until(ws, lambda m: m["type"] == "session")
        replayed = [m["event"]["seq"] for m in msgs if m["type"] == "event"]
        assert replayed == list(range(last + 1, last + 31))
        assert [m["event"]["detail"]["prompt"] for m in msgs if m["type"] == "event"] == [f"p{i}" for i in range(30)]
        # and it continues live without duplicates
        await asyncio.to_thread(post_hook, server, base, hook_event_name="UserPromptSubmit", prompt="live",
                                prompt_id="live")
        more = await recv_until(ws, lambda m: m["type"] == "event")
        assert more[-1]["event"]["seq"] == last + 31


async def test_resume_from_a_future_seq_falls_back_to_snapshot(server):
    post_hook(server, fixture_hooks("ok-json")[0][1])
    async with connect(ws_url(server)) as ws:
        await ws.send(json.dumps({"resume": 999999}))
        assert (await recv_json(ws))["type"] == "snapshot"


async def test_foreign_origin_is_refused_same_origin_allowed(server):
    with pytest.raises(InvalidStatus) as info:
        async with connect(ws_url(server), origin="http://evil.example"):
            pass
    assert info.value.response.status_code == 403
    async with connect(ws_url(server), origin=server.url) as ws:
        await ws.send(json.dumps({"resume": None}))
        assert (await recv_json(ws))["type"] == "snapshot"


async def test_many_clients_all_receive_each_event(server):
    base = fixture_hooks("ok-json")[0][1]
    clients = [await connect(ws_url(server)) for _ in range(10)]
    try:
        for ws in clients:
            await ws.send(json.dumps({"resume": None}))
            assert (await recv_json(ws))["type"] == "snapshot"
        await asyncio.to_thread(post_hook, server, base)
        for ws in clients:
            msgs = await recv_until(ws, lambda m: m["type"] == "event")
            assert msgs[-1]["event"]["kind"] == "session_start"
        assert server.get("/api/health")["ws_clients"] == 10
    finally:
        for ws in clients:
            await ws.close()


async def test_a_quiet_stream_carries_heartbeats(tmp_path):
    srv = start_server(tmp_path / "data", env={"OBSERVATORY_WS_HEARTBEAT_S": "0.3"})
    try:
        async with connect(ws_url(srv)) as ws:
            await ws.send(json.dumps({"resume": None}))
            assert (await recv_json(ws))["type"] == "snapshot"
            assert (await recv_json(ws, timeout=3))["type"] == "heartbeat"
            assert (await recv_json(ws, timeout=3))["type"] == "heartbeat"
            await asyncio.to_thread(post_hook, srv, fixture_hooks("ok-json")[0][1])
            msgs = await recv_until(ws, lambda m: m["type"] == "event", timeout=3)
            assert msgs[-1]["event"]["kind"] == "session_start"
    finally:
        srv.stop()
