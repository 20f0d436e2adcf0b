"""alertd's own metrics (served at /metrics), in a registry per daemon.

A registry per daemon rather than the global one keeps tests that start several daemons
in one process from seeing each other's numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from alertd.durations import format_duration


class MqttCounters(Protocol):
    messages_received: int
    messages_malformed: int
    reconnects: int


class QueryStats(Protocol):
    failures: int
    duration_sum: float
    duration_count: int
    duration_buckets: list[int]


class SchedulerCounters(Protocol):
    overruns: dict[str, int]
    streaming_runs: int


class DeliveryCounters(Protocol):
    sent: dict[tuple[str, str], int]
    failed: dict[tuple[str, str], int]
    retried: dict[tuple[str, str], int]
    latency_sum: float
    latency_count: int


class HistoryCounters(Protocol):
    """What /metrics reads of the history recorder."""

    written: int
    dropped_by: dict[str, int]  # reason -> events lost

    @property
    def pending(self) -> int: ...


class DriftScores(Protocol):
    """One drift score of a rule's last evaluation (alertd.lang.drift_eval.DriftScore)."""

    @property
    def method(self) -> str: ...

    @property
    def feature(self) -> str: ...

    @property
    def labels(self) -> Mapping[str, str]: ...

    @property
    def value(self) -> float: ...


class SloFigures(Protocol):
    """An SLO at its last evaluation (alertd.rules.slo.SloFigures)."""

    @property
    def burn_rates(self) -> Mapping[float, float | None]: ...

    @property
    def remaining(self) -> float | None: ...


class Notifying(Protocol):
    """What /metrics reads of the notification path."""

    @property
    def delivery_stats(self) -> DeliveryCounters: ...

    @property
    def failing_integrations(self) -> dict[tuple[str, str], str]: ...

    @property
    def outbox_pending(self) -> int: ...


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.eval_duration = Histogram(
            "alertd_rule_group_evaluation_duration_seconds",
            "Time to evaluate a rule group once.", ["group"], registry=r,
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30))
        self.evaluations = Counter(
            "alertd_rule_evaluations_total", "Rule evaluations.", ["rule"], registry=r)
        self.evaluation_failures = Counter(
            "alertd_rule_evaluation_failures_total", "Rule evaluations that failed.",
            ["rule"], registry=r)
        self.rule_health = Gauge(
            "alertd_rule_health", "1 for the rule's current health (ok, error, unknown).",
            ["rule", "health"], registry=r)
        self.samples_ingested = Counter(
            "alertd_samples_ingested_total", "Pushed samples stored.", ["source"], registry=r)
        self.samples_rejected = Counter(
            "alertd_samples_rejected_total", "Pushed samples rejected.", ["source", "reason"],
            registry=r)
        self.series = Gauge("alertd_pushed_series", "Series of pushed samples in memory.",
                            registry=r)
        self.prometheus_up = Gauge(
            "alertd_prometheus_up", "1 if the last Prometheus query succeeded.", registry=r)
        self.mqtt_connected = Gauge(
            "alertd_mqtt_connected", "1 while connected to the MQTT broker.", registry=r)
        self.reload_success = Gauge(
            "alertd_config_last_reload_successful",
            "1 if the last reload of configuration and rules succeeded.", registry=r)
        self.reload_timestamp = Gauge(
            "alertd_config_last_reload_success_timestamp_seconds",
            "Time of the last successful reload.", registry=r)
        self.alerts = Gauge("alertd_alerts", "Alerts by state.", ["state"], registry=r)

    # Counters that their owners keep anyway are read at scrape time rather than copied.
    def watch_mqtt(self, source: Callable[[], MqttCounters | None]) -> None:
        self.registry.register(_MqttCollector(source))

    def watch_prometheus(self, stats: Callable[[], QueryStats | None],
                         buckets: tuple[float, ...]) -> None:
        self.registry.register(_QueryCollector(stats, buckets))

    def watch_scheduler(self, scheduler: SchedulerCounters) -> None:
        self.registry.register(_SchedulerCollector(scheduler))

    def watch_notifications(self, notifying: Notifying) -> None:
        self.registry.register(_NotifyCollector(notifying))

    def watch_history(self, recorder: Callable[[], HistoryCounters | None]) -> None:
        self.registry.register(_HistoryCollector(recorder))

    def watch_drift(self, scores: Callable[[], Mapping[str, Iterable[DriftScores]]]) -> None:
        """Each drift rule's scores at its last evaluation, read at each scrape."""
        self.registry.register(_DriftCollector(scores))

    def watch_slos(self, figures: Callable[[], Mapping[str, tuple[object, SloFigures]]]) -> None:
        """Each SLO's burn rates and budget at its last evaluation, read at each scrape."""
        self.registry.register(_SloCollector(figures))

    def watch_selectors(self, counts: Callable[[], Iterable[tuple[str, int]]]) -> None:
        """(rule, selectors that matched no series since it loaded), read at each scrape."""
        self.registry.register(_SelectorCollector(counts))


