"""WS /api/live: snapshot or resume, then deltas from the bus (through the fanout).

Resume without gaps or duplicates: join the fanout first, then replay stored events after
the client's seq up to what the bus has published, then send the fanout's frames skipping
anything already replayed. A slow client's queue is bounded: on overflow it gets a fresh
snapshot, never an unbounded buffer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from observatory.bus import Message
from observatory.fanout import Fanout, LiveClient
from observatory.jsontext import compact
from observatory.store import events as sql

log = logging.getLogger("observatory.live")

RESUME_WAIT_S = 5.0
MAX_REPLAY = 5000
REPLAY_ROUNDS = 5


def origin_allowed(ws: WebSocket, allowed: list[str]) -> bool:
    """Browsers send Origin: it must be this host (or configured); other clients send none."""
    origin = ws.headers.get("origin")
    if not origin:
        return True
    if origin in allowed:
        return True
    return urlsplit(origin).netloc == ws.headers.get("host", "")


async def _send_snapshot(ws: WebSocket, obs, client: LiveClient) -> int:  # noqa: ANN001
    """Current sessions; the client then skips every message published before (all in it)."""
    seq = obs.bus.seq
    sessions = [s.to_api() for s in obs.sessions.ordered()]
    client.joined_n = obs.bus.published
    await ws.send_text(compact({"type": "snapshot", "sessions": sessions, "seq": seq}))
    return seq


async def _replay(ws: WebSocket, obs, client: LiveClient, after: int) -> int | None:  # noqa: ANN001
    """Send stored events after `after`, then the touched sessions as they are now; None when
    too many (the caller snapshots instead).

    Reads until it has caught up with the bus, so what it sends covers every message
    published before it: the client skips those in the fanout's frames.
    """
    events = []
    upto = after
    rounds = 0
    while upto != obs.bus.seq:
        target = obs.bus.seq
        rounds += 1
        if after > target or target - after > MAX_REPLAY or rounds > REPLAY_ROUNDS:
            return None  # a future we never had (another database), too far behind, or racing
        events += await obs.store.read(sql.events_after, upto, target, MAX_REPLAY + 1)
        upto = target
    texts = [Message("event", ev, ev.seq).text for ev in events]
    touched = {ev.session_id: ev.seq for ev in events}
    sessions = ((obs.sessions.get(sid), seq) for sid, seq in touched.items())
    texts += [Message("session", s, seq).text for s, seq in sessions if s is not None]
    client.joined_n = obs.bus.published
    for text in texts:
        await ws.send_text(text)
    return upto


async def _resume_request(ws: WebSocket) -> int | None:
    try:
        text = await asyncio.wait_for(ws.receive_text(), RESUME_WAIT_S)
        value = json.loads(text).get("resume")
    except (asyncio.TimeoutError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and value >= 0 else None


async def _stream(ws: WebSocket, obs, client: LiveClient, sent_upto: int) -> None:  # noqa: ANN001
    while True:
        await client.ready.wait()
        frames = client.take()
        if client.overflowed:
            client.overflowed = False
            sent_upto = await _send_snapshot(ws, obs, client)
            continue
        for frame in frames:
            text = frame.text_for(client, sent_upto)
            if text is not None:
                await ws.send_text(text)
            sent_upto = max(sent_upto, frame.last_event_seq)


async def _drain_client(ws: WebSocket) -> None:
    """Read (and ignore) client frames so a close from the client is noticed at once."""
    while True:
        await ws.receive_text()


async def live(ws: WebSocket) -> None:
    obs = ws.app.state.obs
    if not origin_allowed(ws, obs.settings.allowed_origins):
        log.warning("live: refused Origin %s", ws.headers.get("origin"))
        await ws.close(code=4403, reason="origin not allowed")
        return
    await ws.accept()
    fanout: Fanout = obs.services["fanout"]
    client = fanout.join(obs.settings.ws_queue_max)
    try:
        resume = await _resume_request(ws)
        sent_upto = await _replay(ws, obs, client, resume) if resume is not None else None
        if sent_upto is None:
            sent_upto = await _send_snapshot(ws, obs, client)
        reader = asyncio.create_task(_drain_client(ws))
        writer = asyncio.create_task(_stream(ws, obs, client, sent_upto))
        done, pending = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            exc = task.exception()
            if exc and not isinstance(exc, (WebSocketDisconnect, RuntimeError)):
                log.warning("live client ended: %r", exc)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        fanout.leave(client)


async def start(obs: Any) -> None:
    fanout = obs.services["fanout"] = Fanout(obs.bus, obs.settings.ws_heartbeat_s)
    fanout.start()


async def stop(obs: Any) -> None:
    await obs.services["fanout"].stop()


routes = [WebSocketRoute("/api/live", live)]
