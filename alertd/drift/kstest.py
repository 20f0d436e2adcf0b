"""The two-sample KS statistic D of a sorted reference and a sorted current sample, exact,
with one binary search per current value only where the maximum can be.

With n reference and m current values, and for the j-th smallest current value x_j
(j = 1..m), c_j = #ref <= x_j and b_j = #ref < x_j:

    D = max over j of  max(j/m - c_j/n,  b_j/n - (j-1)/m)

(the gap between two step functions peaks at, or just before, a step of the current
one). Searching every x_j in the reference costs a binary search each, the bulk of the
time for large windows. Instead, a few reference values at evenly spaced ranks ("knots",
one every KNOT_SPACING values, chosen once per reference) are searched in the current
sample, which is cheap since there are few of them. That puts each current value either
on a knot, where c_j and b_j are known, or in the cell strictly between two consecutive
knots, where they lie between the ranks of the two. The bounds this gives on each cell's
terms leave, as a rule, a few cells that can hold the maximum; only their current values
are searched. Values with many ties (rounded or discrete data) mostly sit on knots and
need no search at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alertd.drift.values import Floats, Ints

# Reference values between consecutive knots: the width, in ranks, of the bounds.
KNOT_SPACING = 16
# Knots at most: each costs a search in the current sample at every evaluation.
MAX_KNOTS = 1024


@dataclass(frozen=True, eq=False)
class KsIndex:
    """What `statistic` needs of a sorted reference, computed once per reference.

    `knots` are distinct reference values; for x equal to knots[g], #ref <= x is
    at_or_below[g] and #ref < x is below[g]. For x strictly between knots[g-1] and
    knots[g] (open at both ends), lo[g] <= #ref < x <= #ref <= x <= hi[g]."""

    values: Floats
    padded: Floats  # -inf, then the values: padded[c] is the largest value <= x
    first: Ints  # per position of padded, where its run of equal values starts
    knots: Floats
    at_or_below: Ints
    below: Ints
    lo: Ints
    hi: Ints


def index(sorted_values: Floats) -> KsIndex:
    """The knots and tie runs of a sorted reference sample."""
    n = sorted_values.size
    count = min(max(n // KNOT_SPACING, 1), MAX_KNOTS)
    # Evenly spaced ranks, the first the minimum; with ties, one knot per value.
    knots = np.unique(sorted_values[(np.arange(count, dtype=np.int64) * n) // count])
    at_or_below = np.searchsorted(sorted_values, knots, side="right").astype(np.int64)
    below = np.searchsorted(sorted_values, knots, side="left").astype(np.int64)
    run_starts = np.flatnonzero(
        np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    first = np.repeat(run_starts, np.diff(np.concatenate((run_starts, [n]))))
    return KsIndex(
        values=sorted_values,
        padded=np.concatenate(([-np.inf], sorted_values)),
        first=np.concatenate(([0], first)).astype(np.intp),
        knots=knots, at_or_below=at_or_below, below=below,
        lo=np.concatenate(([0], at_or_below)), hi=np.concatenate((below, [n])),
    )


def statistic(reference: KsIndex, current: Floats) -> float:
    """D of the reference and a sorted current sample (see the module's docstring)."""
    n, m = reference.values.size, current.size
    # Integers, in units of 1/(n·m): bounds compare exactly and D needs a single division.
    left = np.searchsorted(current, reference.knots, side="left")
    right = _at_or_below(current, reference.knots, left)
    best = 0 if right is left else _knot_terms(reference, left, right, n, m)
    # Cell g holds the current values strictly between knots g-1 and g: ranks start..stop-1.
    start = np.concatenate(([0], right))
    stop = np.concatenate((left, [m]))
    open_cells, best = _open_cells(reference, start, stop, best, n, m)
    if open_cells.any():
        # The segments tile 0..m-1: cell, values equal to a knot, cell, ..., cell.
        flags = np.zeros(2 * open_cells.size - 1, dtype=bool)
        flags[0::2] = open_cells
        lengths = np.empty(flags.size, dtype=np.intp)
        lengths[0::2] = stop - start
        lengths[1::2] = right - left
        points = np.flatnonzero(np.repeat(flags, lengths))
        best = max(best, _exact(reference, current, points))
    return best / (n * m)


def _at_or_below(current: Floats, knots: Floats, below: Ints) -> Ints:
    """#current <= each knot, from #current < each knot (`below`): a second search only
    when some current value equals a knot."""
    if not bool(np.any(current[np.minimum(below, current.size - 1)] == knots)):
        return below
    return np.searchsorted(current, knots, side="right")


def _knot_terms(reference: KsIndex, left: Ints, right: Ints, n: int, m: int) -> int:
    """The largest term at current values equal to a knot, where c and b are known: the
    first term is largest at the last of the equal values, the second at the first."""
    equal = right > left
    over = right * n - reference.at_or_below * m
    under = reference.below * m - left * n
    return int(np.maximum(over, under).max(where=equal, initial=0))


def _open_cells(reference: KsIndex, start: Ints, stop: Ints, best: int, n: int,
                m: int) -> tuple[npt.NDArray[np.bool_], int]:
    """The cells whose values may hold a term above the best known, and the best known
    raised by what the bounds alone guarantee. The first term is largest at a cell's last
    value, the second at its first."""
    filled = stop > start
    lo, hi, first, last = reference.lo * m, reference.hi * m, start * n, stop * n
    reached = np.maximum(last - hi, lo - first)
    best = max(best, int(reached.max(where=filled, initial=0)))
    possible = np.maximum(last - lo, hi - first)
    return filled & (possible > best), best


def _exact(reference: KsIndex, current: Floats, points: Ints) -> int:
    """The largest term at the current values `points` (0-based ranks), in 1/(n·m)."""
    n, m = reference.values.size, current.size
    values = current[points]
    at_or_below = np.searchsorted(reference.values, values, side="right")
    below = at_or_below
    equal = reference.padded[at_or_below] == values
    if equal.any():
        below = np.where(equal, reference.first[at_or_below], at_or_below)
    over = (points + 1) * n - at_or_below * m
    under = below * m - points * n
    return max(int(over.max()), int(under.max()))
