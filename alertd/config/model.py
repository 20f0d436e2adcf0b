"""The models of `alertd.yml`: the sections (sources, samples, notify, ...) and `Config`,
with defaults that run a local set-up unchanged. Their value types are in `types.py`, the
routing sections in `routing.py`.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from alertd.config.history import HistoryConfig
from alertd.config.report import ReportConfig, report_problems
from alertd.config.routing import (
    GlobalConfig,
    HttpURL,
    InhibitRule,
    NamedTimeInterval,
    Owner,
    Receiver,
    Route,
    routing_problems,
)
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
    read_secret,
    redact_url,
    resolve_path,
    split_url,
    validation_context,
)
from alertd.lang.diagnostics import did_you_mean
from alertd.lang.durations import format_duration

_STORAGE_PREFIXES = ("sqlite:///", "sqlite+aiosqlite:///", "postgresql://", "postgresql+asyncpg://")

__all__ = [
    "Config",
    "MqttSource",
    "MqttTopic",
    "PrometheusSource",
    "SamplesConfig",
    "Sources",
    "WebhookSource",
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


class ApiConfig(Model):
    """Who may use the HTTP API. Writes (posting alerts, silences, reloads) need one of the
    write tokens when any is set; reads need a read or write token when `read_tokens` is set
    (an empty list closes reads to all but write tokens)."""

    write_tokens: list[Secret] = []
    write_token_files: list[SecretFile] = []
    read_tokens: list[Secret] | None = None

    def write(self) -> frozenset[str]:
        found = {t.get_secret_value() for t in self.write_tokens}
        for i, path in enumerate(self.write_token_files):
            found.add(read_secret(path, f"api.write_token_files[{i}]"))
        return frozenset(found)

    def read(self) -> frozenset[str] | None:
        if self.read_tokens is None:
            return None
        return frozenset(t.get_secret_value() for t in self.read_tokens) | self.write()


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
        problems = []
        if self.password is not None and self.password_file is not None:
            problems.append("set at most one of password and password_file")
        if (self.password is not None or self.password_file is not None) and not self.username:
            problems.append("a password needs a username")
        if self.tls is not None and not self.url.startswith("mqtts://"):
            problems.append("tls is set but the url is not mqtts://")
        if self.reconnect_min > self.reconnect_max:
            problems.append("reconnect_min must not be longer than reconnect_max")
        if self.enabled and not self.topics:
            problems.append("enabled but no topics are given")
        if problems:
            raise ValueError("\n".join(problems))  # load.py gives each its own line
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


class SamplesConfig(Model):
    max_series_per_metric: int = Field(default=10000, ge=1)
    snapshot_interval: Duration = 60.0
    min_retention: Duration = 3600.0


class RetryConfig(Model):
    initial_backoff: Duration = 1.0
    max_backoff: Duration = 300.0
    give_up_after: Duration = 6 * 3600.0


class SlackApp(Model):
    """The Slack app's signing secret: button clicks are verified with it."""

    signing_secret: Secret | None = None
    signing_secret_file: SecretFile | None = None

    @model_validator(mode="after")
    def _check(self) -> SlackApp:
        if self.signing_secret is not None and self.signing_secret_file is not None:
            raise ValueError("set at most one of signing_secret and signing_secret_file")
        return self


class NotifyConfig(Model):
    fallback_receiver: NonEmptyStr | None = None
    failing_after: int = Field(default=3, ge=1)
    retry: RetryConfig = RetryConfig()
    slack: SlackApp = SlackApp()


