"""WAL checkpoints off the writer's path.

SQLite's automatic checkpoint runs inside the COMMIT that crosses 1,000 WAL pages: at a
thousand hook events a second that held a commit, and every request waiting on it, for
about 20 ms once a second. Here a thread of its own copies the WAL into the database
(PASSIVE: concurrent with the writer, never blocking it), and only when the WAL has grown
past `restart_frames` does it ask for a RESTART, which waits for a gap between commits and
holds the next one just long enough to copy what the last passive pass left: under
continuous writes a passive pass never sees the WAL fully copied, so without the restart
the WAL would grow without bound.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger("observatory.store")


class Checkpointer:
    def __init__(self, path: Path, interval_s: float = 0.25, restart_frames: int = 16384) -> None:
        self.path = path
        self.interval_s = interval_s
        self.restart_frames = restart_frames  # 64 MiB of 4 KiB pages
        self.restarts = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    self.checkpoint(conn)
                except sqlite3.Error:
                    log.exception("checkpoint failed; the next pass retries")
        finally:
            conn.close()

    def checkpoint(self, conn: sqlite3.Connection) -> None:
        """One pass: copy what the WAL holds, and restart it once it has grown too long."""
        _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames >= self.restart_frames:
            conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self.restarts += 1
