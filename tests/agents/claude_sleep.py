"""A well-behaved agent: announces itself, prints, sleeps until told to stop (SIGTERM ends it)."""

import sys
import time

from fakeagent import announce

announce()
print("agent running", flush=True)
seconds = float(sys.argv[sys.argv.index("--sleep") + 1]) if "--sleep" in sys.argv else 3600
time.sleep(seconds)
print("agent done", flush=True)
