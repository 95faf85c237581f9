"""A slow subscriber never grows memory: it is marked overflowed and emptied."""

import asyncio

from observatory.bus import Bus, Message


def test_slow_subscriber_overflows_instead_of_growing():
    bus = Bus()
    slow = bus.subscribe(maxsize=10)
    fast = bus.subscribe(maxsize=10_000)
    for seq in range(1, 1001):
        bus.publish(Message("event", {"n": seq}, seq))
    assert slow.overflowed
    assert slow.qsize() <= 10
    assert fast.qsize() == 1000 and not fast.overflowed
    assert bus.seq == 1000


def test_message_text_is_encoded_once_in_live_protocol_shape():
    msg = Message("alert", {"id": "1"})
    assert msg.text == '{"type":"alert","alert":{"id":"1"}}'
    assert msg.text is msg.text


async def test_a_waiting_reader_wakes_on_publish_and_survives_cancellation():
    bus = Bus()
    sub = bus.subscribe()
    cancelled = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    reader = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    assert not reader.done()
    bus.publish(Message("event", {"n": 1}, 1))
    bus.publish(Message("event", {"n": 2}, 2))
    assert (await asyncio.wait_for(reader, 1)).seq == 1
    assert (await sub.get()).seq == 2 and sub.get_nowait() is None


def _drain(sub) -> list[str]:  # noqa: ANN001
    out = []
    while (msg := sub.get_nowait()) is not None:
        out.append(msg.type)
    return out


def test_a_subscriber_takes_only_its_types_and_late_subscribers_are_routed_too():
    bus = Bus()
    everything = bus.subscribe()
    sessions = bus.subscribe(types=("session",))
    for kind in ("event", "session", "alert"):
        bus.publish(Message(kind, {}, 1))
    events = bus.subscribe(types=["event"])  # joins after the routes were first worked out
    for kind in ("event", "session"):
        bus.publish(Message(kind, {}, 2))
    sessions.close()
    bus.publish(Message("session", {}, 3))
    assert _drain(everything) == ["event", "session", "alert", "event", "session", "session"]
    assert _drain(sessions) == ["session", "session"]
    assert _drain(events) == ["event"]


async def test_a_consumer_awaits_only_what_its_handler_returns():
    from observatory.bus import Consumer

    bus = Bus()
    seen: list[int] = []

    async def later(n: int) -> None:
        await asyncio.sleep(0)
        seen.append(n)

    def handle(msg: Message):  # noqa: ANN202
        if msg.seq % 2:
            seen.append(msg.seq)
            return None
        return later(msg.seq)

    consumer = Consumer(bus, handle, "test", types=("event",))
    consumer.start()
    for n in range(1, 7):
        bus.publish(Message("event", {}, n))
        bus.publish(Message("session", {}, 100 + n))  # not its type
    for _ in range(20):
        await asyncio.sleep(0)
    await consumer.stop()
    assert seen == [1, 2, 3, 4, 5, 6]


def test_a_commits_events_reach_each_reader_in_order_numbered_one_by_one():
    bus = Bus()
    events, sessions = bus.subscribe(types=("event",)), bus.subscribe(types=("session",))
    small = bus.subscribe(maxsize=3, types=("event",))
    bus.publish(Message("session", {}, 1))
    bus.publish_all([Message("event", {}, seq) for seq in (2, 3, 4, 5)])
    assert [(m.seq, m.n) for m in events.take(3)] == [(2, 2), (3, 3), (4, 4)]
    assert [(m.seq, m.n) for m in events.take(3)] == [(5, 5)] and events.take(3) == []
    assert bus.seq == 5 and bus.published == 5
    assert [m.seq for m in sessions.take(10)] == [1]
    assert small.overflowed and small.qsize() == 0  # four do not fit in three: it resynchronises
