"""The built PWA in Debian Chromium at phone size, against a real server fed real hook payloads."""

from __future__ import annotations

import json
import struct
import urllib.request

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from conftest import FIXTURES, fixture_hooks
from replay import replay

from .conftest import ARTIFACTS, PHONE_VIEWPORT, shell_config, new_phone_context, open_app, post_hooks, post_many, screenshot, sw_activated, wait_for


def test_sessions_list_shows_cards_most_urgent_first(web, phone: BrowserContext) -> None:
    done = post_hooks(web, "ok-json")
    waiting = post_hooks(web, "interactive-permission", until="PermissionRequest")
    page = open_app(phone, web)
    cards = page.locator(".cards[aria-label='Active sessions'] > li")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Needs approval")
    expect(cards.first.locator("a")).to_have_attribute("href", f"/s/{waiting}")
    expect(page.get_by_role("link", name="1 agent needs you")).to_be_visible()
    # The finished session sits in the collapsed "Ended" group.
    ended = page.locator("details.ended")
    expect(ended.locator("summary")).to_have_text("Ended (1)")
    ended.locator("summary").click()
    expect(ended.locator(f"a[href='/s/{done}']")).to_contain_text("Ended")
    expect(ended.locator(f"a[href='/s/{done}']")).to_contain_text("Run the shell command: echo hello")
    assert page.js_errors == []


def test_live_updates_arrive_without_reload(web, phone: BrowserContext) -> None:
    page = open_app(phone, web)
    page.evaluate("window.__sameDocument = true")
    sid = post_hooks(web, "ok-json", until="UserPromptSubmit", session_id="live-1")
    card = page.locator("a[href='/s/live-1']")
    expect(card).to_contain_text("Thinking")
    post_hooks(web, "ok-json", until="PreToolUse", session_id=sid)
    expect(card).to_contain_text("Running tool")
    expect(card).to_contain_text("Bash")
    post_hooks(web, "ok-json", session_id=sid)  # through SessionEnd
    expect(page.locator("details.ended summary")).to_have_text("Ended (1)")
    assert page.evaluate("window.__sameDocument") is True


def test_deep_link_shows_the_timeline_and_it_grows_live(web, phone: BrowserContext) -> None:
    sid = post_hooks(web, "ok-json", until="PostToolUse")
    page = open_app(phone, web, f"/s/{sid}")
    expect(page.get_by_role("heading", level=1)).to_have_text("work")
    timeline = page.get_by_role("list", name="Timeline, 4 events, newest first")
    expect(timeline).to_be_visible()
    expect(timeline.locator("li").first).to_contain_text("Tool finished · Bash")
    expect(timeline).to_contain_text("echo hello")
    expect(timeline).to_contain_text("Prompt")
    post_hooks(web, "ok-json", session_id=sid)
    expect(page.locator(".timeline li").first).to_contain_text("Session ended")
    # A row opens its full detail.
    page.locator(".timeline li", has_text="Tool started").get_by_role("button").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text('"command": "echo hello"')
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_metric_points_stay_out_of_the_timeline_until_asked_for(web, phone: BrowserContext) -> None:
    """A real Claude Code session (hooks and OTLP) sends a dozen metric points per export."""
    assert set(replay(web.post, FIXTURES / "claude-code" / "interactive-permission", "claude")) == {200}
    sid = web.get("/api/sessions")["sessions"][0]["id"]
    events = web.get(f"/api/sessions/{sid}/events?limit=500")["events"]
    metrics = sum(ev["kind"] == "metric" for ev in events)
    assert metrics >= 10 and len(events) > metrics
    page = open_app(phone, web, f"/s/{sid}")
    story = page.get_by_role("list", name=f"Timeline, {len(events) - metrics} events, newest first")
    expect(story).to_be_visible()
    expect(story).not_to_contain_text("Metric")
    expect(story).to_contain_text("Needs approval · Bash")
    page.get_by_role("checkbox", name=f"Show metrics ({metrics})").check()
    everything = page.get_by_role("list", name=f"Timeline, {len(events)} events, newest first")
    expect(everything).to_contain_text("token.usage · input = 123 tokens")
    page.get_by_role("checkbox", name=f"Show metrics ({metrics})").uncheck()
    expect(story).to_be_visible()
    assert page.js_errors == []


