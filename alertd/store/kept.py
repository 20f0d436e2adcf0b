"""A PostgreSQL connection kept open in autocommit, for small writes that must land at once.

A transaction from the pool costs four round trips on PostgreSQL (the pool's ping, BEGIN,
the statement, COMMIT), and in a storm each of them waits for a turn of a busy event loop:
the outbox's done marks took 50 to 200 ms to commit, and a process killed meanwhile sent
all of those notifications again after its restart. Marks are idempotent single statements
(`UPDATE ... WHERE id = ...`), so they need no transaction of their own: on a connection
kept open in autocommit, a batch of them is one round trip (asyncpg pipelines an
executemany, and commits it as one).

SQLite writes run on the loop already (store/sqlite_writer.py): there, this is
`Database.transaction`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from alertd.store.connection import StoreConnection, as_store_connection
from alertd.store.db import Database, StoreError, reason

# A connection idle this long is pinged before use (one round trip), as the pool pings
# every connection it hands out: a PostgreSQL restart meanwhile must cost a reconnect, not
# a lost batch of marks. In a storm the connection is never idle that long.
IDLE_PING = 1.0


class KeptConnection:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self._used = 0.0  # monotonic time of the last use

    @contextlib.asynccontextmanager
    async def transaction(self, purpose: str, *, write: bool,
                          quick: bool = False) -> AsyncIterator[StoreConnection]:
        """Like Database.transaction; on PostgreSQL each statement commits by itself."""
        if self._db.dialect != "postgresql":
            async with self._db.transaction(purpose, write=write, quick=quick) as inloop:
                yield inloop
            return
        async with self._lock:
            try:
                yield as_store_connection(await self._connection())
                self._used = time.monotonic()
            except (SQLAlchemyError, OSError, TimeoutError) as exc:
                await self._drop()  # the next write connects again
                raise StoreError(f'database "{self._db.url}": cannot {purpose}: '
                                 f"{reason(exc)}") from exc

    async def _connection(self) -> AsyncConnection:
        conn = self._conn
        if conn is not None and not conn.closed and not conn.invalidated:
            if time.monotonic() - self._used < IDLE_PING:
                return conn
            try:
                await conn.exec_driver_sql("SELECT 1")
                return conn
            except (SQLAlchemyError, OSError, TimeoutError):
                await self._drop()
        self._conn = await self._db.engine.execution_options(
            isolation_level="AUTOCOMMIT").connect()
        return self._conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()
