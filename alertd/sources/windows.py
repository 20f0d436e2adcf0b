"""Windows of pushed samples: the series store as the daemon feeds and trims it.

Samples from the webhook and MQTT land here. Each series keeps as much history as the
longest range the rules read (plus PromQL's lookback), and no more. A metric may hold
at most `max_series_per_metric` series: a sample that would create one more is rejected
with a clear reason rather than letting one bad label blow up memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from alertd.lang.context import DEFAULT_LOOKBACK
from alertd.model import Labels
from alertd.series import OutOfOrderError
from alertd.sources.push import PushedSample
from alertd.sources.samples import SeriesStore

Listener = Callable[[frozenset[str]], None]
"""Called after an ingest with the metric names that received samples."""


class SampleWindows:
    def __init__(self, *, max_series_per_metric: int = 10_000, retention: float = 3600.0) -> None:
        self.store = SeriesStore()
        self.max_series_per_metric = max_series_per_metric
        self.retention = retention
        self._series_per_metric: dict[str, int] = {}
        self._listeners: list[Listener] = []
        self.ingested = 0
        self.rejected = 0

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def set_retention(self, needed_range: float, minimum: float) -> None:
        """Keep enough history for the longest range the rules need."""
        self.retention = max(needed_range + DEFAULT_LOOKBACK, minimum)

    def ingest(self, samples: Sequence[PushedSample], now: float) -> list[tuple[int, str]]:
        """Store samples; returns (position, reason) for each one that was rejected."""
        rejected: list[tuple[int, str]] = []
        touched: set[str] = set()
        store = self.store
        for i, sample in enumerate(samples):
            labels = sample.labels
            series = store.get(labels)
            if series is None:
                name = labels.name()
                count = self._series_per_metric.get(name, 0)
                if count >= self.max_series_per_metric:
                    rejected.append((i, f'metric "{name}" already has {count} series, the '
                                        "limit (samples.max_series_per_metric); new series "
                                        "are rejected"))
                    continue
                self._series_per_metric[name] = count + 1
                series = store.series(labels)
            t = now if sample.timestamp is None else sample.timestamp
            try:
                if len(sample.values) == 1:
                    series.append(t, sample.values[0])
                else:
                    series.extend(t, sample.values)
            except OutOfOrderError as exc:
                rejected.append((i, str(exc)))
                continue
            touched.add(series.name)
        self.ingested += len(samples) - len(rejected)
        self.rejected += len(rejected)
        if touched:
            names = frozenset(touched)
            for listener in self._listeners:
                listener(names)
        return rejected

    def trim(self, now: float) -> None:
        """Drop samples older than the retention; forget series left empty."""
        removed = self.store.drop_before(now - self.retention)
        for labels in removed:
            name = labels.name()
            self._series_per_metric[name] = max(self._series_per_metric.get(name, 1) - 1, 0)

    def snapshot(self) -> list[tuple[Labels, list[float], list[float]]]:
        return [(s.labels, list(s.ts), list(s.vs)) for s in self.store.all_series()]

    def restore(self, series: Iterable[tuple[Labels, Sequence[float], Sequence[float]]]) -> None:
        for labels, ts, vs in series:
            target = self.store.series(labels)
            for t, v in zip(ts, vs, strict=True):
                try:
                    target.append(t, v)
                except OutOfOrderError:
                    continue
        self._series_per_metric = {}
        for s in self.store.all_series():
            name = s.labels.name()
            self._series_per_metric[name] = self._series_per_metric.get(name, 0) + 1
