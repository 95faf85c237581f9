"""What every fake agent does first: say who it is, like Claude Code's hooks would.

Posts the SessionStart hook fixture to $OBS_TEST_URL/hooks/claude with X-Agent-Pid (as
the real hook command reports Claude's pid), and appends one JSON line about itself to
$OBS_TEST_RECORD so tests can see each process a supervisor started.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[3] / "shared/fixtures/claude-code/ok-json/hooks/0001_SessionStart.json"


def session_id(argv: list[str]) -> str | None:
    """`--resume <id>` or `--session-id <id>`, as Claude Code takes them."""
    for flag in ("--resume", "--session-id"):
        if flag in argv[:-1]:
            return argv[argv.index(flag) + 1]
    return None


def announce(**extra: object) -> None:
    argv = sys.argv[1:]
    record = os.environ.get("OBS_TEST_RECORD")
    if record:
        line = {"pid": os.getpid(), "pgid": os.getpgrp(), "argv": argv,
                "supervisor_id": os.environ.get("OBSERVATORY_SUPERVISOR_ID"), **extra}
        with open(record, "a") as fh:
            fh.write(json.dumps(line) + "\n")
    sid, url = session_id(argv), os.environ.get("OBS_TEST_URL")
    if not sid or not url:
        return
    payload = json.loads(FIXTURE.read_text())
    payload.update(session_id=sid, cwd=os.getcwd(), source="resume" if "--resume" in argv else "startup")
    req = urllib.request.Request(f"{url}/hooks/claude", data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "X-Agent-Pid": str(os.getpid())})
    try:
        urllib.request.urlopen(req, timeout=5).read()
    except OSError as exc:  # a real hook is fail-open too
        print(f"fake agent: hook failed: {exc}", file=sys.stderr)
