"""Figures as people read them: durations as `3h12m`, shares as `42%`, nothing as `—`.

Every renderer formats through these, so the terminal, the review doc and the page agree
on each number.
"""

from __future__ import annotations

from datetime import UTC, datetime

NONE = "—"  # a figure that has no value (no firing to take a median of, no page to ack)
MINUS = "\u2212"  # a minus sign, not a hyphen: as wide as the plus of +3

_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def number(value: object) -> float | None:
    """A figure as a float; None for a missing or non-numeric one (a bool is no figure)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def duration(seconds: float | None) -> str:
    """The two largest units, enough to compare at a glance: 3d4h, 3h12m, 12m5s, 42s."""
    if seconds is None:
        return NONE
    if 0 < abs(seconds) < 1:
        return f"{seconds:.1f}s"
    whole = round(abs(seconds))
    parts: list[str] = []
    for unit, size in _UNITS:
        if whole >= size or (unit == "s" and not parts):
            parts.append(f"{whole // size}{unit}")
            whole %= size
        if len(parts) == 2 or (parts and whole == 0):
            break
    return ("-" if seconds < 0 else "") + "".join(parts)


def share(value: float | None) -> str:
    """A share of 0..1 as a whole percentage; one decimal below 10% where 0% would hide it."""
    if value is None:
        return NONE
    percent = value * 100
    if 0 < percent < 10 and round(percent) != percent:
        return f"{percent:.1f}%"
    return f"{percent:.0f}%"


def count(value: float | None) -> str:
    if value is None:
        return NONE
    return f"{value:,.0f}"


def rate(value: float | None) -> str:
    """A rate such as flaps per day: one decimal, whole numbers without it."""
    if value is None:
        return NONE
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def delta(current: float | None, previous: float | None, kind: str = "count") -> str:
    """The change against the previous period, `+N` or `-N` (a minus sign) in the figure's
    unit; "" when either side has no value, `±0` when nothing changed. Shares change in
    percentage points."""
    if current is None or previous is None:
        return ""
    diff = current - previous
    if kind == "share":
        diff = round(diff * 100)
    elif kind in ("count", "duration"):
        diff = round(diff)
    else:
        diff = round(diff, 1)
    if diff == 0:
        return "±0"
    sign = "+" if diff > 0 else MINUS
    if kind == "duration":
        return sign + duration(abs(diff))
    if kind == "share":
        return f"{sign}{abs(diff):.0f} pp"
    return sign + (count(abs(diff)) if kind == "count" else rate(abs(diff)))


def timestamp(text: str | None) -> str:
    """An RFC 3339 time of the report as `2026-11-30 09:00 UTC` (seconds are noise here)."""
    if not text:
        return NONE
    at = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    return at.strftime("%Y-%m-%d %H:%M UTC")


def name(value: str | None) -> str:
    """An owner or rule that may be missing: `(none)` reads better than a dash in a list."""
    return value if value else "(none)"
