"""An interactive CLI under a pseudo-terminal: read its screen as it draws, type keys into it.

As ../shared/tools/claude_capture/pty_drive.py does, but live: a reader thread keeps the
output, and `wait_for(text)` matches against it with escapes and spacing stripped
(Claude Code positions words with cursor moves, so "Do you want" arrives as "Do\\e[5Gyou…").
"""

from __future__ import annotations

import os
import pty
import re
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_()][0-9A-B]?")
_SPACE = re.compile(rb"\s+")


def squeeze(raw: bytes) -> str:
    """Screen bytes as one string without escapes or whitespace, for robust matching."""
    return _SPACE.sub(b"", _ESCAPES.sub(b"", raw)).decode("utf-8", "replace")


class PtySession:
    def __init__(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], columns: int = 120,
                 lines: int = 40) -> None:
        self.output = bytearray()
        self._lock = threading.Lock()
        pid, fd = pty.fork()
        if pid == 0:  # the child: becomes the CLI, with the pty as its terminal
            os.chdir(cwd)
            os.execvpe(argv[0], list(argv), {**env, "COLUMNS": str(columns), "LINES": str(lines)})
        self.pid, self.fd = pid, fd
        self.exit_code: int | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                break
            if not data:
                break
            with self._lock:
                self.output += data

    def screen(self, since: int = 0) -> str:
        with self._lock:
            return squeeze(bytes(self.output[since:]))

    def mark(self) -> int:
        """An offset into the output: pass it to `wait_for` to look only at what came after."""
        with self._lock:
            return len(self.output)

    def wait_for(self, text: str, timeout: float = 60.0, since: int = 0) -> float:
        """Seconds (monotonic) when `text` (spaces ignored) is on screen; AssertionError on timeout."""
        wanted = "".join(text.split())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if wanted in self.screen(since):
                return time.monotonic()
            if self.poll() is not None and wanted not in self.screen(since):
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} did not appear within {timeout} s; screen tail: {self.screen()[-1500:]!r}")

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def poll(self) -> int | None:
        if self.exit_code is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.exit_code = os.waitstatus_to_exitcode(status)
        return self.exit_code

    def close(self, timeout: float = 15.0) -> int | None:
        """/exit like a user (Esc first, then Ctrl-C twice), SIGKILL if it will not go."""
        for keys in (b"\x1b", b"/exit\r", b"\x03", b"\x03"):
            if self.poll() is not None:
                break
            try:
                self.type(keys)
            except OSError:
                break
            time.sleep(0.7)
        deadline = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        try:
            os.close(self.fd)
        except OSError:
            pass
        return self.exit_code
