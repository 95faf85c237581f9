"""How long an agent waits for one observatory hook, server up and server down.

Three ways to deliver a hook, each timed as the agent experiences it:
  sh_curl    the shipped client: `/bin/sh -c "/bin/sh hook.sh <url> $PPID"` (sh + curl)
  python_s   a minimal `python3 -S` script doing the same POST with http.client
  http_hook  Claude Code's `"type": "http"` hook: no process, one POST from the agent itself
             (approximated by a fresh-connection POST from this process)
Prints one JSON line per (client, server state): p50/p99/max in ms over --n runs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from common import emit, start_server

from observatory import hook

SCRIPT = Path(str(resources.files("observatory.hook").joinpath(hook.SCRIPT_NAME)))
PYTHON_HOOK = """\
import http.client, os, sys
try:
    host, _, rest = sys.argv[1].partition("//")[2].partition(":")
    port, _, path = rest.partition("/")
    c = http.client.HTTPConnection(host, int(port), timeout=2)
    c.request("POST", "/" + path, sys.stdin.buffer.read(),
              {"Content-Type": "application/json", "X-Agent-Pid": str(os.getppid())})
    c.getresponse().read()
except Exception:
    pass
"""
PAYLOAD = json.dumps({
    "session_id": "bench-hook-latency", "transcript_path": "/tmp/x.jsonl", "cwd": "/tmp",
    "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"},
    "tool_use_id": "toolu_bench", "permission_mode": "default"}).encode()


def spawn(command: str) -> Callable[[], None]:
    def run() -> None:
        subprocess.run(["/bin/sh", "-c", command], input=PAYLOAD, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
    return run


def http_post(url: str) -> Callable[[], None]:
    host, _, rest = url.partition("//")[2].partition(":")
    port, _, path = rest.partition("/")

    def run() -> None:
        try:
            conn = http.client.HTTPConnection(host, int(port), timeout=2)
            conn.request("POST", "/" + path, PAYLOAD, {"Content-Type": "application/json"})
            conn.getresponse().read()
            conn.close()
        except OSError:
            pass
    return run


def measure(run: Callable[[], None], n: int) -> dict[str, float]:
    run()  # warm the page cache
    times = []
    for _ in range(n):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2), "p99_ms": round(times[min(n - 1, int(n * 0.99))], 2),
            "max_ms": round(times[-1], 2), "n": n}


def clients(url: str, py_script: Path) -> dict[str, Callable[[], None]]:
    return {
        "sh_curl": spawn(hook.command(SCRIPT, url)),
        "python_s": spawn(f"{sys.executable} -S {py_script} {url}"),
        "http_hook": http_post(url),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="hooks per scenario")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        py_script = Path(tmp) / "hook.py"
        py_script.write_text(PYTHON_HOOK)
        server = start_server(Path(tmp) / "data")
        try:
            for name, run in clients(f"{server.url}/hooks/claude", py_script).items():
                emit({"bench": "hook_latency", "client": name, "server": "up", **measure(run, args.n)})
        finally:
            server.stop()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            down = f"http://127.0.0.1:{s.getsockname()[1]}/hooks/claude"
        for name, run in clients(down, py_script).items():
            emit({"bench": "hook_latency", "client": name, "server": "down", **measure(run, args.n)})


if __name__ == "__main__":
    main()
