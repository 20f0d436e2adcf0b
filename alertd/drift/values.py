"""The inputs of the drift functions, checked once: current samples and histogram buckets.

Every problem with an input is a `DriftError` whose message names it, so a rule that
reads a bad window or a bad baseline says why instead of yielding NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from alertd.errors import AlertdError

Floats: TypeAlias = npt.NDArray[np.float64]
Ints: TypeAlias = npt.NDArray[np.intp]

# Float noise allowed in cumulative bucket counts before they count as decreasing: the
# `increase()` of each bucket is extrapolated on its own, so equal counts can differ in
# their last bits.
MONOTONIC_TOLERANCE = 1e-9
# How far a list of shares may sum from 1 (stored baselines may round their shares).
SHARE_SUM_TOLERANCE = 1e-6
# Up to this many cut points, an unsorted window is binned with one pass over its values
# per cut point (23 µs per 10,000 values and 9 cuts), far cheaper than sorting it (about
# 300 µs); with more cut points sorting wins, and the sorted sample is kept anyway.
UNSORTED_CUTS_MAX = 32


class DriftError(AlertdError, ValueError):
    """A reference or a current window cannot be used; the message says what is wrong."""


def as_floats(values: npt.ArrayLike, what: str) -> Floats:
    """`values` as a one-dimensional float array, non-empty and free of NaN and infinity."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DriftError(f"{what} must be numbers: {exc}") from None
    if array.ndim != 1:
        raise DriftError(f"{what} must be a flat list of numbers, got shape {array.shape}")
    if array.size == 0:
        raise DriftError(f"no {what}: the input is empty")
    require_finite(array, what)
    return array


def require_finite(array: Floats, what: str) -> None:
    finite = np.isfinite(array)
    if not bool(finite.all()):
        bad = np.flatnonzero(~finite)
        raise DriftError(f"{what}: {bad.size} of {array.size} are NaN or infinite "
                         f"(the first at index {bad[0]}: {array[bad[0]]})")


