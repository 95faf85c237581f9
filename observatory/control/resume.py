"""How each agent CLI continues a session after a restart: argv → argv that resumes it.

Kept tiny and keyed by agent name; the agent adapters may take these over later.
"""

from __future__ import annotations

import os
from collections.abc import Callable

# Flags that already pick a session; dropped before adding ours (flag → takes a value).
_CLAUDE_SESSION_FLAGS = {"--resume": True, "-r": True, "--session-id": True, "--continue": False, "-c": False}
_GEMINI_SESSION_FLAGS = {"--resume": True, "-r": True}


def _without(argv: list[str], flags: dict[str, bool]) -> list[str]:
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in flags:
            skip = flags[name] and "=" not in arg
            continue
        out.append(arg)
    return out


def _claude(session_id: str, argv: list[str]) -> list[str]:
    return [*_without(argv, _CLAUDE_SESSION_FLAGS), "--resume", session_id]


def _gemini(session_id: str, argv: list[str]) -> list[str]:
    return [*_without(argv, _GEMINI_SESSION_FLAGS), "--resume", session_id]


def _codex(session_id: str, argv: list[str]) -> list[str]:
    """`codex resume <id>`: the first run's prompt and subcommand must not be repeated."""
    return [argv[0], "resume", session_id]


RESUMERS: dict[str, Callable[[str, list[str]], list[str]]] = {
    "claude": _claude,
    "codex": _codex,
    "gemini": _gemini,
}


def resume_args(agent: str, session_id: str, argv: list[str]) -> list[str]:
    """The command that continues `session_id`; unknown agents restart with the same argv."""
    resumer = RESUMERS.get(agent)
    return resumer(session_id, argv) if resumer else list(argv)


def guess_agent(argv: list[str]) -> str:
    """The agent a command runs, from its program name (`claude`, `/usr/bin/codex`, …)."""
    for arg in argv[:2]:
        base = os.path.basename(arg).lower()
        for name in RESUMERS:
            if base == name or base.startswith(name + "."):
                return name
    return "unknown"
