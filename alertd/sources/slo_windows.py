"""The downsampled history of an SLO over pushed counters: increases per 5-minute bucket.

An SLO's period is long (30 days) and the raw windows keep only what the rules' ranges
need (an hour or so), so an SLO over local counters keeps, per bucket of `BUCKET` seconds,
the increase of its good (or errors) counters and of its total counters, summed over
their series, as Sloth keeps 5-minute ratios. A 30-day period is 8,640 buckets of two
doubles: about 140 kB per SLO, whatever the request rate.

Buckets are right-closed, `(end - BUCKET, end]`, and named by their end, so that a window
ending on a bucket boundary, `(at - w, at]` with `w` a multiple of BUCKET, is a sum of
whole buckets. A window that cuts a bucket takes the share of it that falls in the window,
as if its events were spread evenly over the part of the bucket seen so far.

Increases are folded in from the raw windows at each evaluation: per series, every sample
after the last one folded adds its increase over the one before (a drop is a counter
reset: the counter restarted from zero, as rate() reads it) to the bucket it falls in.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from alertd.model import LabelMatcher, Labels
from alertd.series import Series

__all__ = ["BUCKET", "CounterSelector", "SloCounters", "SloCountersSnapshot"]

BUCKET = 300.0  # seconds: five minutes, Sloth's resolution for the period's ratios
_GOOD, _TOTAL = 0, 1


class Selectable(Protocol):
    """What the counters read raw samples from (alertd.lang.context.SampleSource)."""

    def select(self, name: str | None, matchers: Sequence[LabelMatcher]) -> Sequence[Series]:
        ...


@dataclass(frozen=True, slots=True)
class CounterSelector:
    name: str | None
    matchers: tuple[LabelMatcher, ...]


@dataclass(frozen=True, slots=True)
class SloCountersSnapshot:
    """What is stored across restarts (alertd.store.slo_windows)."""

    definition: str  # the selectors as written: buckets of another definition are dropped
    first: int  # the index (end / BUCKET) of the first bucket
    good: Sequence[float]
    total: Sequence[float]
    last: Sequence[tuple[int, Labels, float, float]]  # (which, series, time, value) folded


class SloCounters:
    """Per-bucket increases of the good (or errors) and total counters of one SLO."""

    def __init__(self, good: CounterSelector, total: CounterSelector, period: float,
                 definition: str = "") -> None:
        self.selectors = (good, total)
        self.definition = definition
        # Buckets kept: the period, one bucket cut by its start, and the bucket under way.
        self.capacity = math.ceil(period / BUCKET) + 2
        self.first = 0  # bucket index of arrays[0]; 0 while empty
        self.counts = (array("d"), array("d"))
        self.last: tuple[dict[Labels, tuple[float, float]], ...] = ({}, {})

    # --- folding raw samples in ----------------------------------------------------------

    def fold(self, samples: Selectable, now: float) -> None:
        """Add the increases of the samples at or before `now` not folded yet."""
        for which, selector in enumerate(self.selectors):
            seen = self.last[which]
            current: dict[Labels, tuple[float, float]] = {}
            for series in samples.select(selector.name, selector.matchers):
                state = seen.get(series.labels)
                current[series.labels] = self._fold_series(which, series, state, now)
            # Series gone from the raw windows are forgotten: if one comes back, its first
            # sample starts it again (the increase while it was away is not known).
            self.last[which].clear()
            self.last[which].update((k, v) for k, v in current.items() if v[0] > -math.inf)

    def _fold_series(self, which: int, series: Series, state: tuple[float, float] | None,
                     now: float) -> tuple[float, float]:
        ts, vs = series.ts, series.vs
        last_t, prev = state if state is not None else (-math.inf, math.nan)
        start = _after(ts, last_t)
        for i in range(start, len(ts)):
            t = ts[i]
            if t > now:
                break
            v = vs[i]
            if v != v:  # a stale marker or a NaN: not a counter value
                continue
            if prev == prev:
                self.add(which, t, v - prev if v >= prev else v)
            last_t, prev = t, v
        return last_t, prev

    def add(self, which: int, t: float, increase: float) -> None:
        """Count `increase` in the bucket that holds time `t`."""
        index = math.ceil(t / BUCKET)
        good, total = self.counts
        if not good:
            self.first = index
        if index < self.first:
            return  # older than what is kept
        while self.first + len(good) <= index:
            good.append(0.0)
            total.append(0.0)
        self.counts[which][index - self.first] += increase
        extra = len(good) - self.capacity
        if extra > self.capacity // 8:  # trim in steps: deleting from the front copies
            del good[:extra]
            del total[:extra]
            self.first += extra

    # --- reading windows -----------------------------------------------------------------

    def window(self, at: float, seconds: float) -> tuple[float, float]:
        """(good or errors, total) increases in the window `(at - seconds, at]`."""
        good, total = self.counts
        if not good:
            return 0.0, 0.0
        start = at - seconds
        lo = max(math.floor(start / BUCKET) + 1, self.first)  # first bucket ending after it
        hi = min(math.ceil(at / BUCKET), self.first + len(good) - 1)
        if hi < lo:
            return 0.0, 0.0
        sums = [math.fsum(arr[lo - self.first: hi - self.first + 1]) for arr in (good, total)]
        # The bucket cut by the window's start counts for the share of it in the window.
        end = lo * BUCKET
        if end - BUCKET < start:
            seen = min(end, at) - (end - BUCKET)
            share = (min(end, at) - start) / seen if seen > 0 else 1.0
            for k, arr in enumerate((good, total)):
                sums[k] -= arr[lo - self.first] * (1.0 - share)
        return sums[0], sums[1]

    # --- persistence ---------------------------------------------------------------------

    def snapshot(self) -> SloCountersSnapshot:
        last = [(which, labels, t, v) for which, seen in enumerate(self.last)
                for labels, (t, v) in seen.items()]
        return SloCountersSnapshot(self.definition, self.first, array("d", self.counts[0]),
                                   array("d", self.counts[1]), last)

    def restore(self, snap: SloCountersSnapshot) -> bool:
        """Take a stored snapshot; False (and nothing taken) when it is of another
        definition or malformed."""
        if snap.definition != self.definition or len(snap.good) != len(snap.total):
            return False
        self.first = snap.first
        self.counts = (array("d", snap.good), array("d", snap.total))
        self.last = ({}, {})
        for which, labels, t, v in snap.last:
            if which in (_GOOD, _TOTAL):
                self.last[which][labels] = (t, v)
        return True

    def adopt(self, other: SloCounters) -> None:
        """Carry the history of the same SLO over a reload."""
        if other.definition == self.definition:
            self.first, self.counts, self.last = other.first, other.counts, other.last

    @property
    def nbytes(self) -> int:
        return sum(arr.itemsize * arr.buffer_info()[1] for arr in self.counts)


def _after(ts: Sequence[float], t: float) -> int:
    """The index of the first time after `t` (ts is sorted)."""
    return 0 if t == -math.inf else bisect.bisect_right(ts, t)
