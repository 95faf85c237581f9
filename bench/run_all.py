"""Run every benchmark in turn; each prints JSON lines (see the README for the figures)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
for script in ("ingest.py", "live_latency.py", "rss.py", "alert_latency.py", "hook_latency.py",
               "approval_latency.py", "control_kill.py", "pwa_render.py", "pwa_budget.py"):
    if (HERE / script).exists():
        subprocess.run([sys.executable, str(HERE / script)], check=False)
