"""The live fanout: one encoded frame per burst, shared; bounded client queues."""

import asyncio
import json

from observatory.bus import Bus, Message
from observatory.fanout import Fanout, Frame, LiveClient, latest_sessions_only
from observatory.model import Session


def event(seq: int) -> Message:
    return Message("event", {"seq": seq}, seq, n=seq)


def session(seq: int) -> Message:
    return Message("session", {"id": "s1"}, seq, n=seq)


NEW = LiveClient(1000)


def unpack(text: str) -> list[dict]:
    frame = json.loads(text)
    return frame["messages"] if frame["type"] == "batch" else [frame]


def test_a_frame_is_encoded_once_and_shared():
    frame = Frame([event(1), event(2), session(2)])
    assert frame.text_for(NEW, 0) is frame.text_for(LiveClient(10), 0)
    assert [m["type"] for m in unpack(frame.text_for(NEW, 0))] == ["event", "event", "session"]
    assert (frame.first_event_seq, frame.last_event_seq) == (1, 2)


def test_a_client_that_already_has_some_events_gets_only_the_rest():
    frame = Frame([event(5), event(6), session(6)])
    rest = unpack(frame.text_for(NEW, 5))
    assert [(m["type"], m.get("event", {}).get("seq")) for m in rest] == [("event", 6), ("session", None)]
    assert Frame([event(5), event(6)]).text_for(NEW, 6) is None


def test_what_was_published_before_a_snapshot_is_not_sent_after_it():
    """A session state older than the client's snapshot must not overwrite it."""
    old = Message("session", {"id": "s1", "status": "working"}, 4, n=7)
    newer = Message("session", {"id": "s1", "status": "waiting_for_user"}, 4, n=9)
    client = LiveClient(1000, joined_n=8)
    assert [m["session"]["status"] for m in unpack(Frame([old, newer]).text_for(client, 4))] == ["waiting_for_user"]


def test_a_stuck_client_is_bounded_and_told_to_resync():
    client = LiveClient(max_messages=10)
    for seq in range(1, 4):
        client.push(Frame([event(seq * 3 + i) for i in range(3)]))
    assert client.queued == 9 and not client.overflowed
    client.push(Frame([event(100), event(101)]))
    assert client.overflowed and client.queued == 0 and not client.frames
    assert client.ready.is_set()


async def test_every_client_receives_each_burst_as_one_shared_frame():
    bus = Bus()
    fanout = Fanout(bus, heartbeat_s=20)
    fanout.start()
    a, b = fanout.join(1000), fanout.join(1000)
    try:
        for seq in range(1, 6):
            bus.publish(event(seq))
        await asyncio.wait_for(a.ready.wait(), 2)
        await asyncio.wait_for(b.ready.wait(), 2)
        frames_a, frames_b = a.take(), b.take()
        assert len(frames_a) == 1 and frames_a[0] is frames_b[0]
        assert [m["event"]["seq"] for m in unpack(frames_a[0].text_for(a, 0))] == [1, 2, 3, 4, 5]
        fanout.leave(b)
        bus.publish(event(6))
        await asyncio.wait_for(a.ready.wait(), 2)
        assert [f.last_event_seq for f in a.take()] == [6] and not b.frames
    finally:
        await fanout.stop()


def test_a_burst_keeps_only_the_last_snapshot_of_each_session():
    a1, b1, a2 = (Message("session", Session(id=sid, agent="claude"), seq) for sid, seq in (("a", 1), ("b", 2), ("a", 3)))
    burst = [event(1), a1, event(2), b1, event(3), a2]
    assert latest_sessions_only(burst) == [burst[0], burst[2], b1, burst[4], a2]
    assert latest_sessions_only(burst[:4]) == burst[:4]


async def test_a_quiet_bus_sends_every_client_a_heartbeat():
    bus = Bus()
    fanout = Fanout(bus, heartbeat_s=0.05)
    fanout.start()
    client = fanout.join(1000)
    client.joined_n = 10  # e.g. right after a snapshot
    try:
        await asyncio.wait_for(client.ready.wait(), 2)
        assert [f.text_for(client, 0) for f in client.take()] == ['{"type":"heartbeat"}']
    finally:
        await fanout.stop()


async def test_a_backlog_is_drained_without_waiting_between_frames():
    """A burst gathers for 10 ms, but a backlog (a loop busy with a heavy ingest) is sent at
    once in full frames: waiting 10 ms per 500 messages fell behind 9,000 events a second."""
    bus = Bus()
    fanout = Fanout(bus, heartbeat_s=20)
    fanout.start()
    client = fanout.join(100_000)
    try:
        for seq in range(1, 20_001):
            bus.publish(event(seq))
        started = asyncio.get_running_loop().time()
        while fanout.pending:
            await asyncio.sleep(0.001)
        assert asyncio.get_running_loop().time() - started < 0.2  # 40 frames × 10 ms would be 0.4 s
        frames = client.take()
        assert len(frames) == 40 and frames[-1].last_event_seq == 20_000
    finally:
        await fanout.stop()


async def test_it_keeps_up_with_an_ingest_publishing_a_thousand_messages_a_loop_turn():
    """What a heavy OTLP ingest does (4 requests of 100 records and their session updates in
    one commit): the fanout's queue must stay short, with or without a client to send to."""
    bus = Bus()
    fanout = Fanout(bus, heartbeat_s=20)
    fanout.start()
    try:
        seq = 0
        deepest = 0
        for turn in range(200):
            if turn == 100:
                client = fanout.join(1_000_000)
            for _ in range(1000):
                seq += 1
                bus.publish(event(seq))
            deepest = max(deepest, fanout.pending)
            await asyncio.sleep(0)  # one turn of the loop
        assert deepest < 10_000  # a few turns' worth; taking one frame a turn grew it to 100,000
        while fanout.pending:
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.05)
        # Frames may start with what was queued before it joined: text_for leaves that out.
        sent = [m.seq for frame in client.take() for m in frame.messages if m.n > client.joined_n]
        assert sent == list(range(100_001, 200_001))  # everything after joining, in order
    finally:
        await fanout.stop()
