"""RFC 3339 timestamps, as Alertmanager's and Prometheus's APIs write them."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")
