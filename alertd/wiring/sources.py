"""The daemon's sources: the Prometheus client, the MQTT subscription and the sinks that
count what the webhook and MQTT stored, started, replaced and stopped with the config."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from alertd.clock import Clock
from alertd.config.sources import MqttSource as MqttConfig
from alertd.config.sources import PrometheusSource, Sources
from alertd.config.types import TLSConfig
from alertd.errors import EvalError
from alertd.metrics import Metrics
from alertd.model import Vector
from alertd.sources.mqtt import MqttSettings, MqttSource, MqttSubscription
from alertd.sources.prometheus import PrometheusClient, PrometheusSettings
from alertd.sources.push import PushedSample
from alertd.sources.windows import SampleWindows


@dataclass(slots=True)
class CountingSink:
    """The sample sink handed to a source: counts what each source stored and lost."""

    windows: SampleWindows
    metrics: Metrics
    source: str
    ingested: int = field(default=0)

    def ingest(self, samples: Sequence[PushedSample], now: float) -> list[tuple[int, str]]:
        rejected = self.windows.ingest(samples, now)
        self.ingested += len(samples) - len(rejected)
        self.metrics.samples_ingested.labels(self.source).inc(len(samples) - len(rejected))
        for _, reason in rejected:
            kind = "series_limit" if "limit" in reason else "out_of_order"
            self.metrics.samples_rejected.labels(self.source, kind).inc()
        return rejected


class SourceSet:
    """The sources the configuration turns on; a reload replaces only those that changed."""

    def __init__(self, windows: SampleWindows, metrics: Metrics, clock: Clock) -> None:
        self.metrics = metrics
        self.clock = clock
        self.webhook_sink = CountingSink(windows, metrics, "webhook")
        self.mqtt_sink = CountingSink(windows, metrics, "mqtt")
        self.prometheus: PrometheusClient | None = None
        self.mqtt: MqttSource | None = None
        self._mqtt_task: asyncio.Task[None] | None = None

    async def replace(self, old: Sources, new: Sources) -> None:
        if new.prometheus != old.prometheus:
            if self.prometheus:
                await self.prometheus.close()
            self.configure_prometheus(new.prometheus)
        if new.mqtt != old.mqtt:
            self.configure_mqtt(new.mqtt)

    def cancel_mqtt(self) -> None:
        """Stop reading MQTT, with the daemon's other tasks (`stop_mqtt` waits for it)."""
        if self._mqtt_task:
            self._mqtt_task.cancel()

    async def stop_mqtt(self) -> None:
        if self._mqtt_task:
            self._mqtt_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._mqtt_task
            self._mqtt_task = None

    async def close_prometheus(self) -> None:
        if self.prometheus:
            await self.prometheus.close()

    def configure_prometheus(self, cfg: PrometheusSource) -> None:
        if not cfg.enabled:
            self.prometheus = None
            return
        self.prometheus = PrometheusClient(PrometheusSettings(
            url=cfg.url, timeout=cfg.timeout, max_concurrency=cfg.max_concurrency,
            auth_header=cfg.auth_header(), ssl=cfg.tls.ssl_context() if cfg.tls else None))

    def configure_mqtt(self, cfg: MqttConfig) -> None:
        if self._mqtt_task:
            self._mqtt_task.cancel()
            self._mqtt_task = None
        self.mqtt = None
        if not cfg.enabled:
            return
        self.mqtt = MqttSource(mqtt_settings(cfg), self.mqtt_sink, self.clock,
                               on_state=lambda up: self.metrics.mqtt_connected.set(int(up)))
        self._mqtt_task = asyncio.create_task(self.mqtt.run(), name="mqtt")

    async def query_many(self, queries: Iterable[str],
                         at: float) -> Mapping[str, Vector | EvalError]:
        if self.prometheus is None:
            error = EvalError("prom() is not available: the Prometheus source is disabled")
            return dict.fromkeys(queries, error)
        results = await self.prometheus.query_many(queries, at)
        self.metrics.prometheus_up.set(1 if self.prometheus.up else 0)
        return results

    def prometheus_error(self) -> str | None:
        if self.prometheus is None or self.prometheus.up:
            return None
        return str(self.prometheus.last_error or "unreachable")

    async def probe_prometheus(self) -> str | None:
        """Ask Prometheus whether it is ready; the problem, or None when it is."""
        assert self.prometheus is not None
        ok = await self.prometheus.ready()
        self.metrics.prometheus_up.set(1 if ok else 0)
        return None if ok else self.prometheus_error() or "not ready"


def mqtt_settings(cfg: MqttConfig) -> MqttSettings:
    host, port = cfg.host_port()
    return MqttSettings(
        host=host, port=port,
        tls=(cfg.tls or TLSConfig()).ssl_context() if cfg.uses_tls() else None,
        username=cfg.username, password=cfg.password_value(), client_id=cfg.client_id,
        keepalive=cfg.keepalive, reconnect_min=cfg.reconnect_min,
        reconnect_max=cfg.reconnect_max,
        subscriptions=tuple(MqttSubscription(t.topic, dict(t.labels_from_topic), t.qos)
                            for t in cfg.topics))
