"""Instructions per record of two checkouts, counted by callgrind: an A/B that does not swing.

CPU time on this machine swings by ~1.6x within minutes, more than most single changes are
worth. Instructions executed do not: each checkout's server (and its decode worker) runs under
valgrind's callgrind, is sent a small and a large run of the load generator's records, and the
difference of the two counts, divided by the difference in records, is what one record costs
(start-up and shut-down cancel out). The load generator sends one request at a time by
default, so every commit holds one request in both checkouts. Repeated runs of one checkout
agree within ~0.5% for the decode worker and ~3.5% for the server, whose timers (snapshot
window, checkpoints, detector tick) fire more often per record under valgrind's slowness.

  git worktree add /tmp/base main~1
  .venv/bin/python bench/ab_instructions.py /tmp/base [--records 4000] [load generator arguments]

Needs valgrind (Debian: apt-get install valgrind). Timing inside valgrind is ~50x slower, so
what depends on wall time differs from a real run: compare checkouts with it, and measure
throughput with bench/ingest.py.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from common import LOADGEN, REPO, emit, start_server

COLLECTED = re.compile(r"==(\d+)== Collected : (\d+)")


def count(checkout: Path, records: int, loadgen_args: list[str]) -> dict[str, int]:
    """Instructions of the server process and of its children, for one run of `records`."""
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data", checkout=checkout, timeout=600, wrapper=(
            "valgrind", "--tool=callgrind", "--trace-children=yes", f"--callgrind-out-file={tmp}/cg.%p"))
        try:
            subprocess.run([sys.executable, str(LOADGEN), "--url", server.url, "--kind", "otlp-logs",
                            "--path", "/v1/logs", "--records", str(records), "--warmup", "0", "--timeout", "300",
                            "--max-seconds", "1200", *loadgen_args], check=True, capture_output=True)
        finally:
            server.stop(grace=600)
    counts = {int(pid): int(n) for pid, n in COLLECTED.findall("".join(server.output))}
    return {"server": counts.pop(server.proc.pid), "worker": sum(counts.values())}


def per_record(checkout: Path, records: int, loadgen_args: list[str]) -> dict[str, int]:
    small, large = count(checkout, records // 4, loadgen_args), count(checkout, records, loadgen_args)
    extra = records - records // 4
    return {part: (large[part] - small[part]) // extra for part in large}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base", type=Path, help="the other checkout (e.g. a git worktree)")
    ap.add_argument("--records", type=int, default=4000)
    opts, loadgen_args = ap.parse_known_args()  # the rest goes to the load generator
    loadgen_args = loadgen_args or ["--batch", "100", "--concurrency", "1"]
    got = {name: per_record(path, opts.records, loadgen_args)
           for name, path in (("base", opts.base.resolve()), ("new", REPO))}
    total = {name: parts["server"] + parts["worker"] for name, parts in got.items()}
    emit({"scenario": "ab-instructions", "loadgen": " ".join(loadgen_args), "records": opts.records,
          **{f"{name}_per_record": parts for name, parts in got.items()},
          "server_ratio": round(got["new"]["server"] / got["base"]["server"], 3),
          "total_ratio": round(total["new"] / total["base"], 3)})


if __name__ == "__main__":
    main()
