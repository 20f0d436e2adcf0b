"""Where the rules' replays run: a thread of this process, or worker processes.

A rule's replays are all computation: over a busy quarter, a second or two per rule, for
up to ten rules. Off the event loop, one thread takes the rules one after another; with
more than one core and enough to replay, worker processes take them side by side, one
per core. Workers come from a fork server (a fresh interpreter with the worker's module
imported, forked for each worker), never from forking a daemon that runs threads.

Jobs are handed over one at a time, as soon as each is known (the recommendations start
the replays of the rules they guess while the report's figures are still being counted),
and one not yet begun can be called off.
"""

from __future__ import annotations

import asyncio
import copyreg
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import MappingProxyType
from typing import Any, Generic, TypeVar

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


def parallel(weight: int) -> int:
    """How many worker processes work of this weight deserves (0: the thread)."""
    cores = _cores()
    return cores if cores >= 2 and weight >= PARALLEL_MIN_WEIGHT else 0


class Workers(Generic[J, R]):
    """`work` (a module-level function: workers import it by name) done for each job
    handed over, in worker processes (`processes` of them) or, with none, in one thread.
    Close it when done: what has not begun is called off."""

    def __init__(self, work: Callable[[J], R], processes: int) -> None:
        self.work = work
        self.processes = processes
        self._pool: Executor | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="alertd-whatif")
        self._pending: set[asyncio.Future[R]] = set()

    async def submit(self, job: J) -> asyncio.Future[R]:
        """The job handed over; its result to await with `result`."""
        pool = await self._executor()
        try:
            # From a thread: handing the first job to a new pool starts its processes.
            future = await asyncio.to_thread(pool.submit, self.work, job)
        except (BrokenProcessPool, OSError) as exc:
            if pool is self._thread:
                raise
            # The processes could not start, or one died: the thread takes the rest.
            log.warning("replaying in one thread: worker processes cannot start: %s", exc)
            self._pool = self._thread
            future = self._thread.submit(self.work, job)
        wrapped = asyncio.wrap_future(future)
        self._pending.add(wrapped)
        wrapped.add_done_callback(self._pending.discard)
        return wrapped

    async def result(self, job: J, future: asyncio.Future[R]) -> R | BaseException:
        """What the job came to: its result, or the exception it raised. A job whose
        worker died (killed, out of memory) is done again, in the thread."""
        try:
            return await future
        except BrokenProcessPool:
            return await self._in_thread(job)
        except Exception as exc:
            return exc

    async def close(self) -> None:
        for future in list(self._pending):
            future.cancel()
        pools = {self._thread, *([self._pool] if self._pool is not None else [])}
        for pool in pools:
            await asyncio.to_thread(pool.shutdown, cancel_futures=True)

    async def _executor(self) -> Executor:
        if self._pool is None:
            self._pool = self._thread
            if self.processes:
                try:
                    self._pool = await asyncio.to_thread(self._processes)
                except OSError as exc:  # no /dev/shm, say: the thread then
                    log.warning("replaying in one thread: worker processes cannot start: "
                                "%s", exc)
        return self._pool

    def _processes(self) -> Executor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([self.work.__module__])
        return ProcessPoolExecutor(self.processes, mp_context=context)

    async def _in_thread(self, job: J) -> R | BaseException:
        try:
            return await asyncio.wrap_future(self._thread.submit(self.work, job))
        except Exception as exc:
            return exc
