"""RFC 3339 timestamps, as Alertmanager's and Prometheus's APIs write them."""

from __future__ import annotations

from datetime import UTC, datetime

from alertd.validation import EARLIEST, LATEST

_EARLIEST_TEXT = "0001-01-01T00:00:00.000Z"
_LATEST_TEXT = "9999-12-31T23:59:59.999Z"


def rfc3339(t: float | None) -> str | None:
    """`t` (seconds since the epoch) as RFC 3339 in UTC, to the millisecond.

    Never raises. The API refuses times it cannot write, but a value stored before that
    check existed (or set by other means) must not turn every later listing into a 500:
    a time beyond the four-digit years is written as the nearest one that fits, and NaN as
    the earliest, which Go clients read as their zero time, "not set".
    """
    if t is None:
        return None
    if not EARLIEST <= t <= LATEST:  # NaN fails both comparisons
        return _LATEST_TEXT if t > LATEST else _EARLIEST_TEXT
    try:
        text = datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")
    except (OverflowError, ValueError, OSError):
        # Rounding to the microsecond can still carry the last instant into year 10000.
        return _LATEST_TEXT if t > 0 else _EARLIEST_TEXT
    return text.replace("+00:00", "Z")
