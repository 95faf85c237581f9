"""Serving the built PWA (frontend/ + service-worker/ → observatory/static/ by scripts/build_frontend.sh).

How the index is made: Vite builds without an HTML entry and writes ``static/build-manifest.json``;
the committed jinja2 shell ``templates/index.html`` is rendered per request with the entry script,
its CSS and preloads read from that manifest, plus the runtime config
``window.__OBSERVATORY__ = {"vapidPublicKey", "basePath", "csrfToken"}``. basePath is the ASGI
``root_path`` (the prefix a proxy mounts the app under); asset URLs carry it too.

Caching: ``/assets/*`` are content-hashed → one year, immutable. The shell, ``/sw.js`` and the
manifest are ``no-cache`` so a new build is picked up at once; icons get one day.
When ``static/`` has not been built, the shell routes answer 503 with a JSON error saying how to build it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).parent / "templates"
ENTRY = "src/main.tsx"
NO_CACHE = {"Cache-Control": "no-cache"}
IMMUTABLE = "public, max-age=31536000, immutable"

_env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]))
_manifest_cache: dict[str, Any] = {"mtime": None, "assets": None}


def _assets() -> dict[str, Any] | None:
    """Entry script, CSS and preloads from Vite's build manifest (re-read when the build changes)."""
    path = STATIC_DIR / "build-manifest.json"
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    if _manifest_cache["mtime"] != mtime:
        manifest = json.loads(path.read_text())
        entry = manifest[ENTRY]
        css, preload, seen = list(entry.get("css", [])), [], set()
        stack = list(entry.get("imports", []))
        while stack:  # static imports of the entry, transitively
            key = stack.pop()
            if key in seen:
                continue
            seen.add(key)
            chunk = manifest[key]
            preload.append(chunk["file"])
            css.extend(c for c in chunk.get("css", []) if c not in css)
            stack.extend(chunk.get("imports", []))
        _manifest_cache.update(mtime=mtime, assets={"entry": entry["file"], "css": css, "preload": preload})
    return _manifest_cache["assets"]


def _script_json(value: Any) -> Markup:
    """JSON that is safe inside <script>: no "</script>", "<!--" or U+2028 can end or break it."""
    text = json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def runtime_config(request: Request) -> dict[str, Any]:
    obs = getattr(request.app.state, "obs", None)
    csrf_token_for = getattr(obs, "csrf_token_for", None)
    return {
        "vapidPublicKey": getattr(obs, "vapid_public_key", None),
        "basePath": request.scope.get("root_path", "").rstrip("/"),
        "csrfToken": csrf_token_for(request) if callable(csrf_token_for) else None,
    }


async def shell(request: Request) -> Response:
    assets = _assets()
    if assets is None:
        return JSONResponse(
            {"error": "The web app is not built: run `bash scripts/build_frontend.sh` (or `make frontend`)."},
            status_code=503,
        )
    config = runtime_config(request)
    html = _env.get_template("index.html").render(base=config["basePath"], config_json=_script_json(config), **assets)
    return HTMLResponse(html, headers=NO_CACHE)


def _static_file(name: str, media_type: str, cache_control: str) -> Route:
    async def endpoint(request: Request) -> Response:
        path = STATIC_DIR / name
        if not path.is_file():
            return JSONResponse({"error": f"{name} is missing: run `bash scripts/build_frontend.sh`."}, status_code=404)
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": cache_control})

    return Route(f"/{name}", endpoint, methods=["GET", "HEAD"])


class _HashedAssets(StaticFiles):
    """Vite's content-hashed files: cache for a year."""

    def file_response(self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = IMMUTABLE
        return response


class _Icons(StaticFiles):
    def file_response(self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response


routes: list[BaseRoute] = [
    Mount("/assets", app=_HashedAssets(directory=STATIC_DIR / "assets", check_dir=False), name="assets"),
    Mount("/icons", app=_Icons(directory=STATIC_DIR / "icons", check_dir=False), name="icons"),
    _static_file("sw.js", "text/javascript", "no-cache"),
    _static_file("manifest.webmanifest", "application/manifest+json", "no-cache"),
    _static_file("favicon.png", "image/png", "public, max-age=86400"),
    Route("/", shell, methods=["GET", "HEAD"]),
    Route("/s/{session_id}", shell, methods=["GET", "HEAD"]),
    Route("/alerts", shell, methods=["GET", "HEAD"]),
    Route("/settings", shell, methods=["GET", "HEAD"]),
    Route("/costs", shell, methods=["GET", "HEAD"]),
]
