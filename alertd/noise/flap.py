"""Flap detection in the style of Sensu's (itself Nagios's): a pure function over a window
of state observations, and a detector with hysteresis as a frozen value and a step
function, so that the report replays history with it and the daemon can run it live.

The score is the weighted share of state changes among the last `window` observations
(21 by default: 20 places where the state may change). A change's weight grows linearly
from 0.8 for the oldest place to 1.2 for the newest, so a recent change counts half again
as much as an old one; the weights average 1, so a state that changes at every
observation scores 1 and a steady one 0. (Sensu steps the weights by 0.02 from 0.8, which
ends at 1.18 and caps the score at 0.99; the ends here are the 0.8 and 1.2 it describes.)

Hysteresis: an instance starts flapping when its score goes above `high` and stops only
when it falls below `low`, so a score hovering around one threshold does not turn
flapping on and off at every observation.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

WINDOW = 21
OLDEST_WEIGHT = 0.8
NEWEST_WEIGHT = 1.2


def flap_score(states: Sequence[Hashable], window: int = WINDOW) -> float:
    """The weighted share of state changes over the last `window` states, from 0 to 1.

    Fewer than `window` states score 0, as in Sensu: too little history to call anything
    flapping.
    """
    if window < 3:
        raise ValueError(f"flap window must hold at least 3 observations, got {window}")
    if len(states) < window:
        return 0.0
    recent = states[len(states) - window:]
    weights = _weights(window - 1)
    changed = sum(w for w, a, b in zip(weights, recent, recent[1:], strict=False) if a != b)
    return changed / (window - 1)


@functools.cache
def _weights(places: int) -> tuple[float, ...]:
    """The weight of a change at each place, the oldest first."""
    step = (NEWEST_WEIGHT - OLDEST_WEIGHT) / (places - 1)
    return tuple(OLDEST_WEIGHT + step * place for place in range(places))


@dataclass(frozen=True, slots=True)
class FlapState:
    """What a detector remembers of one instance: its last observations, whether it is
    flapping, and the score that decided it."""

    window: tuple[Hashable, ...] = ()
    flapping: bool = False
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class FlapDetector:
    """Thresholds and window of flap detection (Sensu's `high_flap_threshold` and
    `low_flap_threshold`, as shares rather than percentages)."""

    high: float = 0.5
    low: float = 0.3
    window: int = WINDOW

    def __post_init__(self) -> None:
        if not 0.0 <= self.low <= self.high <= 1.0:
            raise ValueError(f"flap thresholds need 0 <= low <= high <= 1, got low "
                             f"{self.low} and high {self.high}")
        if self.window < 3:
            raise ValueError(f"flap window must hold at least 3 observations, got "
                             f"{self.window}")

    def steady(self, state: Hashable) -> FlapState:
        """An instance seen in `state` for a whole window: no change to count yet."""
        return FlapState((state,) * self.window)

    def step(self, current: FlapState, state: Hashable) -> FlapState:
        """The detector after one more observation."""
        window = (*current.window, state)[-self.window:]
        score = flap_score(window, self.window)
        # Hysteresis: stays on until below low, turns on only above high.
        flapping = score >= self.low if current.flapping else score > self.high
        return FlapState(window, flapping, score)

    def hold(self, current: FlapState, times: int) -> FlapState:
        """The detector after `times` more observations of the state it saw last, at
        once: a quiet stretch adds no change and ages the others out, so the score only
        falls, and the last one decides (past a window of them, it is 0). `current` is
        a state this detector made (or `steady`)."""
        if times <= 0 or not current.window:
            return current
        last = current.window[-1]
        if len(current.window) < self.window:  # filling up, the score may rise: one by one
            for _ in range(times):
                current = self.step(current, last)
            return current
        window = (*current.window, *(last,) * min(times, self.window))[-self.window:]
        score = flap_score(window, self.window)
        return FlapState(window, current.flapping and score >= self.low, score)
