"""Template filters that print numbers the way Prometheus alert templates do.

`duration` and `humanize` follow Prometheus's humanizeDuration and humanize (Go's `%.4g`),
so a summary reads the same whether the rule came from Prometheus or from alertd.
"""

from __future__ import annotations

import math
from typing import Any

_SMALL_PREFIXES = ("m", "u", "n", "p", "f", "a", "z", "y")
_LARGE_PREFIXES = ("k", "M", "G", "T", "P", "E", "Z", "Y")


def to_float(value: Any) -> float:
    """The value as a float; strings such as label values are parsed (as Prometheus does)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise ValueError(f'cannot convert "{value}" to a number') from None
    raise ValueError(f"cannot convert {type(value).__name__} to a number")


def go_g4(value: float) -> str:
    """Go's `%.4g`: four significant digits, trailing zeros dropped, NaN and +Inf spelt so."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.4g}"


def _scale_small(value: float) -> tuple[float, str]:
    prefix = ""
    for p in _SMALL_PREFIXES:
        if abs(value) >= 1:
            break
        prefix = p
        value *= 1000
    return value, prefix


def duration(value: Any) -> str:
    """Seconds as `0s`, `150ms`, `12.3s`, `5m 30s`, `1h 2m 3s`, `2d 3h 4m 5s`."""
    v = to_float(value)
    if math.isnan(v) or math.isinf(v):
        return go_g4(v)
    if v == 0:
        return "0s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        whole = int(abs(v))
        seconds = whole % 60
        minutes = whole // 60 % 60
        hours = whole // 3600 % 24
        days = whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{go_g4(abs(v))}s"
    scaled, prefix = _scale_small(v)
    return f"{go_g4(scaled)}{prefix}s"


def percent(value: Any) -> str:
    """A ratio as a percentage with at most two decimals: 0.1234 -> `12.34%`, 0.5 -> `50%`."""
    v = to_float(value)
    if math.isnan(v) or math.isinf(v):
        return go_g4(v)
    text = f"{v * 100:.2f}".rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    return text + "%"


def humanize(value: Any) -> str:
    """SI prefixes with four significant digits: 1234 -> `1.234k`, 0.0012 -> `1.2m`."""
    v = to_float(value)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return go_g4(v)
    if abs(v) >= 1:
        prefix = ""
        for p in _LARGE_PREFIXES:
            if abs(v) < 1000:
                break
            prefix = p
            v /= 1000
        return f"{go_g4(v)}{prefix}"
    scaled, prefix = _scale_small(v)
    return f"{go_g4(scaled)}{prefix}"


FILTERS = {"duration": duration, "percent": percent, "humanize": humanize}
