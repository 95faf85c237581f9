"""In-process pub/sub with bounded per-subscriber queues.

Publishing never blocks and never grows memory without bound: a subscriber that falls
behind is marked overflowed and its queue is emptied; it must resynchronise (the live
stream sends a fresh snapshot).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from observatory.jsontext import compact
from observatory.model import Alert, Event, Session

log = logging.getLogger("observatory.bus")


@dataclass(slots=True)
class Message:
    """One published fact: an Event, a Session snapshot or an Alert (or a plain dict)."""

    type: str  # "event" | "session" | "alert" | other feature-defined types
    obj: Any
    seq: int = 0
    n: int = 0  # publish order on the bus, set by Bus.publish (0: not from the bus, e.g. a heartbeat)
    _text: str | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        """The live-protocol JSON, encoded once however many clients receive it."""
        if self._text is None:
            payload: dict[str, Any] = {"type": self.type}
            if isinstance(self.obj, (Event, Session, Alert)):
                payload[self.type] = self.obj.to_api()
            elif isinstance(self.obj, dict):
                payload[self.type] = self.obj
            if self.type == "session":
                payload["seq"] = self.seq
            self._text = compact(payload)
        return self._text


class Subscription:
    """One reader's bounded queue: a deque and at most one waiting reader, because an
    asyncio.Queue's bookkeeping (task counts, putter wake-ups) cost a fifth of the event
    loop's time at ingest rates, paid once per subscriber per message."""

    def __init__(self, bus: Bus, maxsize: int, types: frozenset[str] | None) -> None:
        self._bus = bus
        self.types = types  # the message types it takes; None: all
        self._items: deque[Message] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.maxsize = maxsize
        self.overflowed = False

    def _put(self, msgs: list[Message]) -> None:
        if len(self._items) + len(msgs) > self.maxsize:
            self.overflowed = True
            self._items.clear()
            return
        self._items.extend(msgs)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Message:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def get_nowait(self) -> Message | None:
        return self._items.popleft() if self._items else None

    def take(self, limit: int) -> list[Message]:
        """Up to `limit` queued messages, at once: a reader of a busy bus pays one call per burst."""
        items = self._items
        if len(items) <= limit:
            taken = list(items)
            items.clear()
            return taken
        return [items.popleft() for _ in range(limit)]

    def qsize(self) -> int:
        return len(self._items)

    def close(self) -> None:
        self._bus.unsubscribe(self)


class Bus:
    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._routes: dict[str, list[Subscription]] = {}  # message type → its subscribers
        self.seq = 0  # the latest event seq published
        self.published = 0  # messages published so far (Message.n of the latest)

    def subscribe(self, maxsize: int = 10000, types: Iterable[str] | None = None) -> Subscription:
        """A bounded queue of the messages published from now on (of these types only: ingest
        publishes two messages a record, and a reader that wants neither paid for both)."""
        sub = Subscription(self, maxsize, frozenset(types) if types is not None else None)
        self._subs.append(sub)
        self._routes.clear()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
            self._routes.clear()

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, msg: Message) -> None:
        self.publish_all([msg])

    def publish_all(self, msgs: list[Message]) -> None:
        """Publish messages of one type, in order: a commit's events are handed to each reader
        as one list (one call per reader, not one per event and reader)."""
        if not msgs:
            return
        type = msgs[0].type
        for msg in msgs:
            self.published += 1
            msg.n = self.published
        if type == "event":
            self.seq = max(self.seq, msgs[-1].seq)
        subs = self._routes.get(type)
        if subs is None:
            subs = self._routes[type] = [s for s in self._subs if s.types is None or type in s.types]
        for sub in subs:
            sub._put(msgs)


class Follower:
    """A task that follows the bus through its own subscription; subclasses write `_run`."""

    def __init__(self, bus: Bus, name: str, maxsize: int = 100_000, types: Iterable[str] | None = None) -> None:
        self.bus = bus
        self.name = name
        self.maxsize = maxsize
        self.types = types
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._sub = self.bus.subscribe(self.maxsize, self.types)
        self._task = asyncio.create_task(self._run(), name=self.name)

    @property
    def pending(self) -> int:
        """Messages published but not yet taken (tests wait for 0)."""
        return self._sub.qsize()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._sub.close()
            self._task = None

    async def _run(self) -> None:
        raise NotImplementedError


class Consumer(Follower):
    """A task feeding every bus message (of its types) to `handle`: how in-process services
    (the detector, away mode) follow the bus. A failing message is logged and skipped, never
    fatal. `handle` returns what is left to await, or None: most messages need no waiting,
    and a coroutine for each cost more than the rule it ran."""

    def __init__(self, bus: Bus, handle: Callable[[Message], Awaitable[None] | None], name: str,
                 maxsize: int = 100_000, types: Iterable[str] | None = None) -> None:
        super().__init__(bus, name, maxsize, types)
        self.handle = handle

    async def _run(self) -> None:
        while True:
            msgs = self._sub.take(self.maxsize) or [await self._sub.get()]
            if self._sub.overflowed:
                self._sub.overflowed = False
                log.warning("%s fell behind the bus; some messages were skipped", self.name)
            for msg in msgs:
                try:
                    pending = self.handle(msg)
                    if pending is not None:
                        await pending
                except Exception:
                    log.exception("%s failed on a %s message", self.name, msg.type)
