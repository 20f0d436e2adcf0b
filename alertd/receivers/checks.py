"""Loading `alertd.yml` with the checks that need the receivers' own code: the message
templates of Slack and PagerDuty configs, the topic templates of MQTT configs, and the
signing secrets of webhook configs. `alertd.config` reads and checks every key without
running any of that code; it is handed these checks (`RECEIVER_CHECKS`, through the
validation context), so that their problems are reported with every other one, by key
path, all at once. `load_config` and `parse_config` here are what the command line, the
daemon and the recommendations load a configuration with.
"""

from __future__ import annotations

from collections.abc import Mapping

from alertd.config import Config
from alertd.config import load_config as _load_config
from alertd.config import parse_config as _parse_config
from alertd.receivers.signing import check_secret
from alertd.receivers.templating import compile_field

__all__ = ["RECEIVER_CHECKS", "load_config", "parse_config"]


class _ReceiverChecks:
    """alertd.config.types.ValueChecks with the receivers' code."""

    def template(self, key: str, text: str) -> None:
        compile_field(key, text, warn=False)

    def topic(self, text: str) -> None:
        # Imported here: the MQTT client library is loaded only for a config that publishes.
        from alertd.receivers.mqtt import check_topic_template

        check_topic_template(text)

    def signing_secret(self, text: str) -> None:
        check_secret(text)


RECEIVER_CHECKS = _ReceiverChecks()


def load_config(path: str | None, env: Mapping[str, str] | None = None) -> Config:
    """`alertd.config.load_config` with the receivers' checks."""
    return _load_config(path, env, checks=RECEIVER_CHECKS)


def parse_config(text: str, path: str = "alertd.yml", *,
                 env: Mapping[str, str] | None = None) -> Config:
    """`alertd.config.parse_config` with the receivers' checks."""
    return _parse_config(text, path, env=env, checks=RECEIVER_CHECKS)
