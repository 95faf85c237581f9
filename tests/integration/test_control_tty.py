"""`observatory run` in a real terminal (a pty): the agent owns the TTY, Ctrl-C and Ctrl-Z reach it."""

from __future__ import annotations

import os
import pty
import select
import signal
import time
import uuid

import psutil

from control_harness import agent_env, events, supervise_argv, wait_for, wait_session
from serverproc import REPO


class Terminal:
    """The supervisor as the session leader of a fresh pty, like a shell's foreground job."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(REPO)
            os.execve(argv[0], argv, env)
        self.output = b""

    def read_until(self, text: bytes, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} on the terminal; got {self.output!r}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    self.output += os.read(self.fd, 4096)
                except OSError:
                    break

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def wait(self, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            try:
                if select.select([self.fd], [], [], 0.05)[0]:
                    self.output += os.read(self.fd, 4096)
            except OSError:
                time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"supervisor did not exit; terminal: {self.output!r}")


def test_agent_owns_the_terminal_and_gets_ctrl_c_and_ctrl_z(server, tmp_path):
    s = str(uuid.uuid4())
    record = tmp_path / "record.jsonl"
    term = Terminal(supervise_argv(server.data_dir, server.url, "claude_tty.py", "--session-id", s),
                    agent_env(server.url, record))
    try:
        term.read_until(b"ready")
        rec = wait_for(lambda: record.exists() and record.read_text().strip(), 10, "the agent's record")
        assert '"isatty": true' in rec and '"foreground": true' in rec  # the agent is the foreground job
        wait_session(server, s, supervised=True)

        term.type(b"\x1a")  # Ctrl-Z: the agent stops, and so does the supervisor (the shell's job)
        sup = psutil.Process(term.pid)
        wait_for(lambda: sup.status() == psutil.STATUS_STOPPED, 10, "the supervisor to stop with its agent")
        os.kill(term.pid, signal.SIGCONT)  # `fg`
        wait_for(lambda: sup.status() != psutil.STATUS_STOPPED, 10, "the supervisor to continue")

        term.type(b"\x03")  # Ctrl-C goes to the agent straight from the terminal
        assert term.wait() == 128 + signal.SIGINT
        assert b"got Ctrl-C" in term.output
        exits = wait_for(lambda: events(server, s, "process_exit"), 10, "the exit event")
        assert exits[0]["detail"]["signal"] == signal.SIGINT
    finally:
        try:
            os.kill(term.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
