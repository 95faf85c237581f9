"""`observatory serve` and `observatory status`: the real commands against a real server."""

from __future__ import annotations

import json
import subprocess
import sys

import time

from conftest import FIXTURES, REPO, start_server
from replay import replay


def status(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "observatory", "status", *args],
                          capture_output=True, text=True, timeout=60, cwd=REPO)


def test_status_lists_every_session_with_a_cost_as_certain_as_it_is(server):
    for agent, folder in (("claude", "claude-code/ok-json"), ("codex", "codex/ok-json"), ("gemini", "gemini/ok-http-json")):
        assert set(replay(server.post, FIXTURES / folder, agent)) == {200}
    out = status("--url", server.url)
    assert out.returncode == 0, out.stderr
    header, *lines = out.stdout.splitlines()
    assert header.startswith(f"observatory 0.1.0 at {server.url}: 3 sessions, seq ")
    by_agent = {line.split()[1]: line for line in lines}
    assert by_agent["claude"].split()[:4] == ["ended", "claude", "work", "$0.0033"]
    assert "≈$0.0036" in by_agent["codex"]  # estimated from gpt-5-codex list prices
    assert "cost n/a" in by_agent["gemini"]  # its fixture model has no price

    as_json = json.loads(status("--url", server.url, "--json").stdout)
    assert as_json["health"]["version"] == "0.1.0"
    assert sorted(s["agent"] for s in as_json["sessions"]) == ["claude", "codex", "gemini"]


def test_status_of_an_observatory_that_is_not_running_says_how_to_start_it(server):
    url = server.url
    server.stop()
    out = status("--url", url)
    assert out.returncode == 1
    assert f"observatory is not reachable at {url}" in out.stderr and "start it with: observatory serve" in out.stderr


def test_serve_logs_what_happens_not_the_schedulers_every_tick(tmp_path):
    server = start_server(tmp_path / "data", "--log-level", "info")
    try:
        assert server.post("/hooks/nobody", {})[0] == 404
        time.sleep(2.5)  # the detector's tick runs every second
    finally:
        server.stop()
    log = "".join(server.output)
    assert "INFO" in log and "POST /hooks/nobody" in log  # its own INFO and WARNING lines are there
    assert "apscheduler" not in log and "Running job" not in log
