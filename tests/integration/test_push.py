"""Web Push end to end: real server, real Claude Code hook fixtures, real pywebpush encryption,
decrypted and VAPID-checked by the local push-service double."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from conftest import fixture_hooks
from pushdouble import b64d, double, post_hooks, serve_with_push, served, subscribe  # noqa: F401 (fixtures)

PERMISSION_SESSION = "e955453b-faba-449f-8897-fe998f9f9ef5"
IDLE_SESSION = "43027714-765d-43dd-ac9c-1af0cc067d05"
FAILED_SESSION = "fff5c189-beac-491c-b8e7-ba659e8245cc"


def expected_topic(session_id: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(session_id.encode()).digest()).rstrip(b"=").decode()[:32]


def test_vapid_key_is_made_once_kept_private_and_served(tmp_path, double):
    server, _ = serve_with_push(tmp_path / "data", double)
    key = server.get("/api/push/key")["public_key"]
    server.stop()
    raw = b64d(key)
    assert len(raw) == 65 and raw[0] == 4
    pem = tmp_path / "data" / "vapid-private.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    secret = pem.read_text().split("-----")[2].strip().splitlines()[0]
    assert secret not in "".join(server.output)
    again, _ = serve_with_push(tmp_path / "data", double)
    try:
        assert again.get("/api/push/key")["public_key"] == key
    finally:
        again.stop()


def test_permission_prompt_pushes_approval_needed_exactly_once(served, double):
    server, headers = served
    subscribe(server, headers, double, "phone")
    posted = post_hooks(server, "interactive-permission", upto="SessionEnd")
    assert posted[-2:] == ["PermissionRequest", "Notification"]  # both arrived
    [push] = double.wait(1)
    assert push.payload == {
        "title": "work: needs your approval", "body": "Bash: rm -f notes.txt", "url": f"/s/{PERMISSION_SESSION}",
        "tag": f"session-{PERMISSION_SESSION}", "kind": "approval_needed", "session_id": PERMISSION_SESSION,
        "created_at": push.payload["created_at"], "alert_id": push.payload["alert_id"]}
    assert push.headers["urgency"] == "high"
    assert push.headers["ttl"] == "3600"
    assert push.headers["topic"] == expected_topic(PERMISSION_SESSION)
    assert len(push.headers["topic"]) == 32
    assert push.claims["sub"] == "mailto:observatory@localhost"
    time.sleep(1.5)
    assert len(double.requests()) == 1
    assert server.get(f"/api/sessions/{PERMISSION_SESSION}")["status"] == "needs_approval"


def test_stop_pushes_completion_at_once_and_the_idle_notification_does_not(served, double):
    server, headers = served
    subscribe(server, headers, double, "phone")
    before = time.time()
    post_hooks(server, "interactive-idle", upto="Notification")
    [push] = double.wait(1)
    assert push.at - before < 5
    assert push.payload["kind"] == "completion"
    assert push.payload["url"] == f"/s/{IDLE_SESSION}" and push.payload["tag"] == f"session-{IDLE_SESSION}"
    assert push.payload["title"].endswith(": finished")
    assert push.headers["urgency"] == "normal"
    post_hooks(server, "interactive-idle", upto="SessionEnd")  # the idle_prompt reminder comes later
    time.sleep(1.5)
    assert len(double.requests()) == 1


def test_stop_failure_pushes_turn_failed(served, double):
    server, headers = served
    subscribe(server, headers, double, "phone")
    post_hooks(server, "api-error-529", upto="SessionEnd")
    [push] = double.wait(1)
    assert push.payload["kind"] == "turn_failed"
    assert push.payload["body"] == "server_error"
    assert push.payload["session_id"] == FAILED_SESSION


def test_late_hook_never_pushes(served, double):
    server, headers = served
    subscribe(server, headers, double, "phone")
    old = (datetime.now(timezone.utc) - timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    post_hooks(server, "interactive-permission", upto="SessionEnd", timestamp=old)
    time.sleep(2)
    assert double.requests() == []
    assert server.get("/api/alerts")["alerts"] == []


def test_vanished_agent_process_pushes_a_crash(served, double):
    server, headers = served
    subscribe(server, headers, double, "phone")
    agent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        [(_, start)] = [h for h in fixture_hooks("ok-json") if h[0] == "SessionStart"]
        status, body, _ = server.post("/hooks/claude", start, {"X-Agent-Pid": str(agent.pid)})
        assert status == 200, body
        time.sleep(1.5)  # the detector sees it alive
        agent.kill()
        agent.wait()
        [push] = double.wait(1, timeout=15)
    finally:
        agent.kill()
        agent.wait()
    assert push.payload["kind"] == "crash"
    assert f"(pid {agent.pid}) is gone" in push.payload["body"]
    assert push.headers["urgency"] == "high"
    assert server.get(f"/api/sessions/{start['session_id']}")["status"] == "crashed"


def test_gone_subscription_is_deleted_and_never_tried_again(served, double):
    server, headers = served
    subscribe(server, headers, double, "old-phone")
    subscribe(server, headers, double, "phone")
    double.answer("old-phone", 410)
    post_hooks(server, "interactive-permission", upto="SessionEnd")
    double.wait(1, "phone")
    double.wait(1, "old-phone", delivered=False)
    post_hooks(server, "api-error-529", upto="SessionEnd")
    double.wait(2, "phone")
    assert [r.status for r in double.requests("old-phone")] == [410]
    endpoint = f"{double.url}/push/old-phone"
    status, body, _ = server.post("/api/push/subscriptions", {"endpoint": endpoint}, headers, method="DELETE")
    assert status == 404, body  # already deleted by the 410


def test_not_found_subscription_is_deleted_too(served, double):
    server, headers = served
    subscribe(server, headers, double, "phone")
    double.answer("phone", 404)
    status, body, _ = server.post("/api/push/test", {}, headers)
    assert status == 200
    assert json.loads(body)["results"][0]["outcome"] == "gone (404): subscription deleted"
    status, body, _ = server.post("/api/push/test", {}, headers)
    assert status == 404, body


def test_rate_limited_push_is_retried_after_retry_after(served, double):
    server, headers = served
    subscribe(server, headers, double, "phone")
    double.answer("phone", 429, Retry_After="1")
    post_hooks(server, "interactive-permission", upto="SessionEnd")
    [first, second] = double.wait(2, "phone", delivered=False)
    assert (first.status, second.status) == (429, 201)
    assert second.at - first.at >= 0.9
    assert second.payload == first.payload


def test_retry_after_as_an_http_date_and_server_errors_are_retried(served, double):
    server, headers = served
    subscribe(server, headers, double, "phone")
    when = (datetime.now(timezone.utc) + timedelta(seconds=2)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    double.answer("phone", 503, Retry_After=when)
    double.answer("phone", 500)
    status, body, _ = server.post("/api/push/test", {}, headers)
    assert status == 200 and json.loads(body)["results"][0]["outcome"] == "delivered"
    assert [r.status for r in double.requests("phone")] == [503, 500, 201]
    first, _, last = double.requests("phone")
    assert last.at - first.at >= 1.0


def test_retries_are_bounded(served, double):
    server, headers = served
    subscribe(server, headers, double, "phone")
    for _ in range(10):
        double.answer("phone", 503, Retry_After="0")
    status, body, _ = server.post("/api/push/test", {}, headers)
    assert json.loads(body)["results"][0]["outcome"] == "gave up: retry (503)"
    assert len(double.requests("phone")) == 4


def test_kinds_filter_and_quiet_hours_per_subscription(served, double):
    server, headers = served
    subscribe(server, headers, double, "crash-only", kinds=["crash"])
    subscribe(server, headers, double, "asleep", quiet_hours={"start": "00:00", "end": "23:59", "tz": "UTC"})
    subscribe(server, headers, double, "awake")
    post_hooks(server, "interactive-idle", upto="SessionEnd")  # completion: not urgent
    post_hooks(server, "interactive-permission", upto="SessionEnd")  # approval: breaks quiet hours
    double.wait(2, "awake")
    double.wait(1, "asleep")
    time.sleep(1)
    assert [r.payload["kind"] for r in double.requests("asleep")] == ["approval_needed"]
    assert double.requests("crash-only") == []


def test_test_push_and_unsubscribe(served, double):
    server, headers = served
    sub_id = subscribe(server, headers, double, "phone")
    status, body, _ = server.post("/api/push/test", {}, headers)
    assert status == 200
    assert json.loads(body) == {"results": [{"id": sub_id, "outcome": "delivered"}]}
    [push] = double.deliveries("phone")
    assert push.payload["kind"] == "test" and push.payload["url"] == "/"
    endpoint = f"{double.url}/push/phone"
    status, _, _ = server.post("/api/push/subscriptions", {"endpoint": endpoint}, headers, method="DELETE")
    assert status == 200
    status, body, _ = server.post("/api/push/test", {}, headers)
    assert status == 404 and "no push subscription" in json.loads(body)["error"]


def test_resubscribing_the_same_endpoint_keeps_one_subscription(served, double):
    server, headers = served
    first = subscribe(server, headers, double, "phone")
    second = subscribe(server, headers, double, "phone")  # new keys, same endpoint
    assert first == second
    status, body, _ = server.post("/api/push/test", {}, headers)
    assert [r["outcome"] for r in json.loads(body)["results"]] == ["delivered"]


@pytest.mark.parametrize("change, reason", [
    ({"endpoint": "ftp://push.example/x"}, "endpoint must be an https URL"),
    ({"endpoint": 42}, "endpoint must be the push service URL"),
    ({"keys": {"p256dh": "AAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "keys.p256dh must decode to 65 bytes"),
    ({"keys": {"p256dh": None}}, "keys.p256dh is missing"),
    ("auth-15", "keys.auth must decode to 16 bytes, got 15"),
    ("auth-not-b64", "keys.auth is not base64url"),
    ({"kinds": ["crash", "lunch"]}, "unknown alert kinds ['lunch']"),
    ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start must be HH:MM"),
    ({"quiet_hours": {"start": "22:00", "end": "07:00", "tz": "Mars/Base"}}, "not an IANA time zone"),
])
def test_bad_subscriptions_get_400_with_a_reason(served, double, change, reason):
    server, headers = served
    body = double.subscription("phone")
    if change == "auth-15":
        body["keys"]["auth"] = base64.urlsafe_b64encode(os.urandom(15)).decode()
    elif change == "auth-not-b64":
        body["keys"]["auth"] = "***"
    else:
        body.update(change)
    status, answer, _ = server.post("/api/push/subscriptions", body, headers)
    assert status == 400
    assert reason in json.loads(answer)["error"]


def test_subscription_needs_json_and_the_control_credential(served, double):
    server, headers = served
    status, body, _ = server.post("/api/push/subscriptions", b"{not json", headers)
    assert status == 400 and "not JSON" in json.loads(body)["error"]
    for path, method in [("/api/push/subscriptions", "POST"), ("/api/push/subscriptions", "DELETE"),
                         ("/api/push/test", "POST")]:
        status, body, _ = server.post(path, double.subscription("x"), method=method)
        assert status == 401, (path, method, body)


def test_plain_http_endpoints_are_refused_unless_allowed(tmp_path, double):
    server, headers = serve_with_push(tmp_path / "data", double, OBSERVATORY_PUSH_ALLOW_HTTP="0")
    try:
        status, body, _ = server.post("/api/push/subscriptions", double.subscription("phone"), headers)
    finally:
        server.stop()
    assert status == 400
    assert "https" in json.loads(body)["error"]
