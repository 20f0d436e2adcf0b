"""Pages by time of day in the owner's time zone, across the end of summer time in Berlin
(Sunday 2026-10-25, 03:00 CEST -> 02:00 CET, at 01:00 UTC): before it Berlin is UTC+2,
after it UTC+1."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

from alertd.history import HistoryEvent
from alertd.noise import band
from alertd.noise.bands import dates
from tests.noise.timelines import DAY, MINUTE, alert, delivered, fire, report, resolve

BERLIN = ZoneInfo("Europe/Berlin")
THU = 1792627200.0  # Thursday 2026-10-22 00:00 UTC
FRI, SAT, SUN, MON, TUE = (THU + i * DAY for i in range(1, 6))
H = 3600.0


def test_bands_in_a_time_zone_across_the_change() -> None:
    # Friday 05:30 UTC = 07:30 CEST: sleep; 06:30 UTC = 08:30 CEST: business.
    assert band(FRI + 5.5 * H, BERLIN) == "sleep"
    assert band(FRI + 6.5 * H, BERLIN) == "business"
    # Monday, after the change, the same UTC times are an hour earlier in Berlin:
    # 06:30 UTC = 07:30 CET: sleep; 07:30 UTC = 08:30 CET: business.
    assert band(MON + 6.5 * H, BERLIN) == "sleep"
    assert band(MON + 7.5 * H, BERLIN) == "business"
    # In UTC, Monday 06:30 is sleep, 08:00 business (start included), 18:00 off,
    # 22:00 sleep (end excluded); Saturday 08:00 off.
    assert [band(MON + h * H, UTC) for h in (6.5, 8, 17.99, 18, 21.99, 22)] == [
        "sleep", "business", "business", "off", "off", "sleep"]
    assert band(SAT + 8 * H, UTC) == "off"


def page_at(at: float, n: int) -> list[HistoryEvent]:
    labels = alert("NightJob", owner="berlin", instance=str(n))
    return [fire(at - MINUTE, labels), delivered(at, labels, f"d{n}", receiver="berlin"),
            resolve(at + 10 * MINUTE, labels)]


def test_report_places_pages_in_the_owners_time_zone() -> None:
    times = [
        FRI + 5.5 * H,   # 07:30 CEST Friday: sleep
        FRI + 6.5 * H,   # 08:30 CEST Friday: business
        SAT + 18.5 * H,  # 20:30 CEST Saturday: off (weekend daytime)
        MON + 6.5 * H,   # 07:30 CET Monday: sleep
        MON + 7.5 * H,   # 08:30 CET Monday: business
        SUN + 23.5 * H,  # 00:30 CET Monday 10-26: sleep, on Monday's date in Berlin
        TUE + 17.5 * H,  # 18:30 CET Tuesday: off (weekday evening)
    ]
    events = [e for n, at in enumerate(times) for e in page_at(at, n)]
    got = report(events, start=THU, end=THU + 7 * DAY, owner="berlin",
                 zones={"berlin": "Europe/Berlin"})
    assert got.totals.pages == 7
    assert got.totals.interruptions.to_json() == {"business": 2, "off": 2, "sleep": 3}
    # Dates in Berlin: the week runs from Thursday 02:00 CEST to Thursday 01:00 CET, so
    # it touches 8 local dates.
    per_day = {d.date: (d.business, d.off, d.sleep) for d in got.pages_per_day}
    assert list(per_day) == [f"2026-10-{d}" for d in range(22, 30)]
    assert per_day["2026-10-23"] == (1, 0, 1)
    assert per_day["2026-10-24"] == (0, 1, 0)
    assert per_day["2026-10-25"] == (0, 0, 0)
    assert per_day["2026-10-26"] == (1, 0, 2)
    assert per_day["2026-10-27"] == (0, 1, 0)


def test_without_a_time_zone_pages_are_placed_in_utc() -> None:
    # The same Monday 07:30 UTC page: 08:30 in Berlin (business), 07:30 in UTC (sleep).
    events = page_at(MON + 7.5 * H, 1)
    in_berlin = report(events, start=THU, end=THU + 7 * DAY, zones={"berlin": "Europe/Berlin"})
    in_utc = report(events, start=THU, end=THU + 7 * DAY)
    assert in_berlin.totals.interruptions.business == 1
    assert in_utc.totals.interruptions.sleep == 1
    # Without an owner filter, days are UTC dates: 7 of them, midnight to midnight.
    assert [d.date for d in in_utc.pages_per_day] == [f"2026-10-{d}" for d in range(22, 29)]


def test_dates_of_a_period() -> None:
    assert [d.isoformat() for d in dates(THU, THU + DAY, UTC)] == ["2026-10-22"]
    assert [d.isoformat() for d in dates(THU, THU + DAY + 1, UTC)] == ["2026-10-22",
                                                                      "2026-10-23"]
