"""OTLP decoding and normalising in a child process: the server's second core.

Parsing protobuf and mapping records to Events was a third of the server's CPU per OTLP
record, all on the one event loop that also commits, applies and streams. A child process
takes over the large bodies: the server hands it each one and gets the canonical Events'
store rows back (it rebuilds the Events from them, `store.events.row_event`), with the
compressed body, in order. Small bodies (a one-record export,
and hooks) stay in the server: handing them over costs more than decoding them, measured
at one record a request (2,300 against 3,100 requests/s). So do the bodies of an adapter
that remembers earlier records (agents.STATEFUL_SERVICES), so that memory lives in one
process: the child checks every body and hands such a one back undecoded.

If the child dies, the requests it held go to a new one. A body that was being decoded when
two children in a row died is answered 400: it is what kills them. After three deaths
without one answer in between, the server decodes in-process from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import pickle
import signal
import struct
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from observatory.agents import STATEFUL_SERVICES, prices
from observatory.ingest.otlp_decode import DecodeError, decode
from observatory.ingest.otlp_normalise import Normalised, keeps_state, normalise, normalise_body, prepare
from observatory.store import Saturated
from observatory.store.events import row_event

log = logging.getLogger("observatory.ingest")

FRAME = struct.Struct("!I")  # every message: its length, then a pickle
WORKER_MIN_BYTES = 8 * 1024  # smaller bodies are decoded in the server
_STATEFUL_NAMES = tuple(name.encode() for name in STATEFUL_SERVICES)
MAX_PENDING_BYTES = 64 * 1024 * 1024  # bodies handed over and not yet answered
DEATHS_PER_BODY = 2
DEATHS_BEFORE_INLINE = 3
STOP_WAIT_S = 2.0


class WorkerGone(Exception):
    """The decode worker stopped while a request waited for it (the server is stopping)."""


@dataclass(slots=True)
class _Request:
    signal: str
    encoding: str
    body: bytes
    frame: bytes
    future: asyncio.Future[Normalised]
    deaths: int = 0


class DecodeWorker:
    """The parent's side. Without `start()` (or after giving up on the child) it normalises
    in-process, so callers need not care which it is."""

    def __init__(self, price_overrides: dict[str, list[float]], raw_max_bytes: int,
                 command: list[str] | None = None) -> None:
        config = {"prices": price_overrides, "raw_max_bytes": raw_max_bytes}
        self._argv = command or [sys.executable, "-m", "observatory.ingest.decode_worker", json.dumps(config)]
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: deque[_Request] = deque()
        self._pending_bytes = 0
        self._deaths_in_a_row = 0
        self._stopping = False
        self.restarts = 0
        self.handed_back = 0  # bodies the child found to be a stateful adapter's

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def status(self) -> dict[str, int | None]:
        return {"pid": self.pid, "restarts": self.restarts, "pending": len(self._pending),
                "handed_back": self.handed_back}

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            *self._argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        self._reader = asyncio.create_task(self._read(self._proc), name="decode-worker-reader")
        for req in self._pending:  # what the previous child held, in the order it came
            self._send(req)

    async def stop(self) -> None:
        self._stopping = True
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        proc.stdin.close()  # the child exits at end of input
        try:
            await asyncio.wait_for(proc.wait(), STOP_WAIT_S)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._settle_pending(_fail_stopping)

    async def normalise(self, signal: str, body: bytes, encoding: str, received_at: int) -> Normalised:
        """Decode and normalise one body (prepared for the store, when the child does it);
        raises DecodeError (a bad body) or Saturated."""
        if self._proc is None or len(body) < WORKER_MIN_BYTES or _names_stateful(body):
            return normalise_body(signal, body, encoding)
        if self._pending_bytes > MAX_PENDING_BYTES:
            raise Saturated(f"the decoder holds {self._pending_bytes >> 20} MiB of bodies")
        data = pickle.dumps((signal, encoding, body, received_at), pickle.HIGHEST_PROTOCOL)
        req = _Request(signal, encoding, body, FRAME.pack(len(data)) + data, asyncio.get_running_loop().create_future())
        self._pending.append(req)
        self._pending_bytes += len(body)
        self._send(req)
        return await req.future

    def _send(self, req: _Request) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(req.frame)
        except (ConnectionError, RuntimeError):
            pass  # the child just died: the reader sees it, and the request goes to the next one

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while True:
                (size,) = FRAME.unpack(await proc.stdout.readexactly(FRAME.size))
                answer = pickle.loads(await proc.stdout.readexactly(size))
                self._deaths_in_a_row = 0
                self._answer(self._pending.popleft(), answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:  # an answer we cannot read: this child is no use any more
            log.exception("the decode worker's answer could not be read")
            proc.kill()
        await proc.wait()
        if not self._stopping and self._proc is proc:
            await self._replace(proc.returncode)

    def _answer(self, req: _Request, answer: tuple) -> None:
        self._pending_bytes -= len(req.body)
        if req.future.done():
            return
        if answer[0] == "ok":
            _, rows, details, rejected, message, agent, deflated = answer
            events = [row_event(row, detail) for row, detail in zip(rows, details)]
            req.future.set_result(Normalised(events, rejected, message, agent, rows, deflated))
        elif answer[0] == "inline":
            self.handed_back += 1
            _settle_inline(req)
        elif answer[0] == "bad":
            req.future.set_exception(DecodeError(answer[1]))
        else:
            req.future.set_exception(RuntimeError(f"the decode worker failed: {answer[1]}"))

    async def _replace(self, returncode: int | None) -> None:
        """The child died: blame the body it was on, then start another (or decode here).
        Requests that come meanwhile are decoded in the server."""
        log.error("the decode worker (pid %s) died with status %s holding %d requests",
                  self.pid, returncode, len(self._pending))
        self._proc = None
        self._deaths_in_a_row += 1
        self.restarts += 1
        if self._pending:
            head = self._pending[0]
            head.deaths += 1
            if head.deaths >= DEATHS_PER_BODY:
                self._answer(self._pending.popleft(), ("bad", "the body crashed the decoder twice"))
        if self._deaths_in_a_row >= DEATHS_BEFORE_INLINE:
            log.error("the decode worker keeps dying; decoding in the server from now on")
            self._settle_pending(_settle_inline)
            return
        try:
            await self.start()
        except OSError:
            log.exception("cannot start a new decode worker; decoding in the server from now on")
            self._settle_pending(_settle_inline)

    def _settle_pending(self, settle: Callable[[_Request], object]) -> None:
        """Answer every request still held, without a child (in-process, or with an error)."""
        while self._pending:
            req = self._pending.popleft()
            self._pending_bytes -= len(req.body)
            settle(req)


def _fail_stopping(req: _Request) -> None:
    if not req.future.done():
        req.future.set_exception(WorkerGone("the server is stopping"))


def _settle_inline(req: _Request) -> None:
    if req.future.done():
        return
    try:
        req.future.set_result(normalise_body(req.signal, req.body, req.encoding))
    except Exception as exc:  # DecodeError, or an adapter's bug: the caller answers it
        req.future.set_exception(exc)


def _names_stateful(body: bytes) -> bool:
    """A stateful adapter's service.name appears in the body: it would come back undecoded,
    so it is not sent (a cheap scan; the child's check is the exact one)."""
    return any(name in body for name in _STATEFUL_NAMES)


def _work(signal: str, encoding: str, body: bytes, received_at: int, raw_max_bytes: int) -> tuple:
    """The child's answer to one request (`DecodeWorker._answer` reads it)."""
    try:
        records = decode(signal, body, encoding)
        if keeps_state(records):
            return ("inline",)
        n = prepare(normalise(signal, records), body, received_at, raw_max_bytes)
    except DecodeError as exc:
        return ("bad", str(exc))
    except Exception as exc:
        log.exception("normalising a %s body failed", signal)
        return ("error", f"{type(exc).__name__}: {exc}")
    return ("ok", n.rows, [ev.detail for ev in n.events], n.rejected, n.message, n.agent, n.deflated)


def main() -> None:
    """The child: frames in on stdin, frames out on a private copy of stdout, until end of input.
    Its own stdout goes to stderr, so a stray print can never corrupt an answer."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s decode-worker %(levelname)s %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which then closes our input
    config = json.loads(sys.argv[1])
    prices.configure(config["prices"])
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    gc.collect()
    gc.freeze()
    while True:
        head = requests.read(FRAME.size)
        if len(head) < FRAME.size:
            return
        kind, encoding, body, received_at = pickle.loads(requests.read(FRAME.unpack(head)[0]))
        data = pickle.dumps(_work(kind, encoding, body, received_at, config["raw_max_bytes"]),
                            pickle.HIGHEST_PROTOCOL)
        answers.write(FRAME.pack(len(data)) + data)
        answers.flush()


if __name__ == "__main__":
    main()
