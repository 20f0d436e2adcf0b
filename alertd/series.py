"""A series of samples in time order: what the rule language evaluates over, whichever
source filled it (pushed samples in alertd.sources, a unit test's input series in
alertd.ruletest). Stale markers are Prometheus's.

A series keeps its samples in two parallel sequences: the timestamps in a list, the
values in an `array('d')` of plain doubles. The evaluator finds a window with two binary
searches on the timestamps and reads it in place; a window of raw feature values (10,000
to a push) becomes a NumPy array with one copy of its bytes instead of a conversion of
every value, and a stored value takes 8 bytes rather than a float object.
"""

from __future__ import annotations

import bisect
import math
import struct
from array import array
from collections.abc import Sequence
from itertools import repeat

from alertd.model import Labels

# Prometheus marks the end of a series with this particular NaN (a "stale marker").
STALE_NAN: float = struct.unpack(">d", bytes.fromhex("7ff0000000000002"))[0]
_STALE_BITS = bytes.fromhex("7ff0000000000002")


def is_stale(value: float) -> bool:
    return value != value and struct.pack(">d", value) == _STALE_BITS


class OutOfOrderError(ValueError):
    pass


class Series:
    __slots__ = ("_clean", "labels", "name", "plain", "stale_count", "ts", "vs")

    def __init__(self, labels: Labels) -> None:
        self.labels = labels
        self.name = labels.name()  # cached: ingest notes the metric of every sample
        self.plain = labels.without_name()  # cached: most functions drop the name
        self.ts: list[float] = []
        self.vs: array[float] = array("d")
        self.stale_count = 0
        # The last copy without stale markers, and the state of the series it was made of.
        self._clean: tuple[tuple[int, float, float, int], Series] | None = None

    def append(self, t: float, v: float) -> None:
        ts = self.ts  # once: this runs for every pushed sample
        if ts and t <= ts[-1]:
            if t == ts[-1] and _same(v, self.vs[-1]):
                return  # an exact duplicate is harmless
            raise OutOfOrderError(f"sample at {t} is not after the last one at {ts[-1]}")
        ts.append(t)
        self.vs.append(v)
        if v != v and is_stale(v):
            self.stale_count += 1

    def extend(self, t: float, values: Sequence[float]) -> None:
        """A batch of observations at one time (e.g. feature values for drift): they share
        the timestamp, so range functions see each of them."""
        if self.ts and t < self.ts[-1]:
            raise OutOfOrderError(f"sample at {t} is before the last one at {self.ts[-1]}")
        # Converted first, whole: a value that is no number leaves the series unchanged.
        self.vs.extend(array("d", values))
        self.ts.extend(repeat(t, len(values)))
        # A sum that is a number rules out NaN, hence stale markers, without a Python-level
        # look at each value; only a NaN sum (or +Inf and -Inf together) needs that look.
        total = sum(values)
        if total != total:
            self.stale_count += sum(1 for v in values if v != v and is_stale(v))

    def drop_before(self, t: float) -> None:
        cut = bisect.bisect_left(self.ts, t)
        if cut:
            if self.stale_count:
                self.stale_count -= sum(1 for v in self.vs[:cut] if is_stale(v))
            del self.ts[:cut]
            del self.vs[:cut]

    def without_stale(self) -> Series:
        """A copy without stale markers, for range functions (which ignore them)."""
        if not self.stale_count:
            return self
        # The same copy while the series is unchanged: each rule reading the series in a
        # round gets it, so windows pooled per round (drift) are recognised as the same.
        # Appending raises the length or the last time, dropping raises the first time,
        # so this key changes with every change to the samples.
        state = (len(self.ts), self.ts[0], self.ts[-1], self.stale_count)
        if self._clean is not None and self._clean[0] == state:
            return self._clean[1]
        copy = Series(self.labels)
        for t, v in zip(self.ts, self.vs, strict=True):
            if not is_stale(v):
                copy.ts.append(t)
                copy.vs.append(v)
        self._clean = (state, copy)
        return copy

    def __repr__(self) -> str:
        return f"Series({self.labels}, {len(self.ts)} samples)"


def _same(a: float, b: float) -> bool:
    """Equal values, where a stale marker differs from any other NaN."""
    return a == b or (math.isnan(a) and math.isnan(b) and is_stale(a) == is_stale(b))
