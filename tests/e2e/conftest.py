"""E2E fixtures: Debian's /usr/bin/chromium driven by Playwright against a real `observatory serve`.

The `server` fixture comes from tests/conftest.py. The PWA must be built first
(`bash scripts/build_frontend.sh`); without a build the shell answers 503 and these tests fail with
that message rather than skip, since a missing build is a real defect of the test run.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, Server, fixture_hooks

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Debian chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
                allow_module_level=True)

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright  # noqa: E402

CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = REPO / "build" / "e2e"
PHONE_VIEWPORT = {"width": 390, "height": 844}

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    """Package-scoped: Playwright's sync API runs an event loop in this thread, which must be
    gone before the asyncio tests of other folders start."""
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROME_ARGS)
    yield b
    b.close()


@pytest.fixture
def web(server: Server) -> Server:
    """The real server, checked to be serving the built PWA shell."""
    try:
        with urllib.request.urlopen(server.url + "/", timeout=10) as resp:
            body = resp.read().decode()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        if exc.code == 404:
            pytest.fail(f"GET / is 404: observatory.web.routes are not mounted in the app ({detail})")
        pytest.fail(f"GET / answered {exc.code}: {detail}")
    assert "window.__OBSERVATORY__" in body
    return server


def shell_config(server: Server) -> dict:
    """The runtime config the index shell injects (window.__OBSERVATORY__)."""
    with urllib.request.urlopen(server.url + "/", timeout=10) as resp:
        html = resp.read().decode()
    return json.loads(html.split("window.__OBSERVATORY__ = ", 1)[1].split(";</script>", 1)[0])


@pytest.fixture
def paired(web: Server) -> Server:
    """The server, when it pairs this local browser (cookie + CSRF token in the shell) so control calls work."""
    if not shell_config(web)["csrfToken"]:
        pytest.skip("the server gives the local browser no CSRF token yet (auth csrf_token_for not wired), "
                    "so POST /api/alerts/{id}/ack and /api/push/subscriptions answer 401")
    return web


def new_phone_context(browser: Browser, playwright: Playwright, color_scheme: str = "light",
                      **extra: Any) -> BrowserContext:
    """iPhone 13 (DPR 3, touch, mobile UA) with the full 390×844 screen as the viewport."""
    device = {k: v for k, v in playwright.devices["iPhone 13"].items() if k != "default_browser_type"}
    device.update(viewport=PHONE_VIEWPORT, color_scheme=color_scheme, **extra)
    return browser.new_context(**device)


@pytest.fixture
def phone(browser: Browser, playwright: Playwright) -> Iterator[BrowserContext]:
    ctx = new_phone_context(browser, playwright)
    yield ctx
    ctx.close()


def post_hooks(server: Server, scenario: str, until: str | None = None, session_id: str | None = None) -> str:
    """POST a scenario's hook payloads (up to and including event `until`); returns the session id.

    `session_id` rewrites the payloads' session so one scenario can make several sessions.
    """
    sid = None
    for name, payload in fixture_hooks(scenario):
        if session_id:
            payload = {**payload, "session_id": session_id}
        status, body, _ = server.post("/hooks/claude", payload)
        assert status < 300, (name, status, body)
        sid = payload["session_id"]
        if name == until:
            break
    assert sid
    return sid


def post_many(server: Server, path: str, payloads: list[dict]) -> None:
    """POST many JSON bodies over one keep-alive connection (thousands of hook events quickly)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        for payload in payloads:
            conn.request("POST", path, json.dumps(payload), {"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            assert resp.status < 300, (resp.status, payload)
    finally:
        conn.close()


def wait_for(fn: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def open_app(ctx: BrowserContext, server: Server, path: str = "/") -> Page:
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + path)
    page.wait_for_selector(".conn-open", timeout=10_000)  # the live WebSocket is up
    page.js_errors = errors  # type: ignore[attr-defined]
    return page


def sw_activated(page: Page) -> None:
    """Wait until the service worker is activated AND controls the page (ready can resolve while activating)."""
    page.evaluate("""async () => {
        const reg = await navigator.serviceWorker.ready;
        const w = reg.active;
        if (w.state !== 'activated')
            await new Promise(r => w.addEventListener('statechange', () => w.state === 'activated' && r()));
        if (!navigator.serviceWorker.controller)
            await new Promise(r => navigator.serviceWorker.addEventListener('controllerchange', r, {once: true}));
    }""")


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=False)
    return path
