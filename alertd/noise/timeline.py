"""Alerts over time, from their transitions: what is open, interval arithmetic, and the
observations the flap detector sees.

The history records state changes, not evaluations. Between two changes of an instance
the state held, once per evaluation, so the evaluations in between are rebuilt from the
gap and the rule's evaluation interval (rounded: evaluations drift a little).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from alertd.noise.flap import FlapDetector, FlapState


@dataclass(slots=True)
class OpenAlert:
    """An alert instance that is pending or firing, kept until it resolves."""

    rule: str
    owner: str | None
    firing_since: float | None = None  # None while pending
    # A person acted on it during this firing (ack, feedback, a silence muted it).
    touched: bool = False
    silences: set[str] = field(default_factory=set)  # ids that muted it in this firing


@dataclass(frozen=True, slots=True)
class Track:
    """The flap detector's view of one instance, as of its last state change."""

    state: FlapState
    at: float
    step: float  # the evaluation interval

    def quiet_since(self, at: float, detector: FlapDetector) -> bool:
        """Whether a whole window of evaluations has passed without a change by `at`:
        the detector would then see a steady window, as a fresh one would."""
        return at - self.at > detector.window * self.step


def follow(detector: FlapDetector, track: Track | None, at: float, firing: bool,
           step: float) -> Track:
    """The track after a state change at `at` to `firing` (True) or not.

    An instance never seen before is taken as not firing for a whole window before its
    first change. The evaluations since the last change repeat its state.
    """
    if track is None:
        state = detector.steady(False)
    else:
        repeats = round((at - track.at) / track.step) - 1
        state = detector.hold(track.state, repeats)
    return Track(detector.step(state, firing), at, step)


def overlap(start: float, end: float, lo: float, hi: float) -> float:
    """The length of [start, end) within [lo, hi)."""
    return max(0.0, min(end, hi) - max(start, lo))


def covered(intervals: Iterable[tuple[float, float]], lo: float, hi: float) -> float:
    """The length of the union of `intervals` within [lo, hi): overlapping intervals are
    counted once."""
    clipped = sorted((max(a, lo), min(b, hi)) for a, b in intervals if min(b, hi) > max(a, lo))
    total, reach = 0.0, lo
    for a, b in clipped:
        if b > reach:
            total += b - max(a, reach)
            reach = b
    return total
