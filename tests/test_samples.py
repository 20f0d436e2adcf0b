"""The in-memory series store that pushed samples live in."""

from __future__ import annotations

import pytest

from alertd.model import LabelMatcher, Labels
from alertd.sources.samples import STALE_NAN, OutOfOrderError, SeriesStore, is_stale


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
