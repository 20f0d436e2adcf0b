"""What the dispatcher hands on when a group is due: a `Flush`, to a `Flusher` (in the
daemon, the notification pipeline of alertd.notify.pipeline), which answers with a
`FlushResult`. The dispatcher knows nothing more of what happens to a flush.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Protocol

from alertd.alerts.model import Alert
from alertd.dispatch.group import AggregationGroup
from alertd.model import Labels


@dataclass(frozen=True, slots=True)
class Flush:
    """One group's flush as every stage of the pipeline reads it."""

    group_id: str  # the dispatcher's name for the group (alertd.dispatch.group)
    receiver: str
    group_key: str
    group_labels: Labels
    alerts: tuple[Alert, ...]  # firing first, then the ended ones, each by fingerprint
    ended: frozenset[str]  # the alerts that had resolved by `now`
    repeat_interval: float
    now: float
    mute_reason: str | None  # a mute/active time interval of the route that holds now
    notify_resolved_after_mute: bool = False
    # Muted alerts the receiver was told are firing, whose resolution it is to be told
    # (set by the silences' and inhibition's stage, with notify_resolved_after_mute).
    held: tuple[Alert, ...] = ()

    @classmethod
    def of(cls, group: AggregationGroup, now: float, *, mute_reason: str | None,
           notify_resolved_after_mute: bool = False) -> Flush:
        # Which alerts have ended, worked out once: every stage asks.
        ended = frozenset(f for f, a in group.alerts.items() if a.resolved(now))
        return cls(group.id, group.receiver, group.key, group.labels,
                   in_order(group.alerts, ended), ended, group.repeat_interval, now,
                   mute_reason, notify_resolved_after_mute)


@dataclass
class FlushResult:
    # The resolved alerts done with: they leave the group.
    delivered_resolved: set[str] = field(default_factory=set)
    sent: int = 0  # notifications handed to the outbox


class Flusher(Protocol):
    async def flush(self, flush: Flush) -> FlushResult: ...


def in_order(alerts: Mapping[str, Alert], ended: AbstractSet[str]) -> tuple[Alert, ...]:
    """The alerts firing first, then the `ended` ones, each by fingerprint: the
    fingerprints sorted as plain strings, a fraction of the cost of a key function per
    alert, at every flush of every group."""
    keys = sorted(alerts)
    if not ended:
        return tuple(alerts[f] for f in keys)
    return (*(alerts[f] for f in keys if f not in ended),
            *(alerts[f] for f in keys if f in ended))
