"""An agent that crashes: announces itself, then exits with code 3."""

import sys
import time

from fakeagent import announce

announce()
time.sleep(float(sys.argv[sys.argv.index("--after") + 1]) if "--after" in sys.argv else 0.2)
sys.exit(3)
