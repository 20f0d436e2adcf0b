"""Prometheus classic histograms: cumulative counts by `le`, compared bucket by bucket."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from alertd.drift import (
    Buckets,
    DriftError,
    Reference,
    chi2,
    compare_buckets,
    jsd,
    ks,
    ks_pvalue,
    psi,
    psi_from_counts,
    wasserstein,
)

LES: list[float | str] = [0.1, 0.25, 0.5, 0.75, 0.9, "+Inf"]
LAST_WEEK = [120.0, 400.0, 910.0, 1300.0, 1450.0, 1500.0]
NOW = [80.0, 300.0, 800.0, 1250.0, 1470.0, 1600.0]


def per_bucket(cumulative: list[float]) -> list[float]:
    return list(np.diff(cumulative, prepend=0.0))


def test_reference_from_buckets() -> None:
    reference = Reference.from_buckets(LES, LAST_WEEK)
    assert reference.kind == "histogram" and reference.count == 1500.0
    assert reference.cuts.tolist() == [0.1, 0.25, 0.5, 0.75, 0.9]
    np.testing.assert_allclose(reference.shares, np.array(per_bucket(LAST_WEEK)) / 1500.0)


def test_two_bucket_vectors_as_their_bucket_counts() -> None:
    # A histogram now against the same `offset 7d`: the older one is the reference.
    want = psi_from_counts(per_bucket(LAST_WEEK), per_bucket(NOW))
    assert compare_buckets("psi", LES, LAST_WEEK, NOW) == pytest.approx(want, rel=1e-12)
    reference = Reference.from_buckets(LES, LAST_WEEK)
    assert psi(reference, Buckets.of(LES, NOW)) == pytest.approx(want, rel=1e-12)
    assert compare_buckets("jsd", LES, LAST_WEEK, NOW) == jsd(reference, Buckets.of(LES, NOW))
    assert 0 < compare_buckets("chi2", LES, LAST_WEEK, NOW) < 1e-3


def test_increase_results_are_floats_with_rounding_noise() -> None:
    # increase() extrapolates each bucket on its own: equal counts may differ in the last
    # bits, and counts need not be whole.
    noisy = [120.00000000001, 120.0, 910.5, 1300.25, 1450.0, 1500.0]
    reference = Reference.from_buckets(LES, noisy)
    assert reference.shares[1] == 0.0 and reference.shares.sum() == pytest.approx(1.0)


def test_binned_ks_is_the_largest_gap_at_the_bounds() -> None:
    ref_cdf = np.array(LAST_WEEK[:-1]) / LAST_WEEK[-1]
    cur_cdf = np.array(NOW[:-1]) / NOW[-1]
    assert compare_buckets("ks", LES, LAST_WEEK, NOW) == pytest.approx(
        np.max(np.abs(ref_cdf - cur_cdf)), rel=1e-12)


def test_binned_ks_never_exceeds_the_raw_one() -> None:
    rng = np.random.default_rng(4)
    reference_values, current_values = rng.beta(2, 5, 5_000), rng.beta(2.3, 5, 5_000)
    les = [0.1, 0.2, 0.3, 0.5, 0.8, math.inf]
    counts = [np.sum(reference_values <= le) for le in les]
    binned = ks(Reference.from_buckets(les, counts), current_values)
    raw = ks(Reference.numeric(reference_values), current_values)
    assert 0 < binned <= raw


def test_raw_current_values_are_binned_by_le() -> None:
    reference = Reference.from_buckets([1, 2, math.inf], [10, 20, 30])
    # A value equal to a bound belongs to that bucket (le is "less or equal").
    assert psi(reference, [1.0, 2.0, 3.0]) == pytest.approx(0.0, abs=1e-15)
    assert chi2(reference, [0.5, 1.5, 2.5] * 10) == pytest.approx(1.0)


def test_bounds_must_match() -> None:
    reference = Reference.from_buckets(LES, LAST_WEEK)
    with pytest.raises(DriftError, match="differ from the reference"):
        psi(reference, Buckets.of([0.1, 0.2, 0.5, 0.75, 0.9, math.inf], NOW))


@pytest.mark.parametrize("function", [wasserstein, ks_pvalue])
def test_raw_value_functions_refuse_histograms(
        function: Callable[[Reference, Buckets], float]) -> None:
    reference = Reference.from_buckets(LES, LAST_WEEK)
    with pytest.raises(DriftError, match="numeric values"):
        function(reference, Buckets.of(LES, NOW))


@pytest.mark.parametrize(("les", "counts", "message"), [
    ([0.5, 0.25, "+Inf"], [1, 2, 3], 'le bounds must increase: le="0.25" follows le="0.5"'),
    ([0.25, 0.25, "+Inf"], [1, 2, 3], "le bounds must increase"),
    ([0.25, 0.5, 1.0], [1, 2, 3], 'the last bucket must be le="\\+Inf", got le="1"'),
    (["+Inf"], [3], "at least two buckets"),
    ([0.25, "nan", "+Inf"], [1, 2, 3], "le bounds: 1 of 2 are NaN"),
    ([0.25, 0.5, "+Inf"], [5, 4, 6], "must not decrease: 4 at le=\"0.5\" after 5 at le=\"0.25\""),
    ([0.25, 0.5, "+Inf"], [1, 2], "3 le bounds but 2 cumulative counts"),
    ([0.25, 0.5, "+Inf"], [-1, 2, 3], "negative bucket count"),
    ([0.25, 0.5, "+Inf"], [0, 0, 0], "holds no observations"),
    ([0.25, 0.5, "+Inf"], [1, float("nan"), 3], "cumulative bucket counts: 1 of 3 are NaN"),
    ([0.25, "x", "+Inf"], [1, 2, 3], "le bounds must be numbers"),
])
def test_bad_buckets(les: list[float | str], counts: list[float], message: str) -> None:
    with pytest.raises(DriftError, match=message):
        Reference.from_buckets(les, counts)
    with pytest.raises(ValueError, match=message):
        Buckets.of(les, counts)
