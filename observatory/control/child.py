"""The supervised agent process: its own process group, and the terminal's foreground job.

Why a separate group: `kill` must reach the agent and everything it started (tool
subprocesses, grandchildren) with one killpg, without touching the supervisor. Why hand it
the terminal (tcsetpgrp): then the agent is exactly what it would be without us: Ctrl-C,
Ctrl-Z and window-size changes go to it straight from the kernel, and it may read the TTY
and set raw mode. The supervisor sits in the background group, ignores SIGTTOU (so it can
take the terminal back when the agent ends) and mirrors job control: when the agent is
stopped by Ctrl-Z the supervisor stops itself so the shell sees the job stopped, and on
SIGCONT (`fg`) hands the terminal back and continues the agent.

The supervisor is also the child subreaper (Linux): orphaned grandchildren are reparented
to it and reaped, so "the group is empty" is observable (no zombies linger in it).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass

import psutil

log = logging.getLogger("observatory.supervisor")

PR_SET_CHILD_SUBREAPER = 36
GROUP_POLL_S = 0.02
# Signals the child must get with default handling even though the supervisor changes them.
_DEFAULT_IN_CHILD = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP, signal.SIGWINCH,
                     signal.SIGTTOU, signal.SIGTTIN, signal.SIGTSTP, signal.SIGCONT, signal.SIGPIPE,
                     signal.SIGXFSZ)


@dataclass(frozen=True, slots=True)
class ExitStatus:
    exit_code: int | None
    signal: int | None

    @classmethod
    def from_wait(cls, status: int) -> ExitStatus:
        if os.WIFSIGNALED(status):
            return cls(None, os.WTERMSIG(status))
        return cls(os.WEXITSTATUS(status), None)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.signal is None

    @property
    def shell_code(self) -> int:
        """What a shell reports for this ending: the code, or 128 + the signal number."""
        return 128 + self.signal if self.signal is not None else int(self.exit_code or 0)

    def describe(self) -> str:
        if self.signal is not None:
            return f"killed by {signal.Signals(self.signal).name}"
        return f"exit code {self.exit_code}"


def become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def terminal_fd() -> int | None:
    """stdin when it is a terminal and we are its foreground job (not `… &`)."""
    try:
        fd = sys.stdin.fileno()
        if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
            return fd
    except (OSError, ValueError):
        pass
    return None


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Child:
    """One agent process at a time; `spawn` again after it ended to restart."""

    def __init__(self) -> None:
        self.pid = 0
        self.started_at: float | None = None
        self.argv: list[str] = []
        self._exit: asyncio.Future[ExitStatus] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tty = terminal_fd()
        self._spawned = threading.Event()

    @property
    def running(self) -> bool:
        return self._exit is not None and not self._exit.done()

    def setup(self) -> None:
        """Call once from the event loop before the first spawn."""
        self._loop = asyncio.get_running_loop()
        become_subreaper()
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        signal.signal(signal.SIGTTIN, signal.SIG_IGN)
        self._loop.add_signal_handler(signal.SIGCONT, self._continued)
        threading.Thread(target=self._reap, name="reaper", daemon=True).start()

    def spawn(self, argv: list[str], env: dict[str, str]) -> int:
        """Start `argv` in a new process group and give it the terminal. Raises OSError."""
        assert self._loop is not None, "setup() first"
        pid = os.posix_spawnp(argv[0], argv, env, setpgroup=0, setsigdef=_DEFAULT_IN_CHILD, setsigmask=())
        self.pid, self.argv = pid, list(argv)
        self._exit = self._loop.create_future()
        try:
            self.started_at = psutil.Process(pid).create_time()
        except psutil.Error:
            self.started_at = time.time()
        self._give_terminal()
        self._spawned.set()
        return pid

    async def wait(self) -> ExitStatus:
        assert self._exit is not None
        return await asyncio.shield(self._exit)

    def exit_future(self) -> asyncio.Future[ExitStatus]:
        assert self._exit is not None
        return self._exit

    def signal_group(self, sig: int) -> None:
        if self.pid and group_alive(self.pid):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass

    async def terminate(self, grace_s: float) -> tuple[ExitStatus, bool]:
        """SIGTERM the whole group; SIGKILL whatever is left after `grace_s`.

        Returns the agent's exit status and whether SIGKILL was needed."""
        assert self._exit is not None
        pgid = self.pid
        deadline = time.monotonic() + grace_s
        self.signal_group(signal.SIGTERM)
        self.signal_group(signal.SIGCONT)  # a stopped (Ctrl-Z'd) agent must wake to see SIGTERM
        try:
            await asyncio.wait_for(asyncio.shield(self._exit), max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            pass
        while group_alive(pgid) and time.monotonic() < deadline:
            await asyncio.sleep(GROUP_POLL_S)
        escalated = group_alive(pgid)
        if escalated:
            log.info("group %d still alive after %.1f s: SIGKILL", pgid, grace_s)
            self.signal_group(signal.SIGKILL)
        status = await asyncio.shield(self._exit)
        while group_alive(pgid) and time.monotonic() < deadline + grace_s + 5:
            await asyncio.sleep(GROUP_POLL_S)
        return status, escalated

    def _give_terminal(self) -> None:
        if self._tty is None:
            return
        try:
            if os.tcgetpgrp(self._tty) == os.getpgrp():
                os.tcsetpgrp(self._tty, self.pid)
        except OSError as exc:
            log.debug("could not hand the terminal to the agent: %s", exc)

    def _take_terminal(self) -> None:
        if self._tty is None:
            return
        try:
            os.tcsetpgrp(self._tty, os.getpgrp())
        except OSError as exc:
            log.debug("could not take the terminal back: %s", exc)

    def _child_has_terminal(self) -> bool:
        try:
            return self._tty is not None and os.tcgetpgrp(self._tty) == self.pid
        except OSError:
            return False

    def _reap(self) -> None:
        """Thread: reap every child (the agent and adopted orphans); report the agent's."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WUNTRACED)
            except ChildProcessError:
                self._spawned.wait(0.5)
                self._spawned.clear()
                continue
            assert self._loop is not None
            try:
                self._loop.call_soon_threadsafe(self._reaped, pid, status)
            except RuntimeError:
                return  # the loop is closed: the supervisor is exiting

    def _reaped(self, pid: int, status: int) -> None:
        if pid != self.pid or self._exit is None or self._exit.done():
            return
        if os.WIFSTOPPED(status):
            self._stopped(os.WSTOPSIG(status))
            return
        if self._child_has_terminal():
            self._take_terminal()
        self._exit.set_result(ExitStatus.from_wait(status))

    def _stopped(self, sig: int) -> None:
        if self._tty is None:
            return
        if sig in (signal.SIGTTIN, signal.SIGTTOU) and self._child_has_terminal():
            self.signal_group(signal.SIGCONT)  # it touched the TTY before we handed it over
            return
        # Ctrl-Z (or a stop in the background): stop too, so the shell's job control sees it.
        if self._child_has_terminal():
            self._take_terminal()
        os.kill(os.getpid(), signal.SIGSTOP)

    def _continued(self) -> None:
        """SIGCONT (`fg` / `bg`): continue the agent; in the foreground, with the terminal."""
        if not self.running:
            return
        if self._tty is not None:
            self._give_terminal()
        self.signal_group(signal.SIGCONT)
