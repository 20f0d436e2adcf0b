"""The store's engine and tables: SQLite by default, PostgreSQL by URL.

The tables here are the schema the code reads and writes today, beside those the
repositories define in the same MetaData; `migrations/` builds it step by step (and keeps
its own frozen copy of each step, so old steps never change when these tables do).

SQLite writes run on the event loop, one writer at a time (sqlite_writer.py, which says
why); reads stay on the asyncio driver, off the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import sqlite3
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Double,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from alertd.errors import AlertdError
from alertd.model import Labels
from alertd.store.connection import InLoopConnection, StoreConnection, as_store_connection
from alertd.store.sqlite_writer import LoopWriter


class StoreError(AlertdError):
    """The database could not be opened, read or written; the message names it."""


metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", Text, nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# One row per rule. Times are seconds since the epoch (float), as everywhere in alertd.
rule_state = Table(
    "rule_state", metadata,
    Column("rule", String, primary_key=True),
    Column("health", String, nullable=False),
    Column("last_error", Text),
    Column("last_eval", Double),
    Column("nodata", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# One row per alert instance of a rule, keyed by the fingerprint of its labels. `value` is
# the IEEE 754 double as 8 little-endian bytes: SQLite turns a NaN REAL into NULL, and the
# value of an alert may well be NaN.
alert_instance = Table(
    "alert_instance", metadata,
    Column("rule", String, nullable=False),
    Column("fingerprint", String, nullable=False),
    Column("labels", Text, nullable=False),
    Column("expr_labels", Text, nullable=False),
    Column("status", String, nullable=False),
    Column("active_at", Double, nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("fired_at", Double),
    Column("resolved_at", Double),
    Column("keep_firing_since", Double),
    Column("last_seen", Double),
    Column("nodata", Boolean, nullable=False),
    PrimaryKeyConstraint("rule", "fingerprint"),
    ForeignKeyConstraint(["rule"], ["rule_state.rule"]),
)

# The snapshot of the in-memory windows of pushed samples: one row per series, in the
# order they were given. Samples are packed arrays of little-endian doubles, which keep
# every bit (the stale-marker NaN included).
window_series = Table(
    "window_series", metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("labels", Text, nullable=False),
    Column("timestamps", LargeBinary, nullable=False),
    Column("sample_values", LargeBinary, nullable=False),
)

# An execution option naming a transaction that writes (see _sqlite_begin).
_WRITE = "alertd_write"

# The asyncio driver for a URL that names none (sqlite:///..., postgresql://...).
_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


@dataclass(frozen=True, slots=True)
class Database:
    """An engine, and the URL to name it by in messages (its password hidden)."""

    engine: AsyncEngine
    url: str
    # The same engine, its transactions marked as writers (see _sqlite_begin).
    writer: AsyncEngine
    # A SQLite file's synchronous engine for writes on the loop (None: PostgreSQL, or an
    # in-memory database, which a second engine would not share).
    inloop: LoopWriter | None = None
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def shared(self) -> bool:
        """An in-memory SQLite database: one connection for every transaction."""
        return self.dialect == "sqlite" and self.inloop is None

    @asynccontextmanager
    async def transaction(self, purpose: str, *, write: bool,
                          quick: bool = False) -> AsyncIterator[StoreConnection]:
        """A connection in a transaction, committed at the end unless the body raised.

        `quick` says a read looks up a few rows by key: with SQLite it runs on the loop, as
        writes do, rather than paying the asyncio driver's round trips.
        Database errors become StoreError("database "<url>": cannot <purpose>: <reason>").
        """
        try:
            if (write or quick) and self.inloop is not None:
                # One writer at a time, queued here rather than in SQLite's busy handler.
                async with self.write_lock:
                    with self.inloop.begin() as conn:
                        yield InLoopConnection(conn)
                return
            engine = self.writer if write else self.engine
            # SQLite: one writer at a time. An in-memory database is one connection that
            # everything shares, so its reads take turns too.
            lock = (self.write_lock if self.dialect == "sqlite" and (write or self.shared)
                    else contextlib.nullcontext())
            async with lock, engine.begin() as aconn:
                yield as_store_connection(aconn)
        except (SQLAlchemyError, sqlite3.Error, OSError, TimeoutError) as exc:
            raise StoreError(f'database "{self.url}": cannot {purpose}: {reason(exc)}') from exc

    @asynccontextmanager
    async def driver(self, purpose: str) -> AsyncIterator[Any]:
        """The driver's own connection (aiosqlite's or asyncpg's), from the pool and in no
        transaction: for reads of many rows, one statement at a time, where SQLAlchemy's
        rows would cost more than the database's work (the history pages). Not for an
        in-memory SQLite database, whose one connection is shared (see `transaction`).
        Database errors become StoreError, as in `transaction`."""
        errors: tuple[type[BaseException], ...] = (SQLAlchemyError, sqlite3.Error, OSError,
                                                    TimeoutError)
        if self.dialect == "postgresql":
            import asyncpg  # type: ignore[import-untyped]  # loaded already: the driver

            errors += (asyncpg.PostgresError, asyncpg.InterfaceError)
        try:
            async with self.engine.connect() as aconn:
                raw = await aconn.get_raw_connection()
                yield raw.driver_connection
        except errors as exc:
            raise StoreError(f'database "{self.url}": cannot {purpose}: {reason(exc)}') from exc

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.inloop is not None:
            await self.inloop.close()


def open_database(url: str) -> Database:
    """An engine for `url` (no connection is made yet); the SQLite file's directory is made."""
    parsed = parse_url(url)
    shown = safe_url(parsed)
    if parsed.get_backend_name() == "sqlite":
        _make_directory(parsed, shown)
    try:
        engine = create_async_engine(
            parsed,
            # Statement parameters are labels and sample arrays: never in logs or errors.
            hide_parameters=True,
            # A PostgreSQL restart must not leave the daemon with dead pooled connections.
            pool_pre_ping=parsed.get_backend_name() == "postgresql",
        )
    except (SQLAlchemyError, ImportError, TypeError, ValueError) as exc:
        raise StoreError(f'database "{shown}": cannot open: {reason(exc)}') from exc
    inloop = None
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        if _is_file(parsed):
            inloop = _inloop_engine(parsed, shown)
    return Database(engine, shown, engine.execution_options(**{_WRITE: True}), inloop)


