"""Alerts posted to the API, stored before they are acknowledged, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from alertd.alerts.model import Alert
from alertd.model import Labels
from alertd.store import Store


def posted(name: str, *, starts: float = 100.0, ends: float | None = 400.0,
           updated: float = 100.0, summary: str = "disk full") -> Alert:
    return Alert(Labels({"alertname": name, "owner": "ops"}), {"summary": summary}, starts, ends,
                 updated, "http://prom/graph", timeout=True)


async def test_saved_alerts_come_back_as_they_were(store: Store) -> None:
    alerts = [posted("A"), posted("B", ends=None, summary="ünïcödé ✓")]
    await store.posted_alerts.save(alerts, 100.0)
    back = await store.posted_alerts.load()
    assert [p.alert for p in back] == alerts
    assert [dict(p.alert.annotations) for p in back] == [{"summary": "disk full"},
                                                        {"summary": "ünïcödé ✓"}]
    assert [p.alert.fingerprint for p in back] == [a.fingerprint for a in alerts]
    assert {p.received_at for p in back} == {100.0}


async def test_an_update_replaces_the_alert_and_keeps_when_it_was_first_received(
        store: Store) -> None:
    await store.posted_alerts.save([posted("A")], 100.0)
    await store.posted_alerts.save([posted("A", updated=160.0, ends=460.0)], 160.0)
    (back,) = await store.posted_alerts.load()
    assert (back.alert.updated_at, back.alert.ends_at, back.received_at) == (160.0, 460.0, 100.0)


async def test_posts_in_flight_together_share_a_commit_and_the_later_update_wins(
        store: Store) -> None:
    await asyncio.gather(store.posted_alerts.save([posted("A"), posted("B")], 100.0),
                         store.posted_alerts.save([posted("A", updated=101.0, ends=401.0)],
                                                  101.0))
    back = {p.alert.labels["alertname"]: p.alert for p in await store.posted_alerts.load()}
    assert back["A"].ends_at == 401.0 and back["B"].ends_at == 400.0


async def test_alerts_that_ended_before_the_retention_are_deleted(store: Store) -> None:
    await store.posted_alerts.save([posted("A", ends=200.0), posted("B", ends=500.0)], 100.0)
    assert await store.posted_alerts.delete_ended(300.0) == 1
    assert [p.alert.labels["alertname"] for p in await store.posted_alerts.load()] == ["B"]
