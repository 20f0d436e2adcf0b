"""The store's tests run once per backend: SQLite in a temporary directory, and PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432 (user postgres), or the one ALERTD_TEST_POSTGRES
names (a postgresql:// URL to a database to connect to for administration). A database
with a random name is created for the test session and dropped at its end; every test
starts from an empty schema. When PostgreSQL cannot be reached the tests fail: they never
skip, since a store that only works on SQLite is not what ships.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from alertd.store import Store

ADMIN_URL = os.environ.get("ALERTD_TEST_POSTGRES",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
# A password for the URLs the store is given (trust authentication ignores it): error
# messages must never show it.
PG_PASSWORD = make_url(ADMIN_URL).password or "pg-s3cret-do-not-show"

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    # Sync fixtures run outside the tests' event loop; a private loop leaves that one alone.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


async def _execute(database: str | None, *statements: str) -> None:
    url = make_url(ADMIN_URL).set(drivername="postgresql+asyncpg")
    if database is not None:
        url = url.set(database=database)
    # CREATE and DROP DATABASE cannot run in a transaction.
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", connect_args={"timeout": 10})
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def pg_url(database: str, *, driver: str = "postgresql+asyncpg") -> str:
    url = make_url(ADMIN_URL).set(drivername=driver, database=database, password=PG_PASSWORD)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """The name of a fresh PostgreSQL database for this test session."""
    name = f"alertd_test_{secrets.token_hex(6)}"
    problem = None
    try:
        _run(_execute(None, f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError, SQLAlchemyError) as exc:
        problem = str(exc).splitlines()[0]
    if problem is not None:
        shown = make_url(ADMIN_URL).render_as_string(hide_password=True)
        pytest.fail(f"PostgreSQL is not reachable at {shown} ({problem}): the store tests "
                    "need it; start it, or set ALERTD_TEST_POSTGRES to a postgresql:// URL",
                    pytrace=False)
    yield name
    _run(_execute(None, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    param: str = request.param
    return param


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An async SQLAlchemy URL to an empty database (the SQLite file's directory is absent)."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'state' / 'alertd.db'}"
    name: str = request.getfixturevalue("pg_database")
    _run(_execute(name, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public"))
    return pg_url(name)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(db_url)
    try:
        yield opened
    finally:
        await opened.close()
