"""Approval latency: Approve from the API → the held agent hook has its answer (→ the tool's effect).

Scenarios (one clock: everything is stamped in this process):
  api_to_hook_response   a held POST /hooks/claude/permission (the real fixture payload, a fresh
                         session each) → POST /api/approvals/{id} allow → the hook's HTTP response
  realcli_api_to_disk    the real interactive Claude Code in a pty, configured by `observatory
                         install`, away on: the API approve → `touch approved.txt` exists on disk
                         (needs the realcli cache: tests/realcli; skipped with --no-realcli)
Prints one JSON line per scenario: n, p50/p99/max in ms; target: < 1000 ms.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import REPO, Server, emit, start_server

sys.path.insert(0, str(REPO))  # tests.realcli: the real-CLI harness this benchmark reuses

PERMISSION = json.loads((REPO.parent / "shared" / "fixtures" / "claude-code" / "interactive-permission" / "hooks"
                         / "0008_PermissionRequest.json").read_text())


def summary(name: str, samples: list[float], **extra: object) -> None:
    ordered = sorted(samples)
    emit({"scenario": name, "n": len(samples), "p50_ms": round(statistics.median(ordered) * 1000, 1),
          "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
          "max_ms": round(ordered[-1] * 1000, 1), "target_ms": 1000, **extra})


def held_hook(server: Server, payload: dict) -> float:
    req = urllib.request.Request(server.url + "/hooks/claude/permission", data=json.dumps(payload).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        body = resp.read()
    answered = time.monotonic()
    assert json.loads(body)["hookSpecificOutput"]["decision"]["behavior"] == "allow", body
    return answered


def pending(server: Server, session_id: str) -> str:
    while True:
        for approval in server.get(f"/api/approvals?session_id={session_id}")["pending"]:
            return approval["id"]
        time.sleep(0.005)


def approve(server: Server, approval_id: str, token: str) -> float:
    asked = time.monotonic()
    status, raw, _ = server.post(f"/api/approvals/{approval_id}", {"decision": "allow"},
                                 {"Authorization": f"Bearer {token}"})
    assert status == 200, raw
    return asked


def api_to_hook_response(n: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="bench-away-"))
    server = start_server(data / "data", env={"OBSERVATORY_AWAY_ENABLED": "1", "OBSERVATORY_AWAY_WAIT_S": "60"})
    token = (server.data_dir / "control-token").read_text().strip()
    samples = []
    try:
        with ThreadPoolExecutor(1) as pool:
            for _ in range(n):
                payload = {**PERMISSION, "session_id": str(uuid.uuid4())}
                answered = pool.submit(held_hook, server, payload)
                asked = approve(server, pending(server, payload["session_id"]), token)
                samples.append(answered.result(timeout=60) - asked)
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
    summary("api_to_hook_response", samples)


def realcli_api_to_disk(n: int) -> None:
    import pytest

    from tests.realcli.conftest import Rig, start_fake_api
    from tests.realcli.test_away_claude import COMMAND, RECORDER, pending_approval, start_claude, wait_file
    samples = []
    for _ in range(n):
        root = Path(tempfile.mkdtemp(prefix="bench-away-cli-"))
        (root / "home").mkdir()
        (root / "work").mkdir()
        server = start_server(root / "data", env={"OBSERVATORY_AWAY_WAIT_S": "60"})
        api = start_fake_api("claude", root / "fake_api", RECORDER, {"FAKE_TOOL_COMMAND": COMMAND})
        rig = Rig(root / "home", root / "work", server, api)
        try:
            try:
                session = start_claude(rig, away=True)
            except pytest.skip.Exception as exc:
                emit({"scenario": "realcli_api_to_disk", "skipped": str(exc)})
                return
            try:
                approval_id = pending_approval(rig)["id"]
                asked = approve(server, approval_id, (server.data_dir / "control-token").read_text().strip())
                ran = wait_file(rig.work / "approved.txt", 30)
                assert ran is not None, "the approved tool never ran"
                samples.append(ran - asked)
            finally:
                session.close()
        finally:
            api.proc.kill()
            server.stop()
            shutil.rmtree(root, ignore_errors=True)
    summary("realcli_api_to_disk", samples, cli="@anthropic-ai/claude-code@2.1.197")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=50, help="held hooks to approve")
    parser.add_argument("--cli-runs", type=int, default=3, help="real Claude Code sessions to approve")
    parser.add_argument("--no-realcli", action="store_true", help="skip the real CLI scenario")
    args = parser.parse_args()
    api_to_hook_response(args.n)
    if not args.no_realcli:
        realcli_api_to_disk(args.cli_runs)


if __name__ == "__main__":
    main()
