"""Time firing, firings, self-resolution and rule health, on constructed timelines."""

from __future__ import annotations

import pytest

from alertd.history import HistoryEvent
from alertd.noise import RuleInfo
from tests.noise.timelines import (
    DAY,
    END,
    HOUR,
    MINUTE,
    PREVIOUS_START,
    START,
    acked,
    alert,
    feedback,
    fire,
    health,
    muted,
    pend,
    report,
    resolve,
)


def test_a_firing_that_started_before_the_period_is_clipped() -> None:
    x = alert("Crossing")
    y = alert("Ancient")
    z = alert("Recent")
    events = [
        # fires 2h before the period, resolves 1h into it: 3h in all
        fire(START - 2 * HOUR, x), resolve(START + HOUR, x),
        # fires 10 days before the period (in the warm-up), never resolves
        fire(START - 10 * DAY, y),
        # fires a day into the period, still firing at its end: 6 days
        fire(START + DAY, z),
    ]
    got = report(events)
    crossing, ancient, recent = (got.rule(n) for n in ("Crossing", "Ancient", "Recent"))
    assert crossing is not None and ancient is not None and recent is not None
    # Crossing: 7200 s in the previous period, 3600 s in this one; it fired in the
    # previous one; its length (10800 s) counts where it ended.
    assert (crossing.previous.time_firing_s, crossing.figures.time_firing_s) == (7200, 3600)
    assert (crossing.previous.firings, crossing.figures.firings) == (1, 0)
    assert crossing.figures.median_firing_s == 10800
    assert crossing.previous.median_firing_s is None
    # Ancient: the whole of both weeks; over 7 days at each period's end (10 and 17 days),
    # never a firing of either period.
    assert (ancient.previous.time_firing_s, ancient.figures.time_firing_s) == (7 * DAY,
                                                                               7 * DAY)
    assert (ancient.previous.firing_over_7d, ancient.figures.firing_over_7d) == (1, 1)
    assert ancient.figures.firings == 0 and ancient.figures.median_firing_s is None
    # Recent: 6 days, not over 7.
    assert recent.figures.time_firing_s == 6 * DAY
    assert recent.figures.firing_over_7d == 0
    # Totals: 3600 + 604800 + 518400
    assert got.totals.time_firing_s == 1_126_800
    assert got.totals.firing_over_7d == 1


def test_median_firing_is_the_nearest_rank_one() -> None:
    events = []
    for i, lasted in enumerate([3600, 60, 600, 120]):
        a = alert(instance=str(i))
        at = START + HOUR * (i + 1)
        events += [fire(at, a), resolve(at + lasted, a)]
    # sorted 60, 120, 600, 3600: rank ceil(0.5 * 4) = 2 -> 120 (the lower middle one)
    assert report(events).totals.median_firing_s == 120
    # without the last (120): 60, 600, 3600 -> rank ceil(0.5 * 3) = 2 -> 600
    assert report(events[:-2]).totals.median_firing_s == 600


def test_self_resolved_within_and_beyond_five_minutes() -> None:
    def one(name: str, at: float, lasted: float | None, *between: str) -> list[HistoryEvent]:
        a = alert(instance=name)
        events = [fire(at, a)]
        for action in between:
            if action == "ack":
                events.append(acked(at + MINUTE, a, "alice"))
            elif action == "silenced":
                events.append(muted(at + MINUTE, a, "s1", until=at + HOUR))
            elif action == "feedback":
                events.append(feedback(at + MINUTE, a, "carol", "noise", ts=name))
        if lasted is not None:
            events.append(resolve(at + lasted, a))
        return events

    events = (
        one("a", START + 1 * HOUR, 4 * MINUTE)  # on its own within 5 minutes: yes
        + one("b", START + 2 * HOUR, 6 * MINUTE)  # beyond 5 minutes: no
        + one("c", START + 3 * HOUR, 3 * MINUTE, "ack")  # acknowledged: no
        + one("d", START + 4 * HOUR, 2 * MINUTE, "silenced")  # silenced: no
        + one("e", START + 5 * HOUR, 2 * MINUTE, "feedback")  # judged: no
        + one("f", START + 6 * HOUR, 5 * MINUTE)  # exactly 5 minutes: yes
        + one("g", END - 10 * MINUTE, None)  # open at the end, 10 minutes: no
        + one("h", END - 2 * MINUTE, None)  # open at the end, 2 minutes: unknown yet
        + one("p", START - 2 * MINUTE, 3 * MINUTE)  # starts in the previous period: yes
    )
    got = report(events)
    # this period: judged a b c d e f g (7), on their own a f (2)
    assert got.totals.self_resolved_share == pytest.approx(2 / 7)
    # previous period: p, judged and on its own
    assert got.totals_previous.self_resolved_share == 1.0
    # 9 firings: 8 in this period, p in the previous one
    assert (got.totals.firings, got.totals_previous.firings) == (8, 1)
    # With 10 minutes, b is on its own too, and g's 10 minutes are not beyond: unknown.
    # judged a b c d e f (6), on their own a b f (3)
    assert report(events, self_resolve_s=600).totals.self_resolved_share == 0.5


