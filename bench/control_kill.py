"""Kill request → agent gone, through the real server and a real `observatory run` supervisor.

Each run starts a supervised fake agent (obeys SIGTERM; default 5 s grace), waits until its
session is linked, then times POST /api/sessions/{id}/kill until the agent process is gone
(polled every 2 ms), and the same for pid-kill of an unsupervised agent.
Prints one JSON line per scenario: p50/p99/max in ms over --n runs (target p50/p99 < 500 ms).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import REPO, emit, start_server

sys.path.insert(0, str(REPO / "tests" / "integration"))
from control_harness import AGENTS, Supervised, agent_env, alive, control, wait_for, wait_session  # noqa: E402

POLL_S = 0.002


def _time_kill(server, session_id: str, pid: int) -> float:
    started = time.perf_counter()
    status, body, _ = control(server, session_id, "kill")
    assert status == 202, body
    while alive(pid):
        time.sleep(POLL_S)
    return (time.perf_counter() - started) * 1000


def supervised(server, tmp: Path, n: int) -> list[float]:
    out = []
    for _ in range(n):
        s = str(uuid.uuid4())
        agent = Supervised(server, tmp, "claude_sleep.py", "--session-id", s)
        try:
            pid = agent.wait_records(1)[0]["pid"]
            wait_session(server, s, supervised=True)
            out.append(_time_kill(server, s, pid))
            agent.wait()
        finally:
            agent.stop()
    return out


def by_pid(server, tmp: Path, n: int) -> list[float]:
    out = []
    for i in range(n):
        s = str(uuid.uuid4())
        record = tmp / f"pid-{i}.jsonl"
        proc = subprocess.Popen([sys.executable, str(AGENTS / "claude_sleep.py"), "--session-id", s],
                                env=agent_env(server.url, record), stdout=subprocess.DEVNULL)
        try:
            wait_for(lambda: record.exists() and record.read_text().strip(), 15, "the agent")
            wait_session(server, s, pid=proc.pid)
            out.append(_time_kill(server, s, proc.pid))
        finally:
            proc.kill()
            proc.wait()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data")
        try:
            for name, fn in (("kill_supervised", supervised), ("kill_by_pid", by_pid)):
                ms = sorted(fn(server, Path(tmp), args.n))
                emit({"bench": "control_kill", "scenario": name, "n": len(ms),
                      "p50_ms": round(statistics.median(ms), 1),
                      "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 1),
                      "max_ms": round(ms[-1], 1), "grace_s": 5})
        finally:
            server.stop()


if __name__ == "__main__":
    main()
