"""SQLite's writer on the event loop.

SQLite writes run on the event loop, through a synchronous connection, one writer at a
time. SQLite is a library, not a server: a write transaction of a few rows costs it tens
of microseconds, while the asyncio driver hands every statement, BEGIN and COMMIT to its
thread and back, about a millisecond of CPU per transaction, most of it spent taking the
interpreter lock back and forth. Reads, which can be long scans (the noise report), stay on
the asyncio driver, off the loop; in WAL mode they never wait for the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy.engine import Connection, Engine

log = logging.getLogger("alertd.store")

# Seconds between checkpoints of SQLite's write-ahead log while it is written (see
# LoopWriter); SQLite's own would come every 1,000 pages, on the writer's commit.
CHECKPOINT_INTERVAL = 1.0


class LoopWriter:
    """SQLite's writer on the loop: one connection, kept open (checking a connection out of
    a pool and back costs more than a small transaction does).

    Its commits never checkpoint the WAL (copy it into the database file and sync it, which
    held the loop up to 15 ms at a time): a PASSIVE checkpoint runs in a thread, where it
    waits for nobody and nobody waits for it, at most once a CHECKPOINT_INTERVAL while
    commits come, and once more after the last of them.
    """

    def __init__(self, engine: Engine, path: str) -> None:
        self.engine = engine
        self.path = path
        self._conn: Connection | None = None
        self._checkpoint: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_checkpoint = 0.0  # monotonic
        self._dirty = False  # committed since the running checkpoint started

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.engine.connect()
        # The engine is in autocommit mode and the transaction is SQLite's own, begun and
        # ended here: SQLAlchemy's transaction machinery (events, pool bookkeeping) cost
        # more than the commit itself.
        raw: Any = self._conn.connection.driver_connection  # sqlite3.Connection
        raw.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            raw.execute("COMMIT")
        except BaseException:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            raise
        self._committed()

    def _committed(self) -> None:
        self._dirty = True
        if self._checkpoint is not None or self._timer is not None:
            return  # the running one or the one due picks this commit up
        wait = self._last_checkpoint + CHECKPOINT_INTERVAL - time.monotonic()
        if wait <= 0:
            self._start_checkpoint()
        else:
            self._timer = asyncio.get_running_loop().call_later(wait, self._start_checkpoint)

    def _start_checkpoint(self) -> None:
        self._timer = None
        self._dirty = False
        self._last_checkpoint = time.monotonic()
        self._checkpoint = asyncio.get_running_loop().create_task(
            self._run_checkpoint(), name="sqlite checkpoint")

    async def _run_checkpoint(self) -> None:
        try:
            await asyncio.to_thread(_checkpoint, self.path)
        except (sqlite3.Error, OSError) as exc:
            log.warning("sqlite %s: checkpoint failed (retried after the next write): %s",
                        self.path, exc)
        finally:
            self._checkpoint = None
        if self._dirty:
            self._dirty = False
            self._committed()  # commits made while it ran: the next one, in its time

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.engine.dispose()  # the last connection to close checkpoints what is left


def _checkpoint(path: str) -> None:
    # timeout=0: if a writer holds the lock, this checkpoint is skipped, not waited for.
    with contextlib.closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as conn:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
