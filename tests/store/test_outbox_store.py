"""The outbox and receiver state tables, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from alertd.nflog.log import Entry
from alertd.receivers.state import ReceiverStates
from alertd.store import Store, StoreError, kept
from alertd.store.outbox import DONE, PENDING, SUPERSEDED, OutboxRow, StateRow


def row(id_: str, slot: str = "s1", at: float = 100.0) -> OutboxRow:
    return OutboxRow(id_, slot, "team", "team/slack/0", '{}:{alertname="X"}', PENDING, at, at,
                     0, "", {"alerts": [], "reason": "first notification"})


async def test_enqueue_stores_the_notification_with_its_log_entry(store: Store) -> None:
    entry = Entry('{}:{alertname="X"}', "team/slack/0", frozenset({"f1"}), frozenset(), 100.0,
                  500.0)
    await store.outbox.enqueue(row("a"), entry)
    (pending,) = await store.outbox.pending()
    assert pending.id == "a" and pending.notification["reason"] == "first notification"
    (logged,) = await store.nflog.load_all()
    assert logged == entry


async def test_a_newer_notification_supersedes_the_pending_one_of_its_slot(store: Store) -> None:
    await store.outbox.enqueue(row("a"))
    await store.outbox.enqueue(row("other", slot="s2"))
    await store.outbox.enqueue(row("b", at=200.0))
    assert [r.id for r in await store.outbox.pending()] == ["other", "b"]
    assert await store.outbox.counts() == {PENDING: 2, SUPERSEDED: 1}
    superseded = await store.outbox.get("a")
    assert superseded is not None and superseded.finished_at == 200.0


async def test_writes_made_together_share_a_transaction_and_keep_their_order(
        store: Store) -> None:
    # Three flushes at once, two of them of one slot: the later one supersedes the earlier
    # even though both land in the same transaction.
    entries = [Entry(f"g{i}", "team/slack/0", frozenset({f"f{i}"}), frozenset(), 100.0 + i,
                     500.0) for i in range(3)]
    await asyncio.gather(store.outbox.enqueue(row("a", slot="s1", at=100.0), entries[0]),
                         store.outbox.enqueue(row("b", slot="s2", at=101.0), entries[1]),
                         store.outbox.enqueue(row("c", slot="s1", at=102.0), entries[2]))
    assert [r.id for r in await store.outbox.pending()] == ["b", "c"]
    first = await store.outbox.get("a")
    assert first is not None and (first.state, first.finished_at) == (SUPERSEDED, 102.0)
    assert sorted(e.group_key for e in await store.nflog.load_all()) == ["g0", "g1", "g2"]


async def test_a_mark_nobody_waits_for_is_written_by_flush(store: Store) -> None:
    await store.outbox.enqueue(row("a"))
    store.outbox.finish_later(["a"], DONE, 150.0)
    await store.outbox.flush()
    done = await store.outbox.get("a")
    assert done is not None and (done.state, done.finished_at) == (DONE, 150.0)


async def test_attempts_are_recorded_and_finished_rows_collected(store: Store) -> None:
    await store.outbox.enqueue(row("a"))
    await store.outbox.reschedule("a", attempts=2, next_attempt_at=160.0, error="503")
    (again,) = await store.outbox.pending()
    assert (again.attempts, again.next_attempt_at, again.last_error) == (2, 160.0, "503")
    await store.outbox.finish(["a"], DONE, 170.0)
    assert await store.outbox.pending() == []
    assert await store.outbox.delete_finished(170.0) == 0  # finished at 170, not before
    assert await store.outbox.delete_finished(171.0) == 1


async def test_receiver_state_round_trips_and_old_rows_are_deleted(store: Store) -> None:
    state = StateRow("k1", "slack_page", "g1", "team/slack/0", {"channel": "C1", "ts": "1.2"},
                     10.0)
    await store.receiver_state.put(state)
    await store.receiver_state.put(StateRow("k2", "pagerduty_incident", "g1",
                                            "team/pagerduty/1", {"dedup_key": "d"}, 11.0))
    assert await store.receiver_state.get("k1") == state
    updated = StateRow("k1", "slack_page", "g1", "team/slack/0", {"ts": "1.3"}, 12.0)
    await store.receiver_state.put(updated)
    assert await store.receiver_state.get("k1") == updated
    assert await store.receiver_state.get("k2") is not None
    assert await store.receiver_state.delete_older(11.5) == 1
    assert await store.receiver_state.get("k2") is None


async def test_an_unchanged_receiver_state_is_not_written_again_within_the_hour(
        store: Store) -> None:
    # PagerDuty repeats carry the same dedup key: no write each time, but one now and then,
    # so that the cleanup of quiet groups' state never takes a group still notifying.
    states = ReceiverStates(store.receiver_state)
    value = {"dedup_key": "d1", "action": "trigger"}
    await states.put("k", "pagerduty_incident", "g", "team/pagerduty/0", value, 1000.0)
    await states.put("k", "pagerduty_incident", "g", "team/pagerduty/0", value, 1000.0 + 1800)
    stored = await store.receiver_state.get("k")
    assert stored is not None and stored.updated_at == 1000.0
    await states.put("k", "pagerduty_incident", "g", "team/pagerduty/0", value, 1000.0 + 3600)
    stored = await store.receiver_state.get("k")
    assert stored is not None and stored.updated_at == 4600.0
    resolved = {"dedup_key": "d1", "action": "resolve"}
    await states.put("k", "pagerduty_incident", "g", "team/pagerduty/0", resolved, 4601.0)
    stored = await store.receiver_state.get("k")
    assert stored is not None and stored.value == resolved


async def test_quiet_groups_state_leaves_the_cache_and_the_store(store: Store) -> None:
    states = ReceiverStates(store.receiver_state)
    await states.put("old", "slack_page", "g1", "team/slack/0", {"ts": "1.1"}, 10.0)
    await states.put("new", "slack_page", "g2", "team/slack/0", {"ts": "2.2"}, 100.0)
    await states.delete_older(50.0)
    assert await states.get("old") is None  # not served from memory either
    assert await store.receiver_state.get("old") is None
    kept = await states.get("new")
    assert kept is not None and kept.value == {"ts": "2.2"}


async def test_the_cleanups_deletes_use_an_index(tmp_path: Path) -> None:
    # What delete_finished and delete_older run, planned by SQLite: an index range, not a
    # read of every row of a week's outbox.
    path = tmp_path / "alertd.db"
    store = await Store.open(f"sqlite:///{path}")
    await store.close()
    plans = {}
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for table, where in (("outbox", "state != 'pending' AND finished_at < 1.0"),
                             ("receiver_state", "updated_at < 1.0")):
            rows = conn.execute(f"EXPLAIN QUERY PLAN DELETE FROM {table} WHERE {where}")
            plans[table] = " ".join(str(r[-1]) for r in rows)
    assert "USING INDEX ix_outbox_finished_at" in plans["outbox"]
    assert "USING INDEX ix_receiver_state_updated_at" in plans["receiver_state"]


async def test_a_done_mark_is_committed_within_milliseconds(store: Store) -> None:
    # A mark still queued when the process is killed means a second page after the
    # restart: it must not wait long for company (it waited half a second).
    await store.outbox.enqueue(row("a"))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 0.1
    store.outbox.finish_later(["a"], DONE, 150.0)
    while loop.time() < deadline:
        if await store.outbox.counts() == {DONE: 1}:
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"the mark was not committed: {await store.outbox.counts()}")


async def test_a_notification_the_store_cannot_encode_fails_alone(store: Store) -> None:
    # A lone surrogate cannot be written as UTF-8: its write fails, the writes that shared
    # its transaction are committed.
    bad = row("bad", slot="s-bad")
    bad.notification = {"alerts": [], "reason": "first notification", "summary": "\ud800"}
    writes = [store.outbox.enqueue(row(f"ok{i}", slot=f"s{i}")) for i in range(5)]
    results = await asyncio.gather(*writes[:2], store.outbox.enqueue(bad), *writes[2:],
                                   return_exceptions=True)
    (failed,) = [r for r in results if r is not None]
    assert isinstance(failed, StoreError)
    assert "the notification of {}:{alertname=\"X\"} cannot be stored" in str(failed)
    assert sorted(r.id for r in await store.outbox.pending()) == [f"ok{i}" for i in range(5)]


async def test_marks_reach_a_database_that_dropped_their_connection_meanwhile(
        store: Store, db_url: str) -> None:
    # PostgreSQL restarted (or an administrator ended the session) between two storms: the
    # marks' kept connection is dead, and the next mark must still land.
    await store.outbox.enqueue(row("a"))
    await store.outbox.enqueue(row("b", slot="s2"))
    await store.outbox.finish(["a"], DONE, 150.0)
    if store.engine.dialect.name == "postgresql":
        async with store.engine.connect() as conn:
            await conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    kept.IDLE_PING, idle = 0.0, kept.IDLE_PING
    try:
        await store.outbox.finish(["b"], DONE, 160.0)
    finally:
        kept.IDLE_PING = idle
    assert await store.outbox.counts() == {DONE: 2}