def test_a_session_waiting_for_approval_names_the_tool_it_asks_to_run(web, phone: BrowserContext) -> None:
    sid = post_hooks(web, "interactive-permission", until="PermissionRequest")
    page = open_app(phone, web, f"/s/{sid}")
    expect(page.locator(".detail-head")).to_contain_text("Needs approval")
    expect(page.get_by_text("asks to run Bash")).to_be_visible()
    expect(page.get_by_role("list", name="Timeline, 4 events, newest first").locator("li").first
           ).to_contain_text("Needs approval · Bash")


def test_costs_say_how_certain_they_are(web, phone: BrowserContext) -> None:
    """Claude reports its cost; Codex's is estimated from list prices; Gemini's fixture model has no price."""
    for agent, folder in (("claude", "claude-code/ok-json"), ("codex", "codex/ok-json"), ("gemini", "gemini/ok-http-json")):
        assert set(replay(web.post, FIXTURES / folder, agent)) == {200}
    by_agent = {s["agent"]: s for s in web.get("/api/sessions")["sessions"] if s["cost_basis"]}
    assert {a: s["cost_basis"] for a, s in by_agent.items()} == {
        "claude": "reported", "codex": "estimated", "gemini": "unpriced"}
    page = open_app(phone, web)
    page.locator("details.ended summary").click()
    for agent, shown in (("claude", "tokens · <$0.01"), ("codex", "tokens · ≈<$0.01"), ("gemini", "tokens · cost n/a")):
        expect(page.locator(f"a[href='/s/{by_agent[agent]['id']}']")).to_contain_text(shown)
    assert page.js_errors == []


def test_manifest_parses_without_errors_and_icons_are_real(web, phone: BrowserContext) -> None:
    page = open_app(phone, web)
    result = phone.new_cdp_session(page).send("Page.getAppManifest")
    assert result["errors"] == []
    manifest = result["manifest"]
    assert manifest["name"] == "Agent Observatory"
    assert manifest["display"] == "kStandalone"
    assert manifest["startUrl"] == web.url + "/"
    sizes = {}
    for href in [i["url"] for i in manifest["icons"]] + [web.url + "/icons/apple-touch-icon.png"]:
        with urllib.request.urlopen(href) as resp:
            data = resp.read()
            assert resp.headers["Content-Type"] == "image/png"
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        sizes[href.rsplit("/", 1)[1]] = struct.unpack(">II", data[16:24])
    assert sizes == {"icon-192.png": (192, 192), "icon-512.png": (512, 512),
                     "icon-maskable-512.png": (512, 512), "apple-touch-icon.png": (180, 180)}
    with urllib.request.urlopen(result["url"]) as resp:  # CDP's parsed form leaves out "purpose"
        assert resp.headers["Content-Type"].startswith("application/manifest+json")
        raw = json.load(resp)
    assert {i["src"]: i["purpose"] for i in raw["icons"]}["icons/icon-maskable-512.png"] == "maskable"
    expect(page.locator("link[rel=apple-touch-icon]")).to_have_attribute("href", "/icons/apple-touch-icon.png")


def test_cache_headers(web) -> None:
    with urllib.request.urlopen(web.url + "/") as resp:
        html = resp.read().decode()
        assert resp.headers["Cache-Control"] == "no-cache"
    asset = html.split('type="module" src="', 1)[1].split('"', 1)[0]
    with urllib.request.urlopen(web.url + asset) as resp:
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    with urllib.request.urlopen(web.url + "/sw.js") as resp:
        assert resp.headers["Cache-Control"] == "no-cache"
    assert set(shell_config(web)) == {"vapidPublicKey", "basePath", "csrfToken"}


