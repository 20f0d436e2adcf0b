"""The registry of receivers: every section the config model accepts has a builder, and
a receiver's integrations are named in the registry's order across its sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertd.config import parse_config
from alertd.config.receivers import Receiver
from alertd.errors import ConfigError
from alertd.receivers.console import ConsoleNotifier
from alertd.receivers.mqtt import MqttNotifier
from alertd.receivers.pagerduty import PagerDutyNotifier
from alertd.receivers.registry import REGISTRY, Services, build_integrations
from alertd.receivers.slack import SlackNotifier
from alertd.receivers.webhook import WebhookNotifier

KEY = "0123456789abcdef0123456789abcdef"
CONFIG = f"""\
route: {{receiver: team}}
receivers:
  - name: team
    mqtt_configs: [{{url: "mqtt://broker:1883"}}]
    pagerduty_configs: [{{routing_key: {KEY}}}, {{routing_key: {KEY}}}]
    slack_configs: [{{app_token: xoxb-1, channel: "#ml"}}]
    webhook_configs: [{{url: "http://127.0.0.1:9/hook"}}]
  - name: console
  - name: quiet
"""


def test_every_section_the_config_accepts_has_a_builder() -> None:
    # The Alertmanager sections alertd refuses have None as their only value.
    accepted = {name for name, field in Receiver.model_fields.items()
                if name.endswith("_configs") and field.default is not None}
    assert set(REGISTRY) == accepted
    assert all(section.name == name for name, section in REGISTRY.items())


def test_integrations_are_numbered_in_the_registrys_order() -> None:
    config = parse_config(CONFIG, env={})
    built = build_integrations(config.receivers, Services(external_url="http://alertd"))
    team = built["team"]
    assert [type(n) for n in team] == [WebhookNotifier, SlackNotifier, PagerDutyNotifier,
                                       PagerDutyNotifier, MqttNotifier]
    assert [n.name for n in team] == ["webhook", "slack", "pagerduty", "pagerduty", "mqtt"]
    slack, first, second = team[1], team[2], team[3]
    assert isinstance(slack, SlackNotifier) and slack.integration == "team/slack/1"
    assert isinstance(first, PagerDutyNotifier) and first.integration == "team/pagerduty/2"
    assert isinstance(second, PagerDutyNotifier) and second.integration == "team/pagerduty/3"
    assert first.external_url == "http://alertd"
    (console,) = built["console"]
    assert isinstance(console, ConsoleNotifier)
    assert built["quiet"] == []


def test_a_section_that_cannot_be_built_is_named_by_its_key(tmp_path: Path) -> None:
    key_file = tmp_path / "routing_key"
    key_file.write_text(KEY)
    config = parse_config(CONFIG.replace(f"{{routing_key: {KEY}}}]",
                                         f"{{routing_key_file: {key_file}}}]"), env={})
    key_file.unlink()  # gone between loading and building, as on a reload
    with pytest.raises(ConfigError) as info:
        build_integrations(config.receivers, Services())
    assert str(info.value).startswith("receivers[0].pagerduty_configs[1]: cannot read")
