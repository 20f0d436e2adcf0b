"""The rules that paged most, counted by the database (the recommendations start their
replays from this guess): one page per delivery id (its deliveries to several alerts
share it), only successful deliveries to Slack or PagerDuty through a receiver that
pages, within the window, of the owner asked for, most first."""

from __future__ import annotations

from typing import Any

from alertd.history import HistoryEvent, event
from alertd.model import Labels
from alertd.store import Store


def delivered(at: float, name: str, instance: str, delivery: str | None, *,
              rule: str | None = None, owner: str = "ml", **details: Any) -> HistoryEvent:
    labels = Labels({"alertname": name, "instance": instance, "owner": owner})
    return event(at, "delivery", labels, {
        "receiver": "oncall", "integration": "slack", "outcome": "ok", "group_key": "{}:x",
        "delivery": delivery, **details}, rule=rule)


async def test_rules_that_paged_most_first(store: Store) -> None:
    events = [
        # Busy: three pages, the second carrying two alerts (two deliveries, one id), and
        # the first also to PagerDuty (a page of its own).
        delivered(100.0, "Busy", "a", "d1", rule="Busy"),
        delivered(100.0, "Busy", "a", "d1p", rule="Busy", integration="pagerduty"),
        delivered(200.0, "Busy", "a", "d2", rule="Busy"),
        delivered(200.0, "Busy", "b", "d2", rule="Busy"),
        delivered(300.0, "Busy", "a", "d3", rule="Busy"),
        # Posted alerts have no rule: counted under their alertname; a delivery recorded
        # without an id is one page per receiver, group and time.
        delivered(110.0, "Posted", "a", None),
        delivered(110.0, "Posted", "b", None),
        delivered(210.0, "Posted", "a", None),
        delivered(120.0, "Other", "a", "o1", rule="Other", owner="web"),
        # Not pages: failed, to a webhook, through a quiet receiver, after the window.
        delivered(130.0, "Failed", "a", "f1", rule="Failed", outcome="failed"),
        delivered(130.0, "Hooked", "a", "h1", rule="Hooked", integration="webhook"),
        delivered(130.0, "Ticket", "a", "t1", rule="Ticket", receiver="tickets"),
        delivered(5000.0, "Late", "a", "l1", rule="Late"),
    ]
    await store.history.append(events)

    paged = store.history.paged_rules
    assert await paged(0.0, 1000.0, quiet=["tickets"]) == [
        ("Busy", 4), ("Posted", 2), ("Other", 1)]
    assert await paged(0.0, 1000.0) == [
        ("Busy", 4), ("Posted", 2), ("Other", 1), ("Ticket", 1)]
    assert await paged(0.0, 1000.0, owner="web") == [("Other", 1)]
    assert await paged(0.0, 1000.0, limit=1) == [("Busy", 4)]
    assert await paged(6000.0, 7000.0) == []
