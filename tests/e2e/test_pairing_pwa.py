"""Pairing a phone in the built PWA (Chromium, iPhone-sized) against a real server with its remote listener.

The phone only ever talks to the remote listener (what the tunnel points at), where every request
needs the device cookie that pairing sets; the codes come from the real `observatory pair` CLI.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from tests.e2e.conftest import new_phone_context, post_hooks, screenshot, wait_for
from tests.e2e.test_away_pwa import PERMISSION, away_on, hold
from tests.integration.remote_harness import Listeners, cli, new_code, pair, start_listeners

PUBLIC_URL = "https://observatory.example.test"  # what the QR links to; this test's phone uses the remote port


@pytest.fixture
def listeners(tmp_path: Path) -> Iterator[Listeners]:
    srv = start_listeners(tmp_path / "data", env={"OBSERVATORY_REMOTE_PUBLIC_URL": PUBLIC_URL,
                                                  "OBSERVATORY_REMOTE_PAIR_ATTEMPTS": "3"})
    yield srv
    srv.server.stop()


@pytest.fixture
def iphone(browser: Browser, playwright: Playwright) -> Iterator[BrowserContext]:
    """A fresh cookie jar, like Safari or the installed home-screen app (which keeps its own)."""
    ctx = new_phone_context(browser, playwright, color_scheme="dark")
    yield ctx
    ctx.close()


def open_pairing(ctx: BrowserContext, listeners: Listeners, query: str = "") -> Page:
    page = ctx.new_page()
    page.goto(f"{listeners.remote}/pair{query}")
    if page.locator("#root").count() == 0:
        pytest.fail(f"/pair did not serve the PWA shell: {page.content()[:300]} (bash scripts/build_frontend.sh)")
    expect(page.get_by_role("heading", name="Pair this device")).to_be_visible()
    return page


def pair_in_page(page: Page, listeners: Listeners, name: str) -> None:
    page.get_by_label("Name of this device").fill(name)
    page.get_by_role("button", name="Pair this device").click()
    page.wait_for_url(listeners.remote + "/", timeout=10_000)
    expect(page.locator(".conn-open")).to_be_visible(timeout=10_000)  # the live WebSocket on the remote listener


def test_the_qr_link_pairs_the_phone_and_the_sessions_load_live(listeners: Listeners, iphone: BrowserContext):
    post_hooks(listeners.server, "interactive-permission", until="PreToolUse", session_id="e2e-first")
    code = new_code(listeners.data_dir)
    page = open_pairing(iphone, listeners, f"?code={code}")
    expect(page.get_by_label("Pairing code")).to_have_value(code)
    expect(page.get_by_label("Name of this device")).to_have_value("iPhone")  # the default, from the user agent
    screenshot(page, "pair-phone-dark.png")

    pair_in_page(page, listeners, "Ana's iPhone")
    assert page.evaluate("window.__OBSERVATORY__.csrfToken"), "the reloaded shell carries this device's CSRF token"
    expect(page.locator(".card")).to_have_count(1)
    post_hooks(listeners.server, "interactive-permission", until="PreToolUse", session_id="e2e-later")
    expect(page.locator(".card")).to_have_count(2)  # arrived live over the remote listener's WebSocket
    screenshot(page, "paired-phone-sessions.png")
    assert "Ana's iPhone" in cli(listeners.data_dir, "devices").stdout


def test_a_used_code_is_refused_clearly_and_a_typed_code_pairs(listeners: Listeners, iphone: BrowserContext):
    used = new_code(listeners.data_dir)
    assert pair(listeners.remote, used).status_code == 201  # someone else was quicker
    page = open_pairing(iphone, listeners, f"?code={used}")
    page.get_by_role("button", name="Pair this device").click()
    expect(page.get_by_role("alert")).to_contain_text("this pairing code was already used")
    expect(page).to_have_url(f"{listeners.remote}/pair?code={used}")

    # the installed home-screen app opens at "/": its person types the code by hand, sloppily
    code_field = page.get_by_label("Pairing code")
    code_field.fill("abcd")
    page.get_by_label("Name of this device").focus()
    expect(page.get_by_text("4 missing")).to_be_visible()
    fresh = new_code(listeners.data_dir)
    code_field.fill(fresh.lower().replace("-", " "))
    expect(code_field).to_have_value(fresh)
    pair_in_page(page, listeners, "Home-screen app")


def test_settings_lists_devices_pairs_a_phone_and_revoking_this_device_unpairs_it(
        listeners: Listeners, iphone: BrowserContext, browser: Browser):
    # The dashboard on the computer (local listener, auto-paired) makes the code and shows its QR.
    desk = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        dash = desk.new_page()
        dash.goto(listeners.local + "/settings")
        dash.get_by_role("button", name="Pair a phone").click()
        box = dash.get_by_role("group", name="Pairing code")
        expect(box).to_contain_text("expires in")
        code = box.locator(".pairing-code-text").inner_text()
        qr = box.get_by_role("img", name=f"QR code that opens {PUBLIC_URL}/pair?code={code.replace('-', '')}")
        expect(qr).to_be_visible()
        assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR image renders"
        box.scroll_into_view_if_needed()
        screenshot(dash, "settings-pair-a-phone.png")

        page = open_pairing(iphone, listeners)
        page.get_by_label("Pairing code").fill(code)
        pair_in_page(page, listeners, "Ana's iPhone")

        box.get_by_role("button", name="Done").click()
        expect(dash.get_by_role("list", name="Paired devices")).to_contain_text("Ana's iPhone")
    finally:
        desk.close()

    page.get_by_role("link", name="Settings").click()
    devices = page.get_by_role("list", name="Paired devices")
    me = devices.get_by_role("listitem").filter(has_text="Ana's iPhone")
    expect(me).to_contain_text("This device")
    expect(devices).to_contain_text("Browser on the computer running Observatory")
    me.scroll_into_view_if_needed()
    screenshot(page, "settings-devices-phone.png")

    me.get_by_role("button", name="Revoke Ana's iPhone").click()
    dialog = page.get_by_role("dialog", name="Revoke Ana's iPhone?")
    expect(dialog).to_contain_text("This is the device you are using")
    dialog.get_by_role("button", name="Revoke", exact=True).click()
    expect(page.get_by_text("This device is not paired")).to_be_visible()
    expect(page.get_by_role("link", name="Pair this device")).to_have_attribute("href", "/pair")
    assert "Ana's iPhone" not in cli(listeners.data_dir, "devices").stdout


def test_too_many_wrong_codes_show_the_wait(listeners: Listeners, iphone: BrowserContext):
    for _ in range(3):  # someone guessing from the same address as this phone
        assert pair(listeners.remote, "WRONG-CODE").status_code == 403
    page = open_pairing(iphone, listeners, f"?code={new_code(listeners.data_dir)}")
    page.get_by_role("button", name="Pair this device").click()
    expect(page.get_by_role("alert")).to_contain_text(
        re.compile(r"Too many wrong codes were tried from this network\. Wait (10 min|9 min \d+ s), then try again\."))
    expect(page.get_by_role("button", name="Try again in")).to_be_disabled()


def test_a_phone_paired_over_the_remote_listener_sees_approvals_live(listeners: Listeners, iphone: BrowserContext):
    token = away_on(listeners.server)
    sid = post_hooks(listeners.server, "interactive-permission", until="PreToolUse")
    page = open_pairing(iphone, listeners)
    page.get_by_label("Pairing code").fill(new_code(listeners.data_dir))
    pair_in_page(page, listeners, "Ana's iPhone")
    page.goto(f"{listeners.remote}/s/{sid}")
    expect(page.locator(".conn-open")).to_be_visible()
    card = page.locator(".approval")
    expect(card).to_have_count(0)
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(hold, listeners.server, PERMISSION)
        expect(card).to_contain_text("asks to use Bash")  # pushed over /api/live: the card no longer polls
        pending = wait_for(lambda: listeners.server.get("/api/approvals")["pending"], what="the held request")
        status, body, _ = listeners.server.post(f"/api/approvals/{pending[0]['id']}",
                                                {"decision": "deny", "message": "not from here"},
                                                {"Authorization": f"Bearer {token}"})
        assert status == 200, body
        assert held.result(timeout=10)["hookSpecificOutput"]["decision"]["behavior"] == "deny"
    expect(card).to_have_count(0)
    expect(page.locator(".approval-result")).to_contain_text("Denied: the agent was told and will not run it. (by token)")
