"""The pipeline on a real SQLite file: events are published as they commit; session snapshots
go out at once, then at most once per window while the session keeps changing."""

import asyncio
from pathlib import Path

from observatory import pipeline
from observatory.bus import Bus, Message
from observatory.model import Event, Kind, Source, now_ns
from observatory.pipeline import Pipeline
from observatory.sessions import Sessions
from observatory.store import Store


def _tool_end(session_id: str) -> Event:
    return Event("claude", session_id, Kind.TOOL_END, Source.HOOK, ts=now_ns(), tool="Bash", name="PostToolUse")


def _taken(sub) -> list[Message]:  # noqa: ANN001
    out = []
    while (msg := sub.get_nowait()) is not None:
        out.append(msg)
    return out


async def test_a_busy_sessions_snapshots_are_held_to_one_per_window_and_events_never(tmp_path: Path) -> None:
    store = Store(tmp_path / "o.db")
    store.open()
    bus = Bus()
    events, snapshots = bus.subscribe(1000, types=("event",)), bus.subscribe(1000, types=("session",))
    pipe = Pipeline(store, Sessions(), bus, 1 << 20)
    try:
        first = await pipe.ingest([_tool_end("a")], None)
        assert [(m.obj.id, m.seq) for m in _taken(snapshots)] == [("a", first[0].seq)]  # at once

        stored = [ev for _ in range(5) for ev in await pipe.ingest([_tool_end("a"), _tool_end("b")], None)]
        assert [m.seq for m in _taken(events)] == [first[0].seq] + [ev.seq for ev in stored]
        assert _taken(snapshots) == []  # held: a snapshot went out less than a window ago

        await asyncio.sleep(pipeline.SESSION_PUBLISH_S * 1.5)
        held = _taken(snapshots)
        assert sorted((m.obj.id, m.seq, m.obj.tool_calls) for m in held) == [
            ("a", stored[-2].seq, 6), ("b", stored[-1].seq, 5)]  # each session once, as it is now

        await asyncio.sleep(pipeline.SESSION_PUBLISH_S * 1.5)  # a window with nothing held closes
        later = await pipe.ingest([_tool_end("b")], None)
        assert [(m.obj.id, m.seq) for m in _taken(snapshots)] == [("b", later[0].seq)]
    finally:
        await store.close()
