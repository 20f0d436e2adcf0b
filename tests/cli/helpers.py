"""The command line as users run it: `python -m alertd` in a process of its own, so that
exit codes, standard output and standard error are what a shell sees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def alertd(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # Warnings of the libraries (deprecations) would be mixed into the output under test.
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "alertd", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, input=stdin, timeout=120)
