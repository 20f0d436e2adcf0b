"""A rule's recorded condition timeline through the real state machine and alert store,
under one timing: the first half of a replay (alertd.whatif.replay), the same for every
routing tried with that timing, so worked out once for all of them.

Evaluations at which no instance can change state (other than an episode's start, the
end of its `for`, its end and the end of its `keep_firing_for`) are skipped: the state
machine would return the same states from each of them. At the others, only the
instances that may change are stepped: instances never affect one another in the state
machine, and stepping the few that change rather than every one held was most of a
replay's time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from alertd.alerts.model import Alert
from alertd.alerts.store import AlertStore
from alertd.model import Labels
from alertd.rules.state import (
    Active,
    Instance,
    Observation,
    RuleState,
    Status,
    Timing,
    step,
)
from alertd.whatif.episodes import Episode

Firings = dict[str, list[tuple[float, float | None]]]


@dataclass(frozen=True, slots=True)
class Conditions:
    """What the state machine and the alert store made of a rule's episodes under one
    timing: the alerts the store announced to the dispatcher at each evaluation that
    announced any, and, per alert, when it fired and resolved (None: still firing at the
    end)."""

    announced: tuple[tuple[float, tuple[Alert, ...]], ...]
    firings: Mapping[str, tuple[tuple[float, float | None], ...]]


def conditions(rule: str, episodes: Sequence[Episode], timing: Timing, interval: float,
               until: float) -> Conditions:
    """The rule's alerts over its episodes up to `until`, under `timing`, evaluated every
    `interval` seconds."""
    if not episodes:
        return Conditions((), {})
    store = AlertStore()
    heard = _Announcements()
    store.subscribe(heard)
    firings: Firings = {}
    grid = _Grid.of(episodes[0].start, interval)
    instances: dict[Labels, Instance] = {}
    for k, changes in _evaluations(episodes, grid, timing, until):
        at = grid.time(k)
        before = RuleState(MappingProxyType({labels: inst for labels in changes
                                             if (inst := instances.get(labels))}))
        after, transitions = step(timing, before, Observation(
            at, {labels: active for labels, active in changes.items() if active}))
        for labels in changes:
            if (inst := after.instances.get(labels)) is not None:
                instances[labels] = inst
            else:
                instances.pop(labels, None)
        if any(t.new in _ANNOUNCED for t in transitions):
            heard.at = at
            # Only the instances of this evaluation can have changed: the others are
            # the same objects the store was given before.
            store.sync_changed(rule, [inst for labels in changes
                                      if (inst := instances.get(labels)) is not None],
                               _no_annotations, at)
            # Told once: to the state machine and the store a resolved instance is as
            # good as gone from here on.
            for t in transitions:
                if t.new is Status.RESOLVED:
                    del instances[t.labels]
        for t in transitions:
            _note_firing(firings, t.labels.fingerprint(), t.new, at)
    return Conditions(tuple(heard.announced),
                      {fp: tuple(spans) for fp, spans in firings.items()})


class _Announcements:
    """What the alert store tells its listener (the dispatcher, in the daemon), with the
    evaluation time."""

    def __init__(self) -> None:
        self.at = 0.0
        self.announced: list[tuple[float, tuple[Alert, ...]]] = []

    def __call__(self, alerts: list[Alert]) -> None:
        self.announced.append((self.at, tuple(alerts)))


# The changes the alert store announces to the dispatcher; a change to pending is not one.
_ANNOUNCED = (Status.FIRING, Status.RESOLVED)


def _no_annotations(instance: Instance) -> Mapping[str, str]:
    return {}


def _note_firing(firings: Firings, fingerprint: str, new: Status, at: float) -> None:
    spans = firings.setdefault(fingerprint, [])
    if new is Status.FIRING:
        spans.append((at, None))
    elif new is Status.RESOLVED and spans and spans[-1][1] is None:
        spans[-1] = (spans[-1][0], at)


@dataclass(frozen=True, slots=True)
class _Grid:
    """Evaluation times: `origin + k * interval`, phased on the first recorded change.

    With a whole origin and interval (as evaluation intervals are), every time and every
    difference of two is exact, so `for` and keep_firing_for end exactly at the
    evaluation they should; otherwise the evaluation after is looked at too."""

    origin: float
    interval: float

    @classmethod
    def of(cls, first: float, interval: float) -> _Grid:
        return cls(float(round(first)) if interval.is_integer() else first, interval)

    @property
    def exact(self) -> bool:
        return self.interval.is_integer()

    def index(self, at: float) -> int:
        return round((at - self.origin) / self.interval)

    def time(self, k: int) -> float:
        return self.origin + k * self.interval

    def steps(self, seconds: float) -> int:
        return math.ceil(seconds / self.interval - 1e-9)


def _evaluations(episodes: Sequence[Episode], grid: _Grid, timing: Timing,
                 until: float) -> Iterator[tuple[int, dict[Labels, Active | None]]]:
    """The evaluations at which something may change (an episode starts, its `for`
    ends, it ends, its keep_firing_for ends), each with the instances that may change
    then and what the expression returns for each (None: nothing, its episodes are
    over), made once per episode into what the state machine reads."""
    last = grid.index(until)
    spans: list[tuple[int, int, Labels, Active]] = []
    wanted: dict[int, set[Labels]] = {}
    margin = (0,) if grid.exact else (0, 1)
    for ep in episodes:
        start = grid.index(ep.start)
        end = last + 1 if ep.end is None else max(grid.index(ep.end), start + 1)
        spans.append((start, end, ep.labels, Active(ep.labels, ep.value)))
        fired = start + grid.steps(timing.for_)
        gone = end + grid.steps(timing.keep_firing_for)
        for k in {base + m for base in (start, fired, end, gone) for m in margin}:
            if k <= last:
                wanted.setdefault(k, set()).add(ep.labels)
    spans.sort(key=lambda span: span[0])
    # Per instance, the episodes begun and not yet over: a history can hold episodes of
    # one instance that overlap, and it is active while any of them holds (with the
    # value of the latest begun).
    holding: dict[Labels, list[tuple[int, Active]]] = {}
    taken = 0
    for k in sorted(wanted):
        while taken < len(spans) and spans[taken][0] <= k:
            _, end, labels, active = spans[taken]
            holding.setdefault(labels, []).append((end, active))
            taken += 1
        yield k, {labels: _held(holding, labels, k) for labels in wanted[k]}


def _held(holding: dict[Labels, list[tuple[int, Active]]], labels: Labels,
          k: int) -> Active | None:
    """What the expression returns for the instance at evaluation k, forgetting the
    episodes that are over."""
    spans = holding.get(labels)
    if not spans:
        return None
    spans[:] = [span for span in spans if span[0] > k]
    return spans[-1][1] if spans else None