def test_pending_alerts_are_not_firings() -> None:
    a = alert()
    events = [pend(START + HOUR, a), pend(START + HOUR, a)]
    got = report(events)
    assert got.totals.firings == 0 and got.totals.time_firing_s == 0


def test_a_transition_to_firing_of_a_firing_alert_is_not_a_new_firing() -> None:
    a = alert()
    events = [fire(START + HOUR, a), fire(START + 2 * HOUR, a), resolve(START + 3 * HOUR, a)]
    got = report(events).totals
    assert got.firings == 1
    assert got.time_firing_s == 2 * HOUR


def test_rule_health_errors_and_no_data() -> None:
    events = [
        health(START + 1 * HOUR, "Flaky", "error"),
        health(START + 2 * HOUR, "Flaky", "ok"),
        health(START + 3 * HOUR, "Flaky", "error"),
        health(START + 4 * HOUR, "Flaky", "error"),  # still in error: not a new one
        # no data for 30 minutes, then from an hour before the end on
        health(START + DAY, "Flaky", "nodata"),
        health(START + DAY + 30 * MINUTE, "Flaky", "ok"),
        health(END - HOUR, "Flaky", "nodata"),
        # no data from an hour before the period to an hour into it
        health(START - HOUR, "Gappy", "nodata"),
        health(START + HOUR, "Gappy", "ok"),
    ]
    rules = [RuleInfo("Flaky", "ml", "r"), RuleInfo("Gappy", "data", "r")]
    got = report(events, rules=rules)
    flaky, gappy = got.rule("Flaky"), got.rule("Gappy")
    assert flaky is not None and gappy is not None
    assert flaky.figures.eval_errors == 2
    assert flaky.figures.nodata_s == 30 * MINUTE + HOUR  # 1800 + 3600
    assert (gappy.previous.nodata_s, gappy.figures.nodata_s) == (HOUR, HOUR)
    # Health events name only the rule: the owner comes from the rule.
    ml = got.owner_row("ml")
    assert ml is not None and ml.figures.eval_errors == 2
    assert got.totals.nodata_s == 5400 + 3600


def test_rules_without_owner_or_runbook_and_never_fired() -> None:
    rules = [RuleInfo("Fired", "ml", "https://runbooks/fired"), RuleInfo("Orphan"),
             RuleInfo("NoBook", "ml"), RuleInfo("LongAgo", "ml", "https://runbooks/x")]
    events = [
        # 80 days before the end: within 90 days
        fire(END - 80 * DAY, alert("Fired")), resolve(END - 80 * DAY + HOUR, alert("Fired")),
        # 100 days before the end: not
        fire(END - 100 * DAY, alert("LongAgo")),
        resolve(END - 100 * DAY + HOUR, alert("LongAgo")),
    ]
    got = report(events, rules=rules).rule_health
    assert got.without_owner == ("Orphan",)
    assert got.without_runbook == ("NoBook", "Orphan")
    assert got.never_fired_90d == ("LongAgo", "NoBook", "Orphan")
    # For one owner: only that owner's rules.
    mine = report(events, rules=rules, owner="ml").rule_health
    assert (mine.without_owner, mine.without_runbook, mine.never_fired_90d) == (
        (), ("NoBook",), ("LongAgo", "NoBook"))
    assert PREVIOUS_START > END - 90 * DAY  # the 90 days reach past the previous week
