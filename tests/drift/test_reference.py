"""Building references, storing them, and every mistake in a reference or a window."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from alertd.drift import (
    DriftError,
    Reference,
    Sample,
    chi2,
    jsd_from_shares,
    ks,
    psi,
    psi_from_counts,
    psi_from_shares,
    score_many,
    wasserstein,
    wasserstein_normed,
)
from alertd.errors import AlertdError


def test_numeric_reference() -> None:
    values = np.random.default_rng(0).normal(10, 2, 5_000)
    reference = Reference.numeric(values, bins=4)
    assert reference.kind == "numeric" and reference.bins == 4
    np.testing.assert_array_equal(reference.sample, np.sort(values))
    np.testing.assert_allclose(reference.shares, [0.25] * 4)
    assert reference.count == 5_000 and reference.std == pytest.approx(np.std(values))
    assert not reference.sketched and reference.ks_error == 0.0


def test_reference_is_immutable() -> None:
    reference = Reference.numeric(np.arange(20.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        reference.kind = "categorical"  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        reference.shares[0] = 1.0


@pytest.mark.parametrize("reference", [
    Reference.numeric(np.random.default_rng(1).lognormal(size=3_000), bins=7),
    Reference.numeric(np.random.default_rng(1).normal(size=30_000), sample_cap=8_000,
                      sketch_size=2_000),
    Reference.categorical(["a", "b", "b", "c"]),
    Reference.from_buckets([1, 5, math.inf], [3, 9, 10]),
], ids=["numeric", "sketched", "categorical", "histogram"])
def test_stored_form_round_trips_through_json(reference: Reference) -> None:
    stored = json.loads(json.dumps(reference.to_dict()))
    back = Reference.from_dict(stored)
    for name in ("kind", "categories", "count", "std", "sketched", "ks_error",
                 "wasserstein_error"):
        assert getattr(back, name) == getattr(reference, name)
    for name in ("shares", "cuts", "sample"):
        np.testing.assert_array_equal(getattr(back, name), getattr(reference, name))


@pytest.mark.parametrize(("change", "message"), [
    ({"shares": [0.5, float("nan"), 0.5]}, "share 1 is nan"),
    ({"shares": [0.5, 0.5, 0.5]}, "sum to 1.5, not 1"),
    ({"shares": [0.5, -0.1, 0.6]}, "share 1 is -0.1"),
    ({"cuts": [2.0, 1.0]}, "cut points must increase strictly"),
    ({"cuts": [1.0]}, "1 cut points need 2 shares, got 3"),
    ({"sample": [3.0, 1.0, 2.0]}, "sample must be sorted"),
    ({"sample": []}, "needs its sample"),
    ({"std": None}, "needs a standard deviation"),
    ({"kind": "ordinal"}, 'unknown reference kind "ordinal"'),
    ({"shares": "x"}, "stored reference: shares is malformed"),
    ({"count": "many"}, "stored reference: count is malformed"),
])
def test_bad_stored_references(change: dict[str, object], message: str) -> None:
    stored = {"kind": "numeric", "shares": [0.25, 0.5, 0.25], "cuts": [1.0, 2.0],
              "sample": [0.0, 1.5, 3.0], "count": 3, "std": 1.2} | change
    with pytest.raises(DriftError, match=message):
        Reference.from_dict(stored)


def test_stored_reference_without_its_shares() -> None:
    with pytest.raises(DriftError, match="stored reference lacks shares"):
        Reference.from_dict({"kind": "numeric"})


def test_nan_share_in_a_categorical_reference() -> None:
    with pytest.raises(DriftError, match="share 0 is nan"):
        Reference("categorical", np.array([math.nan, 1.0]), categories=("a", "b"))


@pytest.mark.parametrize(("values", "bins", "message"), [
    ([1.0, 2.0, 3.0], 10, "too few reference values for 10 bins: 3"),
    ([0.0] * 60 + list(range(40)), 10, "too few distinct reference values for 10 bins: "
     "the cut points at quantiles 0.1 and 0.2 are both 0 .the reference has 40 distinct "
     "values among 100.; ask for fewer bins"),
    ([1.0, 2.0, math.nan] * 10, 3, "reference values: 10 of 30 are NaN or infinite "
     ".the first at index 2: nan."),
    ([1.0, math.inf] * 10, 2, "reference values: 10 of 20 are NaN or infinite"),
    ([], 10, "no reference values: the input is empty"),
    (np.arange(10.0), 1, "bins must be at least 2, got 1"),
    ([[1.0, 2.0], [3.0, 4.0]], 2, "flat list of numbers, got shape .2, 2."),
    (["a", "b", "c"], 2, "reference values must be numbers"),
])
def test_bad_numeric_references(values: list[float], bins: int, message: str) -> None:
    with pytest.raises(DriftError, match=message) as caught:
        Reference.numeric(values, bins=bins)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, AlertdError)


def test_bad_categorical_references() -> None:
    with pytest.raises(DriftError, match="no reference values"):
        Reference.categorical([])
    with pytest.raises(DriftError, match="a list of names, not one string"):
        Reference.categorical("abc")
    with pytest.raises(DriftError, match="category values must be strings, got 3"):
        Reference.categorical(["a", 3])  # type: ignore[list-item]
    with pytest.raises(DriftError, match="no reference categories"):
        Reference.from_category_counts({})
    with pytest.raises(DriftError, match=r"1 of 2 are NaN"):
        Reference.from_category_counts({"a": 1.0, "b": math.nan})


NUMERIC = Reference.numeric(np.arange(50.0))
CATEGORICAL = Reference.categorical(["a", "b"] * 5)


@pytest.mark.parametrize(("function", "reference", "current", "message"), [
    (psi, NUMERIC, [], "no current values: the input is empty"),
    (ks, NUMERIC, [1.0, math.nan], "current values: 1 of 2 are NaN or infinite"),
    (wasserstein, NUMERIC, [1.0, -math.inf], "current values: 1 of 2 are NaN or infinite"),
    (psi, NUMERIC, ["a", "b"], "current values must be numbers"),
    (psi, NUMERIC, {"a": 1.0}, "category counts need a categorical reference"),
    (psi, CATEGORICAL, [], "no current values: the input is empty"),
    (psi, CATEGORICAL, [1.0, 2.0], "category values must be strings, got 1.0"),
    (psi, CATEGORICAL, np.arange(3.0), "needs category names or counts"),
    (chi2, CATEGORICAL, {"a": -1.0, "b": 2.0}, "count 0 is negative"),
    (ks, CATEGORICAL, ["a"], "ks needs a reference built from numeric values, not a "
                             "categorical one"),
    (wasserstein_normed, CATEGORICAL, ["a"], "wasserstein_normed needs a reference built"),
    (wasserstein, NUMERIC, {"a": 1.0}, "wasserstein needs the current values, not buckets"),
])
def test_bad_current_windows(function: object, reference: Reference, current: object,
                             message: str) -> None:
    with pytest.raises(DriftError, match=message):
        function(reference, current)  # type: ignore[operator]


def test_bad_share_and_count_lists() -> None:
    with pytest.raises(DriftError, match="reference shares: share 1 is nan"):
        psi_from_shares([0.5, math.nan, 0.5], [0.25] * 3)
    with pytest.raises(DriftError, match=r"current shares sum to 0.9, not 1"):
        jsd_from_shares([0.5, 0.5], [0.4, 0.5])
    with pytest.raises(DriftError, match="differ in length: 2 and 3"):
        psi_from_shares([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(DriftError, match="current counts are all zero"):
        psi_from_counts([1, 2], [0, 0])


def test_score_many_names_the_feature_and_the_method() -> None:
    references = [NUMERIC, NUMERIC]
    with pytest.raises(DriftError, match="feature 1: current values: 1 of 1 are NaN"):
        score_many("psi", references, [[1.0], [math.nan]])
    with pytest.raises(DriftError, match=r'unknown drift method "pis" .one of chi2, jsd'):
        score_many("pis", references, [[1.0], [2.0]])
    with pytest.raises(DriftError, match="2 references but 1 current windows"):
        score_many("psi", references, [[1.0]])


def test_samples() -> None:
    sample = Sample.of([3.0, 1.0, 2.0])
    assert sample.values.tolist() == [1.0, 2.0, 3.0] and Sample.of(sample) is sample
    with pytest.raises(DriftError, match="must be sorted and not NaN"):
        Sample(np.array([2.0, 1.0]))
    with pytest.raises(DriftError, match="must be sorted and not NaN"):
        Sample(np.array([1.0, math.nan, 2.0]))
    with pytest.raises(DriftError, match="current values: 1 of 2 are NaN or infinite"):
        Sample(np.array([1.0, math.inf]))


def test_constant_reference_normed_wasserstein() -> None:
    reference = Reference.numeric([0.0] * 5 + [1.0] * 5, bins=2)
    assert wasserstein_normed(reference, [0.0] * 5 + [1.0] * 5) == 0.0
    constant = Reference.from_dict(reference.to_dict() | {"std": 0.0})
    assert wasserstein_normed(constant, [0.0] * 5 + [1.0] * 5) == 0.0
    assert wasserstein_normed(constant, [3.0]) == math.inf


def test_one_category_each_side() -> None:
    reference = Reference.categorical(["a"] * 10)
    assert psi(reference, ["a"] * 3) == 0.0
    assert chi2(reference, ["a"] * 3) == 1.0
    assert chi2(reference, ["a", "b"]) < 1e-3
