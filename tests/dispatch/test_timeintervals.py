"""Time intervals: minutes of the day with the end excluded, inclusive ranges, days of the
month counted from its end, month ends of every length, weekday ranges and locations."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from alertd.config import parse_config
from alertd.dispatch.timeintervals import TimeInterval, TimeIntervals


def at(text: str, zone: str = "UTC") -> float:
    """The Unix time of `YYYY-MM-DD HH:MM` in `zone`."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def interval(yaml_item: str) -> TimeInterval:
    text = f"time_intervals:\n  - name: x\n    time_intervals:\n      - {yaml_item}\n"
    spec = parse_config(text).time_intervals[0].time_intervals[0]
    return TimeInterval.from_spec(spec)


def test_an_empty_interval_contains_every_time() -> None:
    assert TimeInterval().contains(at("2024-02-29 13:37"))


def test_times_include_the_start_and_exclude_the_end() -> None:
    office = interval("{times: [{start_time: '09:00', end_time: '17:30'}]}")
    assert not office.contains(at("2024-05-06 08:59"))
    assert office.contains(at("2024-05-06 09:00"))
    assert office.contains(at("2024-05-06 17:29"))
    assert not office.contains(at("2024-05-06 17:30"))
    evening = interval("{times: [{start_time: '22:00', end_time: '24:00'}, "
                       "{start_time: '00:00', end_time: '06:00'}]}")
    assert evening.contains(at("2024-05-06 23:59")) and evening.contains(at("2024-05-07 00:00"))
    assert not evening.contains(at("2024-05-07 06:00"))


def test_weekday_ranges_are_inclusive() -> None:
    weekdays = interval("{weekdays: ['monday:friday']}")
    # 2024-05-06 is a Monday.
    days = [weekdays.contains(at(f"2024-05-{d:02d} 12:00")) for d in range(5, 13)]
    assert days == [False, True, True, True, True, True, False, False]  # Sun .. Sun
    weekend = interval("{weekdays: [saturday, Sunday]}")
    assert weekend.contains(at("2024-05-11 00:00")) and weekend.contains(at("2024-05-12 23:59"))
    assert not weekend.contains(at("2024-05-13 00:00"))


@pytest.mark.parametrize(("day", "month_days"), [
    ("2023-02-26", 28), ("2024-02-27", 29), ("2024-04-28", 30), ("2024-01-29", 31)])
def test_negative_days_count_from_the_end_of_each_month(day: str, month_days: int) -> None:
    last_three = interval("{days_of_month: ['-3:-1']}")
    first = datetime.fromisoformat(day).replace(tzinfo=UTC)
    inside = [last_three.contains(first.timestamp() + d * 86400) for d in range(-1, 4)]
    # The day before the last three, the last three days, the first of the next month.
    assert inside == [False, True, True, True, False]
    assert first.day == month_days - 2


def test_days_past_the_end_of_a_short_month() -> None:
    thirty_first = interval("{days_of_month: ['31']}")
    assert thirty_first.contains(at("2024-01-31 10:00"))
    assert not any(thirty_first.contains(at(f"2024-{m}-30 10:00")) for m in ("04", "06"))
    # A range past the month's end is clamped to it: 25:31 ends on the 29th of February 2024.
    late = interval("{days_of_month: ['25:31']}")
    assert late.contains(at("2024-02-29 23:59"))
    assert not late.contains(at("2024-03-01 00:00"))
    assert not late.contains(at("2024-02-24 23:59"))
    whole = interval("{days_of_month: ['-31:-1']}")  # clamped to the first day in February
    assert whole.contains(at("2023-02-01 00:00")) and whole.contains(at("2023-02-28 00:00"))


def test_positive_and_negative_day_ranges_across_a_month_end() -> None:
    turn = interval("{days_of_month: ['1:5', '-2:-1']}")
    inside = [turn.contains(at("2024-04-27 12:00") + d * 86400) for d in range(11)]
    # April 27 .. May 7: out, in (29), in (30), in (1..5), out, out.
    assert inside == [False, False, True, True, True, True, True, True, True, False, False]


def test_months_and_years() -> None:
    winter = interval("{months: ['december', 'january:february'], years: ['2023:2024']}")
    assert winter.contains(at("2023-12-31 23:59"))
    assert winter.contains(at("2024-02-29 00:00"))
    assert not winter.contains(at("2024-03-01 00:00"))
    assert not winter.contains(at("2025-01-15 00:00"))
    numbered = interval("{months: ['3:5']}")
    assert numbered.contains(at("2024-04-01 00:00")) and not numbered.contains(at("2024-06-01"))


def test_every_key_must_contain_the_time() -> None:
    mornings = interval("{times: [{start_time: '06:00', end_time: '09:00'}], "
                        "weekdays: [monday], days_of_month: ['1:7']}")
    assert mornings.contains(at("2024-05-06 07:00"))  # the first Monday of May
    assert not mornings.contains(at("2024-05-13 07:00"))  # the second Monday
    assert not mornings.contains(at("2024-05-07 07:00"))  # a Tuesday
    assert not mornings.contains(at("2024-05-06 10:00"))


def test_without_a_location_times_are_utc() -> None:
    office = interval("{times: [{start_time: '09:00', end_time: '17:00'}]}")
    assert office.contains(at("2024-05-06 09:30", "UTC"))
    assert not office.contains(at("2024-05-06 09:30", "Europe/Berlin"))  # 07:30 UTC


