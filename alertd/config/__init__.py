"""The configuration file `alertd.yml`: its models and how it is loaded."""

from __future__ import annotations

from alertd.config.load import config_problems, load_config, parse_config
from alertd.config.model import Config, SamplesConfig
from alertd.config.sources import (
    MqttSource,
    MqttTopic,
    PrometheusSource,
    Sources,
    WebhookSource,
)
from alertd.config.types import BasicAuth, TLSConfig

__all__ = [
    "BasicAuth",
    "Config",
    "MqttSource",
    "MqttTopic",
    "PrometheusSource",
    "SamplesConfig",
    "Sources",
    "TLSConfig",
    "WebhookSource",
    "config_problems",
    "load_config",
    "parse_config",
]
