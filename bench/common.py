"""Shared by the benchmarks: a real server subprocess and JSON-line output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOADGEN = REPO.parent / "shared" / "tools" / "loadgen" / "loadgen.py"
sys.path.insert(0, str(REPO / "tests"))

from serverproc import Server, start_server  # noqa: E402


def emit(record: dict) -> None:
    print(json.dumps(record, separators=(",", ":")), flush=True)


__all__ = ["LOADGEN", "REPO", "Server", "emit", "start_server"]
