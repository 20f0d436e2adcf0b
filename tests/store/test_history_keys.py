"""Migration 9 and what it is for: every history event has a key, so that an event
appended or imported again is stored once; and the retention deletes in batches."""

from __future__ import annotations

import json
import math
from typing import Any

from sqlalchemy import event, text

from alertd import history
from alertd.history import HistoryEvent
from alertd.model import Labels
from alertd.store import Store
from alertd.store.db import encode_labels, open_database
from alertd.store.history_keys import event_key
from alertd.store.migrations import MIGRATIONS, migrate
from alertd.store.notifications import encode_details

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


async def test_migration_9_keys_existing_events_as_new_ones_are_keyed(db_url: str) -> None:
    old = events()
    await write_v8(db_url, [*old, old[1]])  # an identical event twice, as it may have been
    async with await Store.open(db_url) as store:
        rows = await stored(store)
        keys = [r[3] for r in rows]
        expected = [event_key(e.at, e.kind, e.fingerprint, json.loads(encode_details(e.details)))
                    for e in old]
        # Of identical events the first is keyed, the copy kept without a key.
        assert keys == [*expected, None]
        # The keys are those the code gives: appending the same events adds nothing.
        await store.history.append(old)
        assert await store.history.add(old) == 0
        assert len(await stored(store)) == 4


async def test_an_event_appended_twice_is_stored_once(store: Store) -> None:
    await store.history.append(events())
    await store.history.append(events()[1:])
    assert [r[1] for r in await stored(store)] == ["transition", "dedup", "ack"]


async def test_add_counts_the_events_it_added(store: Store) -> None:
    first, second, third = events()
    assert await store.history.add([first, second]) == 2
    assert await store.history.add([first, second, third, third]) == 1
    assert await store.history.add([]) == 0
    read = [e async for e in store.history.between(None, None)]
    assert [e.kind for e in read] == ["transition", "dedup", "ack"]
    assert math.isnan(read[0].details["value"])


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
