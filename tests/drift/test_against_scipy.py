"""Every function against SciPy (or the definition written out) on generated data:
continuous values, values with many ties, samples of different sizes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon

from alertd.drift import (
    Reference,
    Sample,
    chi2,
    jsd,
    ks,
    ks_pvalue,
    psi,
    score_many,
    wasserstein,
    wasserstein_normed,
)
from alertd.drift.measures import EMPTY_SHARE

# Small integers give ties within and across the samples; floats give none.
VALUES = st.one_of(
    st.lists(st.integers(-5, 5).map(float), min_size=1, max_size=60),
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60),
)
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


# SciPy falls back to the asymptotic p-value where its exact one fails, and says so.
@pytest.mark.filterwarnings("ignore:.*Exact calculation unsuccessful:RuntimeWarning")
@SETTINGS
@given(reference=VALUES, current=VALUES)
def test_ks_and_wasserstein_equal_scipy(reference: list[float], current: list[float]) -> None:
    assume(len(set(reference)) >= 2)  # Two bins need two distinct values.
    ref = Reference.numeric(reference, bins=2)
    assert ks(ref, current) == pytest.approx(stats.ks_2samp(reference, current).statistic,
                                             rel=1e-12, abs=1e-15)
    assert ks_pvalue(ref, current) == pytest.approx(stats.ks_2samp(reference, current).pvalue,
                                                    rel=1e-12, abs=1e-15)
    want = stats.wasserstein_distance(reference, current)
    assert wasserstein(ref, current) == pytest.approx(want, rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("n", "m"), [(10_000, 10_000), (10_000, 9_973), (3_001, 12_345),
                                      (100_000, 5_000)])
def test_large_samples_equal_scipy(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)

    def make(size: int, shift: float) -> np.ndarray:
        # Continuous, skewed, and with many ties.
        if seed % 3 == 0:
            return rng.normal(shift, 1.0, size)
        if seed % 3 == 1:
            return rng.lognormal(shift, 1.5, size)
        return np.round(rng.normal(50 + 5 * shift, 10.0, size))

    reference, current = make(n, 0.0), make(m, 0.1 * seed)
    ref = Reference.numeric(reference)
    assert ks(ref, current) == pytest.approx(stats.ks_2samp(reference, current).statistic,
                                             rel=1e-12)
    emd = stats.wasserstein_distance(reference, current)
    assert wasserstein(ref, current) == pytest.approx(emd, rel=1e-12)
    assert wasserstein_normed(ref, current) == pytest.approx(emd / np.std(reference), rel=1e-12)


@pytest.mark.parametrize("copies", [1, 500, 5_000])
def test_ks_with_current_values_taken_from_the_reference(copies: int) -> None:
    # Current values equal to reference values (and to the values KS bounds its search
    # with) are where an off-by-one in counting ties would show.
    rng = np.random.default_rng(copies)
    reference = rng.normal(0, 1, 20_000)
    current = np.concatenate([rng.normal(0.05, 1, 5_000), rng.choice(reference, copies),
                              np.sort(reference)[::16][:copies]])
    assert ks(Reference.numeric(reference), current) == pytest.approx(
        stats.ks_2samp(reference, current).statistic, rel=1e-12)


def binned(reference: np.ndarray, current: np.ndarray, bins: int) -> tuple[np.ndarray, ...]:
    """Reference and current shares by the definition: quantile cuts, bins (c_k, c_k+1]."""
    cuts = np.quantile(reference, np.arange(1, bins) / bins)
    def shares(values: np.ndarray) -> np.ndarray:
        index = np.searchsorted(cuts, values, side="left")
        return np.bincount(index, minlength=bins) / values.size
    return shares(reference), shares(current)


@pytest.mark.parametrize("bins", [2, 5, 10, 20])
@pytest.mark.parametrize("shift", [0.0, 0.3, 3.0])
def test_binned_functions_follow_the_definitions(bins: int, shift: float) -> None:
    rng = np.random.default_rng(bins)
    reference, current = rng.normal(0, 1, 5_000), rng.normal(shift, 1, 777)
    ref, cur = binned(reference, current, bins)
    r, p = np.where(ref == 0, EMPTY_SHARE, ref), np.where(cur == 0, EMPTY_SHARE, cur)
    reference_ = Reference.numeric(reference, bins=bins)
    np.testing.assert_allclose(reference_.shares, ref, rtol=1e-12)
    assert psi(reference_, current) == pytest.approx(np.sum((p - r) * np.log(p / r)),
                                                     rel=1e-12)
    assert jsd(reference_, current) == pytest.approx(jensenshannon(ref, cur, base=2),
                                                     rel=1e-9, abs=1e-12)
    counts = cur * current.size
    want = stats.chi2.sf(np.sum((counts - r * current.size) ** 2 / (r * current.size)),
                         bins - 1)
    assert chi2(reference_, current) == pytest.approx(want, rel=1e-9, abs=1e-300)
    if not (cur == 0).any():
        expected = ref * current.size
        assert chi2(reference_, current) == pytest.approx(
            stats.chisquare(counts, expected).pvalue, rel=1e-9, abs=1e-300)


def test_value_on_a_cut_point_falls_in_the_bin_below() -> None:
    reference = Reference.numeric(np.arange(1, 11), bins=2)  # one cut, at 5.5
    on_cut = Reference.numeric([1, 2, 3, 4, 5, 5, 6, 7, 8, 9], bins=2)  # cut at 5
    assert on_cut.cuts.tolist() == [5.0]
    np.testing.assert_array_equal(on_cut.shares, [0.6, 0.4])  # the two 5s are below
    assert psi(reference, [5.5] * 5 + [6.0] * 5) == pytest.approx(0.0)


def test_score_many_equals_one_at_a_time() -> None:
    rng = np.random.default_rng(3)
    references = [Reference.numeric(rng.normal(0, 1, 2_000)) for _ in range(5)]
    windows = [rng.normal(0.1 * i, 1, 1_000 + i) for i in range(5)]
    samples = [Sample.of(window) for window in windows]
    for method, function in [("psi", psi), ("ks", ks), ("wasserstein", wasserstein)]:
        many = score_many(method, references, samples)
        assert many.tolist() == [function(r, w) for r, w in zip(references, windows,
                                                                strict=True)]
