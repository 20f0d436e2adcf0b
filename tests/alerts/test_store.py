"""The alert store: Alertmanager's merge semantics, rule alerts, owners, garbage collection."""

from __future__ import annotations

import dataclasses
import random
from types import MappingProxyType

from alertd.alerts.model import Alert
from alertd.alerts.owners import Ownership
from alertd.alerts.store import AlertStore
from alertd.config import parse_config
from alertd.model import Labels
from alertd.rules.state import Instance, Status

L = Labels({"alertname": "DiskFull", "instance": "db1"})


def posted(starts: float, ends: float | None, updated: float, *, timeout: bool = False,
           **ann: str) -> Alert:
    return Alert(L, MappingProxyType(ann), starts, ends, updated, timeout=timeout)


def test_an_update_within_the_activity_range_merges_keeping_the_earliest_start() -> None:
    store = AlertStore()
    store.put([posted(100, 400, 100, timeout=True, summary="first")], 100)
    (merged,) = store.put([posted(160, 460, 160, timeout=True, summary="second")], 160)
    assert merged.starts_at == 100 and merged.ends_at == 460
    assert merged.annotations["summary"] == "second"  # the younger update wins


def test_an_explicit_end_beats_a_timeout_and_resolves() -> None:
    store = AlertStore()
    store.put([posted(100, 400, 100, timeout=True)], 100)
    (merged,) = store.put([posted(100, 200, 200)], 200)
    assert merged.resolved(200) and merged.ends_at == 200


def test_a_later_timeout_does_not_undo_an_explicit_end_in_the_future() -> None:
    store = AlertStore()
    store.put([posted(100, 1000, 100)], 100)  # explicit end (Prometheus's lease)
    (merged,) = store.put([posted(100, 400, 150, timeout=True)], 150)
    assert merged.ends_at == 1000


def test_an_update_after_the_alert_ended_starts_a_new_episode() -> None:
    store = AlertStore()
    store.put([posted(100, 200, 200)], 200)
    (fresh,) = store.put([posted(500, 800, 500, timeout=True)], 500)
    assert fresh.starts_at == 500


def test_listeners_and_transitions() -> None:
    store = AlertStore()
    heard: list[list[Alert]] = []
    moves: list[tuple[str, str]] = []
    store.subscribe(heard.append)
    store.on_transition = lambda alert, old, new, at, reason: moves.append((old, new))
    store.put([posted(100, 400, 100, timeout=True)], 100)
    store.put([posted(100, 150, 150)], 150)
    assert len(heard) == 2
    assert moves == [("inactive", "firing"), ("firing", "resolved")]


def test_rule_alerts_follow_instances_and_resolve_when_forgotten() -> None:
    store = AlertStore()
    firing = Instance(L, L.without(("alertname",)), Status.FIRING, 10.0, 1.0, fired_at=70.0)
    store.sync_rule("DiskFull", [firing], lambda i: {"summary": f"{i.value}"}, 100)
    (alert,) = store.active(100)
    assert alert.starts_at == 70 and alert.source == "rule"
    assert alert.annotations["summary"] == "1.0"
    store.forget_rule("DiskFull", 200)
    assert store.active(200) == [] and store.get(alert.fingerprint) is not None


def test_resolved_alerts_are_collected_after_the_retention() -> None:
    store = AlertStore(retention=600)
    store.put([posted(100, 200, 200)], 200)
    assert store.gc(700) == []
    assert [a.fingerprint for a in store.gc(800)] == [L.fingerprint()]
    assert store.alerts() == []


def test_owners_are_attached_at_ingest() -> None:
    config = parse_config("owners:\n"
                          "  - name: storage\n"
                          "    matchers: ['alertname=~\"Disk.*\"']\n"
                          "    runbook_base_url: https://runbooks.example.com/storage\n")
    ownership = Ownership(config.owners)
    store = AlertStore(enrich=ownership.attach)
    (stored,) = store.put([posted(100, None, 100)], 100)
    assert stored.labels["owner"] == "storage"
    assert stored.fingerprint == stored.labels.fingerprint()
    assert stored.annotations["runbook_url"] == "https://runbooks.example.com/storage/DiskFull"
    # An alert that names its owner and runbook keeps them.
    own = Alert(L.merged({"owner": "dba"}), {"runbook_url": "https://x/y"}, 100, None, 100)
    (kept,) = store.put([own], 100)
    assert kept.labels["owner"] == "dba" and kept.annotations["runbook_url"] == "https://x/y"


