"""Shared fixtures: a real `observatory serve` subprocess on an OS-picked 127.0.0.1 port."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serverproc import REPO, Server, start_server  # noqa: F401  (re-exported for tests)
FIXTURES = REPO.parent / "shared" / "fixtures"


@pytest.fixture
def server(tmp_path: Path):
    srv = start_server(tmp_path / "data")
    yield srv
    srv.stop()


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


def fixture_hooks(scenario: str) -> list[tuple[str, dict]]:
    """(event name, payload) of a Claude Code fixture scenario's hooks, in arrival order."""
    folder = FIXTURES / "claude-code" / scenario / "hooks"
    return [(p.stem.split("_", 1)[1], json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One server for many hypothesis examples (starting one per example would take minutes)."""
    srv = start_server(tmp_path_factory.mktemp("shared") / "data")
    yield srv
    srv.stop()
