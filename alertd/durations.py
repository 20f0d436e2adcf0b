"""Durations as written in rule files, test files and alertd.yml: `100ms`, `5m`, `1h30m`."""

from __future__ import annotations

import re

UNITS: dict[str, float] = {
    "y": 365 * 86400.0,
    "w": 7 * 86400.0,
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
}
_ORDER = list(UNITS)
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|[smhdwy])")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|[smhdwy]))+")


def parse_duration(text: str) -> tuple[float | None, str | None]:
    """Seconds for `text`, or (None, why it is not a duration)."""
    if not _WHOLE.fullmatch(text):
        joined = "".join(text.split())
        if joined != text and _WHOLE.fullmatch(joined):
            return None, f"no space is allowed between a number and its unit; write {joined}"
        return None, "expected a number followed by a unit (ms, s, m, h, d, w, y)"
    total = 0.0
    last = -1
    for number, unit in _PART.findall(text):
        if "." in number:
            return None, "fractions are not allowed; write 1h30m rather than 1.5h"
        rank = _ORDER.index(unit)
        if rank <= last:
            return None, "units must go from largest to smallest, each at most once"
        last = rank
        total += int(number) * UNITS[unit]
    return total, None


def format_duration(seconds: float) -> str:
    """The canonical text of a duration: `1h30m`, `100ms`, `0s`."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    ms = round(abs(seconds) * 1000)
    parts = []
    for unit in _ORDER:
        size = round(UNITS[unit] * 1000)
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return sign + "".join(parts)
