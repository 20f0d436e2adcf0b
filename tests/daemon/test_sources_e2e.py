"""The daemon with real sources: Prometheus scraping an exporter, and a Mosquitto broker."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from alertd.config import parse_config
from alertd.daemon import Daemon
from alertd.rules.state import Health, Status
from tests.fixtures.prometheus import (  # noqa: F401
    Exporter,
    PrometheusServer,
    prometheus_exporter_fixture,
    same_value,
    start_prometheus_fixture,
)
from tests.sources.conftest import Mosquitto

PROM_RULES = '''\
group latency {
  interval = 1s
  owner    = "ml"

  alert ChurnLatencyHigh {
    when     = prom(`e2e_latency_seconds`) > 250ms
    severity = "page"
    runbook  = "https://runbooks.example.com/latency"
    summary  = "{{ labels.model_version }} at {{ value | duration }}"
  }
}
'''

MQTT_RULES = '''\
group rooms {
  interval = 1m
  owner    = "facilities"

  alert RoomHot {
    when     = temperature > 30
    severity = "page"
    runbook  = "https://runbooks.example.com/hot"
  }
}
'''


def make_daemon(tmp_path: Path, rules: str, sources: str) -> Daemon:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "e2e.rules").write_text(rules)
    text = ("listen: 127.0.0.1:0\nstorage: sqlite:///alertd.db\nrule_files: ['rules/*.rules']\n"
            f"console: false\nsources:\n{sources}")
    (tmp_path / "alertd.yml").write_text(text)
    return Daemon(parse_config(text, str(tmp_path / "alertd.yml")), str(tmp_path / "alertd.yml"))


async def until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def evaluate(daemon: Daemon) -> None:
    for group in daemon.manager.groups:
        await daemon.scheduler.evaluate_group(group, time.time())


def alertnames(daemon: Daemon) -> set[str]:
    return {a.labels["alertname"] for a in daemon.alerts.active(time.time())}


async def test_prom_rules_fire_resolve_and_survive_prometheus_outages(
        tmp_path: Path, prometheus_exporter: Exporter,
        start_prometheus: Callable[..., PrometheusServer]) -> None:
    prometheus = start_prometheus(targets=[prometheus_exporter.target])
    prometheus.wait_for_scrape()
    daemon = make_daemon(tmp_path, PROM_RULES,
                         f"  prometheus: {{url: '{prometheus.url}', timeout: 2s}}\n")
    await daemon.start(serve=False, schedule=False)
    try:
        state = lambda: daemon.manager.evaluator.states["ChurnLatencyHigh"]  # noqa: E731

        prometheus_exporter.set("e2e_latency_seconds", {"model_version": "v2"}, 0.4)
        await asyncio.to_thread(prometheus.wait_for_value, "e2e_latency_seconds",
                                same_value(0.4))
        await evaluate(daemon)
        (firing,) = state().in_status(Status.FIRING)
        assert firing.labels["model_version"] == "v2"
        alert = daemon.alerts.active(time.time())[0]
        assert alert.annotations["summary"] == "v2 at 400ms"

        prometheus_exporter.set("e2e_latency_seconds", {"model_version": "v2"}, 0.1)
        await asyncio.to_thread(prometheus.wait_for_value, "e2e_latency_seconds",
                                same_value(0.1))
        await evaluate(daemon)
        assert [i.status for i in state().instances.values()] == [Status.RESOLVED]

        # Firing again, then Prometheus goes away: error state, nothing resolves, and
        # AlertdSourceDown fires.
        prometheus_exporter.set("e2e_latency_seconds", {"model_version": "v2"}, 0.5)
        await asyncio.to_thread(prometheus.wait_for_value, "e2e_latency_seconds",
                                same_value(0.5))
        await evaluate(daemon)
        assert len(state().in_status(Status.FIRING)) == 1
        prometheus.stop()
        await evaluate(daemon)
        assert state().health is Health.ERROR
        assert "prometheus" in (state().last_error or "")
        assert len(state().in_status(Status.FIRING)) == 1
        assert alertnames(daemon) == {"ChurnLatencyHigh", "AlertdSourceDown",
                                      "AlertdRuleEvaluationFailing"}

        from prometheus_client import generate_latest

        text = generate_latest(daemon.metrics.registry).decode()
        assert "alertd_prometheus_query_failures_total 1.0" in text
        assert 'alertd_prometheus_query_duration_seconds_count 4.0' in text
        prometheus.start()
        await asyncio.to_thread(prometheus.wait_for_value, "e2e_latency_seconds",
                                same_value(0.5))
        await evaluate(daemon)
        assert state().health is Health.OK
        assert alertnames(daemon) == {"ChurnLatencyHigh"}
    finally:
        await daemon.stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    (tmp_path / "mosquitto").mkdir()
    b = Mosquitto(tmp_path / "mosquitto")
    b.start()
    try:
        yield b
    finally:
        b.stop()


async def publish(broker: Mosquitto, topic: str, payload: Any) -> None:
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        await client.publish(topic, json.dumps(payload), qos=1)


@pytest.fixture
async def mqtt_daemon(tmp_path: Path, broker: Mosquitto) -> AsyncIterator[Daemon]:
    daemon = make_daemon(tmp_path, MQTT_RULES, (
        "  prometheus: {enabled: false}\n"
        "  mqtt:\n"
        "    enabled: true\n"
        f"    url: mqtt://127.0.0.1:{broker.port}\n"
        "    reconnect_min: 100ms\n"
        "    reconnect_max: 500ms\n"
        "    topics:\n"
        "      - topic: sensors/+/temperature\n"
        "        labels_from_topic: {room: 1}\n"))
    await daemon.start(serve=False, schedule=False)
    yield daemon
    await daemon.stop()


async def test_mqtt_samples_fire_rules_across_a_broker_restart(
        mqtt_daemon: Daemon, broker: Mosquitto) -> None:
    daemon = mqtt_daemon
    assert daemon.mqtt is not None
    mqtt = daemon.mqtt
    await until(lambda: mqtt.connected, what="the MQTT connection")
    await publish(broker, "sensors/kitchen/temperature", {"metric": "temperature", "value": 35})
    await until(lambda: len(daemon.windows.store) == 1, what="the first sample")
    await daemon.run_until_idle()
    assert {a.labels["room"] for a in daemon.alerts.active(time.time())} == {"kitchen"}

    broker.restart()
    await until(lambda: mqtt.reconnects >= 1 and mqtt.connected, what="the reconnect")
    await publish(broker, "sensors/attic/temperature", {"metric": "temperature", "value": 41})
    await until(lambda: len(daemon.windows.store) == 2, what="a sample after the restart")
    await daemon.run_until_idle()
    assert {a.labels["room"] for a in daemon.alerts.active(time.time())} == {"kitchen", "attic"}

    # A malformed message is counted and the loop goes on.
    await publish(broker, "sensors/hall/temperature", {"metric": "temperature"})
    await until(lambda: mqtt.messages_malformed == 1, what="the malformed message")
    await publish(broker, "sensors/hall/temperature", {"metric": "temperature", "value": 33})
    await until(lambda: len(daemon.windows.store) == 3, what="the hall sample")
