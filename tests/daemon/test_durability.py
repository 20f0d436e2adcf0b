"""An acknowledged alert survives kill -9; a delivered notification is not sent again.

The daemon runs as a process on SQLite and on PostgreSQL, with an unsigned webhook
receiver (one that cannot deduplicate: every request it gets is a page). A client posts a
storm of distinct alerts, each its own group, and the daemon is killed with SIGKILL in the
middle of it; after a restart every alert whose post was answered 200 must reach the
receiver, and the duplicates (alerts that arrived twice) are counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.daemon.helpers import free_port
from tests.daemon.storm import (  # noqa: F401 (the receiver fixture)
    Receiver,
    batch,
    eventually,
    receiver_fixture,
    start,
)
from tests.store.conftest import _execute, _run, pg_url


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        yield "sqlite:///data/alertd.db"
        return
    database = f"alertd_durability_{free_port()}"
    _run(_execute(None, f'CREATE DATABASE "{database}"'))
    try:
        yield pg_url(database, driver="postgresql")
    finally:
        _run(_execute(None, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


async def post(session: aiohttp.ClientSession, url: str, body: list[dict[str, Any]]) -> bool:
    """Whether the post was acknowledged (answered 200); a refused connection is not."""
    try:
        async with session.post(url + "/api/v2/alerts", json=body) as resp:
            return resp.status == 200
    except aiohttp.ClientError:
        return False


async def storm(url: str, total: int, size: int, in_flight: int,
                on_acked: Callable[[int], None]) -> set[str]:
    """Post `total` alerts in batches, `in_flight` posts at a time; the ids acknowledged."""
    acked: set[str] = set()
    batches = asyncio.Queue[int]()
    for first in range(0, total, size):
        batches.put_nowait(first)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not batches.empty():
            body = batch(batches.get_nowait(), size)
            if await post(session, url, body):
                acked.update(a["labels"]["id"] for a in body)
                on_acked(len(acked))

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        await asyncio.gather(*(worker(session) for _ in range(in_flight)))
    return acked


async def test_kill_during_ingest_loses_no_acknowledged_alert(
        tmp_path: Path, storage: str, receiver: Receiver) -> None:
    alertd = await asyncio.to_thread(start, tmp_path, storage, receiver.url)
    killed = asyncio.Event()

    def acked(count: int) -> None:
        if count >= 1500 and not killed.is_set():
            killed.set()
            alertd.proc.kill()  # type: ignore[union-attr]  # SIGKILL, posts in flight

    try:
        acknowledged = await storm(alertd.url, 4000, 50, 8, acked)
        assert killed.is_set() and 1500 <= len(acknowledged) < 4000
        await asyncio.to_thread(alertd.proc.wait, 10)  # type: ignore[union-attr]
        # The posts after the kill were refused: what the dead process had sent has long
        # been taken by the receiver.
        before = len(receiver.got)
        await asyncio.to_thread(alertd.start)
        await eventually(lambda: acknowledged <= set(receiver.got),
                         "every acknowledged alert to be notified after the restart")
    finally:
        await asyncio.to_thread(alertd.stop)
    receiver.check_duplicates(storage, before)


async def test_kill_inside_group_wait_loses_nothing(
        tmp_path: Path, storage: str, receiver: Receiver) -> None:
    alertd = await asyncio.to_thread(start, tmp_path, storage, receiver.url, "3s")
    try:
        async with aiohttp.ClientSession() as session:
            assert await post(session, alertd.url, batch(0, 20))
        await asyncio.to_thread(alertd.kill)
        assert not receiver.got  # killed before any group's wait was over
        await asyncio.to_thread(alertd.start)
        await eventually(lambda: len(receiver.got) == 20, "the groups to flush", timeout=20)
    finally:
        await asyncio.to_thread(alertd.stop)
    assert receiver.duplicates == 0


async def test_kill_during_delivery_repeats_only_what_was_in_flight(
        tmp_path: Path, storage: str, receiver: Receiver) -> None:
    alertd = await asyncio.to_thread(start, tmp_path, storage, receiver.url)
    try:
        acknowledged = await storm(alertd.url, 3000, 100, 4, lambda n: None)
        assert len(acknowledged) == 3000
        # Killed while notifications are being delivered (some arrived, some did not).
        await eventually(lambda: len(receiver.got) >= 300, "deliveries to start", timeout=30)
        await asyncio.to_thread(alertd.kill)
        before = len(receiver.got)
        await asyncio.to_thread(alertd.start)
        await eventually(lambda: acknowledged <= set(receiver.got),
                         "every notification after the restart")
    finally:
        await asyncio.to_thread(alertd.stop)
    receiver.check_duplicates(storage, before)