class _DriftCollector(Collector):
    """alertd_drift_score{rule, feature, method, ...}: the labels of the drift call's group
    other than the feature's come after those three (say model_version), so that each
    group is a series of its own; one named rule, feature or method is exported_<name>."""

    NAME = "alertd_drift_score"
    OWN = ("rule", "feature", "method")

    def __init__(self, scores: Callable[[], Mapping[str, Iterable[DriftScores]]]) -> None:
        self.scores = scores

    def collect(self) -> Iterator[Metric]:
        family = Metric(self.NAME, "Drift scores of the drift functions of each rule at its "
                        "last evaluation, per feature and group (psi, ks, jsd and wasserstein "
                        "grow with drift; ks_pvalue and chi2 are p-values, which shrink).",
                        "gauge")
        for rule, scores in sorted(self.scores().items()):
            for score in scores:
                labels = {"rule": rule, "feature": score.feature, "method": score.method}
                for name, value in score.labels.items():
                    labels[f"exported_{name}" if name in self.OWN else name] = value
                family.add_sample(self.NAME, labels, score.value)
        yield family


class _SloCollector(Collector):
    """alertd_slo_burn_rate{slo, window} and alertd_slo_error_budget_remaining{slo}."""

    def __init__(self, figures: Callable[[], Mapping[str, tuple[object, SloFigures]]]) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        burn = GaugeMetricFamily(
            "alertd_slo_burn_rate", "How many times faster than its objective allows each SLO "
            "spent its error budget over each window of its alerts, at its last evaluation.",
            labels=["slo", "window"])
        left = GaugeMetricFamily(
            "alertd_slo_error_budget_remaining", "Share of each SLO's error budget left over "
            "its period at its last evaluation (below 0: overspent).", labels=["slo"])
        for slo, (_, figures) in sorted(self.figures().items()):
            for window, rate in sorted(figures.burn_rates.items()):
                if rate is not None:
                    burn.add_metric([slo, format_duration(window)], rate)
            if figures.remaining is not None:
                left.add_metric([slo], figures.remaining)
        yield burn
        yield left


class _SelectorCollector(Collector):
    def __init__(self, counts: Callable[[], Iterable[tuple[str, int]]]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "alertd_rule_selectors_matching_nothing",
            "Selectors of pushed series in the rule that have matched no series since it "
            "loaded (a misspelt label name or value?); rules evaluated since, reading pushed "
            "series. prom() queries are not counted.", labels=["rule"])
        for rule, count in sorted(self.counts()):
            family.add_metric([rule], count)
        yield family


class _HistoryCollector(Collector):
    def __init__(self, recorder: Callable[[], HistoryCounters | None]) -> None:
        self.recorder = recorder

    def collect(self) -> Iterator[Metric]:
        recorder = self.recorder()
        if recorder is None:  # the store is not open yet
            return
        dropped = CounterMetricFamily(
            "alertd_history_events_dropped",
            "History events lost: queue_full (the buffer overflowed while the database was "
            "unavailable), write_failed (the database refused the event), shutdown (not "
            "written when alertd stopped). The noise report undercounts while this grows.",
            labels=["reason"])
        for reason, count in sorted(recorder.dropped_by.items()):
            dropped.add_metric([reason], count)
        yield dropped
        yield CounterMetricFamily("alertd_history_events_written",
                                  "History events written to the database.",
                                  value=recorder.written)
        yield GaugeMetricFamily("alertd_history_events_pending",
                                "History events buffered, not written yet.",
                                value=recorder.pending)


