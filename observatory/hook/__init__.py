"""The hook client shipped with the package: a POSIX sh + curl script (hook.sh).

Why sh + curl: an agent CLI waits for every command hook, and this pair starts in a few
milliseconds where even `python -S` needs tens (bench/hook_latency.py measures both).
`observatory install` copies the script into the data dir so configs keep working when the
package moves (a new venv, an upgrade).
"""

from __future__ import annotations

import shlex
from importlib import resources
from pathlib import Path

SCRIPT_NAME = "hook.sh"


def script_text() -> str:
    return resources.files(__package__).joinpath(SCRIPT_NAME).read_text()


def installed_path(data_dir: Path) -> Path:
    return data_dir / "hooks" / SCRIPT_NAME


def command(script: Path, url: str, pid_expr: str = '"$PPID"') -> str:
    """The shell command an agent runs. The CLI runs it under `/bin/sh -c`, so `$PPID`
    there is the agent process itself: the pid the server needs to watch the session."""
    return f"/bin/sh {shlex.quote(str(script))} {shlex.quote(url)} {pid_expr}"