def frozen(array: npt.ArrayLike) -> Floats:
    """A read-only float copy, so values held by frozen dataclasses stay unchanged."""
    out = np.array(array, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


def bin_counts(sorted_values: Floats, cuts: Floats) -> Floats:
    """How many of `sorted_values` fall in each bin (c_k, c_k+1], edges at ±infinity.

    On sorted values this is one search per cut point instead of one per value."""
    at_or_below = np.searchsorted(sorted_values, cuts, side="right")
    edges = np.concatenate(([0], at_or_below, [sorted_values.size]))
    return np.diff(edges).astype(np.float64)


@dataclass(frozen=True, eq=False)
class Sample:
    """A window of current values, sorted once so that every function can reuse it.

    Build it with `Sample.of(values)`; the constructor expects values already sorted,
    finite and non-empty, and checks it."""

    values: Floats

    def __post_init__(self) -> None:
        values = self.values
        if not isinstance(values, np.ndarray) or values.dtype != np.float64 \
                or values.flags.writeable:
            values = frozen(values)
            object.__setattr__(self, "values", values)
        if values.ndim != 1 or values.size == 0:
            raise DriftError("a sample needs a non-empty flat array of values")
        # NaN compares false, so this also catches it; infinities can only sit at the ends.
        if not bool(np.all(values[1:] >= values[:-1])):
            raise DriftError("sample values must be sorted and not NaN (use Sample.of)")
        if not (np.isfinite(values[0]) and np.isfinite(values[-1])):
            require_finite(values, "current values")

    @classmethod
    def of(cls, values: Sample | Window | npt.ArrayLike) -> Sample:
        """Check and sort raw current values."""
        if isinstance(values, Sample):
            return values
        if isinstance(values, Window):
            return values.sample
        return cls.sorting(as_floats(values, "current values"))

    @classmethod
    def sorting(cls, checked: Floats) -> Sample:
        """A sample of values already checked (finite, flat, non-empty), sorted here.

        The constructor's checks would take another pass over values whose order and
        finiteness are known, a tenth of the cost of sorting them."""
        ordered = np.sort(checked)
        ordered.setflags(write=False)
        sample = object.__new__(cls)
        object.__setattr__(sample, "values", ordered)
        return sample

    @property
    def size(self) -> int:
        return int(self.values.size)


class Window:
    """A window of current values as they came: checked once, sorted only when a function
    needs the order (ks, wasserstein), and then once for every function over it.

    psi, jsd and chi2 only need how many values fall in each bin, which an unsorted window
    gives as cheaply: the rules of one evaluation round that read the same window share
    one `Window`, so the round sorts each window at most once."""

    __slots__ = ("_sample", "values")

    def __init__(self, values: npt.ArrayLike) -> None:
        array = as_floats(values, "current values")
        if array.flags.writeable:
            array = frozen(array)
        self.values: Floats = array
        self._sample: Sample | None = None

    @property
    def size(self) -> int:
        return int(self.values.size)

    @property
    def sample(self) -> Sample:
        """The values sorted, made on first use."""
        if self._sample is None:
            self._sample = Sample.sorting(self.values)
        return self._sample

    @property
    def is_sorted(self) -> bool:
        """Whether the sorted sample was made already."""
        return self._sample is not None

    def counts(self, cuts: Floats) -> Floats:
        """How many values fall in each bin (c_k, c_k+1], as `bin_counts` of the sorted
        values gives them."""
        if self._sample is not None or cuts.size > UNSORTED_CUTS_MAX:
            return bin_counts(self.sample.values, cuts)
        values = self.values
        at_or_below = [np.count_nonzero(values <= cut) for cut in cuts.tolist()]
        return np.diff(np.array([0, *at_or_below, values.size], dtype=np.float64))


@dataclass(frozen=True, eq=False)
class Buckets:
    """A Prometheus classic histogram: upper bounds `le` (the last +Inf) and the
    cumulative count of observations at or below each."""

    les: Floats
    cumulative: Floats

    def __post_init__(self) -> None:
        les = as_bounds(self.les)
        cumulative = as_floats(self.cumulative, "cumulative bucket counts")
        if cumulative.size != les.size:
            raise DriftError(f"{les.size} le bounds but {cumulative.size} cumulative counts")
        check_cumulative(les, cumulative)
        object.__setattr__(self, "les", frozen(les))
        object.__setattr__(self, "cumulative", frozen(cumulative))

    @classmethod
    def of(cls, les: npt.ArrayLike, cumulative: npt.ArrayLike) -> Buckets:
        """`les` may be numbers or the label strings ("0.5", "+Inf")."""
        return cls(np.asarray(les), np.asarray(cumulative))

    @property
    def counts(self) -> Floats:
        """Observations per bucket; a decrease within the float tolerance counts as 0."""
        counts = np.diff(self.cumulative, prepend=0.0)
        return np.maximum(counts, 0.0)

    @property
    def total(self) -> float:
        return float(self.cumulative[-1])


def as_bounds(les: npt.ArrayLike) -> Floats:
    try:
        bounds = np.asarray(les, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DriftError(f"le bounds must be numbers or \"+Inf\": {exc}") from None
    if bounds.ndim != 1 or bounds.size < 2:
        raise DriftError("a histogram needs at least two buckets: a finite le and +Inf")
    if bounds[-1] != np.inf:
        raise DriftError(f"the last bucket must be le=\"+Inf\", got le=\"{bounds[-1]:g}\"")
    require_finite(bounds[:-1], "le bounds")
    steps = np.flatnonzero(bounds[1:] <= bounds[:-1])
    if steps.size:
        k = steps[0]
        raise DriftError(f"le bounds must increase: le=\"{bounds[k + 1]:g}\" "
                         f"follows le=\"{bounds[k]:g}\"")
    return bounds


def check_cumulative(les: Floats, cumulative: Floats) -> None:
    if bool(np.any(cumulative < 0)):
        k = int(np.flatnonzero(cumulative < 0)[0])
        raise DriftError(f"negative bucket count {cumulative[k]:g} at le=\"{les[k]:g}\"")
    slack = MONOTONIC_TOLERANCE * max(float(cumulative.max()), 1.0)
    drops = np.flatnonzero(cumulative[1:] < cumulative[:-1] - slack)
    if drops.size:
        k = int(drops[0])
        raise DriftError(
            f"cumulative bucket counts must not decrease: {cumulative[k + 1]:g} at "
            f"le=\"{les[k + 1]:g}\" after {cumulative[k]:g} at le=\"{les[k]:g}\"")
    if cumulative[-1] <= 0:
        raise DriftError("the histogram holds no observations (the +Inf count is 0)")



def as_shares(values: npt.ArrayLike, what: str) -> Floats:
    """Shares: non-negative, no NaN, summing to 1."""
    try:
        shares = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DriftError(f"{what} must be numbers: {exc}") from None
    if shares.ndim != 1 or shares.size == 0:
        raise DriftError(f"{what} must be a non-empty flat list")
    bad = np.flatnonzero(~np.isfinite(shares) | (shares < 0))
    if bad.size:
        k = int(bad[0])
        raise DriftError(f"{what}: share {k} is {shares[k]}; shares must be finite and >= 0")
    total = float(shares.sum())
    if abs(total - 1.0) > SHARE_SUM_TOLERANCE:
        raise DriftError(f"{what} sum to {total}, not 1")
    return shares


def as_counts(values: npt.ArrayLike, what: str) -> Floats:
    """Counts: finite, non-negative, not all zero."""
    counts = as_floats(values, what)
    if bool(np.any(counts < 0)):
        k = int(np.flatnonzero(counts < 0)[0])
        raise DriftError(f"{what}: count {k} is negative ({counts[k]})")
    if counts.sum() <= 0:
        raise DriftError(f"{what} are all zero")
    return counts