class _NotifyCollector(Collector):
    def __init__(self, notifying: Notifying) -> None:
        self.notifying = notifying

    def collect(self) -> Iterator[Metric]:
        stats = self.notifying.delivery_stats
        labels = ["receiver", "integration"]
        for name, doc, counts in (
            ("alertd_notifications", "Notifications delivered, by receiver and integration.",
             stats.sent),
            ("alertd_notifications_failed",
             "Notifications given up (not retryable, or failing too long).", stats.failed),
            ("alertd_notification_retries", "Failed attempts that were retried.",
             stats.retried),
        ):
            family = CounterMetricFamily(name, doc, labels=labels)
            for (receiver, integration), value in sorted(counts.items()):
                family.add_metric([receiver, integration], value)
            yield family
        failing = GaugeMetricFamily(
            "alertd_notifications_failing",
            "1 while an integration keeps failing (AlertdNotificationsFailing fires); `id` "
            "is the integration's name in that alert, <receiver>/<integration>/<index>.",
            labels=["receiver", "integration", "id"])
        for receiver, integration in sorted(self.notifying.failing_integrations):
            kind = integration.rsplit("/", 2)[-2] if integration.count("/") >= 2 else ""
            failing.add_metric([receiver, kind, integration], 1)
        yield failing
        yield GaugeMetricFamily("alertd_outbox_pending",
                                "Notifications in the outbox waiting for delivery.",
                                value=self.notifying.outbox_pending)
        yield SummaryMetricFamily(
            "alertd_notification_send_seconds",
            "Time from the start of an attempt to the receiver's confirmation.",
            count_value=stats.latency_count, sum_value=stats.latency_sum)


class _MqttCollector(Collector):
    def __init__(self, source: Callable[[], MqttCounters | None]) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        mqtt = self.source()
        if mqtt is None:
            return
        for name, doc, value in (
            ("alertd_mqtt_messages_received", "MQTT messages received.",
             mqtt.messages_received),
            ("alertd_mqtt_messages_malformed", "MQTT messages that could not be used.",
             mqtt.messages_malformed),
            ("alertd_mqtt_reconnects", "Reconnections to the MQTT broker.", mqtt.reconnects),
        ):
            yield CounterMetricFamily(name, doc, value=value)


class _QueryCollector(Collector):
    def __init__(self, stats: Callable[[], QueryStats | None],
                 buckets: tuple[float, ...]) -> None:
        self.stats = stats
        self.buckets = buckets

    def collect(self) -> Iterator[Metric]:
        stats = self.stats()
        if stats is None:
            return
        pairs = [(str(b), c) for b, c in zip(self.buckets, stats.duration_buckets, strict=True)]
        yield HistogramMetricFamily(
            "alertd_prometheus_query_duration_seconds", "Latency of prom() queries.",
            buckets=[*pairs, ("+Inf", stats.duration_count)], sum_value=stats.duration_sum)
        yield CounterMetricFamily("alertd_prometheus_query_failures",
                                  "prom() queries that failed.", value=stats.failures)


class _SchedulerCollector(Collector):
    def __init__(self, scheduler: SchedulerCounters) -> None:
        self.scheduler = scheduler

    def collect(self) -> Iterator[Metric]:
        missed = CounterMetricFamily(
            "alertd_rule_group_iterations_missed",
            "Group evaluations skipped because the previous one ran past its interval.",
            labels=["group"])
        for group, count in sorted(self.scheduler.overruns.items()):
            missed.add_metric([group], count)
        yield missed
        yield CounterMetricFamily("alertd_streaming_evaluations",
                                  "Rule evaluations triggered by arriving samples.",
                                  value=self.scheduler.streaming_runs)
