"""The agent adapters, by name and by the OTLP resource `service.name` each agent sends."""

from __future__ import annotations

from observatory.agents.base import Adapter
from observatory.agents.claude import ADAPTER as CLAUDE
from observatory.agents.codex import ADAPTER as CODEX
from observatory.agents.gemini import ADAPTER as GEMINI

ADAPTERS: dict[str, Adapter] = {a.name: a for a in (CLAUDE, CODEX, GEMINI)}
_BY_SERVICE: dict[str, Adapter] = {s: a for a in ADAPTERS.values() for s in a.service_names}


def get(name: str) -> Adapter | None:
    return ADAPTERS.get(name)


def by_service_name(service_name: str) -> Adapter | None:
    """`claude-code`, `codex_exec` / `codex_cli_rs` (exec / TUI), `gemini-cli`."""
    return _BY_SERVICE.get(service_name)


# Adapters whose OTLP mapping remembers earlier records (Gemini numbers repeated content): their
# bodies are always normalised in the server, so that memory lives in one process.
STATEFUL_SERVICES: frozenset[str] = frozenset(
    s for a in ADAPTERS.values() if getattr(a, "otlp_keeps_state", False) for s in a.service_names)
