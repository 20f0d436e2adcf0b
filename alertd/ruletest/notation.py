"""The series value notation of rule unit tests, as in `promtool test rules`.

Items are separated by spaces; item i is the value at time i * interval:

    1 2.5 -3 1e3 Inf -Inf NaN   plain numbers
    a+bxN  a-bxN                the N+1 values a, a+b, ..., a+N*b (or decreasing)
    axN                         a, repeated N+1 times
    _                           no sample at that step
    _xN                         N steps without a sample
    stale                       a stale marker: the series ends there
"""

from __future__ import annotations

import math
import re

from alertd.series import STALE_NAN

__all__ = ["MAX_VALUES", "NotationError", "expand", "format_value", "parse_number"]

MAX_VALUES = 10_000_000  # a typo such as 0+1x100000000 should not eat all memory

_UNSIGNED = (
    r"(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"  # 1, 1.5, .5, 1e3
    r"|(?i:inf(?:inity)?|nan))"  # Inf, NaN, in any case
)
_NUMBER_RE = re.compile(rf"[+-]?{_UNSIGNED}")
_EXPANDING_RE = re.compile(
    rf"(?P<start>[+-]?{_UNSIGNED})(?:(?P<op>[+-])(?P<step>{_UNSIGNED}))?x(?P<times>\d+)"
)
_MISSING_RE = re.compile(r"_x(?P<times>\d+)")

Value = float | None
"""One step of a series: a value (possibly the stale marker) or None for no sample."""


class NotationError(ValueError):
    """An item that is not valid notation; `position` counts items from 1."""

    def __init__(self, item: str, position: int, reason: str = "") -> None:
        self.item = item
        self.position = position
        self.reason = reason
        detail = f": {reason}" if reason else ""
        super().__init__(f'invalid item "{item}" at position {position}{detail}')


def parse_number(text: str) -> float | None:
    """A plain number as the notation writes it (`-1.5`, `1e3`, `Inf`, `NaN`), else None."""
    if _NUMBER_RE.fullmatch(text) is None:
        return None
    return float(text)


def expand(text: str) -> list[Value]:
    """The values of a notation string, one per step; raises NotationError."""
    out: list[Value] = []
    for position, item in enumerate(text.split(), start=1):
        _expand_item(item, position, out)
        if len(out) > MAX_VALUES:
            raise NotationError(item, position, f"more than {MAX_VALUES} values in all")
    return out


def _expand_item(item: str, position: int, out: list[Value]) -> None:
    if item == "_":
        out.append(None)
        return
    if item == "stale":
        out.append(STALE_NAN)
        return
    number = parse_number(item)
    if number is not None:
        out.append(number)
        return
    missing = _MISSING_RE.fullmatch(item)
    if missing is not None:
        count = _times(item, position, missing["times"], 0)
        out.extend([None] * count)
        return
    expanding = _EXPANDING_RE.fullmatch(item)
    if expanding is None:
        raise NotationError(item, position)
    count = _times(item, position, expanding["times"], 1)
    start = float(expanding["start"])
    step = float(expanding["step"]) if expanding["step"] is not None else 0.0
    if expanding["op"] == "-":
        step = -step
    # a + i*b rather than repeated additions, so that 0.1 steps do not drift.
    out.append(start)
    out.extend(start + i * step for i in range(1, count))


def _times(item: str, position: int, digits: str, extra: int) -> int:
    count = int(digits) + extra
    if count > MAX_VALUES:
        raise NotationError(item, position, f"more than {MAX_VALUES} values")
    return count


def format_value(value: float) -> str:
    """A value as test output shows it: `3`, `0.25`, `+Inf`, `NaN`."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
