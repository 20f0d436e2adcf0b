"""How many cores this process may run on: where work is split between threads or
processes (the drift functions' sorting, the what-if's replays)."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, on Linux), at least one."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
