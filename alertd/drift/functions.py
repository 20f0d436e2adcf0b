"""The drift functions: a `Reference` and the current window in, one number out.

The current window is, by the reference's kind:
- numeric: the values (a list or array of numbers), or a `Sample` (sorted) or a `Window`
  (sorted when first needed) made from them once and shared by several functions;
- categorical: the category names seen (one per value), or a mapping of counts;
- histogram: a `Buckets` with the reference's `le` bounds, or raw values (binned by them).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from alertd.drift import kstest, measures
from alertd.drift.reference import Reference
from alertd.drift.values import (
    Buckets,
    DriftError,
    Floats,
    Sample,
    Window,
    as_counts,
    as_shares,
    bin_counts,
)

Current: TypeAlias = (Sample | Window | Buckets | Mapping[str, float] | Iterable[str]
                      | npt.ArrayLike)


def psi(reference: Reference, current: Current) -> float:
    """Population stability index over the reference's bins or categories."""
    ref, counts = aligned(reference, current)
    return measures.psi(ref, counts / counts.sum())


def jsd(reference: Reference, current: Current) -> float:
    """Jensen-Shannon distance (base 2) over the reference's bins or categories."""
    ref, counts = aligned(reference, current)
    return measures.jsd(ref, counts / counts.sum())


def chi2(reference: Reference, current: Current) -> float:
    """p-value of a chi-square goodness of fit of the current counts to the reference."""
    ref, counts = aligned(reference, current)
    return measures.chi2_pvalue(ref, counts)


def ks(reference: Reference, current: Current) -> float:
    """Two-sample Kolmogorov-Smirnov statistic D (histograms: at the `le` bounds)."""
    if reference.kind == "histogram":
        ref, counts = aligned(reference, current)
        return measures.binned_ks(ref, counts / counts.sum())
    sample = _numeric_sample(reference, current, "ks")
    return kstest.statistic(reference.ks_index, sample.values)


def ks_pvalue(reference: Reference, current: Current) -> float:
    """Two-sided p-value of the KS statistic (raw values only)."""
    sample = _numeric_sample(reference, current, "ks_pvalue")
    if not reference.sketched:
        from scipy import stats  # imported on first use: a second of start-up otherwise

        return float(stats.ks_2samp(reference.sample, sample.values).pvalue)
    statistic = kstest.statistic(reference.ks_index, sample.values)
    return measures.ks_pvalue_asymptotic(statistic, int(reference.count), sample.size)


def wasserstein(reference: Reference, current: Current) -> float:
    """Earth mover's distance between the reference and the current values."""
    sample = _numeric_sample(reference, current, "wasserstein")
    return measures.wasserstein(reference.sample, sample.values)


def wasserstein_normed(reference: Reference, current: Current) -> float:
    """`wasserstein` in units of the reference's standard deviation."""
    sample = _numeric_sample(reference, current, "wasserstein_normed")
    distance = measures.wasserstein(reference.sample, sample.values)
    std = reference.std or 0.0
    if std > 0:
        return distance / std
    # A constant reference: any move at all is infinitely many standard deviations.
    return math.inf if distance > 0 else 0.0


METHODS: dict[str, Callable[[Reference, Current], float]] = {
    "psi": psi, "jsd": jsd, "chi2": chi2, "ks": ks, "ks_pvalue": ks_pvalue,
    "wasserstein": wasserstein, "wasserstein_normed": wasserstein_normed,
}


def score_many(method: str, references: Sequence[Reference],
               currents: Sequence[Current]) -> Floats:
    """`method` for each pair of reference and current window, as one array.

    To compute several methods over the same windows, pass `Sample.of(values)` or
    `Window(values)` for each: the values are then checked and sorted once, not once per
    method (a `Window` is sorted only if a method needs the order)."""
    function = _method(method)
    if len(references) != len(currents):
        raise DriftError(f"{len(references)} references but {len(currents)} current windows")
    scores = np.empty(len(references), dtype=np.float64)
    for i, (reference, current) in enumerate(zip(references, currents, strict=True)):
        try:
            scores[i] = function(reference, current)
        except DriftError as exc:
            raise DriftError(f"feature {i}: {exc}") from None
    return scores


