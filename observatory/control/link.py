"""The supervisor's line to the server (WS /api/agents), built to never disturb the agent.

Reports (spawned, exit, action results) go into an outbox and stay there until the server
acknowledges them, so whatever happened while the server was down or restarting is sent
after reconnecting (with backoff). Every report carries a per-supervisor sequence number:
the server turns it into an event dedupe key, so a report resent after a lost ack is
never counted twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

log = logging.getLogger("observatory.supervisor")

BACKOFF_MIN_S = 0.25
BACKOFF_MAX_S = 10.0


class Link:
    def __init__(self, url: str, token: Callable[[], str | None], hello: Callable[[], dict[str, Any]],
                 on_message: Callable[[dict[str, Any]], None]) -> None:
        self.url = url
        self._token = token
        self._hello = hello
        self._on_message = on_message
        self.outbox: dict[int, dict[str, Any]] = {}
        self.connected = False
        self.ever_connected = False
        self._seq = 0
        self._wake = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()
        self._last_problem = ""

    def report(self, type_: str, **fields: Any) -> None:
        """Queue a report; it is sent now if connected, else after the next reconnect."""
        self._seq += 1
        self.outbox[self._seq] = {"type": type_, "seq": self._seq, **fields}
        self._empty.clear()
        self._wake.set()

    async def drain(self, timeout_s: float) -> bool:
        """Wait (bounded) until the server has acknowledged every report."""
        try:
            await asyncio.wait_for(self._empty.wait(), timeout_s)
        except asyncio.TimeoutError:
            return False
        return True

    async def run(self) -> None:
        """Connect, serve, reconnect with jittered exponential backoff; never raises."""
        delay = BACKOFF_MIN_S
        while True:
            token = self._token()
            if token is None:
                self._problem("no control token in the data dir yet (has `observatory serve` ever run?)")
            else:
                try:
                    async with connect(self.url, additional_headers={"Authorization": f"Bearer {token}"},
                                       proxy=None, open_timeout=5, ping_interval=10, ping_timeout=10,
                                       close_timeout=2) as ws:
                        delay = BACKOFF_MIN_S
                        self.connected = self.ever_connected = True
                        self._last_problem = ""
                        log.info("connected to %s", self.url)
                        await self._serve(ws)
                except InvalidStatus as exc:
                    self._problem(f"server refused the supervisor: HTTP {exc.response.status_code} "
                                  "(wrong data dir or rotated token?)")
                except (OSError, asyncio.TimeoutError, WebSocketException) as exc:
                    self._problem(f"server unreachable at {self.url}: {exc!r}")
                except Exception:  # fail-open: nothing here may end the supervisor
                    log.exception("link to the server failed")
                finally:
                    self.connected = False
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, BACKOFF_MAX_S)

    def _problem(self, text: str) -> None:
        if text != self._last_problem:
            log.warning("%s; the agent runs on, retrying", text)
            self._last_problem = text

    async def _serve(self, ws: ClientConnection) -> None:
        await ws.send(json.dumps(self._hello()))
        sender = asyncio.create_task(self._send_outbox(ws))
        try:
            async for text in ws:
                msg = json.loads(text)
                if not isinstance(msg, dict):
                    continue
                if msg.get("type") == "ack":
                    self._acked(int(msg.get("seq", 0)))
                else:
                    self._on_message(msg)
        finally:
            sender.cancel()

    def _acked(self, upto: int) -> None:
        for seq in [s for s in self.outbox if s <= upto]:
            del self.outbox[seq]
        if not self.outbox:
            self._empty.set()

    async def _send_outbox(self, ws: ClientConnection) -> None:
        """Send each report once per connection, in order; resend all after a reconnect."""
        sent = 0
        while True:
            self._wake.clear()
            for seq, msg in list(self.outbox.items()):
                if seq > sent:
                    await ws.send(json.dumps(msg))
                    sent = seq
            await self._wake.wait()
