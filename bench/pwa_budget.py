"""The PWA's first-load budget and its Lighthouse scores, measured on the built app.

First load: the sessions screen opened once in Debian's Chromium at a phone viewport with an
empty cache; every script and stylesheet it fetched is summed as transferred (gzip, as served).
Lighthouse (npm, mobile form factor, simulated throttling) then audits the same URL; it is
installed on first use into ~/.cache/agent-observatory/lighthouse. Prints one JSON line each.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from common import emit, start_server
from pwa_render import CHROME_ARGS

LIGHTHOUSE = "lighthouse@12.8.2"
LIGHTHOUSE_DIR = Path.home() / ".cache" / "agent-observatory" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"


def first_load(url: str) -> dict:
    fetched: list[tuple[str, str, int, str]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        page.on("requestfinished", lambda req: fetched.append(
            (req.resource_type, req.url, req.sizes()["responseBodySize"],
             (req.response().headers.get("content-encoding") if req.response() else None) or "identity")))
        page.goto(url + "/")
        page.wait_for_selector(".conn-open", timeout=15_000)
        page.wait_for_load_state("networkidle")
        browser.close()
    code = [f for f in fetched if f[0] in ("script", "stylesheet")]
    return {"scenario": "pwa-first-load", "files": len(code),
            "js_css_transferred_kb": round(sum(f[2] for f in code) / 1024, 1),
            "all_compressed": all(f[3] in ("gzip", "br") for f in code if f[2] > 1024),
            "largest": sorted(((f[1].rsplit("/", 1)[-1], round(f[2] / 1024, 1)) for f in code),
                              key=lambda x: -x[1])[:3],
            "target": "js_css_transferred_kb <= 150"}


def lighthouse_cli() -> Path:
    cli = LIGHTHOUSE_DIR / "node_modules" / "lighthouse" / "cli" / "index.js"
    if not cli.exists():
        print(f"installing {LIGHTHOUSE} into {LIGHTHOUSE_DIR} (once)…", flush=True)
        LIGHTHOUSE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(LIGHTHOUSE_DIR), "--no-audit", "--no-fund",
                        LIGHTHOUSE], check=True)
    return cli


def lighthouse(url: str) -> dict:
    cli = lighthouse_cli()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(["node", str(cli), url + "/", f"--chrome-path={CHROMIUM}",
                        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
                        "--only-categories=performance,accessibility,best-practices",
                        "--output=json", f"--output-path={report}", "--quiet"], check=True)
        result = json.loads(report.read_text())
    scores = {k: round(v["score"] * 100) for k, v in result["categories"].items() if v["score"] is not None}
    audits = result["audits"]
    return {"scenario": "lighthouse-mobile", **scores,
            "fcp_ms": round(audits["first-contentful-paint"]["numericValue"]),
            "lcp_ms": round(audits["largest-contentful-paint"]["numericValue"]),
            "tbt_ms": round(audits["total-blocking-time"]["numericValue"]),
            "cls": round(audits["cumulative-layout-shift"]["numericValue"], 3),
            "target": "performance >= 90 and accessibility >= 90"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--no-lighthouse", action="store_true", help="only the first-load size")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data")
        try:
            emit(first_load(server.url))
            if not opts.no_lighthouse:
                emit(lighthouse(server.url))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