class Config(Model):
    listen: str = "127.0.0.1:9095"
    # The URL users reach alertd at (behind a proxy, say), for links in notifications, as
    # Alertmanager's --web.external-url; the listen address when left out.
    external_url: HttpURL | None = None
    storage: str = "sqlite:///data/alertd.db"
    # Validated even when left out, so that the default too is resolved against the config
    # file's directory when there is one.
    rule_files: list[NonEmptyStr] = Field(default=["rules/*.rules"], validate_default=True)
    evaluation_interval: Duration = 60.0
    console: bool = True
    api: ApiConfig = ApiConfig()
    sources: Sources = Sources()
    samples: SamplesConfig = SamplesConfig()
    notify: NotifyConfig = NotifyConfig()
    history: HistoryConfig = HistoryConfig()
    report: ReportConfig = ReportConfig()
    # The routing part, with Alertmanager's keys (see routing.py); by default every alert
    # goes to the receiver "console", which has no notification configs.
    global_: GlobalConfig = Field(default=GlobalConfig(), alias="global")
    route: Route = Route(receiver="console")
    receivers: list[Receiver] = [Receiver(name="console")]
    inhibit_rules: list[InhibitRule] = []
    time_intervals: list[NamedTimeInterval] = []
    mute_time_intervals: list[NamedTimeInterval] = []
    templates: list[NonEmptyStr] = []
    owners: list[Owner] = []

    _base_dir: str | None = PrivateAttr(default=None)

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        _parse_listen(value)
        return value

    @field_validator("storage")
    @classmethod
    def _check_storage(cls, value: str) -> str:
        if not value.startswith(_STORAGE_PREFIXES):
            raise ValueError(f'unsupported storage "{redact_url(value)}": write '
                             "sqlite:///path/to/file.db or postgresql://user@host/database")
        if value.startswith("sqlite") and value.split(":///", 1)[1].partition("?")[0] == "":
            raise ValueError(f'"{value}" names no database file')
        return value

    @field_validator("rule_files", "templates", mode="after")
    @classmethod
    def _resolve_patterns(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return [resolve_path(pattern, info) for pattern in value]

    @model_validator(mode="after")
    def _check_routing(self) -> Config:
        problems = routing_problems(
            route=self.route, route_given="route" in self.model_fields_set,
            receivers=self.receivers, global_=self.global_, time_intervals=self.time_intervals,
            mute_time_intervals=self.mute_time_intervals, owners=self.owners)
        fallback = self.notify.fallback_receiver
        names = [r.name for r in self.receivers]
        if fallback is not None and fallback not in names:
            problems.append(f'notify.fallback_receiver: undefined receiver "{fallback}"'
                            + did_you_mean(fallback, names))
        problems += report_problems(self.report, self.receivers, self.global_)
        if problems:
            raise ValueError("\n".join(problems))  # each line names its key path
        return self

    @model_validator(mode="after")
    def _remember_base_dir(self, info: ValidationInfo) -> Config:
        base = validation_context(info).get("base_dir")
        if isinstance(base, str):
            self._base_dir = base
        return self

    @property
    def base_dir(self) -> str | None:
        """The directory relative paths were resolved against (None: the working directory)."""
        return self._base_dir

    def listen_host_port(self) -> tuple[str, int]:
        """Host and port to listen on; the host is "" (every interface) for `:9095`."""
        return _parse_listen(self.listen)

    def storage_url(self) -> str:
        """The SQLAlchemy async URL: aiosqlite or asyncpg, a sqlite file path made absolute."""
        url = self.storage
        for prefix in ("sqlite+aiosqlite:///", "sqlite:///"):
            if url.startswith(prefix):
                path, sep, query = url[len(prefix):].partition("?")
                if path != ":memory:" and not os.path.isabs(path):
                    path = os.path.normpath(os.path.join(self._base_dir or os.getcwd(), path))
                return f"sqlite+aiosqlite:///{path}{sep}{query}"
        if url.startswith("postgresql://"):
            return "postgresql+asyncpg://" + url[len("postgresql://"):]
        return url

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A PostgreSQL URL may hold a password: keep it out of logs and tracebacks.
        for name, value in super().__repr_args__():
            yield name, redact_url(value) if name == "storage" else value


def _parse_listen(value: str) -> tuple[str, int]:
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isdigit() or not port_text.isascii():
        raise ValueError(f'invalid address "{value}": write host:port, such as 127.0.0.1:9095')
    port = int(port_text)
    if port > 65535:
        raise ValueError(f'invalid address "{value}": the port must be 0 to 65535, got {port}')
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f'invalid address "{value}": "{host}" is not an IPv6 address') \
                from None
    elif ":" in host:
        raise ValueError(f'invalid address "{value}": write an IPv6 address in brackets, '
                         "as in [::1]:9095")
    elif host and not re.fullmatch(r"[A-Za-z0-9_.-]+", host):
        raise ValueError(f'invalid address "{value}": "{host}" is not a host name or address')
    return host, port
