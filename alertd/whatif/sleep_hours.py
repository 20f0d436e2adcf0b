"""The sleep hours of `sleep_route`: the hours read and named, the time interval written for
them, and the check, through a whole day, that the changed routes mute what they should."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alertd.config.model import Config
from alertd.config.time_intervals import NamedTimeInterval
from alertd.dispatch.route import Route
from alertd.dispatch.timeintervals import TimeInterval, TimeIntervals
from alertd.whatif.edit import cannot
from alertd.whatif.routes_edit import Value

__all__ = ["already_defined", "check_routes", "interval", "interval_name", "window"]

# A window is a list of minute ranges of the day, end excluded.
Window = list[tuple[int, int]]

_CLOCK = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00")
_DEFAULT_HOURS = ("22:00", "08:00")
# The day the routes are checked through (a Wednesday, far from any change of clocks).
_SAMPLE_DAY = (2025, 1, 15)


def window(start: str, end: str, zone: str | None, path: str, what: str) -> Window:
    """The sleep hours as minutes of the day, end excluded: one range, or two across
    midnight."""
    if not (_CLOCK.fullmatch(start) and _CLOCK.fullmatch(end)) or start == "24:00":
        raise cannot(path, what, f'"{start}" to "{end}": write the hours as HH:MM')
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise cannot(path, what, f'unknown time zone "{zone}": write an IANA name such '
                         "as Europe/Berlin") from None
    first, last = (int(t[:2]) * 60 + int(t[3:]) for t in (start, end))
    last = last or 1440
    if first == last:
        raise cannot(path, what, f"{start} to {end} holds no time")
    return [(first, last)] if first < last else [(first, 1440), (0, last)]


def interval_name(zone: str | None, start: str, end: str) -> str:
    """`sleep-hours`, `sleep-hours-europe-berlin`; other hours than the usual are named."""
    name = "sleep-hours"
    if zone is not None:
        name += "-" + re.sub(r"[^a-z0-9]+", "-", zone.lower()).strip("-")
    if (start, end) != _DEFAULT_HOURS:
        name += f"-{start.replace(':', '')}-{end.replace(':', '')}"
    return name


def interval(name: str, hours: Window, zone: str | None) -> dict[str, Value]:
    """The named time interval of the minute ranges `hours` in `zone`, as written in
    `time_intervals:`."""
    def clock(minute: int) -> str:
        return f"{minute // 60:02d}:{minute % 60:02d}"

    times: list[Value] = [{"start_time": clock(a), "end_time": clock(b)} for a, b in hours]
    return {"name": name, "time_intervals": [{"times": times, "location": zone or "UTC"}]}


def already_defined(config: Config, value: dict[str, Value], path: str, what: str) -> bool:
    """Whether the config already defines this interval; raises if another has its name."""
    wanted = NamedTimeInterval.model_validate(value)
    for named in (*config.time_intervals, *config.mute_time_intervals):
        if named.name == wanted.name:
            if _same_interval(named, wanted):
                return True
            raise cannot(path, what, f'the file has another time interval "{named.name}"')
    return False


def _same_interval(a: NamedTimeInterval, b: NamedTimeInterval) -> bool:
    """Whether two named intervals hold the same times (ranges in any order, UTC however it
    is written)."""
    def meaning(named: NamedTimeInterval) -> list[TimeInterval]:
        items = []
        for spec in named.time_intervals:
            item = TimeInterval.from_spec(spec)
            location = item.location if item.location not in (None, "", "UTC") else "UTC"
            times = None if item.times is None else tuple(sorted(item.times))
            items.append(replace(item, location=location, times=times))
        return items

    return meaning(a) == meaning(b)


def check_routes(intervals: TimeIntervals, taken: Sequence[Route], base: Route, hours: Window,
                 zone: str | None, path: str, what: str) -> None:
    """Through a whole day: in the sleep hours the ticket route delivers and the paging
    route is muted; outside them the ticket route is muted and the paging route delivers
    whenever `base` would (its own time intervals still apply)."""
    tickets, paging = taken
    where: tzinfo = ZoneInfo(zone) if zone else UTC
    minutes = set(range(0, 1440, 30)) | {m for a, b in hours for m in (a, b - 1)}
    for minute in sorted(minutes):
        at = datetime(*_SAMPLE_DAY, minute // 60, minute % 60, tzinfo=where).timestamp()

        def muted(route: Route, at: float = at) -> bool:
            return intervals.mute_reason(route.mute_time_intervals,
                                         route.active_time_intervals, at) is not None

        asleep = any(a <= minute < b for a, b in hours)
        expected = (False, True) if asleep else (True, muted(base))
        if (muted(tickets), muted(paging)) != expected:
            clock = f"{minute // 60:02d}:{minute % 60:02d}"
            raise cannot(path, what, f"at {clock} ({zone or 'UTC'}) the changed routes mute "
                         f"tickets: {muted(tickets)}, pages: {muted(paging)}")
