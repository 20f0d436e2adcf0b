"""The in-memory series store that pushed samples live in."""

from __future__ import annotations

import bisect
import random
import struct
from collections.abc import Sequence

import pytest

from alertd.model import LabelMatcher, Labels
from alertd.series import STALE_NAN, OutOfOrderError, is_stale
from alertd.sources.samples import SeriesStore


def test_select_by_name_and_matchers() -> None:
    store = SeriesStore()
    for pod in ("a", "b", "c"):
        store.add({"__name__": "up", "job": "api", "pod": pod}, 0.0, 1.0)
    store.add({"__name__": "up", "job": "db", "pod": "a"}, 0.0, 1.0)
    store.add({"__name__": "down", "job": "api"}, 0.0, 1.0)
    api = store.select("up", [LabelMatcher("job", "=", "api")])
    assert sorted(s.labels["pod"] for s in api) == ["a", "b", "c"]
    one = store.select("up", [LabelMatcher("job", "=", "api"), LabelMatcher("pod", "=~", "b|c")])
    assert sorted(s.labels["pod"] for s in one) == ["b", "c"]
    assert len(store.select(None, [LabelMatcher("job", "=", "api")])) == 4
    assert store.select("missing", []) == []


def test_samples_must_be_in_time_order() -> None:
    store = SeriesStore()
    store.add({"__name__": "x"}, 10.0, 1.0)
    store.add({"__name__": "x"}, 10.0, 1.0)  # an exact duplicate is ignored
    with pytest.raises(OutOfOrderError):
        store.add({"__name__": "x"}, 5.0, 1.0)
    assert store.series_for({"__name__": "x"}).ts == [10.0]


def test_stale_markers_are_kept_and_recognised() -> None:
    store = SeriesStore()
    series = store.series_for(Labels({"__name__": "x"}))
    series.append(0.0, 1.0)
    series.append(1.0, STALE_NAN)
    series.append(2.0, float("nan"))
    assert is_stale(series.vs[1]) and not is_stale(series.vs[2])
    assert series.without_stale().ts == [0.0, 2.0]
    series.drop_before(1.5)
    assert series.ts == [2.0] and series.stale_count == 0


class ListSeries:
    """The former storage of a series, two plain lists: what the array-backed one must
    keep giving."""

    def __init__(self) -> None:
        self.ts: list[float] = []
        self.vs: list[float] = []

    def extend(self, t: float, values: list[float]) -> None:
        self.ts.extend([t] * len(values))
        self.vs.extend(values)

    def drop_before(self, t: float) -> None:
        keep = [i for i, ti in enumerate(self.ts) if ti >= t]
        self.ts = [self.ts[i] for i in keep]
        self.vs = [self.vs[i] for i in keep]

    def without_stale(self) -> tuple[list[float], list[float]]:
        kept = [(t, v) for t, v in zip(self.ts, self.vs, strict=True) if not is_stale(v)]
        return [t for t, _ in kept], [v for _, v in kept]


def same_values(got: Sequence[float], want: Sequence[float]) -> bool:
    """Equal, bit for bit: a stale marker only equals a stale marker, a NaN a NaN."""
    return [struct.pack(">d", v) for v in got] == [struct.pack(">d", v) for v in want]


def test_array_backed_windows_equal_the_list_based_ones() -> None:
    rng = random.Random(7)
    store = SeriesStore()
    series = store.series_for({"__name__": "feature_value", "feature": "f0"})
    model = ListSeries()
    t = 0.0
    for step in range(200):
        t += rng.choice((0.0, 0.5, 1.0))
        batch = [rng.gauss(0.0, 1.0) for _ in range(rng.randint(1, 50))]
        if step % 17 == 0:
            batch[rng.randrange(len(batch))] = STALE_NAN
        if step % 23 == 0:
            batch[0] = float("nan")
        if len(batch) == 1:
            series.append(t + 0.25, batch[0])
            model.extend(t + 0.25, batch)
            t += 0.25
        else:
            series.extend(t, batch)
            model.extend(t, batch)
        if step % 40 == 39:  # retention trimming, as the windows do it
            series.drop_before(t - 20.0)
            model.drop_before(t - 20.0)
        assert series.ts == model.ts and same_values(series.vs, model.vs)
        assert series.stale_count == sum(1 for v in model.vs if is_stale(v))
        lo, hi = bisect.bisect_right(series.ts, t - 5.0), len(series.ts)
        assert same_values(series.vs[lo:hi], model.vs[lo:hi])
        ts, vs = model.without_stale()
        copy = series.without_stale()
        assert copy.ts == ts and same_values(copy.vs, vs) and copy.stale_count == 0
        assert series.without_stale() is copy  # unchanged series: the same copy
    assert store.select("feature_value", []) == [series]


def test_a_batch_with_stale_markers_counts_them() -> None:
    series = SeriesStore().series_for({"__name__": "x"})
    series.extend(1.0, [1.0, STALE_NAN, float("nan"), STALE_NAN])
    series.extend(2.0, [float("inf"), float("-inf")])  # a NaN sum, but no NaN value
    assert series.stale_count == 2 and len(series.vs) == len(series.ts) == 6
    series.drop_before(1.5)
    assert series.stale_count == 0 and list(series.vs) == [float("inf"), float("-inf")]


def test_a_batch_that_is_not_numbers_leaves_the_series_as_it_was() -> None:
    series = SeriesStore().series_for({"__name__": "x"})
    series.extend(1.0, [1.0, 2.0])
    with pytest.raises(TypeError):
        series.extend(2.0, [3.0, "4"])  # type: ignore[list-item]
    assert series.ts == [1.0, 1.0] and list(series.vs) == [1.0, 2.0]
