"""build_report over a real store, SQLite and PostgreSQL (fixtures of tests/store): the
events appended, then streamed back page by page, give the report computed by hand and
the same report as the events in hand."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterable

import pytest

from alertd.config.owners import Owner
from alertd.history import HistoryEvent
from alertd.noise import RuleInfo, build_report, settings_for, summarize
from alertd.store import Store
from alertd.store import notifications as repository_module
from tests.noise.timelines import (
    DAY,
    END,
    HOUR,
    START,
    acked,
    alert,
    delivered,
    feedback,
    fire,
    health,
    muted,
    resolve,
    silence,
)

RULES = [RuleInfo("DiskFull", "sre", "https://runbooks/disk"),
         RuleInfo("Ancient", "sre", "https://runbooks/ancient"),
         RuleInfo("Seasonal", "sre", None), RuleInfo("Never", None, None)]
OWNERS = [Owner(name="sre", timezone="Europe/Berlin"), Owner(name="ml")]
PAGING = {"sre": True, "sre-low": False}


def history() -> list[HistoryEvent]:
    disks = [alert("DiskFull", owner="sre", instance=f"db-{i}") for i in range(3)]
    ancient = alert("Ancient", owner="sre")
    seasonal = alert("Seasonal", owner="sre")
    t = START + DAY + 9 * HOUR  # Tuesday 09:00 UTC = 11:00 CEST: business hours
    return [
        # Warm-up: Seasonal fired 80 days before the end, Ancient 10 days before the
        # period and still fires; a silence made then is still active.
        fire(END - 80 * DAY, seasonal), resolve(END - 80 * DAY + HOUR, seasonal),
        silence(START - 10 * DAY, "s-old", by="erin", comment="decommissioning",
                starts_at=START - 10 * DAY, ends_at=END + DAY, owner="sre"),
        fire(START - 10 * DAY, ancient),
        # This week: a group of three disks, one page to Slack, one to a quiet receiver.
        *[fire(t, d) for d in disks],
        *[delivered(t + 30, d, "d-1", receiver="sre") for d in disks],
        *[delivered(t + 30, d, "d-2", receiver="sre-low") for d in disks],
        acked(t + 150, disks[1], "alice"),
        acked(t + 200, disks[1], "bob"),
        feedback(t + 300, disks[0], "alice", "useful"),
        feedback(t + 310, disks[0], "alice", "noise", reason="too_sensitive"),
        muted(t + 400, disks[2], "s-old", until=END + DAY),
        *[resolve(t + 2 * HOUR, d) for d in disks],
        health(t, "DiskFull", "error"),
        health(t + HOUR, "DiskFull", "ok"),
    ]


async def test_build_report_from_the_store(store: Store,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repository_module, "_PAGE", 4)  # read in many small pages
    events = history()
    await store.history.append(events)
    got = await build_report(store.history, start=START, end=END, owner=None, rules=RULES,
                             owners=OWNERS, paging=PAGING, now=END + HOUR)
    totals = got.totals
    # One page (the quiet receiver's is none), acked after 120 s by alice (bob's later ack
    # does not count), alice's verdict Noise (her last click).
    assert (totals.pages, totals.firings, totals.ack_share, totals.ack_p50_s) == (
        1, 3, 1.0, 120.0)
    assert dict(totals.ackers) == {"alice": 1}
    assert totals.feedback.to_json() == {"useful": 0, "noise": 1,
                                         "reasons": {"too_sensitive": 1}}
    assert totals.interruptions.business == 1 and totals.eval_errors == 1
    # 3 disks * 2h + Ancient's 7 days; db-2 muted by s-old from when its events named it:
    # s-old is active the whole firing, so 2h.
    assert totals.time_firing_s == 3 * 2 * HOUR + 7 * DAY
    assert totals.silenced_s == 2 * HOUR
    assert totals.firing_over_7d == 1
    assert [s.id for s in got.long_running_silences] == ["s-old"]
    assert got.rule_health.never_fired_90d == ("Never",)
    assert got.rule_health.without_runbook == ("Never", "Seasonal")
    # The same report as over the events in hand.
    settings = settings_for(start=START, end=END, owner=None, rules=RULES, owners=OWNERS,
                            paging=PAGING)
    assert got.to_json() == summarize(events, settings, now=END + HOUR).to_json()


async def test_build_report_for_one_owner_from_the_store(store: Store) -> None:
    await store.history.append(history())
    got = await build_report(store.history, start=START, end=END, owner="ml", rules=RULES,
                             owners=OWNERS, paging=PAGING, now=END)
    body = got.to_json()
    assert body["owner"] == "ml"
    assert body["totals"]["pages"] == 0 and body["rules"] == []
    assert [o["owner"] for o in body["owners"]] == ["ml"]


class EventsInHand:
    """A history source with `between` only (no pages of light rows), as in tests."""

    def __init__(self, events: list[HistoryEvent]) -> None:
        self.events = sorted(events, key=lambda e: e.at)

    async def between(self, since: float, until: float, kinds: Iterable[str] | None = None,
                      owner: str | None = None,
                      rule: str | None = None) -> AsyncIterator[HistoryEvent]:
        for e in self.events:
            if since <= e.at < until and (kinds is None or e.kind in kinds):
                yield e


async def test_build_report_reads_a_source_without_pages_one_event_at_a_time() -> None:
    events = history()
    got = await build_report(EventsInHand(events), start=START, end=END, owner=None,
                             rules=RULES, owners=OWNERS, paging=PAGING, now=END)
    settings = settings_for(start=START, end=END, owner=None, rules=RULES, owners=OWNERS,
                            paging=PAGING)
    assert got.to_json() == summarize(events, settings, now=END).to_json()


def clicks(rng: random.Random) -> list[HistoryEvent]:
    """Feedback of many people on many pages across both periods, clicked again (changing
    their mind), on pages of two owners' alerts, some through the API (no Slack message:
    one verdict per alert and group), in an order unrelated to their keys."""
    alerts = [alert("DiskFull", owner=o, instance=f"db-{i}") for o in ("sre", "ml")
              for i in range(4)]
    out = []
    for _ in range(300):
        at = START - 7 * DAY + rng.uniform(0, 14 * DAY - HOUR)
        a = rng.choice(alerts)
        by = rng.choice(("alice", "bob", "carol"))
        page = rng.randrange(12)
        slack = rng.random() < 0.8
        out.append(feedback(
            at, a, by, rng.choice(("useful", "noise")),
            reason=rng.choice((None, "too_sensitive", "not_actionable")),
            channel=f"C{page % 3}" if slack else None,
            ts=f"17924{page:05d}.000100" if slack else None, group_key=f"g{page % 2}"))
    return sorted(out, key=lambda e: e.at)


@pytest.mark.parametrize("owner", [None, "ml"])
async def test_verdicts_read_a_verdict_at_a_time_count_as_in_time_order(
        store: Store, monkeypatch: pytest.MonkeyPatch, owner: str | None) -> None:
    """From a store, verdicts come from the feedback events in the order of their keys
    (one kept at a time): the counts are those of the events in time order, in hand."""
    monkeypatch.setattr(repository_module, "_PAGE", 7)
    events = clicks(random.Random(5))
    await store.history.append(events)
    got = await build_report(store.history, start=START, end=END, owner=owner,
                             rules=RULES, owners=OWNERS, paging=PAGING, now=END)
    settings = settings_for(start=START, end=END, owner=owner, rules=RULES, owners=OWNERS,
                            paging=PAGING)
    expected = summarize(events, settings, now=END).to_json()
    assert got.to_json() == expected
    feedback_seen = expected["totals"]["feedback"]
    assert feedback_seen["useful"] + feedback_seen["noise"] > 10  # many verdicts counted
    assert expected["totals_previous"]["feedback"]["useful"] > 0  # in both periods
