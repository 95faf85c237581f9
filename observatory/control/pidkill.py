"""Killing an unsupervised agent by pid, without ever killing a stranger.

A pid is only trusted while the process holding it is the one first seen: its start time
must equal Session.pid_started_at (recorded when the pid first arrived), and its command
line must look like the agent. Signals go through psutil, which re-checks the start time
right before sending, so a pid reused in between is still never hit.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import psutil

from observatory.model import Session

AGENT_PROGRAMS = ("claude", "codex", "gemini")
RUNTIMES = ("node", "bun", "deno")
START_TIME_TOLERANCE_S = 0.05
POLL_S = 0.05
KILL_WAIT_S = 3.0


class Refused(Exception):
    """The pid cannot safely be signalled; the message says why (the API answers 409)."""


def looks_like_agent(cmdline: list[str], agent: str) -> bool:
    """The program (or the script a runtime runs) is named like the agent."""
    names = (agent,) if agent in AGENT_PROGRAMS else AGENT_PROGRAMS
    bases = [os.path.basename(arg).lower() for arg in cmdline[:3]]
    if bases and bases[0] in RUNTIMES:
        return True
    return any(name in base for base in bases for name in names)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def verified_process(session: Session) -> psutil.Process:
    """The session's agent process, or Refused with the reason."""
    pid = session.pid
    if not pid:
        raise Refused(f"session {session.id} has no known pid (its hooks did not send X-Agent-Pid), "
                      "so it cannot be killed from here")
    if session.pid_started_at is None:
        raise Refused(f"pid {pid}'s start time was not recorded when it was first seen; refusing to "
                      "signal a pid that may have been reused")
    try:
        proc = psutil.Process(pid)
        started = proc.create_time()
        cmdline = proc.cmdline()
    except psutil.NoSuchProcess:
        raise Refused(f"process {pid} of session {session.id} is already gone") from None
    except psutil.AccessDenied:
        raise Refused(f"not allowed to inspect process {pid}; run the observatory as the agent's user") from None
    if abs(started - session.pid_started_at) > START_TIME_TOLERANCE_S:
        raise Refused(f"pid {pid} now belongs to a different process (start time {started:.2f}, the "
                      f"session's agent started at {session.pid_started_at:.2f}); refusing to kill it")
    if not _alive(proc):
        raise Refused(f"process {pid} of session {session.id} has already exited")
    if not looks_like_agent(cmdline, session.agent):
        raise Refused(f"process {pid} does not look like {session.agent} ({' '.join(cmdline[:3])!r}); "
                      "refusing to kill it")
    return proc


async def _wait_gone(procs: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout_s
    alive = [p for p in procs if _alive(p)]
    while alive and time.monotonic() < deadline:
        await asyncio.sleep(POLL_S)
        alive = [p for p in alive if _alive(p)]
    return alive


def _send(procs: list[psutil.Process], method: str) -> None:
    for p in procs:
        try:
            getattr(p, method)()  # psutil checks the start time again before signalling
        except psutil.Error:
            pass


async def terminate_tree(proc: psutil.Process, grace_s: float) -> dict[str, Any]:
    """SIGTERM the agent and its descendants; SIGKILL whatever outlives `grace_s`."""
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        procs = [proc]
    _send(procs, "terminate")
    alive = await _wait_gone(procs, grace_s)
    escalated = bool(alive)
    if alive:
        _send(alive, "kill")
        alive = await _wait_gone(alive, KILL_WAIT_S)
    return {"pid": proc.pid, "processes": len(procs), "escalated": escalated,
            "survivors": [p.pid for p in alive]}
