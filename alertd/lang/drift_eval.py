"""Evaluation of the drift functions: groups of current values or buckets against a reference.

    psi(x[1h], baseline = "b") by (feature)     the values of each group's window, pooled,
                                                against the group's feature of baseline b
    psi(buckets, baseline = "b") by (...)       each group's `le` buckets against the
                                                group's feature of b (captured from buckets)
    psi(current, reference) by (...)            each group's buckets against the group with
                                                the same labels in the reference vector

A group is one series (one set of buckets: the labels but `le`) without `by`; with
`by (...)`, the series (buckets) whose `by` labels agree, pooled (summed per `le`). A
group's feature is the value of the baseline's feature label (`feature` by default), or
the baseline's only feature. The statistics themselves are alertd.drift's.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from alertd.drift import METHODS, Buckets, DriftError, Reference, Window, compare_buckets
from alertd.drift.sorting import sort_windows
from alertd.errors import EvalError
from alertd.lang import ast
from alertd.lang.context import EvalContext, Node
from alertd.lang.types import ValueType
from alertd.model import METRIC_NAME, Labels, Sample, Vector
from alertd.series import Series

__all__ = ["CATEGORY_LABEL", "Baseline", "DriftScore", "compile_drift"]

Compile = Callable[[ast.Expr], tuple[Node, ValueType]]
Matrix = Sequence[tuple[Series, int, int]]

# A sample of a categorical feature is one observation of the category this label names;
# without it, of its value written as a number (3 for 3.0).
CATEGORY_LABEL = "category"
DEFAULT_FEATURE_LABEL = "feature"
# The methods that read the values in order, over a numeric reference.
ORDERED_METHODS = frozenset({"ks", "ks_pvalue", "wasserstein", "wasserstein_normed"})


@dataclass(frozen=True, eq=False)
class Baseline:
    """A baseline as the rules use it: one reference per feature, and the version."""

    name: str
    features: Mapping[str, Reference]
    version: int | None = None  # None: not stored (a unit test's baseline)
    feature_label: str = DEFAULT_FEATURE_LABEL

    @property
    def label(self) -> str:
        """How history and explain name it: `churn-training@3`."""
        return self.name if self.version is None else f"{self.name}@{self.version}"

    def kinds(self) -> dict[str, str]:
        return {name: ref.kind for name, ref in self.features.items()}


@dataclass(frozen=True, slots=True)
class DriftScore:
    """One score an evaluation computed, for /metrics."""

    method: str
    feature: str
    labels: Labels  # the group's, but the one naming the feature
    value: float
    baseline: str | None  # Baseline.label; None for two bucket vectors


def compile_drift(compile_arg: Compile, e: ast.Call) -> Node:
    """The evaluable node of a drift call the checker accepted."""
    args = [compile_arg(a) for a in e.args]
    options = _Options.of(e)
    if args[0][1] is ValueType.MATRIX:
        return _raw(options, args[0][0])
    if len(args) == 2:
        return _pair(options, args[0][0], args[1][0])
    return _buckets(options, args[0][0])


@dataclass(frozen=True, slots=True)
class _Options:
    method: str
    by: tuple[str, ...] | None
    baseline: str | None
    min_samples: float
    metric: str  # the metric read, for naming a group that names no feature

    @classmethod
    def of(cls, e: ast.Call) -> _Options:
        baseline: str | None = None
        min_samples = 1.0
        for kw in e.kwargs:
            value = ast.unparen(kw.value)
            if kw.name == "baseline" and isinstance(value, ast.StringLit):
                baseline = value.value
            elif kw.name == "min_samples" and isinstance(value, ast.NumberLit):
                min_samples = value.value
        by = e.grouping.labels if e.grouping is not None and not e.grouping.without else None
        selector = next((n for n in ast.walk(e.args[0]) if isinstance(n, ast.Selector)), None)
        metric = (selector.name or "") if selector is not None else ""
        return cls(e.name, by, baseline, min_samples, metric.removesuffix("_bucket"))

    def describe(self, feature: str, baseline: Baseline | None) -> str:
        where = f' of baseline "{baseline.label}"' if baseline is not None else ""
        return f'{self.method}(): feature "{feature}"{where}'


# --- raw values ----------------------------------------------------------------------------


def _raw(options: _Options, windows: Node) -> Node:
    method = METHODS[options.method]
    ordered = options.method in ORDERED_METHODS

    def run(ctx: EvalContext) -> Vector:
        baseline = _baseline(ctx, options)
        todo: list[tuple[Labels, str, Reference, Any]] = []
        for labels, members in _window_groups(windows(ctx), options.by).items():
            feature = _feature(labels, baseline, options)
            ref = baseline.features.get(feature)
            if ref is None:
                continue  # a feature the baseline does not know (yet): nothing to compare
            current = _current(ctx, ref, members, options.min_samples)
            if current is not None:
                todo.append((labels, feature, ref, current))
        if ordered:  # all windows at once, on every core
            sort_windows([c for _, _, ref, c in todo
                          if ref.kind == "numeric" and isinstance(c, Window)])
        out: Vector = []
        for labels, feature, ref, current in todo:
            _emit(ctx, out, options, baseline, feature, labels, partial(method, ref, current))
        return out

    return run


def _window_groups(windows: Matrix, by: tuple[str, ...] | None) -> dict[Labels, list[Any]]:
    groups: dict[Labels, list[Any]] = {}
    for member in windows:
        series = member[0]
        key = series.plain if by is None else _by_labels(series.labels, by)
        groups.setdefault(key, []).append(member)
    return groups


def _current(ctx: EvalContext, ref: Reference, members: Matrix, min_samples: float) -> Any:
    """The group's current window as the reference's kind needs it; None when it holds
    fewer than min_samples values. NaN values are left out, as missing values are.
    Numeric windows are made once per context (per round, when the rules share it)."""
    if ref.kind == "categorical":
        return _categories(members, min_samples)
    key = tuple(members)
    cache = ctx.drift_windows
    window = cache[key] if key in cache else cache.setdefault(key, _pooled(members))
    return window if window is not None and window.size >= min_samples else None


def _pooled(members: Matrix) -> Window | None:
    """The windows' values in one array: a slice of a series' array of doubles is one copy
    of its bytes, so no value is converted from a Python float here."""
    parts = [np.frombuffer(series.vs[lo:hi], dtype=np.float64) for series, lo, hi in members]
    values = parts[0] if len(parts) == 1 else np.concatenate(parts)
    finite = np.isfinite(values)
    if not bool(finite.all()):
        values = values[finite]
    if not values.size:
        return None
    values.setflags(write=False)
    return Window(values)


def _categories(members: Matrix, min_samples: float) -> Any:
    counts: Counter[str] = Counter()
    for series, lo, hi in members:
        category = series.labels.get(CATEGORY_LABEL)
        if category:
            counts[category] += sum(1 for v in series.vs[lo:hi] if v == v)
        else:
            counts.update(_category(v) for v in series.vs[lo:hi] if math.isfinite(v))
    return counts if counts.total() >= min_samples and counts else None


def _category(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


# --- buckets -------------------------------------------------------------------------------


def _buckets(options: _Options, vector: Node) -> Node:
    method = METHODS[options.method]

    def run(ctx: EvalContext) -> Vector:
        baseline = _baseline(ctx, options)
        out: Vector = []
        for labels, counts in _bucket_groups(vector(ctx), options.by).items():
            feature = _feature(labels, baseline, options)
            ref = baseline.features.get(feature)
            if ref is None:
                continue
            les, cumulative = _sorted(counts)
            if cumulative[-1] < options.min_samples or cumulative[-1] <= 0:
                continue
            _emit(ctx, out, options, baseline, feature, labels,
                  partial(_against_buckets, method, ref, les, cumulative))
        return out

    return run


def _pair(options: _Options, current: Node, reference: Node) -> Node:
    def run(ctx: EvalContext) -> Vector:
        now = _bucket_groups(current(ctx), options.by)
        before = _bucket_groups(reference(ctx), options.by)
        out: Vector = []
        for labels, counts in now.items():
            if labels not in before:
                continue
            les, cur = _sorted(counts)
            ref_les, ref = _sorted(before[labels])
            # A group without observations on either side has nothing to compare.
            if cur[-1] < options.min_samples or cur[-1] <= 0 or ref[-1] <= 0:
                continue
            feature = labels.get(DEFAULT_FEATURE_LABEL) or options.metric
            if ref_les != les:
                raise EvalError(f"{options.describe(feature, None)}: the le bounds of {labels} "
                                f"differ between the two bucket vectors: {_les(les)} and "
                                f"{_les(ref_les)}")
            _emit(ctx, out, options, None, feature, labels,
                  partial(compare_buckets, options.method, les, ref, cur))
        return out

    return run


def _against_buckets(method: Callable[[Reference, Any], float], ref: Reference,
                     les: list[float], cumulative: list[float]) -> float:
    return method(ref, Buckets.of(les, cumulative))


def _bucket_groups(vector: Vector, by: tuple[str, ...] | None) -> dict[Labels, dict[float, float]]:
    """Cumulative counts by `le` per group; counts at the same `le` are summed."""
    groups: dict[Labels, dict[float, float]] = {}
    for labels, value in vector:
        try:
            le = float(labels.get("le"))
        except ValueError:
            continue  # not a bucket
        key = labels.without(("le", METRIC_NAME)) if by is None else _by_labels(labels, by)
        counts = groups.setdefault(key, {})
        counts[le] = counts.get(le, 0.0) + value
    return groups


def _sorted(counts: Mapping[float, float]) -> tuple[list[float], list[float]]:
    les = sorted(counts)
    return les, [counts[le] for le in les]


def _les(les: Iterable[float]) -> str:
    return "[" + ", ".join("+Inf" if math.isinf(le) else f"{le:g}" for le in les) + "]"


# --- shared --------------------------------------------------------------------------------


def _baseline(ctx: EvalContext, options: _Options) -> Baseline:
    name = options.baseline or ""
    found = ctx.baselines.get(name)
    if found is None:
        raise EvalError(f'{options.method}(): baseline "{name}" is not loaded')
    if not isinstance(found, Baseline):
        raise EvalError(f'{options.method}(): baseline "{name}" is not usable')
    return found


def _feature(labels: Labels, baseline: Baseline, options: _Options) -> str:
    named = labels.get(baseline.feature_label)
    if named:
        return named
    if len(baseline.features) == 1:
        return next(iter(baseline.features))
    raise EvalError(f'{options.method}(): the group {labels} has no "{baseline.feature_label}" '
                    f'label, and baseline "{baseline.label}" has {len(baseline.features)} '
                    f"features: group by the label that names the feature")


def _by_labels(labels: Labels, by: tuple[str, ...]) -> Labels:
    return Labels({name: labels.get(name) for name in by if labels.get(name)})


def _emit(ctx: EvalContext, out: Vector, options: _Options, baseline: Baseline | None,
          feature: str, labels: Labels, score: Callable[[], float]) -> None:
    try:
        value = float(score())
    except DriftError as exc:
        raise EvalError(f"{options.describe(feature, baseline)}: {exc}") from None
    out.append(Sample(labels, value))
    label = baseline.feature_label if baseline is not None else DEFAULT_FEATURE_LABEL
    ctx.drift_scores.append(DriftScore(options.method, feature, labels.without((label,)),
                                       value, baseline.label if baseline is not None else None))
