"""Time is passed in, never read inside logic: components take a Clock."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class FakeClock:
    """A clock that only moves when told to; tests use it instead of sleeping."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._now += seconds

    def set(self, at: float) -> None:
        self._now = at


async def wait_woken(wake: asyncio.Event, timeout: float | None) -> None:
    """Until `wake` is set or `timeout` seconds (of the loop's clock) have passed.

    What asyncio.wait_for(wake.wait(), timeout) does, without a task per call: the run
    loops wait like this once per alert at high rates."""
    handle = None if timeout is None else asyncio.get_running_loop().call_later(
        timeout, wake.set)
    try:
        await wake.wait()
    finally:
        if handle is not None:
            handle.cancel()
