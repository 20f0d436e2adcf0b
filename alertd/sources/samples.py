"""In-memory series of pushed samples (alertd.series), selected by PromQL matchers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alertd.model import METRIC_NAME, LabelMatcher, Labels
from alertd.series import Series


class SeriesStore:
    """Series by metric name, with an index from label pairs to series per metric."""

    def __init__(self) -> None:
        self._by_name: dict[str, dict[Labels, Series]] = {}
        self._postings: dict[str, dict[tuple[str, str], list[Series]]] = {}
        # Rules select the same series at every evaluation, and the set of series changes
        # far less often than their samples: remember selections until a series is added.
        self._selections: dict[tuple[str | None, tuple[LabelMatcher, ...]], list[Series]] = {}

    def __len__(self) -> int:
        return sum(len(m) for m in self._by_name.values())

    def series(self, labels: Labels) -> Series:
        """The series with these labels (which include __name__), created if new."""
        name = labels.name()
        metric = self._by_name.setdefault(name, {})
        found = metric.get(labels)
        if found is None:
            found = metric[labels] = Series(labels)
            self._selections.clear()
            postings = self._postings.setdefault(name, {})
            for pair in labels.items_tuple:
                postings.setdefault(pair, []).append(found)
        return found

    def get(self, labels: Labels) -> Series | None:
        metric = self._by_name.get(labels.name())
        return metric.get(labels) if metric else None

    def series_for(self, labels: Labels | Mapping[str, str]) -> Series:
        return self.series(labels if isinstance(labels, Labels) else Labels(labels))

    def add(self, labels: Labels | Mapping[str, str], t: float, v: float) -> None:
        self.series_for(labels).append(t, v)

    def all_series(self) -> list[Series]:
        return [s for metric in self._by_name.values() for s in metric.values()]

    def select(self, name: str | None, matchers: Sequence[LabelMatcher]) -> list[Series]:
        """The series that match; callers must not modify the list."""
        key = (name, tuple(matchers))
        found = self._selections.get(key)
        if found is None:
            if name is not None:
                found = self._select_metric(name, matchers)
            else:
                found = [s for metric in list(self._by_name)
                         for s in self._select_metric(metric, matchers)]
            self._selections[key] = found
        return found

    def _select_metric(self, name: str, matchers: Sequence[LabelMatcher]) -> list[Series]:
        metric = self._by_name.get(name)
        if not metric:
            return []
        candidates: Sequence[Series] | None = None
        used: LabelMatcher | None = None
        postings = self._postings[name]
        # Start from the smallest posting list of an equality matcher, then filter by the
        # other matchers.
        for m in matchers:
            if m.op == "=" and m.value != "" and m.name != METRIC_NAME:
                hits = postings.get((m.name, m.value), [])
                if candidates is None or len(hits) < len(candidates):
                    candidates, used = hits, m
        if candidates is None:
            candidates = list(metric.values())
        rest = [m for m in matchers if m is not used]
        if not rest:
            return list(candidates)
        return [s for s in candidates if all(m.matches(s.labels.get(m.name)) for m in rest)]

    def drop_before(self, t: float) -> list[Labels]:
        """Drop samples before `t`; series left empty are removed. Returns their labels."""
        removed: list[Labels] = []
        for name, metric in self._by_name.items():
            for labels, s in list(metric.items()):
                s.drop_before(t)
                if not s.ts:
                    del metric[labels]
                    postings = self._postings[name]
                    for pair in labels.items_tuple:
                        postings[pair].remove(s)
                    removed.append(labels)
        if removed:
            self._selections.clear()
        return removed
