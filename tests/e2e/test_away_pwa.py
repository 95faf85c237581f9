"""Away mode in the built PWA (Chromium, phone viewport): the approval card answers the held hook."""

from __future__ import annotations

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import BrowserContext, expect

from conftest import Server, fixture_hooks
from tests.e2e.conftest import open_app, post_hooks

PERMISSION = dict(fixture_hooks("interactive-permission"))["PermissionRequest"]


def hold(server: Server, payload: dict) -> dict | None:
    req = urllib.request.Request(server.url + "/hooks/claude/permission", data=json.dumps(payload).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        body = resp.read()
    return json.loads(body) if body else None


def away_on(server: Server) -> str:
    token = (server.data_dir / "control-token").read_text().strip()
    status, raw, _ = server.post("/api/away", {"enabled": True}, {"Authorization": f"Bearer {token}"}, method="PUT")
    assert status == 200, raw
    return token


def wait_pending(server: Server) -> None:
    deadline = time.monotonic() + 10
    while not server.get("/api/approvals")["pending"]:
        assert time.monotonic() < deadline, "the request was not held"
        time.sleep(0.05)


def test_approve_on_the_card_the_notification_opens(paired: Server, phone: BrowserContext) -> None:
    web = paired
    token = away_on(web)
    sid = post_hooks(web, "interactive-permission", until="PreToolUse")
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(hold, web, PERMISSION)
        wait_pending(web)
        page = open_app(phone, web, f"/s/{sid}")  # the approval_needed push's url
        card = page.locator(".approval")
        expect(card).to_contain_text("asks to use Bash")
        expect(card.locator(".approval-input")).to_have_text("rm -f notes.txt")
        expect(card).to_contain_text(PERMISSION["cwd"])
        expect(card).to_contain_text(sid)
        card.get_by_role("button", name="Approve").click()
        expect(page.locator(".approval-result")).to_contain_text("Approved: the agent goes ahead.")
        assert held.result(timeout=10) == {"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                                                                  "decision": {"behavior": "allow"}}}
    expect(card).to_have_count(0)
    audit = web.get("/api/audit", {"Authorization": f"Bearer {token}"})["audit"]
    assert next(a for a in audit if a["action"] == "approval_allow")["who"].startswith("device:")
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_deny_with_a_message_and_the_settings_switch(paired: Server, phone: BrowserContext) -> None:
    web = paired
    away_on(web)
    sid = post_hooks(web, "interactive-permission", until="PreToolUse")
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(hold, web, PERMISSION)
        wait_pending(web)
        page = open_app(phone, web, f"/s/{sid}")
        page.get_by_label("Message to the agent if you deny (optional)").fill("use the staging copy")
        page.get_by_role("button", name="Deny").click()
        expect(page.locator(".approval-result")).to_contain_text("Message: “use the staging copy”")
        assert held.result(timeout=10)["hookSpecificOutput"]["decision"] == {
            "behavior": "deny", "message": "use the staging copy"}

    settings = open_app(phone, web, "/settings")
    switch = settings.get_by_label("Away mode: approve or deny agents' permission prompts from here")
    expect(switch).to_be_checked()
    switch.click()
    expect(switch).not_to_be_checked()
    expect(settings.locator(".away-switch")).to_contain_text("Off: agents ask at the terminal only.")
    assert web.get("/api/away")["enabled"] is False
