"""alertd's own metrics (served at /metrics), in a registry per daemon.

A registry per daemon rather than the global one keeps tests that start several daemons
in one process from seeing each other's numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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

    def watch_selectors(self, counts: Callable[[], Iterable[tuple[str, int]]]) -> None:
        """(rule, selectors that matched no series since it loaded), read at each scrape."""
        self.registry.register(_SelectorCollector(counts))


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
