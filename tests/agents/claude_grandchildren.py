"""An agent with a process tree: two grandchildren (like tool subprocesses) that sleep."""

import subprocess
import sys
import time

from fakeagent import announce

kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"]) for _ in range(2)]
announce(grandchildren=[k.pid for k in kids])
time.sleep(3600)
