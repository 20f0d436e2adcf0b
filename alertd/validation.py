"""Checks for text and times that arrive from outside (HTTP bodies, MQTT payloads).

JSON may hold a lone surrogate (`"\\ud800"`): Python decodes it into a str that no UTF-8
encoder accepts, so it would fail far from where it came in (a store write, a notification,
a log line); a NUL (`"\\u0000"`) is refused by PostgreSQL in text columns. Times have a
limit too: RFC 3339, as every API writes them, has four-digit years. Both are refused at
the edge, where the error can name the field.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

INVALID_UNICODE = "invalid text (a lone surrogate or a NUL character)"

# The instants RFC 3339 (and Python's datetime) can write: 0001-01-01T00:00:00Z to
# 9999-12-31T23:59:59.999999Z, as seconds since the epoch.
EARLIEST = datetime(1, 1, 1, tzinfo=UTC).timestamp()
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC).timestamp()

TIME_OUT_OF_RANGE = "is outside the years 1 to 9999 (UTC)"


def valid_text(text: str) -> bool:
    """Whether every store can keep `text`: it can be encoded as UTF-8 (it holds no lone
    surrogate) and holds no NUL, which PostgreSQL refuses in text (SQLite keeps it, and a
    store must not decide what is accepted)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def representable(t: float) -> bool:
    """Whether `t` (seconds since the epoch) is finite and within the years 1 to 9999."""
    return math.isfinite(t) and EARLIEST <= t <= LATEST
