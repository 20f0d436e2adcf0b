"""Aggregation operators (`sum by (a) (x)` and friends) over instant vectors."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

from alertd.lang.ast import Grouping
from alertd.lang.functions import quantile
from alertd.model import METRIC_NAME, Labels, Sample, Vector


def _groups(vector: Vector, grouping: Grouping | None) -> dict[Labels, list[Sample]]:
    """Samples by the labels of their group.

    Keys are plain tuples of label pairs while grouping, and become Labels once per
    group: building a label set per sample would cost more than the aggregation.
    """
    groups: dict[tuple[tuple[str, str], ...], list[Sample]] = {}
    if grouping is None:
        if vector:
            groups[()] = list(vector)
    elif grouping.without:
        drop = {*grouping.labels, METRIC_NAME}
        for sample in vector:
            key = tuple(kv for kv in sample.labels.items_tuple if kv[0] not in drop)
            groups.setdefault(key, []).append(sample)
    else:
        keep = set(grouping.labels)
        for sample in vector:
            key = tuple(kv for kv in sample.labels.items_tuple if kv[0] in keep)
            groups.setdefault(key, []).append(sample)
    return {Labels.from_sorted_items(key): members for key, members in groups.items()}


def _population_variance(values: list[float]) -> float:
    mean = math.fsum(values) / len(values)
    return math.fsum((v - mean) ** 2 for v in values) / len(values)


_SIMPLE: dict[str, Callable[[list[float]], float]] = {
    "sum": math.fsum,
    "avg": lambda vs: math.fsum(vs) / len(vs),
    "min": lambda vs: min((v for v in vs if v == v), default=math.nan),
    "max": lambda vs: max((v for v in vs if v == v), default=math.nan),
    "count": lambda vs: float(len(vs)),
    "group": lambda vs: 1.0,
    "stddev": lambda vs: math.sqrt(_population_variance(vs)),
    "stdvar": _population_variance,
}


def aggregate(op: str, vector: Vector, grouping: Grouping | None,
              param: float | None = None) -> Vector:
    if op in ("topk", "bottomk"):
        return _top(op == "topk", vector, grouping, param if param is not None else 1.0)
    groups = _groups(vector, grouping)
    if op == "quantile":
        q = param if param is not None else math.nan
        return [Sample(k, quantile(q, [s.value for s in g])) for k, g in groups.items()]
    fn = _SIMPLE[op]
    return [Sample(k, fn([s.value for s in g])) for k, g in groups.items()]


def _top(largest: bool, vector: Vector, grouping: Grouping | None, k_param: float) -> Vector:
    if k_param != k_param or k_param < 1:
        return []
    k = int(min(k_param, len(vector)))
    out: Vector = []
    for group in _groups(vector, grouping).values():
        # NaN sorts last either way, as in PromQL.
        def rank(s: Sample) -> tuple[bool, float]:
            return (s.value == s.value, s.value if largest else -s.value)

        out.extend(heapq.nlargest(k, group, key=rank))
    return out
