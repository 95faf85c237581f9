"""CPU per OTLP record of two checkouts, loaded at the same time.

This machine's speed swings by ~1.6x within minutes, so two runs one after the other cannot
show a 5% change. Here the base and the new server run side by side, each under its own load
generator, so both see the same phase of the machine; what is compared is the CPU each spent
per record (server + decode worker), not records/s. One JSON line per pair, then the median.

  git worktree add /tmp/base main~1
  .venv/bin/python bench/ab_cpu.py /tmp/base --pairs 4 [load generator arguments]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import LOADGEN, REPO, CpuMeter, emit, start_server


def pair(checkouts: dict[str, Path], loadgen_args: list[str], swap: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        servers = {name: start_server(Path(tmp) / name, checkout=path) for name, path in checkouts.items()}
        try:
            meters = {name: CpuMeter(s) for name, s in servers.items()}
            order = list(reversed(servers)) if swap else list(servers)
            loads = {name: subprocess.Popen([sys.executable, str(LOADGEN), "--url", servers[name].url,
                                             "--kind", "otlp-logs", "--path", "/v1/logs", *loadgen_args],
                                            stdout=subprocess.PIPE, text=True) for name in order}
            results = {name: json.loads(p.communicate()[0].strip().splitlines()[-1]) for name, p in loads.items()}
            return {name: {"rec_per_s": results[name]["rec_per_s"], **meter.per_record(results[name]["records_ok"])}
                    for name, meter in meters.items()}
        finally:
            for s in servers.values():
                s.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base", type=Path, help="the other checkout (e.g. a git worktree)")
    ap.add_argument("--pairs", type=int, default=4)
    opts, loadgen_args = ap.parse_known_args()  # the rest goes to the load generator
    loadgen_args = loadgen_args or ["--batch", "100", "--concurrency", "4", "--records", "100000"]
    ratios = []
    for i in range(opts.pairs):
        got = pair({"base": opts.base.resolve(), "new": REPO}, loadgen_args, swap=i % 2 == 1)
        total = {name: r["server_cpu_us_per_record"] + r["worker_cpu_us_per_record"] for name, r in got.items()}
        ratios.append(total["new"] / total["base"])
        emit({"scenario": "ab-cpu-pair", **got, "total_cpu_ratio": round(ratios[-1], 3)})
    emit({"scenario": "ab-cpu", "pairs": opts.pairs, "median_total_cpu_ratio": round(statistics.median(ratios), 3)})


if __name__ == "__main__":
    main()
