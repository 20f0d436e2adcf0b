"""When to try a failed notification again: exponential backoff with jitter, never sooner
than the receiver asked (Retry-After), and not forever."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial: float = 1.0  # the wait after the first failure
    maximum: float = 300.0  # the longest wait between two attempts
    multiplier: float = 2.0
    # A notification still failing this long after it was written is given up: by then a
    # newer one has usually replaced it, and AlertdNotificationsFailing has said so.
    give_up_after: float = 6 * 3600.0

    def delay(self, attempts: int, retry_after: float | None = None,
              rand: Callable[[], float] = random.random) -> float:
        """The wait before the next attempt, after `attempts` failed ones (1 or more).

        "Equal jitter": half the backoff is fixed and half random, so replicas or groups
        that failed together do not retry together, and the wait still grows.
        """
        base = min(self.maximum, self.initial * self.multiplier ** max(attempts - 1, 0))
        wait = base / 2 + rand() * base / 2
        # The receiver's own wait wins even beyond `maximum`: sooner would be refused.
        return max(wait, retry_after or 0.0)

    def expired(self, created_at: float, now: float) -> bool:
        return now - created_at >= self.give_up_after
