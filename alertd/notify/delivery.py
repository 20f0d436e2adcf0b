"""A notification on its way to one integration (`Delivery`), what the outbox stores of
it to send it again after a restart (`encode`, `decode`), and the deliverer's counters."""

from __future__ import annotations

from dataclasses import dataclass, field

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
