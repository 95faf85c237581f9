"""Ingest requests on the local listener skip the browser middleware.

Hooks and OTLP exporters are the hot path (thousands of small requests a second from
agents on this machine); gzip of the tiny answers and the local browser's pairing cookie
mean nothing to them, yet wrapping every request costed a sixth of the server's CPU.
Only full matches take the short way: anything else (a wrong method, an unknown path)
goes through the whole stack and gets its usual answer. The remote listener keeps its
policy in front of everything and never uses this.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from observatory.auth.policy import is_ingest


class IngestFastPath:
    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_ingest(scope["path"]):
            for route in self.routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await self.app(scope, receive, send)
