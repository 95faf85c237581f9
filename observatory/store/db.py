"""The SQLite file: one writer thread with group commit, pooled read connections.

Writes are jobs `fn(conn, *args)`; the writer takes every job queued so far, runs them in
one transaction (one bad job never loses the others), commits once, and only then
resolves the callers' futures. So an ingest request is answered after its rows are
durable, and many concurrent requests share one fsync-free WAL commit.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from observatory.store.checkpoint import Checkpointer
from observatory.store.migrations import migrate

log = logging.getLogger("observatory.store")

MAX_JOBS_PER_COMMIT = 500


class Saturated(Exception):
    """The writer queue is full; callers answer 503 with Retry-After."""


@dataclass(slots=True)
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future | None
    after: Callable[[Any], None] | None
    weight: int


_STOP = object()


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA cache_size=-8000")
    return conn


class Store:
    def __init__(self, path: Path, queue_max: int = 20000) -> None:
        self.path = path
        self.queue_max = queue_max
        self.pending = 0  # queued weight (records), for back-pressure and /metrics
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sqlite-read")
        self._local = threading.local()
        self.schema_version = 0
        self.checkpointer = Checkpointer(path)

    def open(self) -> None:
        """Migrate and start the writer thread (call from the event loop)."""
        self._loop = asyncio.get_running_loop()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(self.path)
        self.schema_version = migrate(conn)
        conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer's thread does it
        self.checkpointer.start()
        self._thread = threading.Thread(target=self._run, args=(conn,), name="sqlite-writer", daemon=True)
        self._thread.start()

    async def close(self) -> None:
        if self._thread:
            self._queue.put(_STOP)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        await asyncio.to_thread(self.checkpointer.stop)
        self._readers.shutdown(wait=True)

    def submit(self, fn: Callable[..., Any], *args: Any, weight: int = 1,
               after: Callable[[Any], None] | None = None, wait: bool = True) -> asyncio.Future | None:
        """Queue a write job. `after(result)` runs on the loop right after the commit,
        in commit order, before the future resolves."""
        if self.pending + weight > self.queue_max and weight > 0:
            raise Saturated(f"writer queue full ({self.pending} records pending)")
        assert self._loop is not None, "Store.open() first"
        future = self._loop.create_future() if wait else None
        self.pending += weight
        self._queue.put(_Job(fn, args, future, after, weight))
        return future

    async def write(self, fn: Callable[..., Any], *args: Any, weight: int = 1) -> Any:
        return await self.submit(fn, *args, weight=weight)  # type: ignore[misc]

    async def read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn(conn, *args)` on a read-only connection in a worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read, fn, args)

    def _read(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path, readonly=True)
        return fn(conn, *args)

    def _run(self, conn: sqlite3.Connection) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                break
            jobs = [first]
            stop = False
            while len(jobs) < MAX_JOBS_PER_COMMIT:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                jobs.append(nxt)
            results = self._commit(conn, jobs)  # type: ignore[arg-type]
            assert self._loop is not None
            try:
                self._loop.call_soon_threadsafe(self._deliver, results)
            except RuntimeError:  # loop closed during shutdown
                pass
            if stop:
                break
        conn.close()

    def _commit(self, conn: sqlite3.Connection, jobs: list[_Job]) -> list[tuple[_Job, Any, BaseException | None]]:
        """Run the jobs in one transaction. If one fails, roll back and run them again, each in
        its own savepoint: one bad job never loses the others, and the usual case pays no
        savepoint statements (two per job, a tenth of the writer's time on small requests)."""
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                results = [(job, job.fn(conn, *job.args), None) for job in jobs]
            except Exception:
                conn.execute("ROLLBACK")
                conn.execute("BEGIN IMMEDIATE")
                results = [self._isolated(conn, job) for job in jobs]
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.exception("commit failed")
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            results = [(job, None, exc) for job in jobs]
        return results

    @staticmethod
    def _isolated(conn: sqlite3.Connection, job: _Job) -> tuple[_Job, Any, BaseException | None]:
        conn.execute("SAVEPOINT job")
        try:
            result = job.fn(conn, *job.args)
        except Exception as exc:
            conn.execute("ROLLBACK TO job")
            conn.execute("RELEASE job")
            log.exception("write job %s failed", getattr(job.fn, "__name__", job.fn))
            return job, None, exc
        conn.execute("RELEASE job")
        return job, result, None

    def _deliver(self, results: list[tuple[_Job, Any, BaseException | None]]) -> None:
        for job, result, exc in results:
            self.pending -= job.weight
            if exc is None and job.after is not None:
                try:
                    job.after(result)
                except Exception:
                    log.exception("after-commit hook failed")
            if job.future is not None and not job.future.done():
                if exc is None:
                    job.future.set_result(result)
                else:
                    job.future.set_exception(exc)
