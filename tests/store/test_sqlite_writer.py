"""SQLite writes on the event loop (store/sqlite_writer.py): a SQLite file's writes and
quick reads go through a kept synchronous connection, `execute_many` straight to sqlite3's
executemany (store/connection.py), and the write-ahead log is checkpointed in a thread; an
in-memory database has no such writer."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Double, MetaData, String, Table, bindparam, insert, update
from sqlalchemy.sql.base import Executable

from alertd.store import Store, sqlite_writer
from alertd.store import connection as store_connection
from alertd.store.db import Database, StoreError, open_database
from alertd.store.outbox import PENDING, OutboxRow, StateRow

md = MetaData()
item = Table(
    "item", md,
    Column("id", String, primary_key=True),
    Column("state", String, nullable=False),
    Column("score", Double),
)
# `score` has no declared type, hence no affinity: SQLite keeps an int given as an int, so a
# REAL read back means the writer converted it, as SQLAlchemy does for a Double.
DDL = "CREATE TABLE item (id TEXT PRIMARY KEY, state TEXT NOT NULL, score)"
SELECT = "SELECT id, state, score, typeof(score) FROM item ORDER BY id"


async def created(url: str) -> Database:
    database = open_database(url)
    async with database.transaction("create the table", write=True) as conn:
        await conn.exec_driver_sql(DDL)
    return database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await created(f"sqlite:///{tmp_path}/x.db")
    try:
        yield database
    finally:
        await database.dispose()


async def write(db: Database, statement: Executable, rows: Sequence[Mapping[str, Any]],
                purpose: str = "store the items") -> None:
    async with db.transaction(purpose, write=True) as conn:
        await conn.execute_many(statement, rows)


async def stored(db: Database, *, quick: bool = False) -> list[tuple[Any, ...]]:
    async with db.transaction("read the items", write=False, quick=quick) as conn:
        return [tuple(r) for r in (await conn.exec_driver_sql(SELECT)).all()]


def pending(id_: str, score: float | None = 1.0) -> dict[str, Any]:
    return {"id": id_, "state": "pending", "score": score}


async def test_rows_written_on_the_loop_read_back_with_an_int_stored_as_a_double(
        db: Database) -> None:
    assert db.inloop is not None
    await write(db, insert(item), [pending("a", 3), pending("b", 2.5), pending("c", None)])
    assert await stored(db) == [("a", "pending", 3.0, "real"), ("b", "pending", 2.5, "real"),
                                ("c", "pending", None, "null")]


async def test_literals_in_the_statement_apply_to_every_row(db: Database) -> None:
    await write(db, insert(item), [pending("a"), pending("b"), pending("c")])
    await write(db, update(item).where(item.c.id == "c"), [{"state": "failed"}])
    finish = update(item).where(item.c.id == bindparam("b_id"), item.c.state == PENDING).values(
        state="done", score=bindparam("b_score"))
    await write(db, finish, [{"b_id": "a", "b_score": 5}, {"b_id": "c", "b_score": 6}])
    assert await stored(db) == [("a", "done", 5.0, "real"), ("b", "pending", 1.0, "real"),
                                ("c", "failed", 1.0, "real")]


async def test_a_statement_is_compiled_once_per_set_of_keys(db: Database) -> None:
    statement = insert(item)
    before = len(store_connection._PLANS)
    for i in range(3):
        await write(db, statement, [pending(f"a{i}"), pending(f"b{i}")])
    assert len(store_connection._PLANS) == before + 1
    await write(db, statement, [{"id": "c", "state": "pending"}])  # no score: other keys
    await write(db, statement, [{"id": "d", "state": "pending"}])
    assert len(store_connection._PLANS) == before + 2
    assert len(await stored(db)) == 8


async def test_a_failed_write_names_the_database_and_rolls_back_the_whole_transaction(
        db: Database, tmp_path: Path) -> None:
    await write(db, insert(item), [pending("a")])
    with pytest.raises(StoreError) as failed:
        async with db.transaction("store the items", write=True) as conn:
            await conn.execute_many(insert(item), [pending("b")])
            await conn.execute_many(insert(item), [pending("c"), pending("a")])
    message = str(failed.value)
    assert message.startswith(f'database "{db.url}": cannot store the items: ')
    assert f"{tmp_path}/x.db" in message and "UNIQUE constraint failed: item.id" in message
    assert [r[0] for r in await stored(db)] == ["a"]
    await write(db, insert(item), [pending("b")])  # the writer works on
    assert [r[0] for r in await stored(db)] == ["a", "b"]


async def test_committed_rows_reach_the_database_file_itself_by_dispose(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_writer, "CHECKPOINT_INTERVAL", 0.0)
    path = tmp_path / "x.db"
    db = await created(f"sqlite:///{path}")
    await write(db, insert(item), [pending("a"), pending("b")])
    # Another connection keeps the database open (as another process reading it would): the
    # writer's close is not the last, which would checkpoint the log whatever alertd does.
    with contextlib.closing(sqlite3.connect(path)) as other:
        other.execute("SELECT count(*) FROM sqlite_master").fetchall()
        await db.dispose()
        (tmp_path / "copy").mkdir()
        shutil.copy(path, tmp_path / "copy" / "x.db")  # the file alone, not its -wal
    with contextlib.closing(sqlite3.connect(tmp_path / "copy" / "x.db")) as copy:
        assert copy.execute("SELECT id FROM item ORDER BY id").fetchall() == [("a",), ("b",)]


async def test_the_writer_leaves_checkpoints_to_alertd(db: Database) -> None:
    async with db.transaction("read a setting", write=True) as conn:
        assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 0


async def test_a_quick_read_sees_the_write_just_committed(db: Database) -> None:
    await write(db, insert(item), [pending("a", 2)])
    assert await stored(db, quick=True) == [("a", "pending", 2.0, "real")]


async def test_an_in_memory_database_has_no_loop_writer_and_still_writes_and_reads() -> None:
    db = await created("sqlite:///:memory:")
    try:
        assert db.inloop is None
        await write(db, insert(item), [pending("a", 2), pending("b")])
        assert await stored(db) == [("a", "pending", 2.0, "real"),
                                    ("b", "pending", 1.0, "real")]
        assert await stored(db, quick=True) == await stored(db)
    finally:
        await db.dispose()


async def test_an_in_memory_store_keeps_outbox_rows_and_receiver_state() -> None:
    store = await Store.open("sqlite:///:memory:")
    try:
        assert len(store.sync_engines) == 1  # no loop writer's engine
        await store.outbox.enqueue(OutboxRow("a", "s1", "team", "team/slack/0", "g", PENDING,
                                             100.0, 100.0, 0, "", {"alerts": []}))
        assert [r.id for r in await store.outbox.pending()] == ["a"]
        state = StateRow("k", "slack_page", "g", "team/slack/0", {"ts": "1.2"}, 10.0)
        await store.receiver_state.put(state)
        assert await store.receiver_state.get("k") == state
    finally:
        await store.close()


# Bugs found while writing the above, fixed since.

async def test_a_row_missing_a_parameter_is_an_error_not_a_null(db: Database) -> None:
    # SQLAlchemy's own path (and PostgreSQL's) refuses the row: "A value is required for
    # bind parameter 'b_score'"; the raw executemany path writes NULL in its place.
    await write(db, insert(item), [pending("a", 1.0)])
    rescore = update(item).where(item.c.id == bindparam("b_id")).values(
        score=bindparam("b_score"))
    with pytest.raises(StoreError):
        await write(db, rescore, [{"b_id": "a"}])
    assert await stored(db) == [("a", "pending", 1.0, "real")]


async def test_a_read_of_an_in_memory_database_waits_for_the_write_under_way() -> None:
    # One connection serves every transaction of an in-memory database (its pool is a
    # StaticPool): a read begun while a write was open used to fail, and returning its
    # connection rolled the write back. Reads now take their turn.
    db = await created("sqlite:///:memory:")
    writing, release = asyncio.Event(), asyncio.Event()

    async def slow_write() -> None:
        async with db.transaction("store the items", write=True) as conn:
            await conn.execute_many(insert(item), [pending("a")])
            writing.set()
            await release.wait()

    try:
        writer = asyncio.create_task(slow_write())
        await writing.wait()
        reader = asyncio.create_task(stored(db))
        await asyncio.sleep(0)
        assert not reader.done()
        release.set()
        await writer
        assert [r[0] for r in await reader] == ["a"]
        assert [r[0] for r in await stored(db)] == ["a"]
    finally:
        await db.dispose()
