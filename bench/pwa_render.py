"""The PWA under load: 500 live sessions updating at 1,000 events/s in Debian's Chromium.

Opens the built sessions screen at a phone viewport, creates 500 sessions, then posts hook events
at a steady 1,000/s (a separate process, see live_latency.py) while a PerformanceObserver records
the main thread's long tasks. Prints one JSON line: the longest task and how many passed 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from playwright.sync_api import sync_playwright

from common import emit, start_server

CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-quic"]
OBSERVE = """() => { window.__long = [];
  new PerformanceObserver(l => window.__long.push(...l.getEntries().map(e => e.duration)))
    .observe({type: 'longtask'}); }"""


async def post_events(url: str, sessions: int, rate: float, seconds: float) -> None:
    """SessionStart for every session, then prompt/tool events round-robin at `rate` per second."""
    kinds = ["UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"]
    async with aiohttp.ClientSession() as http:
        async def post(body: dict) -> None:
            async with http.post(f"{url}/hooks/claude", json=body) as resp:
                await resp.read()
        await asyncio.gather(*(post({"session_id": f"s{i:03d}", "hook_event_name": "SessionStart",
                                     "cwd": f"/work/project-{i % 40}", "source": "startup"})
                               for i in range(sessions)))
        start = time.perf_counter()
        tasks = []
        for n in range(int(rate * seconds)):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sid = f"s{n % sessions:03d}"
            body = {"session_id": sid, "hook_event_name": kinds[(n // sessions) % 4], "cwd": "/work/p",
                    "tool_name": "Bash", "tool_input": {"command": f"step {n}"}, "tool_use_id": f"t{n // sessions}",
                    "prompt": f"task {n}", "prompt_id": f"p{n // sessions}"}
            tasks.append(asyncio.create_task(post(body)))
        await asyncio.gather(*tasks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sessions", type=int, default=500)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--post", help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.post:
        asyncio.run(post_events(opts.post, opts.sessions, opts.rate, opts.seconds))
        return
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROME_ARGS)
                page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
                page.goto(server.url + "/")
                page.wait_for_selector(".conn-open", timeout=15_000)
                page.evaluate(OBSERVE)
                poster = subprocess.run([sys.executable, __file__, "--post", server.url, "--sessions",
                                         str(opts.sessions), "--rate", str(opts.rate), "--seconds",
                                         str(opts.seconds)], check=True)
                page.wait_for_timeout(1000)
                long_tasks = page.evaluate("window.__long")
                cards = page.locator("ul.cards > li").count()
                shown = page.evaluate("document.body.innerText.length")
                browser.close()
        finally:
            server.stop()
    emit({"scenario": "pwa-500-sessions-1000-events-per-s", "sessions": opts.sessions, "rate_per_s": opts.rate,
          "seconds": opts.seconds, "poster_exit": poster.returncode, "cards": cards, "text_chars": shown,
          "long_tasks": len(long_tasks), "long_tasks_over_50ms": sum(1 for d in long_tasks if d > 50),
          "max_long_task_ms": round(max(long_tasks, default=0), 1), "target": "no main-thread task > 50 ms"})


if __name__ == "__main__":
    main()