def test_an_alert_that_times_out_is_announced_as_resolved() -> None:
    store = AlertStore()
    moves: list[tuple[str, str, float]] = []
    heard: list[list[Alert]] = []
    store.on_transition = lambda alert, old, new, at, reason: moves.append((old, new, at))
    store.put([posted(100, 400, 100, timeout=True)], 100)
    store.subscribe(heard.append)
    assert store.sweep(300) == []
    (ended,) = store.sweep(450)
    assert moves == [("inactive", "firing", 100), ("firing", "resolved", 400)]
    assert heard == [[ended]]
    assert store.sweep(500) == []  # announced once


def test_a_renewed_alert_is_swept_at_its_last_end_and_a_resolved_one_not_at_all() -> None:
    store = AlertStore()
    other = Labels({"alertname": "Other"})
    moves: list[tuple[str, str, float]] = []
    store.on_transition = lambda alert, old, new, at, reason: moves.append((old, new, at))
    store.put([posted(100, 400, 100, timeout=True)], 100)
    store.put([posted(300, 700, 300, timeout=True)], 300)  # Prometheus renews the lease
    store.put([Alert(other, MappingProxyType({}), 100, 400, 100, timeout=True)], 100)
    store.put([Alert(other, MappingProxyType({}), 100, 350, 350)], 350)  # its sender resolved it
    assert store.sweep(450) == []  # the first end passed, but it was renewed
    (ended,) = store.sweep(800)
    assert ended.labels == L and ended.ends_at == 700
    assert moves[-1] == ("firing", "resolved", 700)
    assert [m for m in moves if m[1] == "resolved"] == [("firing", "resolved", 350),
                                                         ("firing", "resolved", 700)]
    assert store.sweep(900) == []


def test_syncing_only_the_changed_instances_announces_as_syncing_all() -> None:
    """A replay syncs only the instances that changed (sync_changed); the daemon syncs
    all of them (sync_rule): over a random run of firings, value updates and
    resolutions, the store announces the same alerts at the same times (in an order of
    no meaning within one announcement)."""
    rng = random.Random(7)
    labels = [Labels({"alertname": "Busy", "instance": f"h{i}"}) for i in range(6)]
    every, changed_only = AlertStore(), AlertStore()
    heard: dict[int, list[list[tuple[str, float]]]] = {0: [], 1: []}
    for n, store in enumerate((every, changed_only)):
        store.subscribe(lambda alerts, n=n: heard[n].append(  # type: ignore[misc]
            sorted((a.fingerprint, a.ends_at or 0.0) for a in alerts)))
    held: dict[Labels, Instance] = {}
    for step in range(300):
        at = 1000.0 + 60 * step
        changes: dict[Labels, Instance] = {}
        for ls in rng.sample(labels, 2):
            inst = held.get(ls)
            if inst is None or inst.status is Status.RESOLVED:
                changes[ls] = Instance(ls, ls, Status.FIRING, at, 1.0, fired_at=at)
            elif rng.random() < 0.5:
                changes[ls] = dataclasses.replace(inst, value=rng.random())  # a new value
            else:
                changes[ls] = dataclasses.replace(inst, status=Status.RESOLVED, resolved_at=at)
        held.update(changes)
        every.sync_rule("Busy", held.values(), lambda i: {}, at)
        changed_only.sync_changed("Busy", changes.values(), lambda i: {}, at)
        for ls, inst in list(held.items()):
            if inst.status is Status.RESOLVED:  # told once: gone from then on
                del held[ls]
    assert heard[0] == heard[1] and len(heard[0]) > 100