def test_push_shows_one_notification_per_session_with_deep_link(web, phone: BrowserContext) -> None:
    sid = post_hooks(web, "interactive-permission", until="PermissionRequest")
    page = open_app(phone, web)
    phone.grant_permissions(["notifications"], origin=web.url)
    cdp = phone.new_cdp_session(page)
    regs: dict[str, dict] = {}
    cdp.on("ServiceWorker.workerRegistrationUpdated",
           lambda e: regs.update({r["registrationId"]: r for r in e["registrations"]}))
    cdp.send("ServiceWorker.enable")
    sw_activated(page)
    reg_id = wait_for(lambda: next((r for r, v in regs.items()
                                    if v["scopeURL"] == web.url + "/" and not v["isDeleted"]), None),
                      what="service worker registration id")

    def push(title: str) -> None:
        payload = {"title": title, "body": "Bash: rm -rf build", "url": f"/s/{sid}", "tag": f"session-{sid}",
                   "kind": "approval_needed", "session_id": sid,
                   "actions": [{"action": "open", "title": "Open"}, {"action": "kill", "title": "Kill"}]}
        cdp.send("ServiceWorker.deliverPushMessage",
                 {"origin": web.url, "registrationId": reg_id, "data": json.dumps(payload)})

    read = """navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns =>
        ns.map(n => ({title: n.title, body: n.body, tag: n.tag, data: n.data, actions: n.actions.map(a => a.action)})))"""
    push("work needs approval")
    try:
        notes = wait_for(lambda: page.evaluate(read), timeout=5, what="notification")
    except AssertionError:  # once, in a loaded CI run, CDP dropped the first push to a fresh worker
        push("work needs approval")  # the same tag: a late first delivery is replaced, never stacked
        notes = wait_for(lambda: page.evaluate(read), what="notification")
    assert notes == [{"title": "work needs approval", "body": "Bash: rm -rf build", "tag": f"session-{sid}",
                      "data": {"url": f"/s/{sid}", "session_id": sid, "kind": "approval_needed"},
                      "actions": ["open", "kill"]}]
    push("work still needs approval")  # same session: replaces, never stacks
    wait_for(lambda: page.evaluate(read)[0]["title"] == "work still needs approval", what="replaced notification")
    assert len(page.evaluate(read)) == 1


