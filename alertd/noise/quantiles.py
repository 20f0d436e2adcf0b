"""Medians and percentiles in bounded memory: exact for a row's first values, a sketch after.

A report keeps one set of durations per row (a rule, an owner, everything) and period:
firing lengths and times to acknowledge. Kept one by one they would grow with the
history (a busy quarter holds hundreds of thousands of firings). So a row keeps its first
EXACT_MAX values, 8 bytes each, and answers by nearest rank, exactly; past that it
moves them into a DDSketch (Datadog's quantile sketch, the one its distributions use),
whose answer is within RELATIVE_ACCURACY of the value at the rank asked (the sketch
counts ranks from 0 to n - 1 where nearest rank counts from 1 to n: the two may also
differ by one value). A sketch's size follows the spread of the values (a few hundred
counters between a second and a week), not their number.

Values past EXACT_MAX reach the sketch in batches, each distinct value once with its
count: firing lengths are mostly whole evaluation intervals, so a batch holds few
distinct values, and adding to the sketch one value at a time was a tenth of a report.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence

import numpy as np
from ddsketch import DDSketch

EXACT_MAX = 4096
BATCH = 4096
RELATIVE_ACCURACY = 0.005


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0 < q <= 1) by the nearest-rank method: the smallest value such
    that a share q of the values are at most it, sorted(values)[ceil(q * n) - 1]. None
    for no values. The median is q = 0.5: of an even number of values, the lower middle
    one (a value that happened, never an average of two)."""
    if not 0 < q <= 1:
        raise ValueError(f"quantile must be in (0, 1], got {q}")
    if not values:
        return None
    ordered = sorted(values)
    # Rounded first: 0.95 * 20 is 19.000000000000004 in floating point, rank 19 not 20.
    rank = max(1, math.ceil(round(q * len(ordered), 9)))
    return ordered[rank - 1]


class Quantiles:
    """Values whose quantiles are asked for at the end: exact up to EXACT_MAX of them."""

    __slots__ = ("_exact", "_pending", "_sketch")

    def __init__(self) -> None:
        self._exact: array[float] = array("d")
        self._pending: array[float] = array("d")  # past EXACT_MAX, for the sketch
        self._sketch: DDSketch | None = None

    def append(self, value: float) -> None:
        if self._sketch is not None:
            self._pending.append(value)
            if len(self._pending) >= BATCH:
                self._add_pending()
            return
        self._exact.append(value)
        if len(self._exact) > EXACT_MAX:
            self._sketch = DDSketch(relative_accuracy=RELATIVE_ACCURACY)
            self._exact, self._pending = array("d"), self._exact
            self._add_pending()

    def _add_pending(self) -> None:
        assert self._sketch is not None
        values, counts = np.unique(np.frombuffer(self._pending), return_counts=True)
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            self._sketch.add(value, count)
        self._pending = array("d")

    def extend(self, other: Quantiles) -> None:
        """`other`'s values added, as if appended here one by one."""
        for value in other._exact:
            self.append(value)
        if other._sketch is not None:
            if self._sketch is None:  # keeping its own exactly would take a sketch too
                self._sketch = DDSketch(relative_accuracy=RELATIVE_ACCURACY)
                self._exact, self._pending = array("d"), self._exact
            self._sketch.merge(other._sketch)
            self._pending.extend(other._pending)
            if len(self._pending) >= BATCH:
                self._add_pending()

    @property
    def exact(self) -> bool:
        """Whether answers are exact (no more than EXACT_MAX values came)."""
        return self._sketch is None

    def __len__(self) -> int:
        if self._sketch is None:
            return len(self._exact)
        return int(self._sketch.count) + len(self._pending)

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0 < q <= 1): nearest rank while exact, else the sketch's."""
        if self._sketch is None:
            return nearest_rank(self._exact, q)
        if not 0 < q <= 1:
            raise ValueError(f"quantile must be in (0, 1], got {q}")
        if self._pending:
            self._add_pending()
        found = self._sketch.get_quantile_value(q)
        return None if found is None else float(found)
