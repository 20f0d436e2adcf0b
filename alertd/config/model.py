"""The models of `alertd.yml`: frozen, strict (an unknown key or a value of the wrong type is
an error), with defaults that run a local set-up unchanged.

Values read from YAML go through `load.py`, which passes a validation context (see
`load_context`): durations must then be written as text (`30s`), `${NAME}` secrets are
expanded from its environment and relative paths are resolved against the config file's
directory. Models built in Python without a context accept plain seconds for durations and
resolve relative paths against the working directory.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import ssl
from collections.abc import Iterator, Mapping
from typing import Annotated, Any
from urllib.parse import SplitResult, urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from alertd.errors import ConfigError
from alertd.lang.diagnostics import did_you_mean
from alertd.lang.durations import format_duration, parse_duration

__all__ = [
    "SECRET_KEYS",
    "BasicAuth",
    "Config",
    "MqttSource",
    "MqttTopic",
    "PrometheusSource",
    "SamplesConfig",
    "Sources",
    "TLSConfig",
    "WebhookSource",
    "describe",
    "load_context",
    "redact_url",
]

# Keys whose values are never repeated in a message, whatever is wrong with them.
SECRET_KEYS = frozenset({
    "password", "bearer_token", "bearer_tokens", "credentials", "api_url", "slack_api_url",
    "routing_key", "service_key", "pagerduty_routing_key", "app_token", "slack_app_token",
    "signing_secret", "signing_secrets",
})

_STORAGE_PREFIXES = ("sqlite:///", "sqlite+aiosqlite:///", "postgresql://", "postgresql+asyncpg://")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SIZE = re.compile(r"(\d+) ?(B|KB|kB|MB|GB|KiB|MiB|GiB)?")
_SIZE_UNITS = {
    None: 1, "B": 1, "KB": 1000, "kB": 1000, "MB": 1000**2, "GB": 1000**3,
    "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3,
}


def load_context(base_dir: str | None, env: Mapping[str, str]) -> dict[str, Any]:
    """The validation context for values read from a file (see the module docstring)."""
    return {"from_text": True, "base_dir": base_dir, "env": env}


def describe(value: object, *, secret: bool = False) -> str:
    """`value` as a message shows it; a secret's kind is shown, never its text."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean" if secret else f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return "a number" if secret else f"the number {value}"
    if isinstance(value, str):
        return "a string" if secret else f'the string "{value}"'
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def redact_url(url: str) -> str:
    """`url` with the password of its user part replaced by `***`."""
    return re.sub(r"(://[^/@:]*:)[^/]*@", r"\1***@", url)


def _context(info: ValidationInfo) -> Mapping[str, Any]:
    return info.context if isinstance(info.context, Mapping) else {}


def _resolve(path: str, info: ValidationInfo) -> str:
    base = _context(info).get("base_dir")
    if isinstance(base, str) and not os.path.isabs(path):
        return os.path.normpath(os.path.join(base, path))
    return path


# --- value types -------------------------------------------------------------------------------


def _duration(value: object, info: ValidationInfo) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if _context(info).get("from_text"):
            raise ValueError(f"expected a duration, got the number {value}; "
                             "write a duration such as 30s")
        seconds = float(value)
        shown = format_duration(seconds)
    elif isinstance(value, str):
        parsed, problem = parse_duration(value)
        if parsed is None:
            raise ValueError(f'invalid duration "{value}": {problem}')
        seconds, shown = parsed, value
    else:
        raise ValueError(f"expected a duration such as 30s, got {describe(value)}")
    if not seconds > 0:
        raise ValueError(f"must be longer than 0s, got {shown}")
    return seconds


def _size(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str):
        match = _SIZE.fullmatch(value.strip())
        if match is None:
            raise ValueError(f'invalid size "{value}": write a number of bytes or a size '
                             "such as 512KiB, 10MiB or 1MB")
        size = int(match[1]) * _SIZE_UNITS[match[2]]
    else:
        raise ValueError(f"expected a size such as 10MiB, got {describe(value)}")
    if size < 1:
        raise ValueError(f"must be at least 1 byte, got {value}")
    return size


