"""Shared by the benchmarks: a real server subprocess and JSON-line output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
LOADGEN = REPO.parent / "shared" / "tools" / "loadgen" / "loadgen.py"
sys.path.insert(0, str(REPO / "tests"))

from serverproc import Server, start_server  # noqa: E402


def emit(record: dict) -> None:
    print(json.dumps(record, separators=(",", ":")), flush=True)


class CpuMeter:
    """CPU the server and its decode worker spend from now on, per record: steadier than
    records/s on a shared 2-core machine."""

    def __init__(self, server: Server) -> None:
        main = psutil.Process(server.proc.pid)
        self._procs = [main, *main.children(recursive=True)]
        self._start = self._seconds()

    def _seconds(self) -> list[float]:
        return [sum(p.cpu_times()[:2]) for p in self._procs]

    def per_record(self, records: int) -> dict[str, float]:
        used_us = [(b - a) * 1e6 / max(1, records) for a, b in zip(self._start, self._seconds())]
        return {"server_cpu_us_per_record": round(used_us[0], 1),
                "worker_cpu_us_per_record": round(sum(used_us[1:]), 1)}


__all__ = ["LOADGEN", "REPO", "CpuMeter", "Server", "emit", "start_server"]
