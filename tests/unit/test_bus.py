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
