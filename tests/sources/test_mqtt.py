"""The MQTT source against a real Mosquitto: topic labels, wildcards, bad messages, reconnects."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import aiomqtt
import pytest

from alertd.clock import FakeClock
from alertd.errors import ConfigError
from alertd.sources.mqtt import MqttSettings, MqttSource, MqttSubscription
from alertd.sources.push import PushedSample

from .conftest import Mosquitto

NOW = 1_800_000_000.0


class ListSink:
    def __init__(self, refuse: Callable[[PushedSample], str | None] | None = None) -> None:
        self.samples: list[PushedSample] = []
        self.nows: list[float] = []
        self._refuse = refuse

    def ingest(self, samples: Sequence[PushedSample], now: float) -> list[tuple[int, str]]:
        self.nows.append(now)
        refused: list[tuple[int, str]] = []
        for i, sample in enumerate(samples):
            reason = self._refuse(sample) if self._refuse else None
            if reason is None:
                self.samples.append(sample)
            else:
                refused.append((i, reason))
        return refused

    def labels(self) -> list[dict[str, str]]:
        return [dict(s.labels) for s in self.samples]


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Polls `condition` until it holds; fails after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(source: MqttSource, *, wait_connected: bool = True) -> AsyncIterator[None]:
    task = asyncio.create_task(source.run())
    try:
        if wait_connected:
            await wait_for(lambda: source.connected or task.done(), what="the first connection")
            assert not task.done(), task
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def publisher(broker: Mosquitto) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client(broker.host, broker.port) as client:
        yield client


async def publish(client: aiomqtt.Client, topic: str, payload: object) -> None:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    await client.publish(topic, data, qos=1)


def settings(broker: Mosquitto, *subscriptions: MqttSubscription,
             reconnect_min: float = 0.02, reconnect_max: float = 0.2) -> MqttSettings:
    return MqttSettings.from_url(broker.url, subscriptions, keepalive=5,
                                 reconnect_min=reconnect_min, reconnect_max=reconnect_max)


FEATURES = MqttSubscription("ml/+/features", {"model": 1})


# --- delivery -------------------------------------------------------------------------------


async def test_messages_reach_the_sink_with_labels_from_the_topic(mosquitto: Mosquitto) -> None:
    sink = ListSink()
    source = MqttSource(settings(mosquitto, FEATURES), sink, FakeClock(NOW))
    async with running(source), publisher(mosquitto) as pub:
        await publish(pub, "ml/churn/features", [
            {"metric": "feature_value", "labels": {"feature": "age"}, "values": [31, 45]},
            {"metric": "feature_value", "labels": {"feature": "tenure"}, "value": 12,
             "timestamp": 1_799_999_999},
        ])
        await publish(pub, "ml/fraud/features", {"metric": "feature_value", "value": 0.5})
        await wait_for(lambda: len(sink.samples) >= 3)
    assert sink.labels() == [
        {"__name__": "feature_value", "feature": "age", "model": "churn"},
        {"__name__": "feature_value", "feature": "tenure", "model": "churn"},
        {"__name__": "feature_value", "model": "fraud"},
    ]
    assert [s.values for s in sink.samples] == [(31.0, 45.0), (12.0,), (0.5,)]
    assert [s.timestamp for s in sink.samples] == [None, 1_799_999_999.0, None]
    assert sink.nows == [NOW, NOW]
    assert (source.messages_received, source.messages_malformed) == (2, 0)
    assert source.samples_ingested == 3


async def test_multi_level_wildcard_and_the_first_matching_subscription(
    mosquitto: Mosquitto,
) -> None:
    sink = ListSink()
    subs = (
        MqttSubscription("plant/+/line1/#", {"site": 1}, qos=0),
        MqttSubscription("plant/#", {"site": 1, "line": 2}),
    )
    source = MqttSource(settings(mosquitto, *subs), sink, FakeClock(NOW))
    async with running(source), publisher(mosquitto) as pub:
        await publish(pub, "plant/berlin/line1/oven", {"metric": "temp_celsius", "value": 180})
        await publish(pub, "plant/berlin/line3", {"metric": "temp_celsius", "value": 175})
        await publish(pub, "plant/paris/line2/oven/door", {"metric": "open", "value": 1})
        await publish(pub, "plant/paris", {"metric": "open", "value": 0})  # no level 2
        await wait_for(lambda: source.messages_received >= 4)
    assert sink.labels() == [
        {"__name__": "temp_celsius", "site": "berlin"},
        {"__name__": "temp_celsius", "site": "berlin", "line": "line3"},
        {"__name__": "open", "site": "paris", "line": "line2"},
    ]
    assert source.messages_malformed == 1


async def test_a_payload_label_may_repeat_but_not_contradict_the_topic(
    mosquitto: Mosquitto,
) -> None:
    sink = ListSink()
    source = MqttSource(settings(mosquitto, FEATURES), sink, FakeClock(NOW))
    async with running(source), publisher(mosquitto) as pub:
        await publish(pub, "ml/churn/features", [
            {"metric": "x", "labels": {"model": "churn"}, "value": 1},
            {"metric": "x", "labels": {"model": "fraud"}, "value": 2},
        ])
        await wait_for(lambda: source.messages_received >= 1)
    assert [s.values for s in sink.samples] == [(1.0,)]
    assert (source.samples_invalid, source.messages_malformed) == (1, 1)


# --- malformed messages ---------------------------------------------------------------------


async def test_malformed_messages_are_counted_logged_at_a_limited_rate_and_skipped(
    mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(NOW)
    sink = ListSink(lambda s: "out of order" if s.labels.name() == "late" else None)
    source = MqttSource(settings(mosquitto, FEATURES), sink, clock)
    caplog.set_level(logging.WARNING, logger="alertd.mqtt")

    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records
                if r.name == "alertd.mqtt" and r.getMessage().startswith("mqtt message on")]

    async with running(source), publisher(mosquitto) as pub:
        await publish(pub, "ml/churn/features", b"{not json")
        await publish(pub, "ml/churn/features", {"metric": "x", "value": "high"})
        await publish(pub, "ml/churn/features", [{"metric": "late", "value": 1},
                                                 {"metric": "ok", "value": 2}])
        await publish(pub, "ml/churn/features", b"")
        await publish(pub, "ml/churn/features", {"metric": "fine", "value": 3})
        await wait_for(lambda: source.messages_received >= 5)
        assert lines() == ["mqtt message on ml/churn/features: invalid JSON at line 1, "
                           "column 2: Expecting property name enclosed in double quotes"]
        clock.advance(1.0)
        await publish(pub, "ml/fraud/features", {"metric": "x"})
        await wait_for(lambda: source.messages_received >= 6)

    assert [s.labels.name() for s in sink.samples] == ["ok", "fine"]
    assert source.messages_malformed == 5
    assert (source.samples_invalid, source.samples_rejected) == (2, 1)
    assert lines()[1] == ('mqtt message on ml/fraud/features: value: missing; give "value" '
                          '(a number) or "values" (an array of numbers) (3 similar lines left out)')


async def test_a_failing_sink_does_not_stop_the_source(
    mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(sample: PushedSample) -> str | None:
        if sample.labels.name() == "boom":
            raise RuntimeError("store is broken")
        return None

    sink = ListSink(refuse)
    source = MqttSource(settings(mosquitto, FEATURES), sink, FakeClock(NOW))
    async with running(source), publisher(mosquitto) as pub:
        await publish(pub, "ml/churn/features", {"metric": "boom", "value": 1})
        await publish(pub, "ml/churn/features", {"metric": "after", "value": 1})
        await wait_for(lambda: len(sink.samples) >= 1)
        assert source.connected
    assert source.messages_malformed == 1
    [record] = [r for r in caplog.records if r.name == "alertd.mqtt"
                and "internal error" in r.getMessage()]
    assert "store is broken" in record.getMessage()
    assert record.exc_info is not None


# --- connection -----------------------------------------------------------------------------


async def test_the_source_reconnects_when_the_broker_restarts(mosquitto: Mosquitto) -> None:
    sink = ListSink()
    states: list[bool] = []
    source = MqttSource(settings(mosquitto, FEATURES), sink, FakeClock(NOW),
                        on_state=states.append)
    async with running(source):
        async with publisher(mosquitto) as pub:
            await publish(pub, "ml/churn/features", {"metric": "before", "value": 1})
        await wait_for(lambda: len(sink.samples) == 1)

        mosquitto.stop()
        await wait_for(lambda: not source.connected, what="the drop to be noticed")
        mosquitto.start()  # the same port
        await wait_for(lambda: source.connected, what="the reconnection")
        assert source.reconnects == 1

        async with publisher(mosquitto) as pub:
            await publish(pub, "ml/churn/features", {"metric": "after", "value": 2})
        await wait_for(lambda: len(sink.samples) == 2)
    assert [s.labels.name() for s in sink.samples] == ["before", "after"]
    assert states == [True, False, True, False]  # the last: cancelled at the end


async def test_backoff_doubles_up_to_the_maximum_and_resets_after_a_connection(
    tmp_path: Path,
) -> None:
    broker = Mosquitto(tmp_path)  # not started yet: connections are refused
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(0.001)

    source = MqttSource(settings(broker, FEATURES, reconnect_min=0.01, reconnect_max=0.04),
                        ListSink(), FakeClock(NOW), sleep=sleep)
    try:
        async with running(source, wait_connected=False):
            await wait_for(lambda: len(delays) >= 5)
            assert delays[:5] == [0.01, 0.02, 0.04, 0.04, 0.04]
            assert not source.connected

            broker.start()
            await wait_for(lambda: source.connected)
            assert source.reconnects == 0  # the first connection is not a reconnection
            seen = len(delays)
            broker.stop()
            await wait_for(lambda: len(delays) > seen)
            assert delays[seen] == 0.01
            broker.start()
            await wait_for(lambda: source.connected)
            assert source.reconnects == 1
    finally:
        broker.stop()


async def test_run_ends_only_by_cancellation(mosquitto: Mosquitto) -> None:
    source = MqttSource(settings(mosquitto, FEATURES), ListSink(), FakeClock(NOW))
    task = asyncio.create_task(source.run())
    await wait_for(lambda: source.connected)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not source.connected


# --- settings -------------------------------------------------------------------------------


def test_settings_from_url() -> None:
    plain = MqttSettings.from_url("mqtt://broker.internal", [FEATURES])
    assert (plain.host, plain.port, plain.tls, plain.username) == ("broker.internal", 1883,
                                                                   None, None)
    secure = MqttSettings.from_url("mqtts://alertd:p%40ss@broker:8884", [FEATURES],
                                   client_id="alertd-1")
    assert (secure.host, secure.port, secure.username, secure.password) == (
        "broker", 8884, "alertd", "p@ss")
    assert isinstance(secure.tls, ssl.SSLContext)
    assert secure.client_id == "alertd-1"
    assert "p@ss" not in repr(secure)
    given = MqttSettings.from_url("mqtts://u:x@broker", [FEATURES], username="v", password="y")
    assert (given.username, given.password, given.port) == ("v", "y", 8883)


@pytest.mark.parametrize(("url", "message"), [
    ("http://broker", "the scheme must be mqtt or mqtts"),
    ("mqtt://", "no host"),
    ("mqtt://broker/topic", "only mqtt[s]://[user@]host[:port]"),
    ("mqtt://broker:99999", "out of range"),
    ("tcp://u:secret@broker", 'mqtt url "tcp://u:***@broker"'),
])
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        MqttSettings.from_url(url, [FEATURES])
    assert message in str(info.value)
    assert "secret" not in str(info.value)


@pytest.mark.parametrize(("topic", "labels", "qos", "message"), [
    ("ml/#/features", {}, 1, "Invalid wildcard"),
    ("ml/+/features", {"model": 3}, 1, "takes level 3, but the topic has 3 levels"),
    ("ml/+/features", {"model-name": 1}, 1, 'invalid label name "model-name"'),
    ("ml/+/features", {"__model": 1}, 1, 'invalid label name "__model"'),
    ("ml/+/features", {"model": -1}, 1, "needs a topic level"),
    ("ml/+/features", {}, 3, "qos must be 0, 1 or 2"),
])
def test_bad_subscriptions(topic: str, labels: dict[str, int], qos: int, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        MqttSubscription(topic, labels, qos)
    assert message in str(info.value)


def test_labels_may_come_from_levels_under_a_multi_level_wildcard() -> None:
    assert MqttSubscription("plant/#", {"line": 5}).labels_from_topic == {"line": 5}
    assert MqttSubscription("$share/alertd/ml/+", {"model": 1}).topic == "$share/alertd/ml/+"
