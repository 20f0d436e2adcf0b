"""Silenced time and the silences worth a look, on constructed timelines.

Silenced time of an alert = the length of (its firing) within (the period) within (the union of
the active intervals [starts_at, min(ends_at, expired at)) of the silences that muted it
during that firing).
"""

from __future__ import annotations

from tests.noise.timelines import (
    DAY,
    END,
    HOUR,
    START,
    alert,
    fire,
    muted,
    report,
    resolve,
    silence,
)


def test_silenced_time_and_silence_lists() -> None:
    q = alert("Quiet", instance="q")
    r = alert("Rowdy", instance="r")
    events = [
        # s4: active from 3 days before the period to 30 days after it
        silence(START - 3 * DAY, "s4", by="erin", comment="migration",
                starts_at=START - 3 * DAY, ends_at=END + 30 * DAY),
        # s5: made and ended in the previous period
        silence(START - 2 * DAY, "s5", starts_at=START - 2 * DAY, ends_at=START - DAY),
        # Quiet fires for 2 days; s1 mutes it from 1h after it fired until it ends,
        # halfway: 23 hours
        fire(START + DAY, q),
        silence(START + DAY + HOUR, "s1", comment="known issue",
                starts_at=START + DAY + HOUR, ends_at=START + 2 * DAY),
        muted(START + DAY + HOUR, q, "s1", until=START + 2 * DAY),
        muted(START + DAY + 6 * HOUR, q, "s1", until=START + 2 * DAY),
        resolve(START + 3 * DAY, q),
        # s3: active for a day, mutes nothing
        silence(START + 2 * DAY, "s3", by="dave", comment="staging",
                starts_at=START + 2 * DAY, ends_at=START + 3 * DAY),
        # Rowdy fires for a day; s2 (meant for 6 days) is expired after 2 hours; s4 mutes
        # it too, the whole day: the union is the whole day
        fire(START + 4 * DAY, r),
        silence(START + 4 * DAY, "s2", starts_at=START + 4 * DAY, ends_at=START + 10 * DAY),
        muted(START + 4 * DAY, r, "s2", "s4", until=END + 30 * DAY),
        silence(START + 4 * DAY + 2 * HOUR, "s2", action="expired",
                starts_at=START + 4 * DAY, ends_at=START + 10 * DAY),
        resolve(START + 5 * DAY, r),
    ]
    got = report(events)
    quiet, rowdy = got.rule("Quiet"), got.rule("Rowdy")
    assert quiet is not None and rowdy is not None
    # Quiet: [1d+1h, 2d) = 23h = 82800 s
    assert quiet.figures.silenced_s == 82800
    # Rowdy: [4d, 4d+2h) or [-3d, 37d), within [4d, 5d): 86400 s
    assert rowdy.figures.silenced_s == 86400
    assert got.totals.silenced_s == 82800 + 86400
    # s4 has been active for 10 days at the end: long-running.
    assert [s.to_json() for s in got.long_running_silences] == [{
        "id": "s4", "matchers": ['alertname="ChurnLatencyHigh"', 'owner="ml"'], "by": "erin",
        "comment": "migration", "since": "2026-10-16T00:00:00Z"}]
    # s3 was active in the period and muted nothing; s5 ended before it.
    assert [s.id for s in got.silences_matched_nothing] == ["s3"]
    assert got.silences_matched_nothing[0].to_json() == {
        "id": "s3", "matchers": ['alertname="ChurnLatencyHigh"', 'owner="ml"'], "by": "dave",
        "comment": "staging"}


def test_a_silence_known_only_from_silenced_events() -> None:
    # Made before the history read: taken as active from the first event naming it to the
    # `until` they give.
    a = alert()
    events = [fire(START + HOUR, a), muted(START + 2 * HOUR, a, "old", until=START + 5 * HOUR),
              resolve(START + 10 * HOUR, a)]
    got = report(events)
    assert got.totals.silenced_s == 3 * HOUR
    assert got.long_running_silences == () and got.silences_matched_nothing == ()


def test_silences_for_one_owner() -> None:
    events = [
        silence(START, "mine", starts_at=START, ends_at=START + DAY, owner="ml"),
        silence(START, "theirs", starts_at=START, ends_at=START + DAY, owner="data"),
        silence(START, "anyones", starts_at=START, ends_at=START + DAY, owner=None),
    ]
    assert [s.id for s in report(events, owner="ml").silences_matched_nothing] == ["mine"]
    assert [s.id for s in report(events).silences_matched_nothing] == [
        "anyones", "mine", "theirs"]
