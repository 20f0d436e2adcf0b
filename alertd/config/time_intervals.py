"""`time_intervals` (and the deprecated `mute_time_intervals`): named sets of times of the
day, weekdays, days of the month, months and years, as Alertmanager 0.25 reads them."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, model_validator

from alertd.config.types import Model, NonEmptyStr, check_timezone, describe
from alertd.suggest import did_you_mean

__all__ = ["NamedTimeInterval", "TimeIntervalSpec", "TimeRange"]

_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00")
_WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")


def _minutes(value: str) -> int:
    if not _TIME.fullmatch(value):
        raise ValueError(f'invalid time "{value}": write HH:MM, from 00:00 to 24:00')
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _clock_time(value: object) -> object:
    # YAML 1.1 reads an unquoted 17:00 as the base-60 number 1020, where Alertmanager's
    # parser reads the text "17:00" (Alertmanager's own examples leave times unquoted).
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1440:
        return f"{value // 60:02d}:{value % 60:02d}"
    return value


ClockTime = Annotated[str, BeforeValidator(_clock_time)]


class TimeRange(Model):
    """A range of the day, `start_time` included and `end_time` excluded (`24:00` ends the
    day)."""

    start_time: ClockTime
    end_time: ClockTime

    @model_validator(mode="after")
    def _check(self) -> TimeRange:
        start, end = _minutes(self.start_time), _minutes(self.end_time)
        if start >= end:
            raise ValueError(f"start_time {self.start_time} must be before end_time "
                             f"{self.end_time}")
        return self

    @property
    def start_minute(self) -> int:
        return _minutes(self.start_time)

    @property
    def end_minute(self) -> int:
        return _minutes(self.end_time)


def _range_text(value: object, *, numbers: bool, largest: int = 0) -> str:
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 1:5 as the base-60 number 65, where Alertmanager's
        # parser reads the text "1:5": a number too large to be a value is read back so.
        if largest and value >= 60 and value // 60 <= largest:
            return f"{value // 60}:{value % 60}"
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {describe(value)}")
    return value


def _split_range(text: str) -> tuple[str, str]:
    parts = text.lower().split(":")
    if len(parts) == 1:
        return parts[0], parts[0]
    if len(parts) != 2:
        raise ValueError(f'invalid range "{text}": write one value or start:end')
    return parts[0], parts[1]


def _int(text: str, what: str, original: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(f'"{original}" is not a {what}')
    return int(text)


def _weekday_range(value: object) -> tuple[int, int]:
    text = _range_text(value, numbers=False)
    ends = []
    for part in _split_range(text):
        if part not in _WEEKDAYS:
            raise ValueError(f'"{part}" is not a day of the week{did_you_mean(part, _WEEKDAYS)}')
        ends.append(_WEEKDAYS.index(part))
    if ends[0] > ends[1]:
        raise ValueError(f'"{text}": the range must not wrap past saturday; '
                         "write two ranges, such as saturday and sunday")
    return ends[0], ends[1]


def _day_of_month_range(value: object) -> tuple[int, int]:
    text = _range_text(value, numbers=True, largest=31)
    begin, end = (_int(p, "day of the month", text) for p in _split_range(text))
    for day in (begin, end):
        if day == 0 or not -31 <= day <= 31:
            raise ValueError(f"{day} is not a day of the month: write 1 to 31, or -1 "
                             "(the last day) to -31")
    if begin < 0 < end:
        raise ValueError(f'"{text}": the end day must be negative when the start day is')
    # With negative days, compare as in a 28-day month: what is always empty is an error.
    if (begin + 28 if begin < 0 else begin) > (end + 28 if end < 0 else end):
        raise ValueError(f'"{text}": the end day is always before the start day')
    return begin, end


def _month_range(value: object) -> tuple[int, int]:
    text = _range_text(value, numbers=True, largest=12)
    ends = []
    for part in _split_range(text):
        if part in _MONTHS:
            ends.append(_MONTHS.index(part) + 1)
        elif part.isdigit() and 1 <= int(part) <= 12:
            ends.append(int(part))
        else:
            raise ValueError(f'"{part}" is not a month: write january to december, or 1 to 12'
                             + did_you_mean(part, _MONTHS))
    if ends[0] > ends[1]:
        raise ValueError(f'"{text}": the end month is before the start month')
    return ends[0], ends[1]


def _year_range(value: object) -> tuple[int, int]:
    text = _range_text(value, numbers=True)
    begin, end = (_int(p, "year", text) for p in _split_range(text))
    if begin < 1 or end < 1:
        raise ValueError(f'"{text}": years are 1 or later')
    if begin > end:
        raise ValueError(f'"{text}": the end year is before the start year')
    return begin, end


def _weekday_text(r: tuple[int, int]) -> str:
    begin, end = _WEEKDAYS[r[0]], _WEEKDAYS[r[1]]
    return begin if r[0] == r[1] else f"{begin}:{end}"


def _range_number_text(r: tuple[int, int]) -> str:
    return str(r[0]) if r[0] == r[1] else f"{r[0]}:{r[1]}"


# Inclusive ranges, read from "monday:friday", "saturday", "1:5", "-3:-1", "january:march"...
# and kept as (begin, end): weekdays 0 (sunday) to 6, months 1 to 12.
WeekdayRange = Annotated[tuple[int, int], BeforeValidator(_weekday_range),
                         PlainSerializer(_weekday_text)]
DayOfMonthRange = Annotated[tuple[int, int], BeforeValidator(_day_of_month_range),
                            PlainSerializer(_range_number_text)]
MonthRange = Annotated[tuple[int, int], BeforeValidator(_month_range),
                       PlainSerializer(_range_number_text)]
YearRange = Annotated[tuple[int, int], BeforeValidator(_year_range),
                      PlainSerializer(_range_number_text)]


def _check_location(value: str) -> str:
    # Alertmanager's names for UTC and the machine's zone, beside the IANA names.
    if value in ("", "UTC", "Local"):
        return value
    return check_timezone(value)


class TimeIntervalSpec(Model):
    """One item of a time interval: every key given must contain the time; a key left out
    contains any time. Without `location`, the time is taken in UTC."""

    times: list[TimeRange] | None = None
    weekdays: list[WeekdayRange] | None = None
    days_of_month: list[DayOfMonthRange] | None = None
    months: list[MonthRange] | None = None
    years: list[YearRange] | None = None
    location: Annotated[str, AfterValidator(_check_location)] | None = None


class NamedTimeInterval(Model):
    """An item of `time_intervals` (or of the deprecated `mute_time_intervals`): a name and
    the intervals it stands for (any of them)."""

    name: NonEmptyStr
    time_intervals: list[TimeIntervalSpec] = []
