"""An agent that ignores SIGTERM: only SIGKILL stops it."""

import signal
import time

from fakeagent import announce

signal.signal(signal.SIGTERM, signal.SIG_IGN)
announce()
print("ignoring SIGTERM", flush=True)
while True:
    time.sleep(1)
