"""The configuration file `alertd.yml`: its models and how it is loaded."""

from __future__ import annotations

from alertd.config.load import config_problems, load_config, parse_config
from alertd.config.model import (
    BasicAuth,
    Config,
    MqttSource,
    MqttTopic,
    PrometheusSource,
    SamplesConfig,
    Sources,
    TLSConfig,
    WebhookSource,
)

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
