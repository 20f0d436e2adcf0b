"""Times as a page shows them: durations and clock times at a glance, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def duration(seconds: float) -> str:
    """Like "1h 3m": the largest unit and the next one, as precise as a glance needs."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    units = ((s // 86400, "d"), (s // 3600 % 24, "h"), (s // 60 % 60, "m"))
    first = next(i for i, (n, _) in enumerate(units) if n)
    return " ".join(f"{n}{u}" for n, u in units[first:first + 2] if n)


def clock(t: float, now: float) -> str:
    """Like "10:04 UTC", with the date when it is not today's."""
    at, today = datetime.fromtimestamp(t, UTC), datetime.fromtimestamp(now, UTC)
    hm = f"{at:%H:%M} UTC"
    return hm if at.date() == today.date() else f"{at:%b} {at.day} {hm}"
