"""The writer's group commit: one failing job never loses the others queued with it, and a
database locked by another process makes writes wait (and, past the limit, refuse) without
ever blocking the event loop."""

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from observatory.store import Saturated, Store


def _insert(conn: sqlite3.Connection, key: str) -> str:
    conn.execute("INSERT INTO meta(key, value) VALUES(?, 'x')", (key,))
    return key


def _fail_after_insert(conn: sqlite3.Connection, key: str) -> None:
    conn.execute("INSERT INTO meta(key, value) VALUES(?, 'x')", (key,))
    raise ValueError("bad job")


def _keys(conn: sqlite3.Connection) -> list[str]:
    return sorted(k for (k,) in conn.execute("SELECT key FROM meta WHERE key LIKE 'job-%'"))


async def test_a_failing_job_is_rolled_back_alone(tmp_path: Path) -> None:
    store = Store(tmp_path / "o.db")
    store.open()
    try:
        # Submitted in one turn of the loop, so they share one transaction.
        first = store.submit(_insert, "job-a")
        bad = store.submit(_fail_after_insert, "job-bad")
        last = store.submit(_insert, "job-c")
        assert await first == "job-a" and await last == "job-c"
        with pytest.raises(ValueError, match="bad job"):
            await bad
        assert await store.read(_keys) == ["job-a", "job-c"]
        assert store.pending == 0
    finally:
        await store.close()


async def test_a_locked_database_delays_writes_without_blocking_the_loop(tmp_path: Path) -> None:
    store = Store(tmp_path / "o.db", queue_max=3)
    store.open()
    other = sqlite3.connect(tmp_path / "o.db", isolation_level=None)  # e.g. `observatory prune`
    try:
        other.execute("BEGIN IMMEDIATE")
        waiting = [store.submit(_insert, f"job-{i}") for i in range(3)]
        started = time.perf_counter()
        await asyncio.sleep(0.2)
        assert time.perf_counter() - started < 0.5  # the loop kept turning
        assert not any(f.done() for f in waiting) and store.pending == 3
        with pytest.raises(Saturated):
            store.submit(_insert, "job-refused")
        other.execute("COMMIT")
        assert await asyncio.gather(*waiting) == ["job-0", "job-1", "job-2"]
        assert await store.read(_keys) == ["job-0", "job-1", "job-2"]
        assert store.pending == 0
    finally:
        other.close()
        await store.close()
