"""The writer's group commit: one failing job never loses the others queued with it."""

import sqlite3
import threading
from pathlib import Path

import pytest

from observatory.store import Store


def _insert(conn: sqlite3.Connection, key: str) -> str:
    conn.execute("INSERT INTO meta(key, value) VALUES(?, 'x')", (key,))
    return key


def _fail_after_insert(conn: sqlite3.Connection, key: str) -> None:
    conn.execute("INSERT INTO meta(key, value) VALUES(?, 'x')", (key,))
    raise ValueError("bad job")


def _hold(conn: sqlite3.Connection, release: threading.Event) -> None:
    release.wait(5)


async def test_a_failing_job_is_rolled_back_alone(tmp_path: Path) -> None:
    store = Store(tmp_path / "o.db")
    store.open()
    try:
        release = threading.Event()
        held = store.submit(_hold, release)  # occupies the writer so the next jobs queue as one batch
        first = store.submit(_insert, "job-a")
        bad = store.submit(_fail_after_insert, "job-bad")
        last = store.submit(_insert, "job-c")
        release.set()
        await held
        assert await first == "job-a" and await last == "job-c"
        with pytest.raises(ValueError, match="bad job"):
            await bad
        keys = await store.read(lambda c: [k for (k,) in c.execute("SELECT key FROM meta WHERE key LIKE 'job-%'")])
        assert sorted(keys) == ["job-a", "job-c"]
        assert store.pending == 0
    finally:
        await store.close()

