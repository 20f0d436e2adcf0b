"""The daemon's periodic tasks: snapshots of the sample windows, the watch of rule and
config files, the probe of Prometheus."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def every(interval: Callable[[], float], action: Callable[[], Awaitable[object]], *,
                first: bool = False) -> None:
    """Run `action` every `interval()` seconds until cancelled (at once too with `first`).

    The interval is read at each round, so that a reload's new one applies at the next.
    """
    if first:
        await action()
    while True:
        await asyncio.sleep(interval())
        await action()


def start(tasks: list[asyncio.Task[None]], name: str, interval: Callable[[], float],
          action: Callable[[], Awaitable[object]], *, first: bool = False) -> None:
    tasks.append(asyncio.create_task(every(interval, action, first=first), name=name))
