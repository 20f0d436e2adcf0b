"""Group commit: writes that arrive together are committed in one transaction.

At hundreds of notifications a second, a transaction per write spends its time in BEGIN
and COMMIT and in building statements; here the writes of concurrent callers queue while a
transaction is under way and the next transaction takes all of them, with a few statements
for the whole batch. A caller of `submit` waits for the commit that holds its write, so
"written before it is sent" keeps its meaning. `add` queues a write nobody waits for (an
outbox row marked done): it goes with the next batch, or after `linger` seconds, so it
costs no transaction of its own.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Generic, Protocol, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from alertd.store.connection import StoreConnection
from alertd.store.db import StoreError

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger("alertd.store")

# Writes per transaction at most: bounds the statements' parameter lists (SQLite allows
# 32,766 parameters in one statement) and how long one transaction holds the writer.
MAX_BATCH = 500
LINGER = 0.5  # seconds a write nobody waits for may wait for company

Write = Callable[[StoreConnection, Sequence[T]], Awaitable[Sequence[R]]]
"""Writes a batch in the transaction given; returns one result per item, in order."""


class Transactions(Protocol):
    """Where a batch is written: a Database, or a connection kept for it (store/kept.py)."""

    def transaction(self, purpose: str, *, write: bool,
                    quick: bool = False) -> AbstractAsyncContextManager[StoreConnection]: ...


class GroupCommit(Generic[T, R]):
    def __init__(self, db: Transactions, purpose: str, write: Write[T, R], *,
                 linger: float = LINGER, inline: bool = False) -> None:
        self._db = db
        self._purpose = purpose
        self._write = write
        self._linger = linger
        # Whether a write with nothing to share its transaction commits in its caller's
        # task: for SQLite on the loop, where a commit never suspends
        # (store/sqlite_writer.py), so the writer's task would only add two turns of the
        # loop to the caller's wait.
        self._inline = inline
        self._queue: list[tuple[T, asyncio.Future[R] | None]] = []
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    async def submit(self, item: T) -> R:
        """Queue the write and wait until it is committed (its StoreError if it failed)."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        if self._inline and self._task is None and not self._queue:
            await self._commit([(item, future)])
            return future.result()  # the write's result, or its StoreError raised
        self._queue.append((item, future))
        # The writer starts on the next turn of the loop: writes queued in this turn (a
        # flush of many groups) share its first transaction.
        self._start()
        return await future

    def add(self, item: T) -> None:
        """Queue a write without waiting for it; a failure is logged."""
        self._queue.append((item, None))
        self._soon(self._linger)

    def _soon(self, delay: float) -> None:
        """Start the writer within `delay` seconds, unless it is running or due sooner."""
        if self._task is not None:
            return  # it takes what is queued when its transaction ends
        loop = asyncio.get_running_loop()
        if self._timer is not None:
            if self._timer.when() <= loop.time() + delay:
                return
            self._timer.cancel()
        self._timer = loop.call_later(delay, self._start)

    async def flush(self) -> None:
        """Commit whatever is queued now, and wait for it."""
        while self._queue or self._task is not None:
            self._start()
            if self._task is not None:
                await asyncio.shield(self._task)

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is None and self._queue:
            self._task = asyncio.get_running_loop().create_task(
                self._drain(), name=f"group commit: {self._purpose}")

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._commit(batch)
                if self._queue:
                    # A SQLite commit does not suspend (store/sqlite_writer.py): let the
                    # callers whose writes just landed, and everyone else, run before the
                    # next batch.
                    await asyncio.sleep(0)
        finally:
            self._task = None

    async def _commit(self, batch: list[tuple[T, asyncio.Future[R] | None]]) -> None:
        try:
            async with self._db.transaction(self._purpose, write=True) as conn:
                results = await self._write(conn, [item for item, _ in batch])
                if len(results) != len(batch):  # a bug in the write: nobody must hang
                    raise RuntimeError(f"{self._purpose}: {len(results)} results for "
                                       f"{len(batch)} writes")
        except Exception as exc:
            if len(batch) > 1 and not unavailable(exc):
                # One write the database (or its encoding) refuses must not fail the
                # others that happened to share its transaction: halve the batch until the
                # bad write is alone. A database that is down fails them all at once.
                half = len(batch) // 2
                await self._commit(batch[:half])
                await self._commit(batch[half:])
                return
            self._fail(batch, exc)
            return
        except BaseException as exc:
            self._fail(batch, exc)
            raise  # cancelled: the loop is closing
        for (_, future), result in zip(batch, results, strict=True):
            if future is not None and not future.done():  # its caller may have gone
                future.set_result(result)

    def _fail(self, batch: list[tuple[T, asyncio.Future[R] | None]],
              exc: BaseException) -> None:
        unawaited = 0
        for _, future in batch:
            if future is None:
                unawaited += 1
            elif not future.done():
                future.set_exception(exc)
        if unawaited:
            log.warning("%d writes lost (%s): %s", unawaited, self._purpose, exc)


def unavailable(exc: BaseException) -> bool:
    """Whether a failed write says the database cannot be written at all (down, locked,
    out of space), rather than that it refused this write."""
    cause: BaseException | None = exc.__cause__ if isinstance(exc, StoreError) else exc
    if cause is None:
        return True  # a StoreError of its own: nothing says the write was the problem
    if isinstance(cause, DBAPIError):
        if cause.connection_invalidated or isinstance(cause, (OperationalError,
                                                              InterfaceError)):
            return True
        cause = cause.orig
    return isinstance(cause, (sqlite3.OperationalError, sqlite3.InterfaceError, OSError,
                              TimeoutError))
