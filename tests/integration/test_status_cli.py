"""`observatory status`: the real command against a real server fed the three agents' captured sessions."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import FIXTURES, REPO
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
