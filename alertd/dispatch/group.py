"""Aggregation groups: the alerts of one route with the same grouping labels.

Timers follow Alertmanager: a new group waits `group_wait` before its first notification
(so that alerts firing together arrive together), then flushes every `group_interval`.
An alert older than `group_wait` joining a group that never flushed makes it flush at
once, as Alertmanager does after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alertd.alerts.model import Alert
from alertd.model import Labels


@dataclass(slots=True)
class AggregationGroup:
    key: str  # Alertmanager's group key: "{route key}:{group labels}"
    receiver: str
    labels: Labels  # the grouping labels
    group_wait: float
    group_interval: float
    repeat_interval: float
    next_flush: float
    alerts: dict[str, Alert] = field(default_factory=dict)
    has_flushed: bool = False
    # Which group this is among the dispatcher's: the route's id rather than its key, so
    # that two routes with the same matchers (siblings, say one with `continue`) keep
    # groups of their own, as Alertmanager keeps groups per route. Defaults to `key`.
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = self.key

    def insert(self, alert: Alert, now: float) -> None:
        self.alerts[alert.fingerprint] = alert
        if not self.has_flushed and alert.starts_at + self.group_wait < now:
            self.next_flush = min(self.next_flush, now)

    def due(self, now: float) -> bool:
        return self.next_flush <= now

    def flushed(self, now: float, delivered_resolved: set[str]) -> None:
        """After a flush: resolved alerts that were delivered leave the group."""
        self.has_flushed = True
        self.next_flush = now + self.group_interval
        for fingerprint in delivered_resolved:
            alert = self.alerts.get(fingerprint)
            if alert is not None and alert.ends_at is not None and alert.ends_at <= now:
                del self.alerts[fingerprint]


def group_key(route_key: str, labels: Labels) -> str:
    return f"{route_key}:{labels}"
