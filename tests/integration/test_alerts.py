"""Alert API on a real server: list, filter, ack, live stream, settings persisted and applied, restart."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import pytest
import tomllib
from websockets.asyncio.client import connect

from conftest import fixture_hooks
from pushdouble import double, post_hooks, serve_with_push, served, subscribe  # noqa: F401 (fixtures)

PERMISSION_SESSION = "e955453b-faba-449f-8897-fe998f9f9ef5"
FAILED_SESSION = "fff5c189-beac-491c-b8e7-ba659e8245cc"


def wait_alerts(server, count: int, query: str = "", timeout: float = 10) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = server.get(f"/api/alerts{query}")["alerts"]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_alerts_are_listed_newest_first_and_filtered_by_session(served):
    server, _ = served
    post_hooks(server, "interactive-permission")
    wait_alerts(server, 1)
    post_hooks(server, "api-error-529")
    found = wait_alerts(server, 2)
    assert [(a["kind"], a["session_id"]) for a in found] == [("turn_failed", FAILED_SESSION),
                                                              ("approval_needed", PERMISSION_SESSION)]
    first = found[1]
    assert first["url"] == f"/s/{PERMISSION_SESSION}" and first["title"] == "work: needs your approval"
    assert first["created_at"].endswith("Z") and first["acked_at"] is None
    only = server.get(f"/api/alerts?session_id={FAILED_SESSION}")["alerts"]
    assert [a["kind"] for a in only] == ["turn_failed"]
    status, body, _ = server.post("/api/alerts?limit=x", {}, method="GET")
    assert status == 400 and "limit" in json.loads(body)["error"]


def test_alert_resolves_when_the_session_ends(served):
    server, _ = served
    post_hooks(server, "interactive-permission")
    [open_alert] = wait_alerts(server, 1)
    assert open_alert["resolved_at"] is None
    [(_, end)] = [h for h in fixture_hooks("interactive-permission") if h[0] == "SessionEnd"]
    server.post("/hooks/claude", end)
    deadline = time.monotonic() + 5
    while server.get("/api/alerts")["alerts"][0]["resolved_at"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_ack_needs_the_control_credential_and_is_idempotent(served):
    server, headers = served
    post_hooks(server, "interactive-permission")
    [alert] = wait_alerts(server, 1)
    path = f"/api/alerts/{alert['id']}/ack"
    status, body, _ = server.post(path, {})
    assert status == 401, body
    status, body, _ = server.post(path, {}, headers)
    assert status == 200
    acked = json.loads(body)
    assert acked["id"] == alert["id"] and acked["acked_at"]
    status, body, _ = server.post(path, {}, headers)
    assert json.loads(body)["acked_at"] == acked["acked_at"]
    assert server.get("/api/alerts")["alerts"][0]["acked_at"] == acked["acked_at"]
    assert server.post("/api/alerts/999/ack", {}, headers)[0] == 404
    assert server.post("/api/alerts/abc/ack", {}, headers)[0] == 400
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as resp:
        metrics = resp.read().decode()
    assert 'observatory_alerts_total{kind="approval_needed"} 1.0' in metrics  # acks are not new alerts


async def test_alerts_reach_live_clients(served):
    server, _ = served
    url = server.url.replace("http://", "ws://") + "/api/live"
    async with connect(url) as ws:
        await ws.send(json.dumps({"resume": None}))
        await asyncio.to_thread(post_hooks, server, "interactive-permission")
        deadline = time.monotonic() + 10
        alert = None
        while alert is None:
            frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic())))
            for msg in frame["messages"] if frame["type"] == "batch" else [frame]:
                if msg["type"] == "alert":
                    alert = msg["alert"]
    assert alert["kind"] == "approval_needed" and alert["session_id"] == PERMISSION_SESSION


def test_settings_are_validated_persisted_with_comments_and_applied_live(served, double):
    server, headers = served
    subscribe(server, headers, double, "phone")
    settings = server.get("/api/settings/alerts")
    assert settings["kinds"]["completion"] is True
    assert settings["thresholds"]["stall_thinking_s"] == 180
    change = {"kinds": {"completion": False, "approval_needed": False},
              "thresholds": {"stall_thinking_s": 45, "tool_stall_s": {"Bash": 1200}, "budget_usd": 2.5}}
    status, body, _ = server.post("/api/settings/alerts", change, method="PUT")
    assert status == 401, body
    status, body, _ = server.post("/api/settings/alerts", change, headers, method="PUT")
    assert status == 200, body
    answer = json.loads(body)
    assert answer["kinds"]["completion"] is False and answer["kinds"]["crash"] is True
    assert answer["thresholds"]["tool_stall_s"] == {"Bash": 1200}
    assert server.get("/api/settings/alerts")["thresholds"]["stall_thinking_s"] == 45
    text = (server.data_dir / "config.toml").read_text()
    assert "# stall_tool_s = 660           # a running tool gets longer" in text  # comments kept
    saved = tomllib.loads(text)["alerts"]
    assert saved["stall_thinking_s"] == 45 and saved["tool_stall_s"] == {"Bash": 1200}
    assert "completion" not in saved["kinds"] and "crash" in saved["kinds"]
    post_hooks(server, "interactive-idle")  # completion is off now
    post_hooks(server, "api-error-529")  # turn_failed still on
    [push] = double.wait(1)
    assert push.payload["kind"] == "turn_failed"
    time.sleep(1)
    assert [a["kind"] for a in server.get("/api/alerts")["alerts"]] == ["turn_failed"]


@pytest.mark.parametrize("change, reason", [
    ({"kinds": {"lunch": True}}, "unknown alert kinds ['lunch']"),
    ({"kinds": {"crash": "yes"}}, "kinds must map alert kinds to true or false"),
    ({"thresholds": {"stall_thinking_s": -1}}, "thresholds.stall_thinking_s must be at least 1"),
    ({"thresholds": {"error_burst_count": 2.5}}, "thresholds.error_burst_count must be a whole number"),
    ({"thresholds": {"cooldown_s": "soon"}}, "thresholds.cooldown_s must be a number"),
    ({"thresholds": {"tool_stall_s": {"Bash": 0}}}, "thresholds.tool_stall_s.Bash must be at least 1"),
    ({"thresholds": {"speed": 1}}, "unknown thresholds ['speed']"),
    ({"colour": "red"}, "body must be"),
    ([], "body must be"),
])
def test_bad_settings_get_400_and_change_nothing(served, change, reason):
    server, headers = served
    before = (server.data_dir / "config.toml").read_text()
    status, body, _ = server.post("/api/settings/alerts", change, headers, method="PUT")
    assert status == 400, body
    assert reason in json.loads(body)["error"]
    assert (server.data_dir / "config.toml").read_text() == before
    assert server.get("/api/settings/alerts")["thresholds"]["stall_thinking_s"] == 180


def test_a_restart_neither_repeats_pushes_nor_loses_alerts(tmp_path, double):
    server, headers = serve_with_push(tmp_path / "data", double)
    try:
        subscribe(server, headers, double, "phone")
        post_hooks(server, "interactive-permission")
        double.wait(1)
    finally:
        server.stop()
    again, _ = serve_with_push(tmp_path / "data", double)
    try:
        time.sleep(2)
        assert len(double.requests()) == 1
        [alert] = again.get("/api/alerts")["alerts"]
        assert alert["kind"] == "approval_needed" and alert["resolved_at"] is None
        assert again.get(f"/api/sessions/{PERMISSION_SESSION}")["status"] == "needs_approval"
    finally:
        again.stop()
