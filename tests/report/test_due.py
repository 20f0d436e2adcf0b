"""Which scheduled report is due, at fixed times; and APScheduler's trigger agreeing with
it in Europe/Berlin across the end of summer time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from alertd.config.report import ReportConfig, parse_schedule
from alertd.report.due import due_period, latest_fire, rfc3339
from alertd.report.schedule import cron_trigger

MON_9 = parse_schedule("mon 09:00")
BERLIN = "Europe/Berlin"
WEEK = 7 * 86400.0


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_the_latest_fire_is_this_weeks_once_its_time_passed() -> None:
    # Monday 2026-11-30, 09:00 in Berlin is 08:00 UTC (winter time).
    assert latest_fire(MON_9, BERLIN, at("2026-11-30T08:00:00+00:00")) == \
        at("2026-11-30T08:00:00+00:00")
    assert latest_fire(MON_9, BERLIN, at("2026-11-30T07:59:59+00:00")) == \
        at("2026-11-23T08:00:00+00:00")
    assert latest_fire(MON_9, BERLIN, at("2026-12-05T12:00:00+00:00")) == \
        at("2026-11-30T08:00:00+00:00")


def test_across_the_end_of_summer_time_it_stays_nine_local() -> None:
    # Summer time ended on Sunday 2026-10-25: the Monday before was 09:00 CEST (07:00 UTC),
    # the Monday after 09:00 CET (08:00 UTC). That week is 7 days and 1 hour long.
    after = latest_fire(MON_9, BERLIN, at("2026-10-26T10:00:00+00:00"))
    before = latest_fire(MON_9, BERLIN, at("2026-10-25T10:00:00+00:00"))
    assert rfc3339(after) == "2026-10-26T08:00:00Z"
    assert rfc3339(before) == "2026-10-19T07:00:00Z"
    # At 07:30 UTC on the Monday after, 09:00 local has not come yet.
    assert latest_fire(MON_9, BERLIN, at("2026-10-26T07:30:00+00:00")) == before


def test_a_period_not_sent_is_due_and_ends_at_the_scheduled_time() -> None:
    now = at("2026-11-30T08:00:05+00:00")
    end = at("2026-11-30T08:00:00+00:00")
    assert due_period(MON_9, BERLIN, now, None, WEEK) == (end - WEEK, end)
    assert due_period(MON_9, BERLIN, now, at("2026-11-23T08:00:00+00:00"), WEEK) == \
        (end - WEEK, end)


def test_a_period_sent_is_not_due_again_until_the_next_one() -> None:
    sent = at("2026-11-30T08:00:00+00:00")
    for now in ("2026-11-30T08:00:00+00:00", "2026-12-03T00:00:00+00:00",
                "2026-12-07T07:59:59+00:00"):
        assert due_period(MON_9, BERLIN, at(now), sent, WEEK) is None
    assert due_period(MON_9, BERLIN, at("2026-12-07T08:00:00+00:00"), sent, WEEK) == \
        (at("2026-12-07T08:00:00+00:00") - WEEK, at("2026-12-07T08:00:00+00:00"))


def test_a_daemon_down_for_weeks_sends_only_the_latest_period() -> None:
    last = at("2026-11-02T08:00:00+00:00")
    end = at("2026-11-30T08:00:00+00:00")
    assert due_period(MON_9, BERLIN, at("2026-12-01T00:00:00+00:00"), last, WEEK) == \
        (end - WEEK, end)


def test_the_cron_trigger_fires_at_nine_berlin_time_across_the_dst_change() -> None:
    trigger = cron_trigger(ReportConfig(schedule="mon 09:00", timezone=BERLIN))
    zone = ZoneInfo(BERLIN)
    first = trigger.get_next_fire_time(None, datetime(2026, 10, 19, 9, 0, 1, tzinfo=zone))
    assert first.astimezone(UTC) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    assert (first.astimezone(zone).hour, first.astimezone(zone).minute) == (9, 0)
    previous = trigger.get_next_fire_time(None, datetime(2026, 10, 18, tzinfo=zone))
    assert previous.astimezone(UTC) == datetime(2026, 10, 19, 7, 0, tzinfo=UTC)
    # Spring: summer time starts Sunday 2027-03-28; the Monday after is 07:00 UTC.
    spring = trigger.get_next_fire_time(None, datetime(2027, 3, 23, tzinfo=zone))
    assert spring.astimezone(UTC) == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
    # The trigger and the due check agree on every fire.
    for fire in (first, previous, spring):
        assert latest_fire(MON_9, BERLIN, fire.timestamp() + 1) == fire.timestamp()
