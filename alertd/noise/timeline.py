"""Alerts over time, from their transitions: what is open, interval arithmetic, and the
observations the flap detector sees.

The history records state changes, not evaluations. Between two changes of an instance
the state held, once per evaluation, so the evaluations in between are rebuilt from the
gap and the rule's evaluation interval (rounded: evaluations drift a little).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from alertd.noise.flap import FlapDetector, FlapState

# Answers a Follower keeps at most (a quarter of a busy organisation's history needs about
# a thousand; the bound keeps memory flat whatever the history).
FOLLOWER_MEMORY = 8192


@dataclass(slots=True)
class OpenAlert:
    """An alert instance that is pending or firing, kept until it resolves."""

    rule: str
    owner: str | None
    firing_since: float | None = None  # None while pending
    # A person acted on it during this firing (ack, feedback, a silence muted it).
    touched: bool = False
    silences: set[str] = field(default_factory=set)  # ids that muted it in this firing


class Track(NamedTuple):
    """The flap detector's view of one instance, as of its last state change (a named
    tuple: one is made at every transition)."""

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


class Follower:
    """`follow` for every instance of a report, remembering the detector's answers.

    The state after a change depends only on the state before it, the number of quiet
    evaluations in between (past a window, more change nothing) and the new observation;
    the same few hundred of those recur across instances and firings, and looking one up
    costs a fraction of rebuilding a window and its score. States are keyed by identity:
    a state reached here is the one object kept for its answer, and the key's state is
    held with it so that its id is not reused while the key is known.
    """

    def __init__(self, detector: FlapDetector) -> None:
        self.detector = detector
        self._steady = detector.steady(False)
        self._known: dict[tuple[int, int, bool], tuple[FlapState, FlapState]] = {}

    def __call__(self, track: Track | None, at: float, firing: bool, step: float) -> Track:
        detector = self.detector
        if track is None:
            state, quiet = self._steady, 0
        else:
            state = track.state
            if len(state.window) != detector.window:  # not one of the detector's states
                return follow(detector, track, at, firing, step)
            quiet = min(max(round((at - track.at) / track.step) - 1, 0), detector.window)
        key = (id(state), quiet, firing)
        found = self._known.get(key)
        if found is None:
            if len(self._known) >= FOLLOWER_MEMORY:
                self._known.clear()
            found = (state, detector.step(detector.hold(state, quiet), firing))
            self._known[key] = found
        return Track(found[1], at, step)


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
