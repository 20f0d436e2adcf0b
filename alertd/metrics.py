"""alertd's own metrics (served at /metrics), in a registry per daemon.

A registry per daemon rather than the global one keeps tests that start several daemons
in one process from seeing each other's numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector


class MqttCounters(Protocol):
    messages_received: int
    messages_malformed: int
    reconnects: int


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
        self.group_overruns = Counter(
            "alertd_rule_group_iterations_missed_total",
            "Group evaluations skipped because the previous one ran past its interval.",
            ["group"], registry=r)
        self.streaming_evaluations = Counter(
            "alertd_streaming_evaluations_total",
            "Rule evaluations triggered by arriving samples.", registry=r)
        self.samples_ingested = Counter(
            "alertd_samples_ingested_total", "Pushed samples stored.", ["source"], registry=r)
        self.samples_rejected = Counter(
            "alertd_samples_rejected_total", "Pushed samples rejected.", ["source", "reason"],
            registry=r)
        self.series = Gauge("alertd_pushed_series", "Series of pushed samples in memory.",
                            registry=r)
        self.query_duration = Histogram(
            "alertd_prometheus_query_duration_seconds", "Latency of prom() queries.",
            registry=r, buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.query_failures = Counter(
            "alertd_prometheus_query_failures_total", "prom() queries that failed.", registry=r)
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

    def watch_mqtt(self, source: Callable[[], MqttCounters | None]) -> None:
        """Export the MQTT source's own counters, read at scrape time."""
        self.registry.register(_MqttCollector(source))


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