def _secret(value: object, info: ValidationInfo) -> object:
    """Expand a `${NAME}` secret from the environment; other values go to SecretStr as is."""
    if not isinstance(value, str):
        return value
    if value == "":
        raise ValueError("must not be empty")
    match = _ENV_REF.fullmatch(value)
    if match is None:
        if _ENV_REF.search(value):
            # A partial reference is far more likely a mistake than a secret containing "${".
            raise ValueError("an environment variable reference must be the whole value, "
                             "as in ${NAME}")
        return value
    env = _context(info).get("env")
    if not isinstance(env, Mapping):
        env = os.environ
    name = match[1]
    if name not in env:
        raise ValueError(f'environment variable "{name}" is not set')
    if env[name] == "":
        raise ValueError(f'environment variable "{name}" is empty')
    return env[name]


def _readable_file(value: object, info: ValidationInfo) -> object:
    if not isinstance(value, str):
        return value
    if value == "":
        raise ValueError("must not be empty")
    path = _resolve(value, info)
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise ValueError(f'cannot read "{path}": {exc.strerror or exc}') from None
    return path


def _secret_file(value: object, info: ValidationInfo) -> object:
    path = _readable_file(value, info)
    if isinstance(path, str) and read_file(path, ValueError).strip() == "":
        raise ValueError(f'"{path}" is empty')
    return path