def test_a_location_reads_the_time_there_with_daylight_saving() -> None:
    berlin = interval("{times: [{start_time: '09:00', end_time: '17:00'}], "
                      "weekdays: ['monday:friday'], location: Europe/Berlin}")
    # 09:00 in Berlin is 07:00 UTC in summer and 08:00 UTC in winter.
    assert berlin.contains(at("2024-07-01 07:00")) and not berlin.contains(at("2024-07-01 06:59"))
    assert berlin.contains(at("2024-01-08 08:00")) and not berlin.contains(at("2024-01-08 07:59"))
    # Friday 23:30 in Los Angeles is already Saturday in UTC, and weekdays are read there.
    la = interval("{weekdays: [friday], location: America/Los_Angeles}")
    assert la.contains(at("2024-05-11 06:30", "UTC"))
    assert not interval("{weekdays: [friday]}").contains(at("2024-05-11 06:30", "UTC"))
    # A day of the month is read there too: the last day of May in Tokyo starts in UTC May 30.
    tokyo = interval("{days_of_month: ['-1'], location: Asia/Tokyo}")
    assert tokyo.contains(at("2024-05-30 15:00", "UTC"))
    assert not tokyo.contains(at("2024-05-31 15:00", "UTC"))


def test_local_means_the_machine_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    mornings = interval("{times: [{start_time: '00:00', end_time: '12:00'}], location: Local}")
    t = at("2024-05-06 10:00", "UTC")
    try:
        monkeypatch.setenv("TZ", "Asia/Tokyo")  # 19:00 there
        time.tzset()
        assert not mornings.contains(t)
        monkeypatch.setenv("TZ", "America/New_York")  # 06:00 there
        time.tzset()
        assert mornings.contains(t)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_named_intervals_mute_and_activate_routes() -> None:
    config = parse_config("""\
time_intervals:
  - name: business-hours
    time_intervals:
      - {times: [{start_time: '09:00', end_time: '17:00'}], weekdays: ['monday:friday']}
  - name: empty
mute_time_intervals:
  - name: weekends
    time_intervals:
      - {weekdays: [saturday, sunday]}
      - {days_of_month: ['25'], months: [december]}
""")
    intervals = TimeIntervals.from_config(config.time_intervals, config.mute_time_intervals)
    assert intervals.names() == ["business-hours", "empty", "weekends"]
    saturday, monday_noon, monday_night = (at("2024-05-11 12:00"), at("2024-05-13 12:00"),
                                           at("2024-05-13 22:00"))
    christmas = at("2024-12-25 12:00")  # a Wednesday
    assert intervals.contains("weekends", saturday) and intervals.contains("weekends", christmas)
    assert not intervals.contains("empty", saturday)  # a name without items contains nothing
    assert intervals.active(["weekends", "business-hours"], monday_noon) == ["business-hours"]
    assert intervals.mute_reason([], [], saturday) is None
    assert intervals.mute_reason(["weekends"], [], saturday) == (
        'inside the mute time interval "weekends"')
    assert intervals.mute_reason(["weekends"], ["business-hours"], monday_noon) is None
    assert intervals.mute_reason([], ["business-hours", "empty"], monday_night) == (
        'outside the active time intervals ("business-hours", "empty")')
    with pytest.raises(KeyError):
        intervals.contains("nope", saturday)


# --- next_change: the answer holds until then ----------------------------------------

NEXT_CHANGE_CASES = [
    TimeInterval(times=((540, 1020),), weekdays=((1, 5),), location="Europe/Berlin"),
    TimeInterval(times=((0, 480), (1320, 1440)), location="America/New_York"),
    TimeInterval(times=((150, 180),), location="Europe/Berlin"),  # 02:30-03:00
    TimeInterval(days_of_month=((-1, -1),), location="Australia/Lord_Howe"),
    TimeInterval(months=((3, 3),), years=((2026, 2026),)),
    TimeInterval(weekdays=((0, 0), (6, 6))),
    TimeInterval(times=((61, 62),), location="Asia/Kathmandu"),
]


@pytest.mark.parametrize("item", NEXT_CHANGE_CASES)
@pytest.mark.parametrize("start", [
    "2026-03-28T20:00:00+00:00",  # Europe's clocks go forward that night
    "2026-10-24T20:00:00+00:00",  # and back
    "2026-03-07T20:00:00+00:00",  # America's go forward
    "2026-10-03T10:00:00+00:00",  # Lord Howe moves by half an hour
    "2026-02-27T23:30:00+00:00",  # a month's end
])
def test_next_change_says_until_when_the_answer_holds(item: TimeInterval, start: str) -> None:
    """Minute by minute over three days, the answer never changes before next_change, and
    it changes at the first minute where next_change is reached, or later (next_change
    may be early, never late)."""
    t = datetime.fromisoformat(start).timestamp()
    end = t + 3 * 86400
    checks = 0
    while t < end:
        until = item.next_change(t)
        assert until > t
        inside = item.contains(t)
        probe = t + 30  # every half minute up to next_change, within the three days
        while probe < min(until, end):
            assert item.contains(probe) is inside, (t, probe, until)
            probe += 30
        if until == math.inf:
            break
        t, checks = until, checks + 1
    assert checks < 3 * 10  # a few per day, not one per minute


def test_next_change_of_named_intervals_is_the_soonest() -> None:
    intervals = TimeIntervals({"office": [TimeInterval(times=((540, 1020),))],
                               "weekend": [TimeInterval(weekdays=((0, 0), (6, 6)))]})
    monday_8am = datetime(2026, 3, 2, 8, 0, tzinfo=UTC).timestamp()
    assert intervals.next_change(["office", "weekend"], monday_8am) == monday_8am + 3600
    assert intervals.next_change(["weekend"], monday_8am) == monday_8am + 16 * 3600
    assert intervals.next_change([], monday_8am) == math.inf
    assert TimeIntervals({"always": [TimeInterval()]}).next_change(["always"], 0.0) == math.inf
