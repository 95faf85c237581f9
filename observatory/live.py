"""WS /api/live: snapshot or resume, then deltas from the bus.

Resume without gaps or duplicates: subscribe to the bus first, then replay stored events
after the client's seq up to what the bus has published, then drain the subscription
skipping anything already replayed. A slow client's queue is bounded: on overflow it gets
a fresh snapshot, never an unbounded buffer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import urlsplit

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from observatory.bus import Message, Subscription
from observatory.store import events as sql

log = logging.getLogger("observatory.live")

HEARTBEAT_S = 20.0
RESUME_WAIT_S = 5.0
MAX_REPLAY = 5000
MAX_BATCH = 500
COALESCE_S = 0.005


def origin_allowed(ws: WebSocket, allowed: list[str]) -> bool:
    """Browsers send Origin: it must be this host (or configured); other clients send none."""
    origin = ws.headers.get("origin")
    if not origin:
        return True
    if origin in allowed:
        return True
    return urlsplit(origin).netloc == ws.headers.get("host", "")


def _dumps(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"), default=str)


async def _send_snapshot(ws: WebSocket, obs) -> int:  # noqa: ANN001
    seq = obs.bus.seq
    sessions = [s.to_api() for s in obs.sessions.ordered()]
    await ws.send_text(_dumps({"type": "snapshot", "sessions": sessions, "seq": seq}))
    return seq


async def _replay(ws: WebSocket, obs, after: int) -> int | None:  # noqa: ANN001
    """Send stored events after `after`; None when too many (the caller snapshots instead)."""
    upto = obs.bus.seq
    if after > upto:
        return None  # the client knows a future we never had (e.g. another database)
    if upto - after > MAX_REPLAY:
        return None
    events = await obs.store.read(sql.events_after, after, upto, MAX_REPLAY + 1)
    touched = {}
    for ev in events:
        await ws.send_text(Message("event", ev, ev.seq).text)
        touched[ev.session_id] = ev.seq
    for sid, seq in touched.items():
        session = obs.sessions.get(sid)
        if session is not None:
            await ws.send_text(Message("session", session, seq).text)
    return upto


async def _resume_request(ws: WebSocket) -> int | None:
    try:
        text = await asyncio.wait_for(ws.receive_text(), RESUME_WAIT_S)
        value = json.loads(text).get("resume")
    except (asyncio.TimeoutError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and value >= 0 else None


def batch_frame(texts: list[str]) -> str:
    """Messages already queued go out as one frame: {"type":"batch","messages":[...]}.

    Under load (many events, many clients) a frame per message costs more than the
    messages themselves; a client unpacks a batch and handles each message in order.
    """
    return texts[0] if len(texts) == 1 else '{"type":"batch","messages":[' + ",".join(texts) + "]}"


async def _stream(ws: WebSocket, obs, sub: Subscription, sent_upto: int) -> None:  # noqa: ANN001
    while True:
        try:
            first = await asyncio.wait_for(sub.get(), HEARTBEAT_S)
        except asyncio.TimeoutError:
            await ws.send_text('{"type":"heartbeat"}')
            continue
        await asyncio.sleep(COALESCE_S)  # let a burst gather: one frame instead of one per message
        texts = []
        msg: Message | None = first
        while msg is not None and len(texts) < MAX_BATCH:
            if msg.type != "event" or msg.seq > sent_upto:
                if msg.type == "event":
                    sent_upto = msg.seq
                texts.append(msg.text)
            msg = sub.get_nowait()
        if sub.overflowed:
            sub.overflowed = False
            while sub.get_nowait() is not None:
                pass
            sent_upto = await _send_snapshot(ws, obs)
            continue
        if texts:
            await ws.send_text(batch_frame(texts))


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
    sub = obs.bus.subscribe(obs.settings.ws_queue_max)
    obs.live_clients += 1
    try:
        resume = await _resume_request(ws)
        sent_upto = await _replay(ws, obs, resume) if resume is not None else None
        if sent_upto is None:
            sent_upto = await _send_snapshot(ws, obs)
        reader = asyncio.create_task(_drain_client(ws))
        writer = asyncio.create_task(_stream(ws, obs, sub, sent_upto))
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
        obs.live_clients -= 1
        sub.close()


routes = [WebSocketRoute("/api/live", live)]
