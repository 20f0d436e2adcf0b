"""A notification on its way to one integration (`Delivery`), what the outbox stores of
it to send it again after a restart (`encode`, `decode`), and the deliverer's counters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alertd.alerts.model import Alert
from alertd.model import Labels
from alertd.receivers import Notification
from alertd.store.nflog import entry_key


@dataclass(slots=True)
class Delivery:
    """One notification to one integration of a receiver, until it is delivered."""

    id: str
    receiver: str  # the receiver's name
    integration: str  # "<receiver>/<integration name>/<index>", as the notification log
    index: int
    group_key: str
    notification: Notification
    reason: str
    created_at: float
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: str = ""
    maybe_delivered: bool = False  # an attempt may have arrived unconfirmed
    slot: str = field(init=False)  # a digest, computed once: it is looked up at every step

    def __post_init__(self) -> None:
        self.slot = entry_key(self.group_key, self.integration)


@dataclass
class DeliveryStats:
    sent: dict[tuple[str, str], int] = field(default_factory=dict)
    failed: dict[tuple[str, str], int] = field(default_factory=dict)
    retried: dict[tuple[str, str], int] = field(default_factory=dict)
    latency_sum: float = 0.0  # from submit to the receiver's confirmation
    latency_count: int = 0

    def bump(self, counter: dict[tuple[str, str], int], key: tuple[str, str]) -> None:
        counter[key] = counter.get(key, 0) + 1


# --- what the outbox stores ------------------------------------------------------------------
def encode(n: Notification, reason: str) -> dict[str, Any]:
    """A notification as JSON: what is needed to send it again after a restart, the
    annotations rendered (a rule may be gone by then)."""
    return {
        "receiver": n.receiver, "group_key": n.group_key, "group_labels": dict(n.group_labels),
        "now": n.now, "reason": reason,
        "alerts": [{
            "labels": dict(a.labels), "annotations": dict(a.annotations),
            "starts_at": a.starts_at, "ends_at": a.ends_at, "updated_at": a.updated_at,
            "generator_url": a.generator_url, "source": a.source,
            # repr, so that NaN and infinities survive JSON
            "value": None if a.value is None else repr(a.value),
        } for a in n.alerts],
    }


def decode(data: Mapping[str, Any], *, delivery_id: str = "",
           attempt: int = 0) -> tuple[Notification, str]:
    alerts = [Alert(Labels(a["labels"]), dict(a["annotations"]), a["starts_at"], a["ends_at"],
                    a["updated_at"], a.get("generator_url", ""), source=a.get("source", "api"),
                    value=_value(a)) for a in data["alerts"]]
    n = Notification(data["receiver"], data["group_key"], Labels(data["group_labels"]),
                     alerts, data["now"], delivery_id=delivery_id, attempt=attempt)
    return n, str(data.get("reason", ""))


def _value(a: Mapping[str, Any]) -> float | None:
    text = a.get("value")
    return None if text is None else float(text)
