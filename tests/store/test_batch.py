"""Group commit (store/batch.py) against a fake database that records its transactions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest

from alertd.store.batch import MAX_BATCH, GroupCommit
from alertd.store.db import StoreError


class FakeDatabase:
    """Records the items of every committed transaction; can hold one open or fail it."""

    def __init__(self) -> None:
        self.committed: list[list[Any]] = []
        self.failures = 0  # how many of the next transactions fail at commit
        self.gate: asyncio.Event | None = None  # transactions wait for it before committing
        self.open = asyncio.Event()  # set while a transaction is in progress
        self.tasks: list[asyncio.Task[Any] | None] = []  # the task of each transaction

    @asynccontextmanager
    async def transaction(self, purpose: str, *, write: bool,
                          quick: bool = False) -> AsyncIterator[list[Any]]:
        assert write and not quick
        items: list[Any] = []
        self.tasks.append(asyncio.current_task())
        self.open.set()
        try:
            yield items  # the "connection": the write callback appends what it writes
            if self.gate is not None:
                await self.gate.wait()
            if self.failures:
                self.failures -= 1
                raise StoreError(f'database "fake": cannot {purpose}: disk I/O error')
            self.committed.append(items)
        finally:
            self.open.clear()


async def write(conn: list[Any], items: Sequence[Any]) -> list[str]:
    conn.extend(items)
    return [f"stored {item}" for item in items]


def group(db: FakeDatabase, *, linger: float = 3600.0) -> GroupCommit[Any, str]:
    # A linger of an hour: a test that sees unawaited writes committed did not wait for it.
    return GroupCommit(db, "write things", write, linger=linger)  # type: ignore[arg-type]


async def test_writes_submitted_together_share_a_transaction_each_getting_its_result() -> None:
    db = FakeDatabase()
    commit = group(db)
    results = await asyncio.gather(*(commit.submit(i) for i in range(3)))
    assert results == ["stored 0", "stored 1", "stored 2"]
    assert db.committed == [[0, 1, 2]]


async def test_a_write_submitted_during_a_transaction_goes_into_the_next_one() -> None:
    db = FakeDatabase()
    db.gate = asyncio.Event()
    commit = group(db)
    first = asyncio.create_task(commit.submit("a"))
    await db.open.wait()
    later = [asyncio.create_task(commit.submit(x)) for x in ("b", "c")]
    await asyncio.sleep(0)
    assert not first.done() and db.committed == []
    db.gate.set()
    assert await first == "stored a"
    assert await asyncio.gather(*later) == ["stored b", "stored c"]
    assert db.committed == [["a"], ["b", "c"]]


async def test_more_writes_than_a_batch_holds_are_split_over_transactions() -> None:
    db = FakeDatabase()
    commit = group(db)
    results = await asyncio.gather(*(commit.submit(i) for i in range(MAX_BATCH + 1)))
    assert results == [f"stored {i}" for i in range(MAX_BATCH + 1)]
    assert [len(batch) for batch in db.committed] == [MAX_BATCH, 1]


async def test_a_failed_commit_fails_every_waiting_writer_and_the_next_write_works() -> None:
    db = FakeDatabase()
    db.failures = 1
    commit = group(db)
    results = await asyncio.gather(commit.submit("a"), commit.submit("b"),
                                   return_exceptions=True)
    assert all(isinstance(r, StoreError) and "disk I/O error" in str(r) for r in results)
    assert await commit.submit("c") == "stored c"
    assert db.committed == [["c"]]


async def test_an_unawaited_write_goes_with_the_next_submitted_one() -> None:
    db = FakeDatabase()
    commit = group(db)
    commit.add("mark")
    for _ in range(3):
        await asyncio.sleep(0)
    assert db.committed == []  # waiting for company
    assert await commit.submit("a") == "stored a"
    assert db.committed == [["mark", "a"]]


async def test_flush_commits_unawaited_writes_when_nothing_else_comes() -> None:
    db = FakeDatabase()
    commit = group(db)
    commit.add("x")
    commit.add("y")
    await commit.flush()
    assert db.committed == [["x", "y"]]


async def test_a_lost_unawaited_write_is_logged_and_flush_does_not_raise(
        caplog: pytest.LogCaptureFixture) -> None:
    db = FakeDatabase()
    db.failures = 1
    commit = group(db)
    commit.add("x")
    commit.add("y")
    with caplog.at_level(logging.WARNING, logger="alertd.store"):
        await commit.flush()
    assert "2 writes lost (write things)" in caplog.text
    assert "disk I/O error" in caplog.text
    commit.add("z")
    await commit.flush()
    assert db.committed == [["z"]]


async def test_an_unawaited_write_without_linger_is_committed_within_a_few_turns() -> None:
    db = FakeDatabase()
    commit = group(db, linger=0.0)
    commit.add("x")
    for _ in range(3):
        await asyncio.sleep(0)
    assert db.committed == [["x"]]


async def refuse_poison(conn: list[Any], items: Sequence[Any]) -> list[str]:
    """A write the database refuses for one bad item, as it refuses a row it cannot
    encode: the whole transaction fails."""
    if "poison" in items:
        raise TypeError("str is not valid UTF-8: surrogates not allowed")
    conn.extend(items)
    return [f"stored {item}" for item in items]


async def test_a_write_refused_for_one_item_fails_that_item_alone() -> None:
    db = FakeDatabase()
    commit: GroupCommit[Any, str] = GroupCommit(db, "write things",  # type: ignore[arg-type]
                                                refuse_poison)
    items = [f"ok{i}" for i in range(7)] + ["poison"] + [f"ok{i}" for i in range(7, 10)]
    results = await asyncio.gather(*(commit.submit(i) for i in items), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == [results[7]]
    assert isinstance(results[7], TypeError)
    assert results[:7] == [f"stored ok{i}" for i in range(7)]
    assert sorted(i for batch in db.committed for i in batch) == sorted(
        i for i in items if i != "poison")


async def test_a_database_that_is_down_fails_the_batch_once_without_splitting() -> None:
    db = FakeDatabase()
    db.failures = 1
    commit = group(db)
    results = await asyncio.gather(*(commit.submit(i) for i in range(8)),
                                   return_exceptions=True)
    assert all(isinstance(r, StoreError) for r in results)
    assert db.failures == 0 and db.committed == []  # one transaction tried, not fifteen


async def test_an_inline_write_with_nothing_to_share_commits_in_its_callers_task() -> None:
    # SQLite on the loop: a commit does not suspend, so the writer's task would only add
    # two turns of the loop to the caller's wait.
    db = FakeDatabase()
    commit: GroupCommit[Any, str] = GroupCommit(db, "write things", write,  # type: ignore[arg-type]
                                                inline=True)
    assert await commit.submit("a") == "stored a"
    assert db.tasks == [asyncio.current_task()] and db.committed == [["a"]]
    db.failures = 1
    with pytest.raises(StoreError):
        await commit.submit("b")
