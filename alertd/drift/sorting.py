"""Sorting the current windows of one evaluation on every core.

Sorting is most of the cost of the functions that need the order of the values (ks,
wasserstein): on the 2-core development machine, 100 windows of 10,000 values took 27 ms
of a 45 ms round of drift rules. NumPy's sort releases the GIL while it runs, so the
windows are split between the calling thread and a small pool, one thread per other core.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from alertd.cores import usable_cores
from alertd.drift.values import Window

# Below this many values in all, handing windows to threads costs more than it saves.
PARALLEL_MIN_VALUES = 100_000
# At most this many threads besides the caller; None: one per other core. (0 sorts in the
# calling thread only, as bench_drift.py does to show what the threads save.)
max_helpers: int | None = None

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def sort_windows(windows: Sequence[Window]) -> None:
    """Make the sorted sample of every window not sorted yet."""
    todo = [w for w in windows if not w.is_sorted]
    helpers = _helpers()
    if not helpers or sum(w.size for w in todo) < PARALLEL_MIN_VALUES:
        _sort(todo)
        return
    # Strided shares: windows of one model are of similar sizes, so each gets a fair part.
    shares = [todo[i::helpers + 1] for i in range(helpers + 1)]
    pool = _executor(helpers)
    futures = [pool.submit(_sort, share) for share in shares[1:]]
    _sort(shares[0])
    for future in futures:
        future.result()


def sort_threads() -> int:
    """How many threads sort the windows of one evaluation, the caller's included."""
    return _helpers() + 1


def _sort(windows: Sequence[Window]) -> None:
    for window in windows:
        _ = window.sample  # each window is in one share only: no two threads set it


def _helpers() -> int:
    """Threads besides the caller: one per other core this process may run on."""
    cores = usable_cores()
    return cores - 1 if max_helpers is None else min(max_helpers, cores - 1)


def _executor(helpers: int) -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(helpers, thread_name_prefix="alertd-drift-sort")
        return _pool
