"""An interactive agent: reports whether it owns the terminal, then waits for Ctrl-C."""

import os
import signal
import sys
import time

from fakeagent import announce

fd = sys.stdin.fileno()
tty = os.isatty(fd)
announce(isatty=tty, foreground=tty and os.tcgetpgrp(fd) == os.getpgrp())
print("ready", flush=True)
try:
    while True:
        time.sleep(1)
except KeyboardInterrupt:
    print("got Ctrl-C", flush=True)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