def compare_buckets(method: str, les: npt.ArrayLike, reference_cumulative: npt.ArrayLike,
                    current_cumulative: npt.ArrayLike) -> float:
    """`method` between two classic histograms with the same `le` bounds, such as a
    bucket vector now and the same `offset 7d` (the older one as the reference)."""
    function = _method(method)
    return function(Reference.from_buckets(les, reference_cumulative),
                    Buckets.of(les, current_cumulative))


def psi_from_shares(reference: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """PSI of two aligned lists of shares (each summing to 1)."""
    ref, cur = _pair(reference, current, as_shares, "shares")
    return measures.psi(ref, cur)


def psi_from_counts(reference: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """PSI of two aligned lists of counts, each turned into shares of its total."""
    ref, cur = _pair(reference, current, as_counts, "counts")
    return measures.psi(ref / ref.sum(), cur / cur.sum())


def jsd_from_shares(reference: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """Jensen-Shannon distance (base 2) of two aligned lists of shares."""
    ref, cur = _pair(reference, current, as_shares, "shares")
    return measures.jsd(ref, cur)


def chi2_from_counts(reference: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """chi2 p-value of current counts against the shares of the reference counts."""
    ref, cur = _pair(reference, current, as_counts, "counts")
    return measures.chi2_pvalue(ref / ref.sum(), cur)


def aligned(reference: Reference, current: Current) -> tuple[Floats, Floats]:
    """The reference's shares and the current counts over the same bins or categories."""
    if reference.kind == "categorical":
        return _categorical(reference, current)
    if isinstance(current, Buckets):
        if reference.kind != "histogram":
            raise DriftError("histogram buckets need a reference built from buckets")
        if not np.array_equal(current.les[:-1], reference.cuts):
            raise DriftError(f"the current le bounds {current.les.tolist()} differ from "
                             f"the reference's {[*reference.cuts.tolist(), math.inf]}")
        return reference.shares, current.counts
    if isinstance(current, Mapping):
        raise DriftError(f"category counts need a categorical reference, not {reference.kind}")
    if isinstance(current, Window):
        return reference.shares, current.counts(reference.cuts)
    sample = Sample.of(current)  # type: ignore[arg-type]
    return reference.shares, bin_counts(sample.values, reference.cuts)


def _categorical(reference: Reference, current: Current) -> tuple[Floats, Floats]:
    if isinstance(current, Mapping):
        counts: Mapping[str, float] = current
    elif isinstance(current, (Sample, Window, Buckets, np.ndarray, str)):
        raise DriftError("a categorical reference needs category names or counts")
    else:
        counts = Counter(current)  # type: ignore[arg-type]
    if not counts:
        raise DriftError("no current values: the input is empty")
    bad = next((name for name in counts if not isinstance(name, str)), None)
    if bad is not None:
        raise DriftError(f"category values must be strings, got {bad!r}")
    known = set(reference.categories)
    extra = sorted(name for name in counts if name not in known)
    names = [*reference.categories, *extra]
    ref = np.concatenate((reference.shares, np.zeros(len(extra))))
    return ref, as_counts([counts.get(name, 0.0) for name in names], "current category counts")


def _numeric_sample(reference: Reference, current: Current, method: str) -> Sample:
    if reference.kind != "numeric":
        raise DriftError(f"{method} needs a reference built from numeric values, "
                         f"not a {reference.kind} one")
    if isinstance(current, (Buckets, Mapping)):
        raise DriftError(f"{method} needs the current values, not buckets or counts")
    return Sample.of(current)  # type: ignore[arg-type]


def _method(name: str) -> Callable[[Reference, Current], float]:
    try:
        return METHODS[name]
    except KeyError:
        raise DriftError(f"unknown drift method \"{name}\" "
                         f"(one of {', '.join(sorted(METHODS))})") from None


def _pair(reference: npt.ArrayLike, current: npt.ArrayLike,
          check: Callable[[npt.ArrayLike, str], Floats], what: str) -> tuple[Floats, Floats]:
    ref = check(reference, f"reference {what}")
    cur = check(current, f"current {what}")
    if ref.size != cur.size:
        raise DriftError(f"reference and current {what} differ in length: "
                         f"{ref.size} and {cur.size}")
    return ref, cur
