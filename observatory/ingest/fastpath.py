"""Ingest requests on the local listener go straight to their endpoint.

Hooks and OTLP exporters are the hot path (thousands of small requests a second from
agents on this machine). Gzip of the tiny answers and the local browser's pairing cookie
mean nothing to them, and neither do route regexes or the per-request exception wrappers
(the endpoints answer their own errors): all of that cost about a fifth of the server's CPU
per request. Only a POST to an exact ingest path takes the short way; anything else (a wrong
method, an unknown path) goes through the whole stack and gets its usual answer. The
remote listener keeps its policy in front of everything and never uses this.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]
HOOKS = "/hooks/"


class IngestFastPath:
    def __init__(self, app: ASGIApp, paths: dict[str, Endpoint], hook: Endpoint) -> None:
        self.app = app
        self.paths = paths  # exact path → endpoint
        self.hook = hook  # POST /hooks/{agent}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self._endpoint(scope)
            if endpoint is not None:
                response = await endpoint(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _endpoint(self, scope: Scope) -> Endpoint | None:
        path: str = scope["path"]
        endpoint = self.paths.get(path)
        if endpoint is None and path.startswith(HOOKS):
            agent = path[len(HOOKS):]
            if agent and "/" not in agent:
                scope["path_params"] = {"agent": agent}
                return self.hook
        return endpoint
