"""The models of `alertd.yml`: the smaller sections (api, samples, notify) and `Config`,
with defaults that run a local set-up unchanged. Their value types are in `types.py`; the
other sections have a module each (`sources.py`, `history.py`, `report.py`, and for the
routing part `route.py`, `receivers.py`, `time_intervals.py`, `owners.py`), tied together
by `references.py`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterator
from typing import Any

from pydantic import (
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from alertd.config.amtypes import HttpURL
from alertd.config.history import HistoryConfig
from alertd.config.owners import Owner
from alertd.config.receivers import GlobalConfig, Receiver
from alertd.config.references import routing_problems
from alertd.config.report import ReportConfig, report_problems
from alertd.config.route import InhibitRule, Route
from alertd.config.sources import Sources
from alertd.config.time_intervals import NamedTimeInterval
from alertd.config.types import (
    Duration,
    Model,
    NonEmptyStr,
    Secret,
    SecretFile,
    at_most_one,
    raise_problems,
    read_secret,
    redact_url,
    resolve_path,
    validation_context,
)
from alertd.suggest import did_you_mean

_STORAGE_PREFIXES = ("sqlite:///", "sqlite+aiosqlite:///", "postgresql://", "postgresql+asyncpg://")

__all__ = ["ApiConfig", "Config", "NotifyConfig", "RetryConfig", "SamplesConfig", "SlackApp"]


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
        raise_problems(at_most_one(self, "signing_secret"))
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
    # The routing part, with Alertmanager's keys (see route.py and receivers.py); by default
    # every alert goes to the receiver "console", which has no notification configs.
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
