"""The value types of Alertmanager's keys in `alertd.yml`: durations that may be zero,
http(s) URLs (secret ones never shown), label names and label maps, and the keys
Alertmanager has and alertd does not, each an error naming the key, never ignored.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    SecretStr,
    ValidationInfo,
)

from alertd.config.types import LABEL_NAME, Secret, describe, validation_context
from alertd.durations import format_duration, parse_duration
from alertd.regex import Regex, RegexError

__all__ = [
    "SUPPORTED_RECEIVER_KEYS",
    "AMDuration",
    "HttpURL",
    "LabelMap",
    "LabelName",
    "RegexMap",
    "SecretURL",
    "Unsupported",
    "unsupported",
]

SUPPORTED_RECEIVER_KEYS = ("slack_configs", "pagerduty_configs", "webhook_configs",
                           "mqtt_configs")

# --- keys Alertmanager has and alertd does not -------------------------------------------------

_RECEIVER_HINT = "supported: " + ", ".join(SUPPORTED_RECEIVER_KEYS)
_NOT_SUPPORTED: dict[str, str] = {
    **dict.fromkeys((
        "email_configs", "opsgenie_configs", "victorops_configs", "pushover_configs",
        "wechat_configs", "sns_configs", "telegram_configs", "webex_configs",
        "msteams_configs", "msteamsv2_configs", "discord_configs", "jira_configs",
        "rocketchat_configs", "mattermost_configs"), _RECEIVER_HINT),
    **dict.fromkeys((
        "smtp_from", "smtp_hello", "smtp_smarthost", "smtp_auth_username", "smtp_auth_password",
        "smtp_auth_password_file", "smtp_auth_secret", "smtp_auth_identity",
        "smtp_require_tls"), "alertd has no email receiver"),
    **dict.fromkeys((
        "opsgenie_api_url", "opsgenie_api_key", "opsgenie_api_key_file"),
        "alertd has no OpsGenie receiver"),
    **dict.fromkeys((
        "wechat_api_url", "wechat_api_secret", "wechat_api_corp_id"),
        "alertd has no WeChat receiver"),
    **dict.fromkeys((
        "victorops_api_url", "victorops_api_key", "victorops_api_key_file"),
        "alertd has no VictorOps receiver"),
    "telegram_api_url": "alertd has no Telegram receiver",
    "webex_api_url": "alertd has no Webex receiver",
    "oauth2": "use authorization, basic_auth or bearer_token",
    "no_proxy": "use proxy_url",
    "proxy_from_environment": "use proxy_url",
    "proxy_connect_header": "use proxy_url",
}


def _reject(value: object, info: ValidationInfo) -> None:
    hint = _NOT_SUPPORTED.get(info.field_name or "", "")
    raise ValueError(f"not supported by alertd ({hint})" if hint else "not supported by alertd")


# A key Alertmanager knows and alertd does not: any value is an error naming the key.
Unsupported = Annotated[None, BeforeValidator(_reject)]


def unsupported() -> Any:
    """The default of an `Unsupported` key: left out of dumps and reprs."""
    return Field(default=None, exclude=True, repr=False)


# --- durations ---------------------------------------------------------------------------------


def _am_duration(value: object, info: ValidationInfo) -> float:
    """A duration as Alertmanager reads it: `30s`, `1h30m`, and `0s` or `0` for none."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value == 0:
            return 0.0
        if validation_context(info).get("from_text"):
            raise ValueError(f"expected a duration, got the number {value}; "
                             "write a duration such as 30s")
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _duration_text(value)
    else:
        raise ValueError(f"expected a duration such as 30s, got {describe(value)}")
    if seconds < 0:
        raise ValueError(f"must not be negative, got {format_duration(seconds)}")
    return seconds


def _duration_text(value: str) -> float:
    if value == "0":
        return 0.0
    parsed, problem = parse_duration(value)
    if parsed is None:
        raise ValueError(f'invalid duration "{value}": {problem}')
    return parsed


# A duration that may be zero (`group_wait: 0s`); seconds in Python, text in JSON.
AMDuration = Annotated[
    float, BeforeValidator(_am_duration), PlainSerializer(format_duration, when_used="json")
]

# --- URLs --------------------------------------------------------------------------------------


def _http_url(value: str, *, secret: bool) -> str:
    shown = "" if secret else f' "{value}"'
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError:
        raise ValueError(f"invalid URL{shown}: write http://host/path or https://host/path") \
            from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"invalid URL{shown}: the scheme must be http or https")
    if not parts.hostname:
        raise ValueError(f"invalid URL{shown}: it names no host")
    return value


def _check_url(value: str) -> str:
    return _http_url(value, secret=False)


def _check_secret_url(value: SecretStr) -> SecretStr:
    _http_url(value.get_secret_value(), secret=True)
    return value


# An http(s) URL shown in messages; a secret one, never shown (`${NAME}` reads it from the
# environment).
HttpURL = Annotated[str, AfterValidator(_check_url)]
SecretURL = Annotated[Secret, AfterValidator(_check_secret_url)]

# --- labels ------------------------------------------------------------------------------------


def _check_label_name(value: str) -> str:
    if not LABEL_NAME.fullmatch(value):
        raise ValueError(f'"{value}" is not a valid label name')
    return value


LabelName = Annotated[str, AfterValidator(_check_label_name)]


def _label_value(value: object) -> object:
    # Alertmanager reads `code: 500` as the string "500"; other non-strings stay errors.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


LabelValue = Annotated[str, BeforeValidator(_label_value)]


def _check_label_map(value: dict[str, str]) -> dict[str, str]:
    bad = [name for name in value if not LABEL_NAME.fullmatch(name)]
    if bad:
        raise ValueError("\n".join(f'"{name}" is not a valid label name' for name in bad))
    return value


def _check_regex_map(value: dict[str, str]) -> dict[str, str]:
    _check_label_map(value)
    for name, pattern in value.items():
        try:
            Regex(pattern)
        except RegexError as exc:
            raise ValueError(f'the regular expression of "{name}" "{pattern}" is invalid: '
                             f"{exc}") from None
    return value


LabelMap = Annotated[dict[str, LabelValue], AfterValidator(_check_label_map)]
RegexMap = Annotated[dict[str, LabelValue], AfterValidator(_check_regex_map)]