def test_notification_click_target_is_computed_in_the_worker(web, phone: BrowserContext) -> None:
    page = open_app(phone, web)
    sw_activated(page)
    worker = wait_for(lambda: phone.service_workers, what="service worker")[0]
    target = worker.evaluate("self.resolveClickTarget({url: '/s/abc-123'}, '', self.registration.scope)")
    assert target == web.url + "/s/abc-123"
    kill = worker.evaluate("self.resolveClickTarget({url: '/s/abc-123'}, 'kill', self.registration.scope)")
    assert kill == web.url + "/s/abc-123?confirm=kill"
    # That confirm link opens the app's confirm dialog; nothing is killed without a tap on it.
    sid = post_hooks(web, "interactive-permission", until="PermissionRequest")
    page.goto(f"{web.url}/s/{sid}?confirm=kill")
    dialog = page.get_by_role("dialog", name="Kill this agent?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()


def test_offline_reload_shows_last_known_sessions(web, phone: BrowserContext) -> None:
    sid = post_hooks(web, "interactive-permission", until="PermissionRequest")
    page = open_app(phone, web)
    expect(page.locator(f"a[href='/s/{sid}']")).to_contain_text("Needs approval")
    sw_activated(page)
    phone.set_offline(True)
    page.reload()
    expect(page.get_by_role("status").filter(has_text="You are offline")).to_be_visible()
    expect(page.locator(f"a[href='/s/{sid}']")).to_contain_text("Needs approval")
    expect(page.locator(".conn")).to_have_text("Offline")
    phone.set_offline(False)
    expect(page.locator(".conn-open")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("You are offline")).to_have_count(0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(web, browser: Browser, playwright: Playwright, scheme: str) -> None:
    """Phone and desktop screenshots (build/e2e/) of a realistic mix of sessions."""
    post_hooks(web, "ok-json")
    post_hooks(web, "interactive-permission", until="PermissionRequest")
    post_hooks(web, "interactive-idle", until="Stop")
    post_hooks(web, "ok-json", until="PreToolUse", session_id="busy-session")
    post_hooks(web, "api-error-529", until="UserPromptSubmit", session_id="thinking-session")
    ctx = new_phone_context(browser, playwright, color_scheme=scheme)
    page = open_app(ctx, web)
    expect(page.locator(".cards[aria-label='Active sessions'] > li")).to_have_count(4)
    path = screenshot(page, f"sessions-phone-{scheme}.png")
    assert struct.unpack(">II", path.read_bytes()[16:24]) == (390 * 3, 844 * 3)
    page.goto(web.url + "/s/busy-session")
    expect(page.locator(".timeline li").first).to_be_visible()
    screenshot(page, f"session-phone-{scheme}.png")
    ctx.close()
    desk = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
    page = open_app(desk, web)
    expect(page.locator(".cards[aria-label='Active sessions'] > li")).to_have_count(4)
    screenshot(page, f"sessions-desktop-{scheme}.png")
    desk.close()


def test_timeline_of_10000_events_is_windowed_and_scrolls_smoothly(web, phone: BrowserContext) -> None:
    hooks = dict(fixture_hooks("ok-json"))
    sid = hooks["SessionStart"]["session_id"]
    post_many(web, "/hooks/claude", [hooks["SessionStart"], hooks["UserPromptSubmit"]] + [
        {**hooks["PreToolUse"], "tool_use_id": f"toolu_{i:06d}", "tool_input": {"command": f"echo {i}"}}
        for i in range(10_000)])
    page = open_app(phone, web, f"/s/{sid}")
    timeline = page.get_by_role("list", name="Timeline, 10002 events, newest first")
    expect(timeline).to_be_visible(timeout=30_000)
    expect(page.locator("h2", has_text="Timeline")).not_to_contain_text("loading", timeout=30_000)
    assert page.locator(".timeline li").count() < 60
    page.evaluate("""() => { window.__long = [];
        new PerformanceObserver(l => window.__long.push(...l.getEntries().map(e => e.duration)))
            .observe({type: 'longtask'}); }""")
    # Scroll through half the list in frame-sized steps, as a fast fling would.
    page.evaluate("""async () => {
        const top = document.querySelector('.timeline').getBoundingClientRect().top + scrollY;
        for (let y = 0; y <= 5000 * 64; y += 4000) {
            scrollTo(0, top + y);
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
        }
    }""")
    # Row 5000 from the top (newest first) is tool call number 10000 - 1 - 5000.
    expect(page.locator(".timeline li[aria-posinset='5001']")).to_contain_text("echo 4999")
    assert page.locator(".timeline li").count() < 60
    # Rendering all 10,000 rows would block for seconds; windowed steps stay far below that. The 50 ms
    # budget itself is measured by the benchmark on a quiet machine: shared CI cores inflate task times.
    long_tasks = page.evaluate("window.__long")
    (ARTIFACTS / "timeline-scroll-longtasks.json").write_text(json.dumps(long_tasks))
    assert max(long_tasks, default=0) < 250, long_tasks


def assert_scrolls_through(page: Page, sessions: set[str]) -> None:
    """Scrolled down half a screen at a time, the windowed active list shows every session once, in its place,
    with never more than a few screens of cards mounted, and ends with the last one on screen."""
    seen, most = page.evaluate("""async () => {
        const seen = {};
        let most = 0;
        for (let y = 0; ; y += innerHeight / 2) {
            scrollTo(0, y);
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
            const items = document.querySelectorAll(".cards[aria-label='Active sessions'] > li");
            most = Math.max(most, items.length);
            for (const li of items) seen[li.getAttribute('aria-posinset')] = li.querySelector('a').getAttribute('href');
            if (scrollY + innerHeight >= document.documentElement.scrollHeight - 1) return [seen, most];
        }
    }""")
    assert sorted(map(int, seen)) == list(range(1, len(sessions) + 1))
    assert set(seen.values()) == sessions
    assert most < 40, most
    expect(page.locator(f".cards li[aria-posinset='{len(sessions)}']")).to_be_in_viewport()


def test_sessions_list_of_200_is_windowed_and_every_session_is_reachable(web, phone: BrowserContext) -> None:
    post_many(web, "/hooks/claude", [{"session_id": f"w{i:03d}", "hook_event_name": "SessionStart",
                                      "cwd": f"/work/project-{i:03d}", "source": "startup"} for i in range(200)])
    waiting = post_hooks(web, "interactive-permission", until="PermissionRequest")
    page = open_app(phone, web)
    cards = page.locator(".cards[aria-label='Active sessions'] > li")
    expect(cards.first.locator("a")).to_have_attribute("href", f"/s/{waiting}")  # most urgent first
    expect(cards.first).to_have_attribute("aria-setsize", "201")
    expect(cards.first).to_have_attribute("aria-posinset", "1")
    assert cards.count() < 30  # a phone shows ~5 cards; the rest are not mounted
    everyone = {f"/s/{waiting}"} | {f"/s/w{i:03d}" for i in range(200)}
    assert_scrolls_through(page, everyone)
    # The same on a desktop-sized window, where the cards flow into a grid of columns.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.evaluate("scrollTo(0, 0)")
    assert_scrolls_through(page, everyone)
    page.set_viewport_size(PHONE_VIEWPORT)
    # Keyboard: Tab walks the cards in list order past the first window, Shift+Tab walks back.
    page.evaluate("scrollTo(0, 0)")
    cards.first.locator("a").focus()
    focused = "document.activeElement.closest('li')?.getAttribute('aria-posinset')"
    for _ in range(40):
        page.keyboard.press("Tab")
    assert page.evaluate(focused) == "41"
    for _ in range(40):
        page.keyboard.press("Shift+Tab")
    assert page.evaluate(focused) == "1"
    # Filters still apply to the whole list, not just the mounted part.
    page.get_by_label("Status").select_option("needs_you")
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("aria-setsize", "1")
    page.get_by_label("Status").select_option("all")
    expect(cards.first).to_have_attribute("aria-setsize", "201")
    assert page.js_errors == []


def test_costs_chart_and_table_from_real_usage(web, phone: BrowserContext) -> None:
    assert set(replay(web.post, FIXTURES / "claude-code" / "ok-json", "claude")) == {200}
    rows = web.get("/api/costs?days=30")["rows"]
    assert rows and rows[0]["cost_usd"] > 0
    page = open_app(phone, web, "/costs")
    expect(page.get_by_role("heading", level=1)).to_have_text("Costs · last 30 days")
    expect(page.get_by_role("img", name="Daily cost per model (the same numbers are in the table below)")
           .locator("canvas")).to_be_visible()
    row = page.get_by_role("table", name="Tokens and cost per model").get_by_role("row", name=rows[0]["model"])
    expect(row).to_contain_text("246")  # input tokens of the fixture's one API request
    expect(row).to_contain_text("<$0.01")
    screenshot(page, "costs-phone-light.png")


def test_alert_appears_live_and_is_acknowledged(paired, phone: BrowserContext) -> None:
    page = open_app(phone, paired, "/alerts")
    sid = post_hooks(paired, "interactive-permission", until="PermissionRequest")
    item = page.locator(".alert-item", has=page.locator(f"a[href='/s/{sid}']"))
    expect(item).to_contain_text("Needs approval")  # arrived over the WebSocket, no reload
    expect(page.get_by_role("link", name="Alerts (unacknowledged alerts)")).to_be_visible()
    item.get_by_role("button", name="Acknowledge").first.click()
    expect(item.first).to_contain_text("Acknowledged")
    alerts = [a for a in paired.get("/api/alerts")["alerts"] if a["session_id"] == sid]
    assert alerts and alerts[0]["acked_at"] is not None


STUB_PUSH = """(() => {
  const b64 = (n, first) => { const a = new Uint8Array(n); crypto.getRandomValues(a); if (first) a[0] = first;
    return btoa(String.fromCharCode(...a)).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, ''); };
  const wrap = (json, opts) => json && {endpoint: json.endpoint, options: opts, toJSON: () => json,
    unsubscribe: async () => { localStorage.removeItem('stub-push'); return true; }};
  PushManager.prototype.getSubscription = async function () {
    return wrap(JSON.parse(localStorage.getItem('stub-push')), {applicationServerKey: null}); };
  PushManager.prototype.subscribe = async function (opts) {
    window.__subscribeKey = btoa(String.fromCharCode(...new Uint8Array(opts.applicationServerKey)));
    const json = {endpoint: 'https://push.example.test/send/e2e', expirationTime: null,
                  keys: {p256dh: b64(65, 4), auth: b64(16)}};
    localStorage.setItem('stub-push', JSON.stringify(json));  // a real subscription outlives a reload
    return wrap(json, opts);
  };
})();"""


def test_settings_subscribe_toggle_kinds_and_unsubscribe(paired, phone: BrowserContext) -> None:
    """The real settings flow with the browser's push service stubbed (Chromium cannot reach FCM here)."""
    phone.add_init_script(STUB_PUSH)
    phone.grant_permissions(["notifications"], origin=paired.url)
    page = open_app(phone, paired, "/settings")
    sw_activated(page)
    expect(page.get_by_text("not subscribed")).to_be_visible()
    page.get_by_role("button", name="Turn on notifications").click()
    expect(page.get_by_role("status").filter(has_text="Notifications are on for this device.")).to_be_visible()
    expect(page.get_by_role("button", name="Turn off notifications")).to_be_visible()
    assert page.evaluate("window.__subscribeKey")  # the server's VAPID key was used

    stall = page.get_by_role("checkbox", name="Stall")
    was = stall.is_checked()
    stall.set_checked(not was)
    wait_for(lambda: paired.get("/api/settings/alerts")["kinds"]["stall"] is (not was), what="PUT settings")
    page.reload()
    expect(page.get_by_role("checkbox", name="Stall")).to_be_checked(checked=not was)

    page.get_by_role("button", name="Turn off notifications").click()
    expect(page.get_by_role("status").filter(has_text="Notifications turned off")).to_be_visible()
