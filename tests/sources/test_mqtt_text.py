"""MQTT payloads whose text could not be stored (a lone surrogate, which JSON's "\\ud800"
carries) are counted malformed and their samples dropped; the rest of a message is kept."""

from __future__ import annotations

import logging

import pytest

from alertd.clock import FakeClock
from alertd.sources.mqtt import MqttSource

from .conftest import Mosquitto
from .test_mqtt import FEATURES, NOW, ListSink, publish, publisher, running, settings, wait_for


async def test_a_lone_surrogate_makes_a_message_malformed_and_its_sample_dropped(
        mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture) -> None:
    sink = ListSink()
    source = MqttSource(settings(mosquitto, FEATURES), sink, FakeClock(NOW))
    caplog.set_level(logging.WARNING, logger="alertd.mqtt")
    async with running(source), publisher(mosquitto) as pub:
        await publish(pub, "ml/churn/features", [
            {"metric": "feature_value", "labels": {"feature": "age\ud800"}, "value": 1},
            {"metric": "feature_value", "labels": {"feature": "tenure"}, "value": 2}])
        await wait_for(lambda: source.messages_received >= 1)
    assert sink.labels() == [{"__name__": "feature_value", "feature": "tenure",
                              "model": "churn"}]
    assert (source.messages_malformed, source.samples_invalid) == (1, 1)
    assert [r.getMessage() for r in caplog.records if r.name == "alertd.mqtt"
            and r.getMessage().startswith("mqtt message")] == [
        "mqtt message on ml/churn/features: [0].labels.feature: invalid text (a lone "
        "surrogate or a NUL character)"]
