"""The checks of a loaded `alertd.yml` that need the receivers' own code: the message
templates of Slack and PagerDuty configs, the topic templates of MQTT configs, and the
signing secrets of webhook configs. `alertd.config` reads and checks every key without
running any of that code; `load_config` and `parse_config` here do both, and are what the
command line and the daemon load a configuration with.

Each problem is reported as the config loader reports one, `file: key.path: message`, and
all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from alertd.config import Config
from alertd.config import load_config as _load_config
from alertd.config import parse_config as _parse_config
from alertd.config.receivers import (
    MqttReceiverConfig,
    PagerdutyConfig,
    Receiver,
    SlackConfig,
    WebhookConfig,
)
from alertd.errors import ConfigError
from alertd.notify.templating import compile_field
from alertd.receivers.signing import check_secret

__all__ = ["check_config_templates", "config_template_problems", "load_config",
           "parse_config"]

_SLACK_TEMPLATES = ("title", "text")
_PAGERDUTY_TEMPLATES = ("client", "client_url", "description", "source", "severity",
                        "class_", "component", "group")


def load_config(path: str | None, env: Mapping[str, str] | None = None) -> Config:
    """`alertd.config.load_config`, then the checks of this module."""
    config = _load_config(path, env)
    if path is not None:
        check_config_templates(config, path)
    return config


def parse_config(text: str, path: str = "alertd.yml", *,
                 env: Mapping[str, str] | None = None) -> Config:
    """`alertd.config.parse_config`, then the checks of this module."""
    config = _parse_config(text, path, env=env)
    check_config_templates(config, path)
    return config


def check_config_templates(config: Config, path: str) -> None:
    """Raises ConfigError with every problem of `config_template_problems`, one a line."""
    problems = config_template_problems(config)
    if problems:
        raise ConfigError("\n".join(f"{path}: {problem}" for problem in problems))


def config_template_problems(config: Config) -> list[str]:
    """`key.path: message` for each template or signing secret the receivers would refuse,
    in the order of the file, each once."""
    problems: list[str] = []
    for key, message in _receivers_problems(config.receivers):
        for line in message.splitlines():
            problem = f"{key}: {line}"
            if problem not in problems:
                problems.append(problem)
    return problems


def _receivers_problems(receivers: list[Receiver]) -> Iterator[tuple[str, str]]:
    for i, receiver in enumerate(receivers):
        where = f"receivers[{i}]"
        for j, slack in enumerate(receiver.slack_configs):
            yield from _fields_problems(f"{where}.slack_configs[{j}]", slack, _SLACK_TEMPLATES)
        for j, pagerduty in enumerate(receiver.pagerduty_configs):
            yield from _fields_problems(f"{where}.pagerduty_configs[{j}]", pagerduty,
                                        _PAGERDUTY_TEMPLATES)
        for j, webhook in enumerate(receiver.webhook_configs):
            yield from _webhook_problems(f"{where}.webhook_configs[{j}]", webhook)
        for j, mqtt in enumerate(receiver.mqtt_configs):
            yield from _mqtt_problems(f"{where}.mqtt_configs[{j}]", mqtt)


def _fields_problems(where: str, config: SlackConfig | PagerdutyConfig,
                     fields: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """A message template must compile (Jinja2); Go templates are let through, ignored."""
    for field in fields:
        key = field.rstrip("_")  # `class_` is the key `class`
        try:
            compile_field(key, getattr(config, field), warn=False)
        except ValueError as exc:
            yield f"{where}.{key}", str(exc).removeprefix(f"{key}: ")


def _webhook_problems(where: str, config: WebhookConfig) -> Iterator[tuple[str, str]]:
    # One problem for the key: its first malformed secret.
    for i, secret in enumerate(config.signing_secrets):
        try:
            check_secret(secret.get_secret_value())
        except ValueError as exc:
            yield f"{where}.signing_secrets", f"signing_secrets[{i}]: {exc}"
            return


def _mqtt_problems(where: str, config: MqttReceiverConfig) -> Iterator[tuple[str, str]]:
    # Imported here: the MQTT client library is loaded only for a config that publishes.
    from alertd.receivers.mqtt import check_topic_template

    try:
        check_topic_template(config.topic)
    except ValueError as exc:
        yield f"{where}.topic", str(exc)
