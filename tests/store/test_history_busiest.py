"""The rules that sent most notifications, counted by the database (the recommendations
start their replays from this guess): one per notification (its deliveries to several
alerts share its time), within the window, of the owner asked for, most first."""

from __future__ import annotations

from alertd.history import event
from alertd.model import Labels
from alertd.store import Store


def alert(name: str, instance: str, owner: str = "ml") -> Labels:
    return Labels({"alertname": name, "instance": instance, "owner": owner})


async def test_rules_with_most_notifications_first(store: Store) -> None:
    events = []
    # Busy: 3 notifications, the second carrying two alerts (two deliveries, one time).
    for at in (100.0, 200.0, 300.0):
        events.append(event(at, "delivery", alert("Busy", "a"), {}, rule="Busy"))
    events.append(event(200.0, "delivery", alert("Busy", "b"), {}, rule="Busy"))
    # Posted alerts have no rule: counted under their alertname.
    for at in (110.0, 210.0):
        events.append(event(at, "delivery", alert("Posted", "a"), {}))
    events.append(event(120.0, "delivery", alert("Other", "a", owner="web"), {}, rule="Other"))
    events.append(event(5000.0, "delivery", alert("Late", "a"), {}, rule="Late"))
    events.append(event(130.0, "transition", alert("Flips", "a"), {"to": "firing"},
                        rule="Flips"))
    await store.history.append(events)

    counted = await store.history.busiest_rules(0.0, 1000.0)
    assert counted == [("Busy", 3), ("Posted", 2), ("Other", 1)]
    assert await store.history.busiest_rules(0.0, 1000.0, owner="web") == [("Other", 1)]
    assert await store.history.busiest_rules(0.0, 1000.0, limit=1) == [("Busy", 3)]
    assert await store.history.busiest_rules(0.0, 1000.0, kind="transition") == [
        ("Flips", 1)]
    assert await store.history.busiest_rules(6000.0, 7000.0) == []
