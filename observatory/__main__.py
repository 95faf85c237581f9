"""`python -m observatory …` runs the same CLI as the `observatory` console script."""

import sys

from observatory.cli import main

sys.exit(main())
