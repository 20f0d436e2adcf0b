"""What the repositories run their statements on: a connection in a transaction.

`StoreConnection` is the one shape they see, whether the transaction runs on the asyncio
driver (`as_store_connection`) or, for SQLite writes, on the event loop through a
synchronous connection (`InLoopConnection`, see sqlite_writer.py). The latter hands rows
of one statement straight to sqlite3's executemany, the statement compiled once.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement

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


class InLoopConnection:
    """A synchronous connection behind awaitable methods (see sqlite_writer.py)."""

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
