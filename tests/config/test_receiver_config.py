"""The receivers' keys added by alertd: Slack bot tokens, templates, signing secrets, MQTT
receivers and the `notify` section; each mistake named by its key path."""

from __future__ import annotations

import pytest

from alertd.errors import ConfigError
from alertd.notify.service import build_integrations
from alertd.receivers.checks import parse_config
from alertd.receivers.mqtt import MqttNotifier

BASE = """\
route: {{receiver: r}}
receivers:
  - name: r
{receiver}
"""


def problems(receiver: str, extra: str = "") -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(BASE.format(receiver=receiver) + extra, "alertd.yml", env={})
    return str(info.value).splitlines()


def test_a_slack_bot_config_loads_with_its_defaults() -> None:
    config = parse_config(BASE.format(receiver="    slack_configs: [{app_token: xoxb-1, "
                                               "channel: '#ml'}]"), "alertd.yml", env={})
    (slack,) = config.receivers[0].slack_configs
    assert slack.app_token is not None and slack.app_token.get_secret_value() == "xoxb-1"
    assert (slack.timeout, slack.pace, slack.app_url) == (10.0, 1.0, None)
    assert config.global_.slack_app_url == "https://slack.com/api/chat.postMessage"
    assert config.notify.failing_after == 3 and config.notify.fallback_receiver is None


def test_a_slack_config_needs_a_token_or_a_webhook_and_not_both_token_keys() -> None:
    assert problems("    slack_configs: [{channel: '#ml'}]") == [
        "alertd.yml: receivers[0].slack_configs[0]: set app_token (a bot token) or api_url (an "
        "incoming webhook), here or in global (slack_app_token, slack_api_url, or their _file "
        "keys)"]
    (message,) = problems("    slack_configs: [{app_token: xoxb-secret-1, "
                          "app_token_file: /etc/hostname}]")
    assert "receivers[0].slack_configs[0]" in message and "app_token_file" in message
    assert "xoxb-secret-1" not in message


def test_templates_are_checked_at_load_and_go_templates_let_through() -> None:
    (message,) = problems("    slack_configs: [{app_token: x, text: '{{ labels.team '}]")
    assert message.startswith("alertd.yml: receivers[0].slack_configs[0].text: template "
                              "syntax error on line 1")
    parse_config(BASE.format(receiver="    slack_configs: [{app_token: x, text: "
                                      "'{{ .CommonAnnotations.summary }}'}]"),
                 "alertd.yml", env={})
    (message,) = problems("    pagerduty_configs: [{routing_key: k, description: '{% if %}'}]")
    assert "receivers[0].pagerduty_configs[0].description" in message


def test_template_problems_come_with_every_other_problem() -> None:
    """Checked while the file is read, not after: a bad template, a bad signing secret and
    a bad topic are told with the file's other mistakes, at once."""
    assert [line.split(": ")[1] for line in problems(
        "    slack_configs: [{app_token: x, text: '{{ labels.team '}]\n"
        "    webhook_configs: [{url: 'http://h/x', max_alerts: -1, "
        "signing_secrets: ['whsec_not base64!']}]\n"
        "    mqtt_configs: [{topic: 'alerts/{{ labels.x ', qos: 3}]")] == [
        "receivers[0].slack_configs[0].text",
        "receivers[0].webhook_configs[0].max_alerts",
        "receivers[0].webhook_configs[0].signing_secrets",
        "receivers[0].mqtt_configs[0].topic", "receivers[0].mqtt_configs[0].qos"]


def test_webhook_signing_secrets_must_be_standard_webhooks_secrets() -> None:
    (message,) = problems("    webhook_configs: [{url: 'http://h/x', "
                          "signing_secrets: ['whsec_not base64!']}]")
    assert "receivers[0].webhook_configs[0].signing_secrets" in message
    assert "not base64!" not in message  # a secret is never repeated


def test_mqtt_receivers_check_their_url_and_topic_template() -> None:
    (message,) = problems("    mqtt_configs: [{url: 'http://broker:1883'}]")
    assert message.startswith("alertd.yml: receivers[0].mqtt_configs[0].url:")
    (message,) = problems("    mqtt_configs: [{topic: 'alerts/{{ labels.x '}]")
    assert "receivers[0].mqtt_configs[0].topic" in message
    assert problems("    mqtt_configs: [{qos: 3}]")[0].startswith(
        "alertd.yml: receivers[0].mqtt_configs[0].qos:")


def test_the_fallback_receiver_must_exist() -> None:
    assert problems("    webhook_configs: [{url: 'http://h/x'}]",
                    "notify: {fallback_receiver: rr}\n") == [
        'alertd.yml: notify.fallback_receiver: undefined receiver "rr" (did you mean "r"?)']


def test_receiver_templates_are_checked_for_filters_and_variables_too() -> None:
    # Neither is a syntax error; each would fail (or render empty) at every page.
    (message,) = problems("    slack_configs: [{app_token: x, text: "
                          "'{% if status %}{{ summary | upper_case }}{% endif %}'}]")
    assert message.startswith("alertd.yml: receivers[0].slack_configs[0].text: unknown "
                              'template filter "upper_case"')
    (message,) = problems("    pagerduty_configs: [{routing_key: k, description: "
                          "'{{ alert_name }}'}]")
    assert 'unknown template variable "alert_name" (did you mean "alertname"?)' in message
    parse_config(BASE.format(receiver="    slack_configs: [{app_token: x, text: "
                                      "'{% for a in firing %}{{ a.labels.pod }}{% endfor %}'}]"),
                 "alertd.yml", env={})


def test_an_mqtt_receivers_url_is_read_as_the_mqtt_sources() -> None:
    config = parse_config(BASE.format(receiver="    mqtt_configs: [{url: 'mqtts://[::1]'}]"),
                          "alertd.yml", env={})
    [notifier] = build_integrations(config.receivers, console=None,
                                    external_url="")[config.receivers[0].name]
    assert isinstance(notifier, MqttNotifier)
    assert (notifier.host, notifier.port) == ("::1", 8883)
    (message,) = problems("    mqtt_configs: [{url: 'mqtt://user:pass@broker:1883'}]")
    assert "must not hold credentials" in message and "pass@" not in message
