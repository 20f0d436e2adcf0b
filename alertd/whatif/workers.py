"""Where the rules' replays run: a thread of this process, or worker processes.

A rule's replays are all computation: over a busy quarter, a second or two per rule, for
up to ten rules. Off the event loop, one thread takes the rules one after another; with
more than one core and enough to replay, worker processes take them side by side, one
per core, up to one per rule. Workers come from a fork server (a fresh interpreter with
the worker's module imported, forked for each worker), never from forking a daemon that
runs threads.
"""

from __future__ import annotations

import asyncio
import copyreg
import logging
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import MappingProxyType
from typing import Any, TypeVar

from alertd.cores import usable_cores

log = logging.getLogger("alertd.whatif")

_cores = usable_cores  # a name of this module's, which tests replace

J = TypeVar("J")
R = TypeVar("R")

# Below this much work in all (the jobs' weights: recorded transitions, a busy rule's
# quarter holds a couple of thousand, replayed in a second or two), starting the workers
# (a fraction of a second) costs more than it saves.
PARALLEL_MIN_WEIGHT = 2_000


def _proxy(mapping: MappingProxyType[Any, Any]
           ) -> tuple[Callable[[dict[Any, Any]], MappingProxyType[Any, Any]],
                      tuple[dict[Any, Any]]]:
    return read_only, (dict(mapping),)


def read_only(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    """A pickled read-only mapping made again (pickle finds this function by name; the
    type itself it cannot find)."""
    return MappingProxyType(mapping)


# alertd's frozen values hold read-only mappings, which pickle does not know; a job and
# its result go to a worker and back as pickles.
copyreg.pickle(MappingProxyType, _proxy)


async def run_all(jobs: Sequence[J], work: Callable[[J], R],
                  weight: Callable[[J], int]) -> list[R | BaseException]:
    """`work` of each job (a module-level function: workers import it by name), in
    order; an exception a job raised in its place."""
    cores = _cores()
    if cores < 2 or len(jobs) < 2 or sum(weight(j) for j in jobs) < PARALLEL_MIN_WEIGHT:
        return [await _in_thread(work, job) for job in jobs]
    try:
        results = await _in_workers(jobs, work, min(cores, len(jobs)))
    except OSError as exc:  # no worker could start (no /dev/shm, say): the thread then
        log.warning("replaying in one thread: worker processes cannot start: %s", exc)
        results = [BrokenProcessPool(str(exc))] * len(jobs)
    # A job whose worker died (killed, out of memory) is done again here, in the thread.
    return [await _in_thread(work, job) if isinstance(result, BrokenProcessPool) else result
            for job, result in zip(jobs, results, strict=True)]


async def _in_workers(jobs: Sequence[J], work: Callable[[J], R],
                      count: int) -> list[R | BaseException]:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([work.__module__])
    pool = ProcessPoolExecutor(count, mp_context=context)
    try:
        loop = asyncio.get_running_loop()
        return list(await asyncio.gather(
            *(loop.run_in_executor(pool, work, job) for job in jobs),
            return_exceptions=True))
    finally:
        await asyncio.to_thread(pool.shutdown)


async def _in_thread(work: Callable[[J], R], job: J) -> R | BaseException:
    try:
        return await asyncio.to_thread(work, job)
    except Exception as exc:
        return exc