def read_file(path: str, error: type[Exception]) -> str:
    """The file's text; `error` naming the file and the reason if it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise error(f'cannot read "{path}": {reason}') from None


def _read_secret(path: str, key: str) -> str:
    """The secret held in the file at `path` (surrounding whitespace removed), read now."""
    try:
        return read_file(path, ValueError).strip()
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None


def _nonempty(value: object) -> object:
    if value == "":
        raise ValueError("must not be empty")
    return value


# A duration: "30s" in YAML, seconds in Python; written back as text in JSON.
Duration = Annotated[
    float, BeforeValidator(_duration), PlainSerializer(format_duration, when_used="json")
]
# A size in bytes: a number, or "512KiB", "10MiB", "1MB".
ByteSize = Annotated[int, BeforeValidator(_size)]
# A secret given inline; `${NAME}` reads the environment variable NAME at load time.
Secret = Annotated[SecretStr, BeforeValidator(_secret)]
# A file that must be readable at load time; stored as a resolved path.
ReadableFile = Annotated[str, BeforeValidator(_readable_file)]
# A file holding a secret: readable and not empty at load time, read again when used.
SecretFile = Annotated[str, BeforeValidator(_secret_file)]
NonEmptyStr = Annotated[str, BeforeValidator(_nonempty)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _split_url(value: str, schemes: tuple[str, ...], example: str) -> SplitResult:
    shown = redact_url(value)
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError:
        raise ValueError(f'invalid URL "{shown}": write {example}') from None
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f'invalid URL "{shown}": write {example}')
    if parts.username is not None or parts.password is not None:
        raise ValueError(f'the URL "{shown}" must not hold credentials; '
                         "give them in their own keys")
    return parts


# --- models ------------------------------------------------------------------------------------


class TLSConfig(_Model):
    ca_file: ReadableFile | None = None
    cert_file: ReadableFile | None = None
    key_file: ReadableFile | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False

    @model_validator(mode="after")
    def _check(self) -> TLSConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("set both cert_file and key_file, or neither")
        try:
            self.ssl_context()
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self

    def ssl_context(self) -> ssl.SSLContext:
        """A client context: the CA file (else the system's), the client certificate if any."""
        try:
            ctx = ssl.create_default_context(cafile=self.ca_file)
            if self.cert_file is not None and self.key_file is not None:
                # A callback, so that an encrypted key fails instead of prompting on a terminal.
                ctx.load_cert_chain(self.cert_file, self.key_file, password=lambda: b"")
        except (ssl.SSLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
            raise ConfigError(f"cannot load the TLS files: {reason}") from None
        if self.insecure_skip_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


class BasicAuth(_Model):
    username: str
    password: Secret | None = None
    password_file: SecretFile | None = None

    @model_validator(mode="after")
    def _check(self) -> BasicAuth:
        if (self.password is None) == (self.password_file is None):
            raise ValueError("set exactly one of password and password_file")
        return self

    def password_value(self) -> str:
        if self.password is not None:
            return self.password.get_secret_value()
        assert self.password_file is not None  # the validator requires one of them
        return _read_secret(self.password_file, "sources.prometheus.basic_auth.password_file")


class PrometheusSource(_Model):
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
        _split_url(value, ("http", "https"), "http://host:port or https://host:port")
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
            return "Bearer " + _read_secret(
                self.bearer_token_file, "sources.prometheus.bearer_token_file")
        return None


class WebhookSource(_Model):
    enabled: bool = True
    bearer_tokens: list[Secret] = []
    bearer_token_files: list[SecretFile] = []
    max_body_bytes: ByteSize = 10 * 1024**2

    def tokens(self) -> frozenset[str]:
        """Every accepted token, files read now; empty means requests need no token."""
        found = {t.get_secret_value() for t in self.bearer_tokens}
        for i, path in enumerate(self.bearer_token_files):
            found.add(_read_secret(path, f"sources.webhook.bearer_token_files[{i}]"))
        return frozenset(found)


class ApiConfig(_Model):
    """Who may use the HTTP API. Writes (posting alerts, silences, reloads) need one of the
    write tokens when any is set; reads need a read or write token when `read_tokens` is set
    (an empty list closes reads to all but write tokens)."""

    write_tokens: list[Secret] = []
    write_token_files: list[SecretFile] = []
    read_tokens: list[Secret] | None = None

    def write(self) -> frozenset[str]:
        found = {t.get_secret_value() for t in self.write_tokens}
        for i, path in enumerate(self.write_token_files):
            found.add(_read_secret(path, f"api.write_token_files[{i}]"))
        return frozenset(found)

    def read(self) -> frozenset[str] | None:
        if self.read_tokens is None:
            return None
        return frozenset(t.get_secret_value() for t in self.read_tokens) | self.write()


class MqttTopic(_Model):
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
            if not _LABEL_NAME.fullmatch(name):
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


class MqttSource(_Model):
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
        parts = _split_url(value, ("mqtt", "mqtts"), "mqtt://host:port or mqtts://host:port")
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
            return _read_secret(self.password_file, "sources.mqtt.password_file")
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


class Sources(_Model):
    prometheus: PrometheusSource = PrometheusSource()
    webhook: WebhookSource = WebhookSource()
    mqtt: MqttSource = MqttSource()


class SamplesConfig(_Model):
    max_series_per_metric: int = Field(default=10000, ge=1)
    snapshot_interval: Duration = 60.0
    min_retention: Duration = 3600.0


# The routing part's models, and the sections in modules of their own, build on the
# types above, hence imports this far down.
from alertd.config.history import HistoryConfig  # noqa: E402
from alertd.config.report import ReportConfig, report_problems  # noqa: E402
from alertd.config.routing import (  # noqa: E402
    GlobalConfig,
    HttpURL,
    InhibitRule,
    NamedTimeInterval,
    Owner,
    Receiver,
    Route,
    routing_problems,
)


class RetryConfig(_Model):
    initial_backoff: Duration = 1.0
    max_backoff: Duration = 300.0
    give_up_after: Duration = 6 * 3600.0


class SlackApp(_Model):
    """The Slack app's signing secret: button clicks are verified with it."""

    signing_secret: Secret | None = None
    signing_secret_file: SecretFile | None = None

    @model_validator(mode="after")
    def _check(self) -> SlackApp:
        if self.signing_secret is not None and self.signing_secret_file is not None:
            raise ValueError("set at most one of signing_secret and signing_secret_file")
        return self


class NotifyConfig(_Model):
    fallback_receiver: NonEmptyStr | None = None
    failing_after: int = Field(default=3, ge=1)
    retry: RetryConfig = RetryConfig()
    slack: SlackApp = SlackApp()


class Config(_Model):
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
        return [_resolve(pattern, info) for pattern in value]

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
        base = _context(info).get("base_dir")
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
