"""The MQTT receiver against a real Mosquitto: topics, QoS 1, retain, broker loss, templates."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from alertd.alerts.model import Alert
from alertd.errors import NotifyError
from alertd.model import Labels
from alertd.receivers import Notification
from alertd.receivers.mqtt import MqttNotifier, TopicTemplate, check_topic_template
from alertd.receivers.webhook import payload
from tests.sources.conftest import Mosquitto, free_port

NOW = 1_800_000_000.0
TOPIC = "alerts/{{ labels.owner }}/{{ labels.alertname }}"
WAIT = 10.0  # seconds a message may take to arrive


def alert(**labels: str) -> Alert:
    all_labels = {"alertname": "DriftHigh", "owner": "ml-platform", **labels}
    return Alert(Labels(all_labels), {"runbook_url": "https://runbooks/drift"},
                 starts_at=NOW - 600, ends_at=None, updated_at=NOW - 60)


def notification(*alerts: Alert) -> Notification:
    return Notification("ml-team", '{}:{alertname="DriftHigh"}',
                        Labels({"alertname": "DriftHigh"}), list(alerts or [alert()]), NOW)


@pytest.fixture
async def notifiers() -> AsyncIterator[list[MqttNotifier]]:
    made: list[MqttNotifier] = []
    yield made
    for notifier in made:
        await notifier.close()


def make(made: list[MqttNotifier], broker: Mosquitto, **kwargs: Any) -> MqttNotifier:
    kwargs.setdefault("topic", TOPIC)
    notifier = MqttNotifier(broker.host, broker.port, timeout=5.0, **kwargs)
    made.append(notifier)
    return notifier


@contextlib.asynccontextmanager
async def subscriber(broker: Mosquitto, topic: str = "alerts/#") -> AsyncIterator[
        aiomqtt.Client]:
    async with aiomqtt.Client(broker.host, broker.port) as client:
        await client.subscribe(topic, qos=1)
        yield client


async def next_message(client: aiomqtt.Client) -> aiomqtt.Message:
    async with asyncio.timeout(WAIT):
        return await anext(aiter(client.messages))


def decoded(message: aiomqtt.Message) -> Any:
    assert isinstance(message.payload, bytes)
    return json.loads(message.payload)


async def test_a_subscriber_gets_the_payload_on_the_templated_topic_with_qos_1(
        mosquitto: Mosquitto, notifiers: list[MqttNotifier]) -> None:
    notifier = make(notifiers, mosquitto, external_url="http://alertd:9093")
    n = notification(alert(model="churn"), alert(model="fraud"))
    async with subscriber(mosquitto) as sub:
        assert await notifier.notify(n, "first notification") == "published"
        message = await next_message(sub)
    assert message.topic.value == "alerts/ml-platform/DriftHigh"
    assert message.qos == 1
    assert not message.retain
    body = decoded(message)
    assert body == payload(n, external_url="http://alertd:9093", reason="first notification")
    assert body["owner"] == "ml-platform"


async def test_one_connection_serves_concurrent_notifications(
        mosquitto: Mosquitto, notifiers: list[MqttNotifier]) -> None:
    notifier = make(notifiers, mosquitto, topic="alerts/{{ labels.model }}")
    models = [f"m{i}" for i in range(20)]
    async with subscriber(mosquitto) as sub:
        await asyncio.gather(*(notifier.notify(notification(alert(model=m))) for m in models))
        topics = {(await next_message(sub)).topic.value for _ in models}
    assert topics == {f"alerts/{m}" for m in models}
    connections = [line for line in mosquitto.log.read_text().splitlines()
                   if "New client connected" in line]
    assert len(connections) == 2  # the notifier's and the subscriber's


async def test_retain_reaches_a_subscriber_that_comes_later(
        mosquitto: Mosquitto, notifiers: list[MqttNotifier]) -> None:
    notifier = make(notifiers, mosquitto, retain=True, topic="alerts/{{ status }}")
    await notifier.notify(notification())
    async with subscriber(mosquitto) as sub:
        message = await next_message(sub)
    assert message.topic.value == "alerts/firing"
    assert message.retain
    assert decoded(message)["receiver"] == "ml-team"


async def test_a_lost_broker_is_retryable_and_the_next_notify_reconnects(
        mosquitto: Mosquitto, notifiers: list[MqttNotifier]) -> None:
    notifier = make(notifiers, mosquitto)
    await notifier.notify(notification())  # connected
    mosquitto.stop()
    with pytest.raises(NotifyError) as caught:
        await notifier.notify(notification())
    assert caught.value.retryable
    assert f"{mosquitto.host}:{mosquitto.port}" in str(caught.value)
    mosquitto.start()
    async with subscriber(mosquitto) as sub:
        await notifier.notify(notification(alert(model="after-restart")))
        message = await next_message(sub)
    assert decoded(message)["commonLabels"]["model"] == "after-restart"


async def test_a_connection_lost_between_notifications_is_replaced_on_the_next(
        mosquitto: Mosquitto, notifiers: list[MqttNotifier]) -> None:
    notifier = make(notifiers, mosquitto)
    await notifier.notify(notification())
    lost = notifier._connection
    assert lost is not None
    mosquitto.restart()
    # The notifier notices the drop by itself, without a notification to send.
    async with asyncio.timeout(WAIT):
        await asyncio.wait([lost.watcher])
    async with subscriber(mosquitto) as sub:
        await notifier.notify(notification())
        assert (await next_message(sub)).topic.value == "alerts/ml-platform/DriftHigh"
    assert notifier._connection is not lost


async def test_an_unreachable_broker_is_retryable_and_not_ambiguous(
        tmp_path: Path, notifiers: list[MqttNotifier]) -> None:
    notifier = MqttNotifier("127.0.0.1", free_port(), topic=TOPIC, timeout=5.0)
    notifiers.append(notifier)
    with pytest.raises(NotifyError) as caught:
        await notifier.notify(notification())
    assert caught.value.retryable
    assert not caught.value.ambiguous
    assert "unreachable" in str(caught.value)


async def test_refused_credentials_are_not_retryable(
        tmp_path: Path, notifiers: list[MqttNotifier]) -> None:
    broker = Mosquitto(tmp_path)
    # No anonymous clients and no password file: every client is refused.
    broker.config.write_text(broker.config.read_text().replace("allow_anonymous true",
                                                               "allow_anonymous false"))
    broker.start()
    try:
        notifier = make(notifiers, broker, username="alertd", password="wrong")
        with pytest.raises(NotifyError) as caught:
            await notifier.notify(notification())
    finally:
        broker.stop()
    assert not caught.value.retryable
    assert "unreachable" in str(caught.value)


async def test_a_topic_rendering_to_a_wildcard_is_not_retryable(
        mosquitto: Mosquitto, notifiers: list[MqttNotifier]) -> None:
    notifier = make(notifiers, mosquitto, topic="a/{{ labels.model }}/b")
    with pytest.raises(NotifyError) as caught:
        await notifier.notify(notification(alert(model="+")))
    assert not caught.value.retryable
    assert str(caught.value) == ('mqtt topic template "a/{{ labels.model }}/b" rendered '
                                 '"a/+/b", which contains the wildcard "+", which only '
                                 "subscriptions may use")


@pytest.mark.parametrize(("labels", "problem"), [
    ({"model": ""}, "is empty"),
    ({"model": "#"}, 'wildcard "#"'),
    ({"model": "$SYS/x"}, 'starts with "$"'),
    ({"model": "a\x00b"}, "NUL"),
    ({"model": "é" * 40_000}, "80000 bytes long"),
])
async def test_invalid_rendered_topics(labels: dict[str, str], problem: str,
                                       notifiers: list[MqttNotifier]) -> None:
    # No broker needed: the topic is checked before connecting.
    notifier = MqttNotifier("127.0.0.1", free_port(), topic="{{ labels.model }}")
    notifiers.append(notifier)
    with pytest.raises(NotifyError, match=re.escape(problem)) as caught:
        await notifier.notify(notification(alert(**labels)))
    assert not caught.value.retryable


def test_the_template_context() -> None:
    template = TopicTemplate("{{ receiver }}/{{ status }}/{{ group_labels.alertname }}/"
                             "{{ labels.items }}")
    # A label named like a dict method ("items") reads as the label.
    topic = template.render({"items": "x"}, {"alertname": "DriftHigh"}, "firing", "ml-team")
    assert topic == "ml-team/firing/DriftHigh/x"


@pytest.mark.parametrize(("template", "message"), [
    ("alerts/{{ labels.owner", "template syntax error"),
    ("alerts/{{ labels.owner | nope }}", 'unknown template filter "nope"'),
    ("alerts/{{ label.owner }}", 'unknown variable "label" (did you mean "labels"?)'),
    ("alerts/{{ value }}", 'unknown variable "value"'),
    ("alerts/+/{{ labels.owner }}", 'the topic contains the wildcard "+"'),
    ("alerts/#", 'the topic contains the wildcard "#"'),
    ("", "the topic is empty"),
    ("{{ '' }}", "the topic is empty"),
    ("$SYS/alerts", 'starts with "$"'),
])
def test_template_problems_are_found_when_the_notifier_is_made(template: str,
                                                               message: str) -> None:
    with pytest.raises(ValueError, match="mqtt topic template") as caught:
        check_topic_template(template)
    assert message in str(caught.value)
    with pytest.raises(ValueError):
        MqttNotifier("127.0.0.1", topic=template)


@pytest.mark.parametrize("template", [
    "alerts", "alerts/{{ labels.owner }}/{{ labels.alertname }}", "a//b",
    "{% if status == 'firing' %}up{% else %}down{% endif %}/{{ receiver }}",
    "{{ labels.model | default('none') }}",
])
def test_valid_templates(template: str) -> None:
    check_topic_template(template)


def test_qos_and_port_are_checked() -> None:
    with pytest.raises(ValueError, match="qos"):
        MqttNotifier("127.0.0.1", topic="a", qos=3)
    with pytest.raises(ValueError, match="port"):
        MqttNotifier("127.0.0.1", 0, topic="a")
