"""Server memory after storing 1,000,000 events (OTLP protobuf logs, 100 records per request).

`rss_mb` counts the server and its decode worker together: that is what the observatory holds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

from common import LOADGEN, emit, start_server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data")
        try:
            out = subprocess.run([sys.executable, str(LOADGEN), "--url", server.url, "--path", "/v1/logs",
                                  "--kind", "otlp-logs", "--batch", "100", "--concurrency", "4",
                                  "--records", str(opts.events), "--sessions", "500", "--max-seconds", "900"],
                                 capture_output=True, text=True, check=True)
            load = json.loads(out.stdout.strip().splitlines()[-1])
            health = server.get("/api/health")
            proc = psutil.Process(server.proc.pid)
            server_rss = proc.memory_info().rss
            worker_rss = sum(child.memory_info().rss for child in proc.children(recursive=True))
            db_size = sum(p.stat().st_size for p in (Path(tmp) / "data").glob("observatory.db*"))
        finally:
            server.stop()
    emit({"scenario": "rss-after-events", "events_stored": health["seq"], "sessions": health["sessions"],
          "rss_mb": round((server_rss + worker_rss) / 2**20, 1), "server_rss_mb": round(server_rss / 2**20, 1),
          "worker_rss_mb": round(worker_rss / 2**20, 1), "db_mb": round(db_size / 2**20, 1),
          "ingest_rec_per_s": load["rec_per_s"], "target": "rss_mb < 150"})


if __name__ == "__main__":
    main()
