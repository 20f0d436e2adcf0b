"""The current windows of the drift functions: pooled once per evaluation round and shared
by the drift rules that read them, with the same scores as when each rule pools its own."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from alertd.drift import Reference, Window
from alertd.lang.check import check_files
from alertd.lang.compile import compile_expr
from alertd.lang.context import EvalContext, WindowKey
from alertd.lang.drift_eval import Baseline
from alertd.lang.parse import parse_expr, parse_file
from alertd.model import Labels, Sample
from alertd.rules.evaluator import Evaluator, RuleSet
from alertd.series import STALE_NAN
from alertd.sources.samples import SeriesStore

T = 1000.0
RNG = np.random.default_rng(5)
TRAIN = Baseline("train", {"a": Reference.numeric(RNG.normal(0.0, 1.0, 500)),
                           "b": Reference.numeric(RNG.normal(5.0, 2.0, 500))}, 1)
METHODS = ("psi", "jsd", "chi2", "ks", "ks_pvalue", "wasserstein", "wasserstein_normed")


def feature_store() -> tuple[SeriesStore, dict[str, np.ndarray]]:
    """Feature a in two series (pooled by `by (feature)`), with a NaN and a stale marker;
    feature b in one, pushed in batches as the webhook stores them."""
    store = SeriesStore()
    a1, a2, b = RNG.normal(0.3, 1.0, 300), RNG.normal(0.0, 1.2, 200), RNG.normal(5, 2, 400)
    s1 = store.series(Labels({"__name__": "fv", "feature": "a", "pod": "p1"}))
    for i, v in enumerate(a1):
        s1.append(T - 500 + i, float(v))
    s1.append(T - 150, math.nan)  # missing: left out
    s1.append(T - 140, STALE_NAN)  # the series ended: ignored by range functions
    s2 = store.series(Labels({"__name__": "fv", "feature": "a", "pod": "p2"}))
    s2.extend(T - 100, a2.tolist())
    sb = store.series(Labels({"__name__": "fv", "feature": "b", "pod": "p1"}))
    for k, batch in enumerate(np.array_split(b, 4)):
        sb.extend(T - 400 + k * 100, batch.tolist())
    return store, {"a": np.concatenate((a1, a2)), "b": b}


def scores(expr: str, ctx: EvalContext) -> dict[str, float]:
    value = compile_expr(parse_expr(expr)).eval(ctx)
    assert isinstance(value, list)
    return {s.labels["feature"]: s.value for s in value if isinstance(s, Sample)}


def drift(method: str, extra: str = "") -> str:
    return f'{method}(fv[10m], baseline="train"{extra}) by (feature)'


def test_a_shared_round_gives_the_scores_of_separate_evaluations() -> None:
    store, values = feature_store()
    shared: dict[WindowKey, Window | None] = {}
    for method in METHODS:
        alone = scores(drift(method), EvalContext(T, store, baselines={"train": TRAIN}))
        together = scores(drift(method), EvalContext(T, store, baselines={"train": TRAIN},
                                                     drift_windows=shared))
        assert together == alone, method
    assert len(shared) == 2  # one pooled window per feature, made once for all methods
    windows = {w.size: w for w in shared.values() if w is not None}
    assert sorted(windows) == [400, 500] and all(w.is_sorted for w in windows.values())
    # And the figures are those of the values themselves (NaN and stale marker left out).
    got = scores(drift("ks"), EvalContext(T, store, baselines={"train": TRAIN}))
    for feature, current in values.items():
        reference = TRAIN.features[feature].sample
        assert got[feature] == stats.ks_2samp(reference, current).statistic


def test_min_samples_applies_per_rule_over_a_shared_window() -> None:
    store, _ = feature_store()
    shared: dict[WindowKey, Window | None] = {}

    def ctx() -> EvalContext:
        return EvalContext(T, store, baselines={"train": TRAIN}, drift_windows=shared)

    assert scores(drift("psi", ", min_samples=450"), ctx()).keys() == {"a"}
    assert scores(drift("ks"), ctx()).keys() == {"a", "b"}
    assert scores(drift("ks", ", min_samples=501"), ctx()) == {}


def test_a_window_of_only_missing_values_is_no_window() -> None:
    store = SeriesStore()
    store.series(Labels({"__name__": "fv", "feature": "a"})).extend(T - 10, [math.nan] * 3)
    shared: dict[WindowKey, Window | None] = {}
    ctx = EvalContext(T, store, baselines={"train": TRAIN}, drift_windows=shared)
    assert scores(drift("psi"), ctx) == {} and list(shared.values()) == [None]


RULES = 'baseline "train" { captured = true }\ngroup drift {\n' + "".join(
    f'  alert D_{m} {{\n    when = {drift(m)} > 0.1\n    severity = "ticket"\n  }}\n'
    for m in METHODS) + "}\n"


def test_the_rules_of_a_round_share_windows_through_the_evaluator() -> None:
    store, _ = feature_store()
    result = check_files([parse_file(RULES, "drift.rules").file])
    assert result.ok, result.diagnostics
    ruleset = RuleSet.from_groups(result.groups)
    alone, together = Evaluator(ruleset, {"train": TRAIN}), Evaluator(ruleset, {"train": TRAIN})
    shared: dict[WindowKey, Window | None] = {}
    for rule in ruleset.rules:
        alone.evaluate(rule, T, store)
        together.evaluate(rule, T, store, drift_windows=shared)
    assert together.drift_scores == alone.drift_scores
    assert len(together.drift_scores) == len(METHODS) and len(shared) == 2
