"""`sources`: where samples come from. Prometheus (queried by `prom()` rules), webhooks
and MQTT (pushed samples), each with its address, credentials and limits."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator

from alertd.config.types import (
    LABEL_NAME,
    BasicAuth,
    ByteSize,
    Duration,
    Model,
    NonEmptyStr,
    Secret,
    SecretFile,
    TLSConfig,
    at_most_one,
    raise_problems,
    read_secret,
    split_url,
)
from alertd.durations import format_duration

__all__ = [
    "MqttSource",
    "MqttTopic",
    "PrometheusSource",
    "Sources",
    "WebhookSource",
    "mqtt_host_port",
]


class PrometheusSource(Model):
    enabled: bool = True
    url: str = "http://127.0.0.1:9090"
    # Where people open Prometheus (its --web.external-url), for the graph links of prom()
    # rules' alerts; by default `url`, which alertd queries and people may not reach.
    external_url: str | None = None
    timeout: Duration = 10.0
    max_concurrency: int = Field(default=16, ge=1)
    basic_auth: BasicAuth | None = None
    bearer_token: Secret | None = None
    bearer_token_file: SecretFile | None = None
    tls: TLSConfig | None = None

    @field_validator("url", "external_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        split_url(value, ("http", "https"), "http://host:port or https://host:port")
        return value.rstrip("/")

    def graph_url(self) -> str:
        """The base of the links to Prometheus's graph page."""
        return self.external_url or self.url

    @model_validator(mode="after")
    def _check(self) -> PrometheusSource:
        given = [self.basic_auth, self.bearer_token, self.bearer_token_file]
        if sum(v is not None for v in given) > 1:
            raise ValueError("set at most one of basic_auth, bearer_token and bearer_token_file")
        if self.tls is not None and not self.url.startswith("https://"):
            raise ValueError("tls is set but the url is not https://")
        return self

    def auth_header(self) -> str | None:
        """The Authorization header for each query (token files are read on every call)."""
        if self.basic_auth is not None:
            pair = f"{self.basic_auth.username}:{self.basic_auth.password_value()}"
            return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
        if self.bearer_token is not None:
            return "Bearer " + self.bearer_token.get_secret_value()
        if self.bearer_token_file is not None:
            return "Bearer " + read_secret(
                self.bearer_token_file, "sources.prometheus.bearer_token_file")
        return None


class WebhookSource(Model):
    enabled: bool = True
    bearer_tokens: list[Secret] = []
    bearer_token_files: list[SecretFile] = []
    max_body_bytes: ByteSize = 10 * 1024**2

    def tokens(self) -> frozenset[str]:
        """Every accepted token, files read now; empty means requests need no token."""
        found = {t.get_secret_value() for t in self.bearer_tokens}
        for i, path in enumerate(self.bearer_token_files):
            found.add(read_secret(path, f"sources.webhook.bearer_token_files[{i}]"))
        return frozenset(found)

class MqttTopic(Model):
    topic: NonEmptyStr
    labels_from_topic: dict[str, int] = {}
    qos: int = 1

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: object) -> object:
        return {"topic": data} if isinstance(data, str) else data

    @field_validator("qos")
    @classmethod
    def _check_qos(cls, value: int) -> int:
        if value not in (0, 1, 2):
            raise ValueError(f"must be 0, 1 or 2, got {value}")
        return value

    @field_validator("topic")
    @classmethod
    def _check_topic(cls, value: str) -> str:
        levels = value.split("/")
        for i, level in enumerate(levels):
            if ("+" in level and level != "+") or ("#" in level and level != "#"):
                raise ValueError(f'invalid topic filter "{value}": + and # must fill a level')
            if level == "#" and i != len(levels) - 1:
                raise ValueError(f'invalid topic filter "{value}": # must be the last level')
        return value

    @field_validator("labels_from_topic")
    @classmethod
    def _check_labels(cls, value: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        topic = info.data.get("topic")  # absent when the topic itself is invalid
        levels = topic.split("/") if isinstance(topic, str) else None
        # Levels at or after "#" have no fixed position, so no index may point there.
        fixed = None if levels is None else levels.index("#") if "#" in levels else len(levels)
        problems = []
        for name, index in value.items():
            if not LABEL_NAME.fullmatch(name):
                problems.append(f'"{name}" is not a valid label name')
            elif index < 0:
                problems.append(f'label "{name}": a level index is 0 or more, got {index}')
            elif fixed is not None and index >= fixed:
                has = {0: "it has none", 1: "level 0"}.get(fixed, f"levels 0 to {fixed - 1}")
                problems.append(f'label "{name}": level {index} is not a fixed level of '
                                f'"{topic}" ({has})')
        if problems:
            raise ValueError("\n".join(problems))
        return value


class MqttSource(Model):
    enabled: bool = False
    url: str = "mqtt://127.0.0.1:1883"
    topics: list[MqttTopic] = []
    client_id: str | None = None
    username: str | None = None
    password: Secret | None = None
    password_file: SecretFile | None = None
    tls: TLSConfig | None = None
    keepalive: Duration = 60.0
    reconnect_min: Duration = 0.5
    reconnect_max: Duration = 30.0

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = split_url(value, ("mqtt", "mqtts"), "mqtt://host:port or mqtts://host:port")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f'the URL "{value}" must not have a path; '
                             "give topics in the topics key")
        return value

    @field_validator("keepalive")
    @classmethod
    def _check_keepalive(cls, value: float) -> float:
        if not 1 <= value <= 65535:
            raise ValueError(f"must be between 1s and 18h12m15s, got {format_duration(value)}")
        return value

    @model_validator(mode="after")
    def _check(self) -> MqttSource:
        problems = at_most_one(self, "password")
        if (self.password is not None or self.password_file is not None) and not self.username:
            problems.append("a password needs a username")
        if self.tls is not None and not self.url.startswith("mqtts://"):
            problems.append("tls is set but the url is not mqtts://")
        if self.reconnect_min > self.reconnect_max:
            problems.append("reconnect_min must not be longer than reconnect_max")
        if self.enabled and not self.topics:
            problems.append("enabled but no topics are given")
        raise_problems(problems)
        return self

    def password_value(self) -> str | None:
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is not None:
            return read_secret(self.password_file, "sources.mqtt.password_file")
        return None

    def uses_tls(self) -> bool:
        return self.url.startswith("mqtts://")

    def host_port(self) -> tuple[str, int]:
        return mqtt_host_port(self.url)


def mqtt_host_port(url: str) -> tuple[str, int]:
    """A checked MQTT URL's host and port (1883 for mqtt://, 8883 for mqtts:// unless
    given); IPv6 addresses without their brackets."""
    parts = urlsplit(url)
    assert parts.hostname is not None  # checked by the validators
    return parts.hostname, parts.port or (8883 if parts.scheme == "mqtts" else 1883)


class Sources(Model):
    prometheus: PrometheusSource = PrometheusSource()
    webhook: WebhookSource = WebhookSource()
    mqtt: MqttSource = MqttSource()
