"""The bg95sim package's tests: a real bg95sim on its real pty, a real bg95-pkgserver on
127.0.0.1. The package is used from this folder (not installed); the programs come from
--bg95sim-build DIR, BG95SIM_BUILD, the repository's build/ or PATH."""

import sys
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[1]
REPO = PYTHON_DIR.parent
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))

pytest_plugins = ["pytester", "bg95sim.pytest_plugin"]
