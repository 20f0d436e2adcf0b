"""Flap detection while it happens: the noise report's detector, run per alert instance
from what each evaluation of its rule leaves it in.

The observations are the report's (alertd.noise.timeline): firing or not firing (pending
and resolved count as not firing), one per evaluation interval, and an instance never seen
is taken as not firing for a whole window. Only changes are stepped, with the very
`follow` the report replays history with; the evaluations since the last change are
counted from the time and the rule's interval when someone reads the view. So the live
view and the report agree, and a streaming rule, evaluated at every sample as well as on
its interval, is not seen as more flappy than its history says.

Memory: an entry per instance that is firing, or changed state in the last hour, or
within its last window of evaluations. A quiet instance that is not firing is forgotten:
the detector would see it exactly as one never seen.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from alertd.model import Labels
from alertd.noise.flap import FlapDetector
from alertd.noise.timeline import Track, follow
from alertd.rules.state import Instance, Status

HOUR = 3600.0
ANNOTATION = "flapping"
# Entries of rules no longer loaded are dropped at most this often.
SWEEP_EVERY = 300.0


@dataclass(frozen=True, slots=True)
class FlapView:
    """What is shown of one instance at a given time."""

    flapping: bool = False
    score: float = 0.0
    changes_1h: int = 0  # firing <-> not firing changes in the hour before

    def text(self) -> str:
        """The annotation's value: "6 state changes in the last hour"."""
        noun = "state change" if self.changes_1h == 1 else "state changes"
        return f"{self.changes_1h} {noun} in the last hour"


QUIET = FlapView()


@dataclass(frozen=True, slots=True)
class _Entry:
    track: Track
    changes: tuple[float, ...]  # times of the changes of the last hour, oldest first

    @property
    def firing(self) -> bool:
        return bool(self.track.state.window[-1])


class FlapTracker:
    """Flap detectors of every instance of every rule, stepped after each evaluation."""

    def __init__(self, detector: FlapDetector | None = None) -> None:
        self.detector = detector or FlapDetector()
        self._rules: dict[str, dict[Labels, _Entry]] = {}
        self._next_sweep = float("-inf")

    def observe(self, rule: str, instances: Iterable[Instance], interval: float,
                at: float) -> None:
        """Record an evaluation of `rule` at `at`: its instances as the state left them."""
        entries = self._rules.setdefault(rule, {})
        seen: set[Labels] = set()
        for inst in instances:
            seen.add(inst.labels)
            self._see(entries, inst.labels, inst.status is Status.FIRING, interval, at)
        for labels in [k for k in entries if k not in seen]:
            # Forgotten by the state machine: not firing, as for the report.
            self._see(entries, labels, False, interval, at)
            if self._quiet(entries[labels], at):
                del entries[labels]
        if not entries:
            del self._rules[rule]

    def _see(self, entries: dict[Labels, _Entry], labels: Labels, firing: bool,
             interval: float, at: float) -> None:
        entry = entries.get(labels)
        if firing == (entry.firing if entry is not None else False):
            return
        track = follow(self.detector, entry.track if entry else None, at, firing, interval)
        recent = tuple(t for t in entry.changes if t > at - HOUR) if entry else ()
        entries[labels] = _Entry(track, (*recent, at))

    def _quiet(self, entry: _Entry, at: float) -> bool:
        return (not entry.firing and entry.track.quiet_since(at, self.detector)
                and (not entry.changes or entry.changes[-1] <= at - HOUR))

    def view(self, rule: str, labels: Labels, at: float) -> FlapView:
        """The detector of an instance at `at`, counting the evaluations since its last
        change as observations of the same state."""
        entry = self._rules.get(rule, {}).get(labels)
        if entry is None:
            return QUIET
        track = entry.track
        state = self.detector.hold(track.state, round((at - track.at) / track.step))
        changes = sum(1 for t in entry.changes if at - HOUR < t <= at)
        return FlapView(state.flapping, state.score, changes)

    def annotator(self, rule: str, base: Callable[[Instance], Mapping[str, str]],
                  at: float) -> Callable[[Instance], Mapping[str, str]]:
        """`base` with the `flapping` annotation added while an instance flaps (as of
        `at`, the evaluation the alert is synced from)."""
        def annotate(inst: Instance) -> Mapping[str, str]:
            flap = self.view(rule, inst.labels, at)
            if not flap.flapping:
                return base(inst)
            return MappingProxyType({**base(inst), ANNOTATION: flap.text()})
        return annotate

    def sweep(self, at: float, rules: Container[str]) -> None:
        """Forget the rules not in `rules` (removed by a reload), at most every few
        minutes: their instances are evaluated no more, so nothing else would."""
        if at < self._next_sweep:
            return
        self._next_sweep = at + SWEEP_EVERY
        for rule in [r for r in self._rules if r not in rules]:
            del self._rules[rule]

    def __len__(self) -> int:
        """The instances tracked, over all rules."""
        return sum(len(entries) for entries in self._rules.values())
