"""What makes an event the event it is: an import adds none that is stored already, live
or imported, while live appends compute and look up nothing (migrations 9 and 11); and the
retention deletes in batches."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from sqlalchemy import event, text

from alertd import history
from alertd.history import HistoryEvent
from alertd.history.details import encode_details
from alertd.model import Labels
from alertd.store import Store
from alertd.store.db import encode_labels, open_database
from alertd.store.migrations import MIGRATIONS, migrate
from alertd.store.migrations.v9 import event_key

T0 = 1_800_000_000.0
CHURN = Labels({"alertname": "Churn", "owner": "team-ml", "severity": "page"})


def events() -> list[HistoryEvent]:
    return [
        history.transition(T0, CHURN, old="inactive", new="firing", value=math.nan,
                           rule="Churn"),
        history.dedup(T0 + 0.125, CHURN, receiver="team/slack/0", group_key="{}:{}",
                      send=True, reason="first notification", rule="Churn"),
        history.ack(T0 + 60, CHURN, by="ana", via="slack", rule="Churn"),
    ]


async def stored(store: Store) -> list[tuple[Any, ...]]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT id, kind, details, event_key FROM alert_history ORDER BY id"))
        return [tuple(r) for r in rows]


async def write_v8(db_url: str, rows: list[HistoryEvent]) -> None:
    """A database as alertd left it before migration 9, holding these events."""
    db = open_database(db_url)
    try:
        async with db.transaction("migrate", write=True) as conn:
            await conn.run_sync(migrate, MIGRATIONS[:8])
            for e in rows:
                await conn.execute(text(
                    "INSERT INTO alert_history (at, kind, fingerprint, alertname, rule, owner, "
                    "severity, labels, details) VALUES (:at, :kind, :fp, :name, :rule, :owner, "
                    ":severity, :labels, :details)"), {
                        "at": e.at, "kind": e.kind, "fp": e.fingerprint, "name": e.alertname,
                        "rule": e.rule, "owner": e.owner, "severity": e.severity,
                        "labels": encode_labels(e.labels),
                        "details": encode_details(e.details)})
    finally:
        await db.dispose()


async def test_migrations_9_and_11_keep_an_import_of_stored_events_empty(db_url: str) -> None:
    old = events()
    await write_v8(db_url, [*old, old[1]])  # an identical event twice, as it may have been
    async with await Store.open(db_url) as store:
        rows = await stored(store)
        # Migration 9 keyed the events then stored (the first of identical ones), and its
        # keys stay, unread.
        expected = [event_key(e.at, e.kind, e.fingerprint, json.loads(encode_details(e.details)))
                    for e in old]
        assert [r[3] for r in rows] == [*expected, None]
        assert await store.history.add(old) == 0
        # Live events are stored without a key, and nothing refuses them.
        await store.history.append(old[:1])
        assert [r[3] for r in await stored(store)] == [*expected, None, None]
        assert await store.history.add(old) == 0


async def test_an_import_adds_nothing_that_was_recorded_live(store: Store) -> None:
    await store.history.append(events())
    assert [r[3] for r in await stored(store)] == [None, None, None]
    assert await store.history.add(events()) == 0
    assert len(await stored(store)) == 3


async def test_add_counts_the_events_it_added(store: Store) -> None:
    first, second, third = events()
    assert await store.history.add([first, second]) == 2
    assert await store.history.add([first, second, third, third]) == 1
    assert await store.history.add([]) == 0
    read = [e async for e in store.history.between(None, None)]
    assert [e.kind for e in read] == ["transition", "dedup", "ack"]
    assert math.isnan(read[0].details["value"])


async def test_an_event_differs_by_its_time_kind_fingerprint_or_details(store: Store) -> None:
    ack = history.ack(T0, CHURN, by="ana", via="slack", rule="Churn")
    await store.history.append([ack])
    others = [
        history.ack(T0 + 1e-6, CHURN, by="ana", via="slack", rule="Churn"),
        history.feedback(T0, CHURN, by="ana", verdict="useful", rule="Churn"),
        history.ack(T0, CHURN.merged({"pod": "p1"}), by="ana", via="slack", rule="Churn"),
        history.ack(T0, CHURN, by="ana", via="api", rule="Churn"),
    ]
    assert await store.history.add(others) == 4
    # Details are compared as JSON values, whatever the order of their keys.
    reordered = history.event(T0, "ack", CHURN, {"via": "slack", "by": "ana"}, rule="Churn")
    assert await store.history.add([ack, reordered, *others]) == 0


async def test_an_import_finds_events_beyond_one_lookup(store: Store) -> None:
    many = [history.ack(T0 + i / 8, CHURN, by=f"u{i}") for i in range(1200)]
    many.append(history.event(T0, "ack", CHURN, {"by": "x", "n": 2**70}))  # json, not orjson
    await store.history.append(many[::2])
    assert await store.history.add(many) == len(many) // 2
    assert await store.history.add(list(reversed(many))) == 0


async def test_imports_at_once_add_each_event_once(db_url: str) -> None:
    stores = [await Store.open(db_url) for _ in range(3)]
    try:
        batch = [history.ack(T0 + i, CHURN, by=f"u{i}") for i in range(300)]
        added = await asyncio.gather(*(s.history.add(batch) for s in stores))
        assert sum(added) == 300
        assert len(await stored(stores[0])) == 300
    finally:
        for s in stores:
            await s.close()


async def test_prune_deletes_in_batches_and_keeps_what_is_recent(store: Store) -> None:
    old = [history.ack(T0 + i, CHURN, by=f"u{i}") for i in range(10)]
    await store.history.append([*old, history.ack(T0 + 100, CHURN, by="recent")])
    deletes: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM ALERT_HISTORY"):
            deletes.append(statement)

    for engine in store.sync_engines:
        event.listen(engine, "before_cursor_execute", seen)
    try:
        assert await store.history.prune(T0 + 50, batch=3) == 10
    finally:
        for engine in store.sync_engines:
            event.remove(engine, "before_cursor_execute", seen)
    assert len(deletes) == 4  # 3 + 3 + 3 + 1, each a transaction of its own
    assert await store.history.prune(T0 + 50, batch=3) == 0
    read = [e async for e in store.history.between(None, None)]
    assert [e.details["by"] for e in read] == ["recent"]
