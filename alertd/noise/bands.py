"""Time-of-day bands, in the clock of the people a page reaches.

The bands are those of PagerDuty's Operational Reviews, in local time:

    business   Monday to Friday, 08:00 to 18:00
    off        Monday to Friday, 18:00 to 22:00; Saturday and Sunday, 08:00 to 22:00
    sleep      every day, 22:00 to 08:00

Each start is included and each end excluded. A time is placed by its local wall clock,
converted with the IANA rules of the zone (zoneinfo), so a page at 07:30 is in sleep
hours on either side of a change to or from daylight saving time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

BUSINESS = "business"
OFF = "off"
SLEEP = "sleep"
BANDS = (BUSINESS, OFF, SLEEP)

_WAKE, _EVENING, _NIGHT = 8, 18, 22


def zone(name: str | None) -> tzinfo:
    """The zone of an IANA name (checked when the configuration was loaded); UTC for none."""
    return ZoneInfo(name) if name else UTC


def band(at: float, where: tzinfo) -> str:
    """The band of the time `at` (seconds since the epoch) in the zone `where`."""
    return local_band(datetime.fromtimestamp(at, where))


def local_band(local: datetime) -> str:
    """The band of a local time."""
    if local.hour < _WAKE or local.hour >= _NIGHT:
        return SLEEP
    if local.weekday() >= 5 or local.hour >= _EVENING:  # weekday 5, 6: Saturday, Sunday
        return OFF
    return BUSINESS


def local_date(at: float, where: tzinfo) -> date:
    return datetime.fromtimestamp(at, where).date()


def dates(start: float, end: float, where: tzinfo) -> list[date]:
    """Every local date that [start, end) touches, in order."""
    if end <= start:
        return []
    first = local_date(start, where)
    last_moment = datetime.fromtimestamp(end, where)
    last = last_moment.date()
    if last_moment.time() == datetime.min.time():  # `end` is a midnight: excluded
        last -= timedelta(days=1)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
