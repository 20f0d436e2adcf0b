"""The period a report covers, from what a person types: `--from -7d --to now`.

A time is RFC 3339 (`2026-11-30T09:00:00Z`, any offset), a date (`2026-11-30`, midnight
UTC), `now`, or a duration before or after now (`-7d`, `now-36h`, `-1w`). Without `--from`
the period is the 7 days ending at `--to` (now by default); without `--to` it ends now.
A report covers at most MAX_LENGTH: it lists every day of its period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from alertd.durations import parse_duration
from alertd.errors import AlertdError
from alertd.silence.model import parse_time
from alertd.validation import TIME_OUT_OF_RANGE, representable

DEFAULT_LENGTH = 7 * 86400.0
MAX_LENGTH = 366 * 86400.0
_RELATIVE = re.compile(r"(?:now)?\s*([+-])\s*(\S+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FORMS = ("RFC 3339 (2026-11-30T09:00:00Z), a date (2026-11-30), now, "
         "or a duration before now (-7d, now-36h)")


class PeriodError(AlertdError):
    """A time or period that cannot be used; the message names the option."""


@dataclass(frozen=True, slots=True)
class Period:
    start: float
    end: float


def parse_when(text: str, now: float, option: str) -> float:
    """Seconds since the epoch for one end of a period; PeriodError naming `option`."""
    given = text.strip()
    if given == "now":
        return now
    relative = _RELATIVE.fullmatch(given)
    if relative:
        seconds, problem = parse_duration(relative.group(2))
        if seconds is None:
            raise PeriodError(f'{option}: invalid duration "{relative.group(2)}": {problem}')
        at = now + seconds if relative.group(1) == "+" else now - seconds
        if not representable(at):
            raise PeriodError(f'{option}: "{text}" {TIME_OUT_OF_RANGE}')
        return at
    try:
        if _DATE.fullmatch(given):
            return datetime.strptime(given, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
        return parse_time(given)
    except ValueError as exc:
        if TIME_OUT_OF_RANGE in str(exc):
            raise PeriodError(f"{option}: {exc}") from None
        raise PeriodError(f'{option}: invalid time "{text}": write {FORMS}') from None


def parse_period(start: str | None, end: str | None, now: float, *,
                 names: tuple[str, str] = ("--from", "--to")) -> Period:
    """The period from the two optional ends; `names` are the options' names as the user
    typed them (`--from`, or `from` in a URL), for the messages."""
    to = parse_when(end, now, names[1]) if end else now
    since = parse_when(start, now, names[0]) if start else to - DEFAULT_LENGTH
    if since >= to:
        raise PeriodError(f"{names[0]} must be before {names[1]}: {_show(since)} is not "
                          f"before {_show(to)}")
    if to - since > MAX_LENGTH:
        raise PeriodError(f"{names[0]}, {names[1]}: a report covers at most 366 days, "
                          f"not {(to - since) / 86400:.0f}")
    return Period(since, to)


def _show(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
