"""`Window`: current values checked once and sorted only when a function needs the order,
and the sorting of many windows at once."""

from __future__ import annotations

import numpy as np
import pytest

from alertd.drift import METHODS, DriftError, Reference, Sample, Window, score_many, sorting
from alertd.drift.values import UNSORTED_CUTS_MAX, bin_counts


def windows_of(rng: np.random.Generator, count: int, size: int) -> list[np.ndarray]:
    # Rounded values: many of them equal a cut point, the edge case of binning.
    return [np.round(rng.normal(0.0, 2.0, size)) for _ in range(count)]


@pytest.mark.parametrize("cuts", [3, UNSORTED_CUTS_MAX, UNSORTED_CUTS_MAX + 1])
def test_unsorted_counts_equal_the_counts_of_the_sorted_values(cuts: int) -> None:
    values = np.round(np.random.default_rng(cuts).normal(0.0, 3.0, 5_000))
    edges = np.linspace(-6.0, 6.0, cuts)  # whole numbers among them
    want = bin_counts(np.sort(values), edges)
    window = Window(values)
    assert np.array_equal(window.counts(edges), want)
    assert window.is_sorted == (cuts > UNSORTED_CUTS_MAX)  # sorted only when it pays
    _ = window.sample
    assert np.array_equal(window.counts(edges), want)


def test_every_method_gives_the_same_over_a_window_as_over_the_values() -> None:
    rng = np.random.default_rng(3)
    references = [Reference.numeric(rng.normal(0.0, 2.0, 1_000)) for _ in range(4)]
    raw = windows_of(rng, 4, 700)
    windows = [Window(values) for values in raw]
    for method in METHODS:
        assert np.array_equal(score_many(method, references, windows),
                              score_many(method, references, raw)), method
    assert all(w.is_sorted for w in windows)
    assert np.array_equal(windows[0].sample.values, Sample.of(raw[0]).values)
    assert Sample.of(windows[0]) is windows[0].sample


def test_a_window_is_checked_and_keeps_its_values_unchanged() -> None:
    with pytest.raises(DriftError, match="NaN or infinite"):
        Window([1.0, float("nan")])
    with pytest.raises(DriftError, match="empty"):
        Window([])
    values = np.array([3.0, 1.0, 2.0])
    window = Window(values)
    values[0] = 99.0  # the caller's array: the window kept a copy
    assert window.values.tolist() == [3.0, 1.0, 2.0] and not window.values.flags.writeable
    assert window.sample.values.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(DriftError, match="categorical reference needs"):
        METHODS["psi"](Reference.categorical(["a", "b"]), window)


@pytest.mark.parametrize("values", [50, sorting.PARALLEL_MIN_VALUES // 10])
def test_sorting_many_windows_at_once(values: int) -> None:
    raw = windows_of(np.random.default_rng(values), 13, values)
    windows = [Window(v) for v in raw]
    _ = windows[5].sample  # sorted already: kept as it is
    kept = windows[5].sample
    sorting.sort_windows(windows)
    assert windows[5].sample is kept
    for window, values_ in zip(windows, raw, strict=True):
        assert window.is_sorted and np.array_equal(window.sample.values, np.sort(values_))


def test_sorting_without_helpers_stays_in_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sorting, "max_helpers", 0)
    monkeypatch.setattr(sorting, "_executor", None)  # would fail if called
    assert sorting.sort_threads() == 1
    windows = [Window(v) for v in windows_of(np.random.default_rng(1), 20, 10_000)]
    sorting.sort_windows(windows)
    assert all(w.is_sorted for w in windows)
