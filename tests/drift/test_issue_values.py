"""The figures every implementation of the drift functions must give (issue 14), each
also checked against SciPy where SciPy computes the same thing."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from alertd.drift import (
    Buckets,
    Reference,
    chi2,
    chi2_from_counts,
    compare_buckets,
    jsd,
    jsd_from_shares,
    ks,
    ks_pvalue,
    psi,
    psi_from_counts,
    psi_from_shares,
    wasserstein,
)

REL = 1e-12


def exactly(value: float) -> object:
    return pytest.approx(value, rel=REL, abs=0.0)


def repeat(counts: dict[str, int]) -> list[str]:
    return [name for name, count in counts.items() for _ in range(count)]


def test_psi_of_shares() -> None:
    assert psi_from_shares([.25] * 4, [.1, .2, .3, .4]) == exactly(0.22821740957339182)
    # PSI is symmetric, so the order of the two does not matter.
    assert psi_from_shares([.1, .2, .3, .4], [.25] * 4) == exactly(0.22821740957339182)


def test_psi_of_counts_with_an_empty_bin() -> None:
    # The empty bin's share becomes 1e-4; the other shares are not renormalised.
    assert psi_from_counts([10, 20, 30, 40], [0, 25, 35, 40]) == exactly(0.7089494639273889)
    ref, cur = np.array([.1, .2, .3, .4]), np.array([1e-4, .25, .35, .4])
    assert np.sum((cur - ref) * np.log(cur / ref)) == exactly(0.7089494639273889)


def test_psi_of_the_same_counts_as_histograms() -> None:
    les: list[float | str] = [1, 2, 3, "+Inf"]
    reference = Reference.from_buckets(les, [10, 30, 60, 100])
    assert psi(reference, Buckets.of(les, [0, 25, 60, 100])) == exactly(0.7089494639273889)
    assert compare_buckets("psi", les, [10, 30, 60, 100], [0, 25, 60, 100]) \
        == exactly(0.7089494639273889)


def test_psi_with_decile_cuts() -> None:
    reference = Reference.numeric(np.arange(100))
    np.testing.assert_array_equal(reference.cuts, np.quantile(np.arange(100),
                                                              np.arange(1, 10) / 10))
    np.testing.assert_allclose(reference.shares, [0.1] * 10)
    assert psi(reference, np.arange(20, 120)) == exactly(1.599891962474253)


def test_psi_of_categories_over_their_union() -> None:
    reference = Reference.categorical(repeat({"a": 50, "b": 30, "c": 20}))
    current = {"a": 40, "b": 30, "c": 20, "d": 10}
    assert psi(reference, repeat(current)) == exactly(0.7123991075017365)
    assert psi(reference, current) == exactly(0.7123991075017365)
    counted = Reference.from_category_counts({"a": 50, "b": 30, "c": 20})
    assert psi(counted, current) == exactly(0.7123991075017365)


def test_ks_statistic_and_exact_pvalue() -> None:
    reference = Reference.numeric(np.arange(10), bins=5)
    assert ks(reference, np.arange(3, 13)) == exactly(0.3)
    assert ks_pvalue(reference, np.arange(3, 13)) == exactly(0.7869297884777761)
    scipy = stats.ks_2samp(np.arange(10), np.arange(3, 13), method="exact")
    assert (scipy.statistic, scipy.pvalue) == (exactly(0.3), exactly(0.7869297884777761))


def test_ks_of_x_and_x_squared() -> None:
    x = np.arange(200) / 200
    assert ks(Reference.numeric(x), x ** 2) == exactly(0.25)
    assert ks(Reference.numeric(x ** 2), x) == exactly(0.25)
    assert stats.ks_2samp(x, x ** 2).statistic == exactly(0.25)


def test_jsd_is_the_base_2_distance() -> None:
    value = jsd_from_shares([.25] * 4, [.1, .2, .3, .4])
    assert value == exactly(0.20050332253142814)
    assert jensenshannon([.25] * 4, [.1, .2, .3, .4], base=2) == exactly(0.20050332253142814)
    # Its square is the divergence: the mean KL divergence from the mixture, in bits.
    p, q = np.array([.25] * 4), np.array([.1, .2, .3, .4])
    mix = (p + q) / 2
    divergence = (np.sum(p * np.log2(p / mix)) + np.sum(q * np.log2(q / mix))) / 2
    assert value ** 2 == pytest.approx(divergence, rel=1e-12)


def test_jsd_of_binned_values() -> None:
    reference = Reference.from_buckets([1, 2, 3, np.inf], [25, 50, 75, 100])
    assert jsd(reference, Buckets.of([1, 2, 3, np.inf], [10, 30, 60, 100])) \
        == exactly(0.20050332253142814)


def test_wasserstein() -> None:
    reference = Reference.numeric([0, 1, 3], bins=2)
    assert wasserstein(reference, [5, 6, 8]) == 5.0
    assert stats.wasserstein_distance([0, 1, 3], [5, 6, 8]) == 5.0


def test_chi2_goodness_of_fit() -> None:
    assert chi2_from_counts([50, 30, 20], [40, 30, 30]) == exactly(0.0301973834223185)
    assert stats.chisquare([40, 30, 30], [50, 30, 20]).pvalue == exactly(0.0301973834223185)
    reference = Reference.categorical(repeat({"a": 50, "b": 30, "c": 20}))
    assert chi2(reference, {"a": 40, "b": 30, "c": 30}) == exactly(0.0301973834223185)
    les: list[float | str] = [1, 2, "+Inf"]
    assert compare_buckets("chi2", les, [50, 80, 100], [40, 70, 100]) \
        == exactly(0.0301973834223185)