def _is_file(url: URL) -> bool:
    database = url.database
    return bool(database) and database != ":memory:" and url.query.get("uri") != "true"


def _inloop_engine(url: URL, shown: str) -> LoopWriter:
    try:
        engine = create_engine(url.set(drivername="sqlite+pysqlite"), hide_parameters=True,
                               isolation_level="AUTOCOMMIT")  # see LoopWriter.begin
    except (SQLAlchemyError, ImportError, TypeError, ValueError) as exc:
        raise StoreError(f'database "{shown}": cannot open: {reason(exc)}') from exc
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "connect", _no_autocheckpoint)
    return LoopWriter(engine, str(url.database))


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")  # see LoopWriter


def parse_url(url: str) -> URL:
    """The URL, with the asyncio driver filled in for a bare sqlite:// or postgresql://."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f'invalid database url "{_mask(url)}"') from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f'database "{safe_url(parsed)}": unsupported database "{backend}" '
                         '(alertd stores its state in sqlite or postgresql)')
    if "+" not in parsed.drivername:
        parsed = parsed.set(drivername=_DRIVERS[backend])
    elif parsed.get_backend_name() != backend:
        parsed = parsed.set(drivername=f"{backend}+{driver}")
    return parsed


def safe_url(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _mask(url: str) -> str:
    """A URL that could not be parsed, with whatever looks like a password hidden."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def _make_directory(url: URL, shown: str) -> None:
    if not _is_file(url):
        return
    parent = Path(str(url.database)).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f'database "{shown}": cannot create directory "{parent}": '
                         f"{exc.strerror or exc}") from exc


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 module, which would not begin a transaction before
    # a SELECT or a CREATE TABLE: SQLAlchemy emits it (_sqlite_begin), so that reads see
    # one snapshot and migrations are atomic.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # WAL: readers never block the writer, and a crash mid-write leaves the last commit.
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL syncs at checkpoints rather than at every commit: a killed
        # process loses nothing committed; a power cut may lose the last commits, never
        # the database (https://sqlite.org/pragma.html#pragma_synchronous).
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A writer takes the write lock up front (and waits for it): a deferred transaction
    # that reads first could not upgrade its lock once another writer has committed.
    immediate = conn.get_execution_options().get(_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@functools.cache
def upsert(dialect: str, table: Table, keys: tuple[str, ...], keep: tuple[str, ...] = ()) -> Any:
    """INSERT ... ON CONFLICT (keys) DO UPDATE every other column but those in `keep`, for
    SQLite or PostgreSQL.

    Columns left out of the parameters take their server default on update too. Built once
    per table: SQLAlchemy does not find a new ON CONFLICT statement in its compiled cache,
    and compiling it again cost a millisecond at every write.
    """
    stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    updates = {c.name: stmt.excluded[c.name] for c in table.columns
               if c.name not in keys and c.name not in keep}
    return stmt.on_conflict_do_update(index_elements=[table.c[k] for k in keys], set_=updates)


def encode_labels(labels: Mapping[str, str]) -> str:
    items = labels.items_tuple if isinstance(labels, Labels) else sorted(labels.items())
    # The same text json.dumps(ensure_ascii=False, compact) gives, several times faster.
    return orjson.dumps(dict(items)).decode()


@functools.lru_cache(maxsize=8192)
def decode_labels(text: str) -> Labels:
    """Labels from their stored JSON. Cached: the events of one alert (a report reads a
    million events of a few thousand alerts) share their text, and Labels are immutable."""
    data = orjson.loads(text)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"labels are not an object of strings: {text!r}")
    return Labels(data)


def reason(exc: BaseException) -> str:
    """The driver's own words, without SQLAlchemy's statement dump or class prefixes."""
    inner: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        inner = exc.orig
    text = str(inner).strip() or type(inner).__name__
    text = re.sub(r"^<class '[\w.]+'>:\s*", "", text)
    text = re.sub(r"^\([\w.]+\)\s*", "", text)
    return text.splitlines()[0]
