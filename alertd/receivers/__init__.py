"""Integrations that deliver notifications: one small Notifier each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from alertd.alerts.model import Alert
from alertd.model import Labels


@dataclass(frozen=True, slots=True)
class Notification:
    receiver: str
    group_key: str
    group_labels: Labels
    alerts: Sequence[Alert]  # firing first, then resolved
    now: float
    # The outbox's id for this notification: the same on every attempt, so a receiver can
    # tell a retry from a new notification (Standard Webhooks' webhook-id, Slack metadata).
    delivery_id: str = ""
    attempt: int = 0  # attempts made before this one
    # An earlier attempt may have reached the receiver although it was not confirmed (a
    # timeout after sending, a crash before the answer was stored): an integration
    # without an idempotency key looks for it before sending again.
    maybe_delivered: bool = False

    def firing(self) -> list[Alert]:
        return [a for a in self.alerts if not a.resolved(self.now)]

    def resolved(self) -> list[Alert]:
        return [a for a in self.alerts if a.resolved(self.now)]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an integration says about a delivery, when it says more than its answer: the
    Slack message that is the page (its channel and ts), for the alert history."""

    status: str  # what a bare string result says ("posted", "200")
    channel: str | None = None
    ts: str | None = None


def outcome(result: str | Outcome) -> Outcome:
    """A notifier's result as an Outcome."""
    return result if isinstance(result, Outcome) else Outcome(result)


def common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The pairs every map has (Alertmanager's commonLabels and commonAnnotations)."""
    if len(maps) <= 1:
        return dict(maps[0]) if maps else {}
    first = dict(maps[0])
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


class Notifier(Protocol):
    name: str  # the integration: "console", "webhook", "slack"...
    send_resolved: bool

    async def notify(self, notification: Notification, reason: str = "") -> str | Outcome:
        """Deliver; returns a short outcome ("200", "printed"), or an Outcome that also
        names where the page is. Raises NotifyError.

        `reason` says why it is sent now ("first notification", "repeat interval
        elapsed"...), for integrations that show it."""
        ...
