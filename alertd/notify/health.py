"""Whether each integration of each receiver is delivering: what raises
AlertdNotificationsFailing.

An integration is failing after `failing_after` attempts in a row have failed, or at once
when a failure cannot pass by itself (an invalid token, an unknown channel); its next
success clears it, and so does a reload that removes it. `on_change(receiver, integration,
error or None)` is called when that flips, and `failing` is what /metrics shows.
"""

from __future__ import annotations

from collections.abc import Callable, Set

OnChange = Callable[[str, str, str | None], None]


class ReceiverHealth:
    def __init__(self, *, failing_after: int = 3, on_change: OnChange | None = None) -> None:
        self.failing_after = failing_after
        self.on_change = on_change
        self.failing: dict[tuple[str, str], str] = {}  # (receiver, integration) -> error
        self._streak: dict[tuple[str, str], int] = {}

    def succeeded(self, receiver: str, integration: str) -> None:
        key = (receiver, integration)
        self._streak.pop(key, None)
        if self.failing.pop(key, None) is not None and self.on_change is not None:
            self.on_change(receiver, integration, None)

    def failed(self, receiver: str, integration: str, error: str, *, retryable: bool) -> None:
        key = (receiver, integration)
        streak = self._streak[key] = self._streak.get(key, 0) + 1
        if retryable and streak < self.failing_after:
            return
        was = self.failing.get(key)
        self.failing[key] = error
        if was is None and self.on_change is not None:
            self.on_change(receiver, integration, error)

    def keep_only(self, integrations: Set[str]) -> None:
        """Forget the integrations not in `integrations` (a reload removed them): they
        cannot recover by a delivery, so a failing one is over now."""
        for key in [k for k in self._streak if k[1] not in integrations]:
            del self._streak[key]
        for receiver, integration in [k for k in self.failing if k[1] not in integrations]:
            del self.failing[(receiver, integration)]
            if self.on_change is not None:
                self.on_change(receiver, integration, None)
