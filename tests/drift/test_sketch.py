"""References above the sample cap keep a sketch; KS and Wasserstein against it stay within
the error bound the reference records, and that bound within the documented one."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from alertd.drift import SAMPLE_CAP, SKETCH_SIZE, DriftError, Reference, ks, ks_pvalue, wasserstein
from alertd.drift.measures import ks_pvalue_asymptotic

Shape = Callable[[np.random.Generator, int, float], np.ndarray]
SHAPES: dict[str, Shape] = {
    "normal": lambda rng, size, shift: rng.normal(shift, 1.0, size),
    "lognormal": lambda rng, size, shift: rng.lognormal(shift, 2.0, size),
    "ties": lambda rng, size, shift: np.round(rng.normal(20 + shift, 5.0, size)),
    "outliers": lambda rng, size, shift: np.concatenate(
        [rng.normal(shift, 1.0, size - 10), rng.normal(0, 1e4, 10)]),
}


def check_within_bounds(reference: Reference, full: np.ndarray, current: np.ndarray) -> None:
    n, k = full.size, reference.sample.size
    assert reference.ks_error <= 1 / (2 * k) + 1 / n
    assert reference.wasserstein_error <= (full.max() - full.min()) / k
    exact_ks = stats.ks_2samp(full, current).statistic
    assert abs(ks(reference, current) - exact_ks) <= reference.ks_error + 1e-12
    exact_w = stats.wasserstein_distance(full, current)
    assert abs(wasserstein(reference, current) - exact_w) \
        <= reference.wasserstein_error * (1 + 1e-9) + 1e-12


@pytest.mark.parametrize("shape", SHAPES)
def test_default_sketch_above_the_cap(shape: str) -> None:
    rng = np.random.default_rng(7)
    full = SHAPES[shape](rng, SAMPLE_CAP + 50_000, 0.0)
    reference = Reference.numeric(full)
    assert reference.sketched and reference.sample.size == SKETCH_SIZE
    assert reference.count == full.size and reference.std == pytest.approx(np.std(full))
    # The shares and cut points come from all the values, not from the sketch.
    np.testing.assert_array_equal(reference.cuts, np.quantile(full, np.arange(1, 10) / 10))
    for shift in (0.0, 0.05, 1.0):
        check_within_bounds(reference, full, SHAPES[shape](rng, 10_000, shift))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", range(3))
def test_small_sketches_keep_their_bounds(shape: str, seed: int) -> None:
    # A coarse sketch makes the error large enough to see that the bound is not loose.
    rng = np.random.default_rng(seed)
    full = SHAPES[shape](rng, 20_000, 0.0)
    reference = Reference.numeric(full, sample_cap=4_000, sketch_size=200)
    assert reference.sketched and reference.sample.size == 200
    for shift in (0.0, 0.2, 2.0):
        for size in (50, 1_000, 20_000):
            check_within_bounds(reference, full, SHAPES[shape](rng, size, shift))


def test_exact_at_the_cap() -> None:
    full = np.random.default_rng(1).normal(size=SAMPLE_CAP)
    reference = Reference.numeric(full)
    assert not reference.sketched and reference.sample.size == SAMPLE_CAP
    assert reference.ks_error == reference.wasserstein_error == 0.0


def test_sketch_pvalue_uses_the_full_count() -> None:
    rng = np.random.default_rng(2)
    full, current = rng.normal(size=30_000), rng.normal(0.02, 1, 5_000)
    reference = Reference.numeric(full, sample_cap=8_000, sketch_size=2_000)
    statistic = ks(reference, current)
    want = stats.kstwo.sf(statistic, round(full.size * current.size / (full.size + current.size)))
    assert ks_pvalue(reference, current) == pytest.approx(want, rel=1e-12)
    # With the exact D it is what SciPy's asymptotic method gives on the full values.
    scipy = stats.ks_2samp(full, current, method="asymp")
    assert ks_pvalue_asymptotic(scipy.statistic, full.size, current.size) \
        == pytest.approx(scipy.pvalue, rel=1e-12)


def test_sketch_settings_are_checked() -> None:
    with pytest.raises(DriftError, match="sample_cap"):
        Reference.numeric(np.arange(100.0), sample_cap=100, sketch_size=50)
