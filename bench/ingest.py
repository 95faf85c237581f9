"""Ingest throughput and latency with the shared load generator (client on the same 2 cores).

Each scenario runs against a fresh server with durable group commit and prints one JSON
line: the load generator's figures plus the scenario's target.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import LOADGEN, CpuMeter, emit, start_server

SCENARIOS = [
    # label, loadgen args, target description
    ("otlp-protobuf-b100-c4", ["--kind", "otlp-logs", "--path", "/v1/logs", "--batch", "100",
                               "--concurrency", "4", "--records", "200000"], "records_per_s >= 20000"),
    ("otlp-protobuf-b1-c20", ["--kind", "otlp-logs", "--path", "/v1/logs", "--batch", "1",
                              "--concurrency", "20", "--records", "20000"], "records_per_s >= 3000"),
    ("hook-c20", ["--kind", "hook", "--path", "/hooks/claude", "--batch", "1", "--concurrency", "20",
                  "--records", "20000"], "records_per_s >= 2000"),
    ("hook-c1", ["--kind", "hook", "--path", "/hooks/claude", "--batch", "1", "--concurrency", "1",
                 "--records", "5000"], "p99_ms < 5"),
]


def run(label: str, args: list[str], target: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data")
        try:
            cpu = CpuMeter(server)  # it includes warm-up
            out = subprocess.run([sys.executable, str(LOADGEN), "--url", server.url, "--label", label,
                                  "--max-seconds", "60", *args], capture_output=True, text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            result.update(cpu.per_record(result["records_ok"]))
            stored = server.get("/api/health")["ingested"]
        finally:
            server.stop()
    result.update({"scenario": label, "target": target, "events_stored": sum(
        v for k, v in stored.items() if k != "rejected_requests")})
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", help="run only scenarios whose label contains this")
    opts = ap.parse_args()
    for label, args, target in SCENARIOS:
        if opts.only and opts.only not in label:
            continue
        emit(run(label, args, target))


if __name__ == "__main__":
    main()
