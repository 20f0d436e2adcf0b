"""Drift functions evaluated over local series, against SciPy and the values of issue 14."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import stats

from alertd.drift import Reference
from alertd.errors import EvalError
from alertd.lang.compile import compile_expr
from alertd.lang.context import EvalContext
from alertd.lang.drift_eval import Baseline
from alertd.lang.parse import parse_expr
from alertd.model import Labels, Vector
from alertd.sources.samples import SeriesStore

T = 1000.0


def run(expr: str, store: SeriesStore, *baselines: Baseline) -> tuple[Vector, EvalContext]:
    ctx = EvalContext(T, store, baselines={b.name: b for b in baselines})
    value = compile_expr(parse_expr(expr)).eval(ctx)
    assert isinstance(value, list)
    return value, ctx


def push(store: SeriesStore, values: object, **labels: str) -> None:
    series = store.series(Labels({"__name__": "fv", **labels}))
    for i, v in enumerate(np.asarray(values, dtype=float)):
        series.append(T - 500 + i * 0.01, float(v))


def by_labels(vector: Vector) -> dict[str, float]:
    return {str(s.labels): s.value for s in vector}


TRAIN = Baseline("train", {"a": Reference.numeric(np.arange(100.0)),
                           "b": Reference.numeric(np.arange(100.0))}, 3)


def test_psi_per_feature_against_decile_cuts() -> None:
    store = SeriesStore()
    push(store, np.arange(20.0, 120.0), feature="a", model="m")
    push(store, np.arange(100.0), feature="b", model="m")
    got, ctx = run('psi(fv[10m], baseline="train") by (feature)', store, TRAIN)
    # Reference 0..99 against 20..119 with decile cuts (issue 14).
    assert by_labels(got) == {'{feature="a"}': 1.599891962474253, '{feature="b"}': 0.0}
    assert [(s.method, s.feature, s.baseline, str(s.labels)) for s in ctx.drift_scores] == [
        ("psi", "a", "train@3", "{}"), ("psi", "b", "train@3", "{}")]


def test_a_group_pools_its_series_and_keeps_the_by_labels() -> None:
    store = SeriesStore()
    push(store, np.arange(0.0, 50.0), feature="a", model_version="v1", pod="p1")
    push(store, np.arange(50.0, 100.0), feature="a", model_version="v1", pod="p2")
    push(store, np.arange(3.0, 13.0), feature="a", model_version="v2", pod="p1")
    got, _ = run('ks(fv[10m], baseline="train") by (model_version, feature)', store, TRAIN)
    v2 = stats.ks_2samp(np.arange(100.0), np.arange(3.0, 13.0)).statistic
    assert by_labels(got) == pytest.approx({'{feature="a", model_version="v1"}': 0.0,
                                            '{feature="a", model_version="v2"}': v2})


def test_without_by_each_series_is_a_group() -> None:
    store = SeriesStore()
    push(store, np.arange(10.0), feature="a", pod="p1")
    push(store, np.arange(3.0, 13.0), feature="a", pod="p2")
    got, _ = run('ks_pvalue(fv[10m], baseline="train")', store,
                 Baseline("train", {"a": Reference.numeric(np.arange(10.0), bins=2)}))
    # KS 0..9 against 3..12: D 0.3, p 0.7869297884777761, exact (issue 14).
    assert by_labels(got) == pytest.approx({'{feature="a", pod="p1"}': 1.0,
                                            '{feature="a", pod="p2"}': 0.7869297884777761})


def test_wasserstein_and_its_normed_form() -> None:
    store = SeriesStore()
    push(store, [5.0, 6.0, 8.0], feature="a")
    one = Baseline("b", {"a": Reference.numeric([0.0, 1.0, 3.0], bins=2)})
    got, _ = run('wasserstein(fv[10m], baseline="b")', store, one)
    assert [s.value for s in got] == [5.0]
    got, _ = run('wasserstein_normed(fv[10m], baseline="b")', store, one)
    assert [s.value for s in got] == pytest.approx([5.0 / np.std([0.0, 1.0, 3.0])])


def test_categories_come_from_the_category_label_or_the_values() -> None:
    store = SeriesStore()
    for category, count in (("a", 40), ("b", 30), ("c", 20), ("d", 10)):
        push(store, np.ones(count), feature="plan", category=category)
    plans = Baseline("p", {"plan": Reference.from_category_counts({"a": 50, "b": 30,
                                                                   "c": 20})})
    got, _ = run('psi(fv[10m], baseline="p") by (feature)', store, plans)
    assert [s.value for s in got] == [0.7123991075017365]  # issue 14
    codes = SeriesStore()
    push(codes, [0.0] * 50 + [1.0] * 30 + [2.0] * 20, feature="plan")
    coded = Baseline("p", {"plan": Reference.categorical(["0"] * 50 + ["1"] * 30
                                                         + ["2"] * 20)})
    got, _ = run('chi2(fv[10m], baseline="p") by (feature)', codes, coded)
    assert [s.value for s in got] == [1.0]


def test_min_samples_and_missing_values() -> None:
    store = SeriesStore()
    push(store, [*np.arange(20.0, 30.0), math.nan, math.nan], feature="a")
    expr = 'psi(fv[10m], baseline="train", min_samples={}) by (feature)'
    assert run(expr.format(11), store, TRAIN)[0] == []  # 10 values: NaN is left out
    assert len(run(expr.format(10), store, TRAIN)[0]) == 1


def test_a_feature_the_baseline_does_not_know_yields_nothing() -> None:
    store = SeriesStore()
    push(store, np.arange(10.0), feature="new")
    assert run('psi(fv[10m], baseline="train") by (feature)', store, TRAIN)[0] == []


def test_problems_are_evaluation_errors_that_say_what_to_do() -> None:
    store = SeriesStore()
    push(store, np.arange(10.0), pod="p1")
    with pytest.raises(EvalError, match=re.escape('the group {pod="p1"} has no "feature" '
                                                  'label, and baseline "train@3" has 2 '
                                                  "features")):
        run('psi(fv[10m], baseline="train")', store, TRAIN)
    with pytest.raises(EvalError, match='psi\\(\\): baseline "nope" is not loaded'):
        run('psi(fv[10m], baseline="nope")', store, TRAIN)


def buckets(store: SeriesStore, name: str, counts: list[float], **labels: str) -> None:
    for le, count in zip(["1", "2", "3", "+Inf"], counts, strict=True):
        store.series(Labels({"__name__": name, "le": le, **labels})).append(T - 10, count)


def test_two_bucket_vectors() -> None:
    store = SeriesStore()
    # counts [10,20,30,40] against [0,25,35,40] (issue 14), as cumulative buckets, the
    # current split over two pods that the by clause sums.
    buckets(store, "now_bucket", [0, 10, 20, 20], pod="p1", model="m")
    buckets(store, "now_bucket", [0, 15, 40, 80], pod="p2", model="m")
    buckets(store, "before_bucket", [10, 30, 60, 100], model="m")
    got, ctx = run("psi(now_bucket, before_bucket) by (model)", store)
    assert by_labels(got) == {'{model="m"}': pytest.approx(0.7089494639273889)}
    assert [(s.feature, s.baseline) for s in ctx.drift_scores] == [("now", None)]
    got, _ = run("chi2(sum by (le) (before_bucket), sum by (le) (before_bucket))", store)
    assert [s.value for s in got] == [1.0]


def test_bucket_bounds_that_differ_are_an_error() -> None:
    store = SeriesStore()
    buckets(store, "now_bucket", [0, 10, 20, 20])
    for le, count in (("1", 5.0), ("5", 9.0), ("+Inf", 10.0)):
        store.series(Labels({"__name__": "before_bucket", "le": le})).append(T - 10, count)
    with pytest.raises(EvalError, match=r"le bounds of \{\} differ between the two bucket "
                                        r"vectors: \[1, 2, 3, \+Inf\] and \[1, 5, \+Inf\]"):
        run("psi(sum by (le) (now_bucket), sum by (le) (before_bucket))", store)


def test_buckets_against_a_baseline_captured_from_buckets() -> None:
    store = SeriesStore()
    buckets(store, "score_bucket", [0, 25, 60, 100], model="m")
    scores = Baseline("s", {"score": Reference.from_buckets([1, 2, 3, math.inf],
                                                            [10, 30, 60, 100])})
    got, _ = run('psi(score_bucket, baseline="s") by (model)', store, scores)
    assert by_labels(got) == {'{model="m"}': pytest.approx(0.7089494639273889)}


def test_buckets_now_against_the_same_a_week_before() -> None:
    store = SeriesStore()
    week = 7 * 86400.0
    # Cumulative counts growing over the hour before each time: the increase over the
    # hour is [10,30,60,100] a week before and [0,25,60,100] now (issue 14's counts).
    for end, counts in ((T - week, [10, 30, 60, 100]), (T, [0, 25, 60, 100])):
        for le, count in zip(["1", "2", "3", "+Inf"], counts, strict=True):
            series = store.series(Labels({"__name__": "score_bucket", "le": le}))
            for k in range(61):
                series.append(end - 3600 + 60 * k, count * k / 60)
    got, _ = run("psi(increase(score_bucket[1h]), increase(score_bucket[1h] offset 7d))",
                 store)
    assert [s.value for s in got] == [pytest.approx(0.7089494639273889)]
