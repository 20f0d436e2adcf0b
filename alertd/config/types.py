"""The value types of `alertd.yml`: durations, sizes, secrets and secret files, readable
files, non-empty strings, time zones, URLs, TLS and basic auth, the base model every
section builds on (frozen, strict: an unknown key or a value of the wrong type is an
error), and the checks of a key given inline or in a file (`at_most_one`, `exactly_one`).

Values read from YAML go through `load.py`, which passes a validation context (see
`load_context`): durations must then be written as text (`30s`), `${NAME}` secrets are
expanded from its environment and relative paths are resolved against the config file's
directory. Models built in Python without a context accept plain seconds for durations and
resolve relative paths against the working directory.
"""

from __future__ import annotations

import os
import re
import ssl
import zoneinfo
from collections.abc import Mapping
from typing import Annotated, Any, Protocol
from urllib.parse import SplitResult, urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    SecretStr,
    ValidationInfo,
    model_validator,
)

from alertd.durations import format_duration, parse_duration
from alertd.errors import ConfigError

# Keys whose values are never repeated in a message, whatever is wrong with them.
SECRET_KEYS = frozenset({
    "password", "bearer_token", "bearer_tokens", "credentials", "api_url", "slack_api_url",
    "routing_key", "service_key", "pagerduty_routing_key", "app_token", "slack_app_token",
    "signing_secret", "signing_secrets",
})

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SIZE = re.compile(r"(\d+) ?(B|KB|kB|MB|GB|KiB|MiB|GiB)?")
_SIZE_UNITS = {
    None: 1, "B": 1, "KB": 1000, "kB": 1000, "MB": 1000**2, "GB": 1000**3,
    "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3,
}


class ValueChecks(Protocol):
    """Checks of values that need code alertd.config does not import: the receivers'
    message templates, MQTT topic templates and webhook signing secrets. Whoever loads a
    configuration hands them in through the validation context (alertd.receivers.checks
    does), so that their problems are reported with every other one; each raises
    ValueError with what is wrong."""

    def template(self, key: str, text: str) -> None: ...

    def topic(self, text: str) -> None: ...

    def signing_secret(self, text: str) -> None: ...


def load_context(base_dir: str | None, env: Mapping[str, str],
                 checks: ValueChecks | None = None) -> dict[str, Any]:
    """The validation context for values read from a file (see the module docstring)."""
    return {"from_text": True, "base_dir": base_dir, "env": env, "checks": checks}


def value_checks(info: ValidationInfo) -> ValueChecks | None:
    """The checks handed in with the validation context, if any."""
    checks: ValueChecks | None = validation_context(info).get("checks")
    return checks


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


def validation_context(info: ValidationInfo) -> Mapping[str, Any]:
    return info.context if isinstance(info.context, Mapping) else {}


def resolve_path(path: str, info: ValidationInfo) -> str:
    base = validation_context(info).get("base_dir")
    if isinstance(base, str) and not os.path.isabs(path):
        return os.path.normpath(os.path.join(base, path))
    return path


# --- value types -------------------------------------------------------------------------------


def _duration(value: object, info: ValidationInfo) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if validation_context(info).get("from_text"):
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
    env = validation_context(info).get("env")
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
    path = resolve_path(value, info)
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


def read_secret(path: str, key: str) -> str:
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


def check_timezone(value: str) -> str:
    # An IANA name only: unlike a time interval's location, "Local" would make what is
    # computed in this zone depend on the machine it runs on.
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'unknown time zone "{value}": write an IANA name such as '
                         "Europe/Berlin, or UTC") from None
    return value


# An IANA time zone name, such as Europe/Berlin or UTC.
TimeZone = Annotated[str, AfterValidator(check_timezone)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _given(model: BaseModel, key: str) -> bool:
    return getattr(model, key) is not None


def at_most_one(model: BaseModel, key: str) -> list[str]:
    """The problem of a model that sets both `key` and `key_file` (one value given inline
    and in a file: which wins would be a guess), as a list of at most one line."""
    if _given(model, key) and _given(model, f"{key}_file"):
        return [f"set at most one of {key} and {key}_file"]
    return []


def exactly_one(model: BaseModel, key: str) -> list[str]:
    """As `at_most_one`, for a value that is required: one of `key` and `key_file`."""
    if _given(model, key) == _given(model, f"{key}_file"):
        return [f"set exactly one of {key} and {key}_file"]
    return []


def raise_problems(problems: list[str]) -> None:
    """Raises ValueError with one problem a line (load.py gives each its own line)."""
    if problems:
        raise ValueError("\n".join(problems))


def split_url(value: str, schemes: tuple[str, ...], example: str) -> SplitResult:
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


class TLSConfig(Model):
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


class BasicAuth(Model):
    username: str
    password: Secret | None = None
    password_file: SecretFile | None = None

    @model_validator(mode="after")
    def _check(self) -> BasicAuth:
        raise_problems(exactly_one(self, "password"))
        return self

    def password_value(self) -> str:
        if self.password is not None:
            return self.password.get_secret_value()
        assert self.password_file is not None  # the validator requires one of them
        return read_secret(self.password_file, "sources.prometheus.basic_auth.password_file")


