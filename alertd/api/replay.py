"""Signatures already seen: a signed request replayed within its signature window.

A Slack signature proves who made a request and when, not that it is the first time it
arrives: within the five minutes the timestamp is accepted, a captured click would act
again (a second silence, a second acknowledgement). Each verified signature is remembered
until its timestamp leaves the window, and a second request with it is refused.
"""

from __future__ import annotations

import heapq

from alertd.clock import Clock

# slack_sdk's SignatureVerifier accepts a timestamp up to five minutes either side of now.
WINDOW = 300.0
# Only verified signatures are remembered, so the count is bounded by the genuine requests
# of one window; the cap keeps a burst of them from growing memory without end.
CAPACITY = 50_000


class SeenSignatures:
    def __init__(self, clock: Clock, *, window: float = WINDOW,
                 capacity: int = CAPACITY) -> None:
        self.clock = clock
        self.window = window
        self.capacity = capacity
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []  # (expires at, signature), soonest first

    def first_time(self, signature: str, timestamp: int) -> bool:
        """Whether `signature` (of a request signed at `timestamp`, already verified) is
        new; it is remembered until its timestamp is out of the window."""
        now = self.clock.now()
        self._expire(now)
        if signature in self._expiry:
            return False
        if len(self._expiry) >= self.capacity:
            # Forgetting the oldest is safer than refusing every new click: it is the one
            # closest to leaving the window anyway.
            _, oldest = heapq.heappop(self._heap)
            del self._expiry[oldest]
        expires = max(float(timestamp), now) + self.window
        self._expiry[signature] = expires
        heapq.heappush(self._heap, (expires, signature))
        return True

    def __len__(self) -> int:
        return len(self._expiry)

    def _expire(self, now: float) -> None:
        while self._heap and self._heap[0][0] < now:
            _, signature = heapq.heappop(self._heap)
            del self._expiry[signature]
