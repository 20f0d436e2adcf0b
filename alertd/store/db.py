"""The store's engine and tables: SQLite by default, PostgreSQL by URL.

The tables here are the schema the code reads and writes today; `migrations.py` builds it
step by step (and keeps its own frozen copy of each step, so old steps never change when
these tables do).

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
import functools
import logging
import operator
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

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
from sqlalchemy.engine import URL, Connection, CursorResult, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement

from alertd.errors import AlertdError
from alertd.model import Labels

log = logging.getLogger("alertd.store")

# Seconds between checkpoints of SQLite's write-ahead log while it is written (see
# _LoopWriter); SQLite's own would come every 1,000 pages, on the writer's commit.
CHECKPOINT_INTERVAL = 1.0


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


T = TypeVar("T")


class StoreConnection(Protocol):
    """What the repositories use of a connection in a transaction: an AsyncConnection,
    or for SQLite writes the synchronous connection behind the same awaitable calls."""

    async def execute(self, statement: Executable,
                      parameters: Any = None) -> CursorResult[Any]: ...

    async def exec_driver_sql(self, statement: str,
                              parameters: Any = None) -> CursorResult[Any]: ...

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T: ...

    async def execute_many(self, statement: Executable,
                           rows: Sequence[Mapping[str, Any]]) -> None:
        """An INSERT or UPDATE once per row, the rows all with the same keys."""


class _Async:
    """An AsyncConnection as a StoreConnection."""

    __slots__ = ("_conn",)

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        return await self._conn.execute(statement, parameters)

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> CursorResult[Any]:
        return await self._conn.exec_driver_sql(statement, parameters)

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._conn.run_sync(fn, *args)

    async def execute_many(self, statement: Executable,
                           rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            await self._conn.execute(statement, list(rows))


def as_store_connection(conn: AsyncConnection) -> StoreConnection:
    return _Async(conn)


class _InLoop:
    """A synchronous connection behind awaitable methods (see the module's docstring)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        return self._conn.execute(statement, parameters)

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> CursorResult[Any]:
        return self._conn.exec_driver_sql(statement, parameters)

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(self._conn, *args)

    async def execute_many(self, statement: Executable,
                           rows: Sequence[Mapping[str, Any]]) -> None:
        # Straight to sqlite3's executemany with the statement compiled once: SQLAlchemy's
        # own path costs some fifty microseconds a statement, more than SQLite's work.
        if not rows:
            return
        plan = _plan(statement, tuple(rows[0])) if isinstance(statement, ClauseElement) else None
        params = None if plan is None else plan.parameters(rows)
        if plan is None or params is None:
            # A parameter no row gives, or rows of different keys: SQLAlchemy's own path,
            # which says which value is missing.
            self._conn.execute(statement, list(rows))
            return
        raw: Any = self._conn.connection.driver_connection  # sqlite3.Connection
        raw.executemany(plan.sql, params)


_SQLITE = sqlite.dialect(paramstyle="qmark")
_PLANS: dict[tuple[int, tuple[str, ...]], tuple[ClauseElement, _Plan | None]] = {}


@dataclass(frozen=True, slots=True)
class _Plan:
    """A statement ready for sqlite3's executemany: its SQL, and how to make a row's
    parameters (in the SQL's order) from the row's mapping."""

    sql: str
    given: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # the row's values, in order
    fixed_at: tuple[tuple[int, Any], ...]  # (position, value) of literals, ascending
    convert_at: tuple[tuple[int, Callable[[Any], Any]], ...]  # SQLAlchemy's conversions

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[Sequence[Any]] | None:
        """Each row's parameters; None if a row lacks one."""
        try:
            if not self.fixed_at and not self.convert_at:
                return [self.given(row) for row in rows]
            out: list[Sequence[Any]] = []
            for row in rows:
                values = list(self.given(row))
                for i, value in self.fixed_at:
                    values.insert(i, value)
                for i, convert in self.convert_at:
                    values[i] = convert(values[i])
                out.append(values)
            return out
        except KeyError:
            return None


def _plan(statement: ClauseElement, keys: tuple[str, ...]) -> _Plan | None:
    """The statement as SQLite's SQL, with the values of the parameters the rows do not
    give (literals in the statement) and the conversions SQLAlchemy would apply to the
    others (float() for a Double); None if a parameter is neither given nor a literal."""
    key = (id(statement), keys)
    cached = _PLANS.get(key)
    if cached is not None and cached[0] is statement:
        return cached[1]
    compiled: Any = statement.compile(dialect=_SQLITE, column_keys=list(keys))
    names = tuple(compiled.positiontup or ())
    convert = {n: proc for n in names
               if (proc := compiled.binds[n].type.bind_processor(_SQLITE)) is not None}
    plan: _Plan | None = None
    if not any(compiled.binds[n].required for n in names if n not in keys):
        given = tuple(n for n in names if n in keys)
        fixed_at = tuple((i, convert[n](compiled.params[n]) if n in convert
                          else compiled.params[n]) for i, n in enumerate(names) if n not in keys)
        convert_at = tuple((i, convert[n]) for i, n in enumerate(names)
                           if n in keys and n in convert)
        plan = _Plan(str(compiled.string), _getter(given), fixed_at, convert_at)
    _PLANS[key] = (statement, plan)
    return plan


def _getter(names: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    # itemgetter of several names gives the tuple itself, in C; of one, the bare value.
    if len(names) > 1:
        return operator.itemgetter(*names)
    if names:
        name = names[0]
        return lambda row: (row[name],)
    return lambda row: ()


class _LoopWriter:
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


@dataclass(frozen=True, slots=True)
class Database:
    """An engine, and the URL to name it by in messages (its password hidden)."""

    engine: AsyncEngine
    url: str
    # The same engine, its transactions marked as writers (see _sqlite_begin).
    writer: AsyncEngine
    # A SQLite file's synchronous engine for writes on the loop (None: PostgreSQL, or an
    # in-memory database, which a second engine would not share).
    inloop: _LoopWriter | None = None
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
                        yield _InLoop(conn)
                return
            engine = self.writer if write else self.engine
            # SQLite: one writer at a time. An in-memory database is one connection that
            # everything shares, so its reads take turns too.
            lock = (self.write_lock if self.dialect == "sqlite" and (write or self.shared)
                    else contextlib.nullcontext())
            async with lock, engine.begin() as aconn:
                yield _Async(aconn)
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


def _inloop_engine(url: URL, shown: str) -> _LoopWriter:
    try:
        engine = create_engine(url.set(drivername="sqlite+pysqlite"), hide_parameters=True,
                               isolation_level="AUTOCOMMIT")  # see _LoopWriter.begin
    except (SQLAlchemyError, ImportError, TypeError, ValueError) as exc:
        raise StoreError(f'database "{shown}": cannot open: {reason(exc)}') from exc
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "connect", _no_autocheckpoint)
    return _LoopWriter(engine, str(url.database))


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")  # see _LoopWriter


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
