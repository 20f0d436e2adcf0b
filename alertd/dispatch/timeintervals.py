"""Time intervals with Alertmanager's semantics: when a route is muted or active.

A `TimeInterval` contains a time when every key it sets contains it: `times` (minutes of the
day, the end excluded), `weekdays`, `days_of_month` (negative days count from the end of the
month: -1 is its last day), `months` and `years` (inclusive ranges), all read in its
`location` (UTC when left out). A named interval contains a time when any of its items
does. Times are Unix timestamps in seconds, passed in: nothing here reads the clock.
"""

from __future__ import annotations

import calendar
import math
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from alertd.config.time_intervals import NamedTimeInterval, TimeIntervalSpec

__all__ = ["TimeInterval", "TimeIntervals"]

Ranges = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class TimeInterval:
    """One item of a named time interval; a key left as None contains every time."""

    times: Ranges | None = None  # (start minute, end minute), end excluded
    weekdays: Ranges | None = None  # 0 is Sunday
    days_of_month: Ranges | None = None
    months: Ranges | None = None
    years: Ranges | None = None
    location: str | None = None  # an IANA zone name, "UTC" or "Local"; None is UTC

    @classmethod
    def from_spec(cls, spec: TimeIntervalSpec) -> TimeInterval:
        def ranges(items: Sequence[tuple[int, int]] | None) -> Ranges | None:
            return None if items is None else tuple(items)

        times = None if spec.times is None else tuple(
            (t.start_minute, t.end_minute) for t in spec.times)
        return cls(times=times, weekdays=ranges(spec.weekdays),
                   days_of_month=ranges(spec.days_of_month), months=ranges(spec.months),
                   years=ranges(spec.years), location=spec.location)

    def contains(self, t: float) -> bool:
        """Whether the Unix time `t` (seconds) lies in this interval."""
        at = _local_time(t, self.location)
        if self.times is not None:
            minute = at.hour * 60 + at.minute
            if not any(start <= minute < end for start, end in self.times):
                return False
        if self.days_of_month is not None and not _in_days_of_month(at, self.days_of_month):
            return False
        if self.months is not None and not _within(at.month, self.months):
            return False
        weekday = (at.weekday() + 1) % 7  # Python counts from Monday, Alertmanager from Sunday
        if self.weekdays is not None and not _within(weekday, self.weekdays):
            return False
        return self.years is None or _within(at.year, self.years)

    def next_change(self, t: float) -> float:
        """A time after `t` before which `contains` answers as it does at `t`: the next
        start or end of one of its `times` that day, the next local midnight (the day,
        weekday, month or year change there), or a change of the zone's offset (a
        daylight-saving change moves the local minute), whichever comes first."""
        if self.times is None and self.weekdays is None and self.days_of_month is None \
                and self.months is None and self.years is None:
            return math.inf
        at = _local_time(t, self.location)
        day = at.date()
        bounds = [datetime.combine(day + timedelta(days=1), time(), at.tzinfo).timestamp()]
        minute = at.hour * 60 + at.minute
        for edge in (m for item in self.times or () for m in item):
            if minute < edge < 1440:
                local = datetime.combine(day, time(edge // 60, edge % 60), at.tzinfo)
                # An hour repeated when the clocks go back holds the minute twice.
                bounds += [local.timestamp(), local.replace(fold=1).timestamp()]
        soonest = min(b for b in bounds if b > t)
        return _offset_change(t, soonest, self.location) or soonest


def _within(value: int, ranges: Ranges) -> bool:
    return any(begin <= value <= end for begin, end in ranges)


def _in_days_of_month(at: datetime, ranges: Ranges) -> bool:
    days = calendar.monthrange(at.year, at.month)[1]
    for begin, end in ranges:
        begin = days + begin + 1 if begin < 0 else begin
        end = days + end + 1 if end < 0 else end
        if begin > days:  # "31" in a 30-day month: never
            continue
        # Clamped to the month, so that "25:31" ends on the 28th in February.
        if begin <= at.day <= min(end, days):
            return True
    return False


def _offset_change(t: float, until: float, location: str | None) -> float | None:
    """The first time after `t` and at most `until` whose UTC offset differs from that
    of `t` in `location` (found to the second), or None."""
    offset = _local_time(t, location).utcoffset()
    if _local_time(until, location).utcoffset() == offset:
        return None  # zones change their offset at most once in a day
    low, high = math.floor(t), math.ceil(until)
    while high - low > 1:
        middle = (low + high) // 2
        if _local_time(middle, location).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return float(high)


def _local_time(t: float, location: str | None) -> datetime:
    if location == "Local":
        return datetime.fromtimestamp(t).astimezone()
    if location is None or location in ("", "UTC"):
        return datetime.fromtimestamp(t, UTC)
    return datetime.fromtimestamp(t, zoneinfo.ZoneInfo(location))  # zones are cached


class TimeIntervals:
    """The named time intervals of a config (`time_intervals` and `mute_time_intervals`)."""

    def __init__(self, named: Mapping[str, Sequence[TimeInterval]]) -> None:
        self._named = {name: tuple(items) for name, items in named.items()}

    @classmethod
    def from_config(cls, time_intervals: Iterable[NamedTimeInterval],
                    mute_time_intervals: Iterable[NamedTimeInterval] = ()
                    ) -> TimeIntervals:
        named: dict[str, list[TimeInterval]] = {}
        for item in [*time_intervals, *mute_time_intervals]:
            named[item.name] = [TimeInterval.from_spec(spec) for spec in item.time_intervals]
        return cls(named)

    def names(self) -> list[str]:
        return list(self._named)

    def contains(self, name: str, t: float) -> bool:
        """Whether the interval `name` contains `t`; an unknown name is a KeyError (a checked
        config names only intervals it defines)."""
        return any(item.contains(t) for item in self._named[name])

    def next_change(self, names: Iterable[str], t: float) -> float:
        """A time after `t` before which none of the intervals `names` changes whether
        it contains the time (math.inf: never)."""
        return min((item.next_change(t) for name in names for item in self._named[name]),
                   default=math.inf)

    def active(self, names: Iterable[str], t: float) -> list[str]:
        """The intervals among `names` that contain `t`, in the order given."""
        return [name for name in names if self.contains(name, t)]

    def mute_reason(self, mute: Sequence[str], active: Sequence[str], t: float) -> str | None:
        """Why a route with these `mute_time_intervals` and `active_time_intervals` is muted
        at `t`, or None when it is not: inside a mute interval, or outside every active
        interval (a route without active intervals is always active)."""
        inside = self.active(mute, t)
        if inside:
            return f'inside the mute time interval "{inside[0]}"'
        if active and not self.active(active, t):
            names = ", ".join(f'"{name}"' for name in active)
            return f"outside the active time intervals ({names})"
        return None
