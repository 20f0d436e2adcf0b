"""Which scheduled report is due: a pure function of the schedule, the time zone, now and
the period last sent, so that "exactly once per period" is decided in one testable place.

A report scheduled "mon 09:00" in Europe/Berlin covers the period ending at that instant.
The daemon asks at each scheduled time and once when it starts: a daemon that was down at
09:00 sends the missed report when it comes back, and one restarted after sending finds
the period recorded and sends nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from alertd.config.report import Schedule


def latest_fire(schedule: Schedule, timezone: str, now: float) -> float:
    """The most recent scheduled time at or before `now` (seconds since the epoch)."""
    zone = ZoneInfo(timezone)
    local = datetime.fromtimestamp(now, zone)
    back = (local.weekday() - schedule.weekday) % 7
    for days in (back, back + 7):
        day = (local - timedelta(days=days)).date()
        # Wall-clock time of that day: 09:00 stays 09:00 across a DST change. A time that
        # does not exist that day (in the skipped hour) resolves as zoneinfo folds it.
        at = datetime(day.year, day.month, day.day, schedule.hour, schedule.minute,
                      tzinfo=zone).timestamp()
        if at <= now:
            return at
    raise AssertionError("unreachable: a week before is always in the past")


def due_period(schedule: Schedule, timezone: str, now: float, last_sent: float | None,
               length: float) -> tuple[float, float] | None:
    """The period `(start, end)` to send now, or None: the one ending at the latest
    scheduled time, unless the report of that period (or a later one) was sent."""
    end = latest_fire(schedule, timezone, now)
    if last_sent is not None and last_sent >= end:
        return None
    return end - length, end


def rfc3339(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
