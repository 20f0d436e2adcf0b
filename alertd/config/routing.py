"""The routing part of `alertd.yml`: Alertmanager's own keys, defaults and checks.

`global`, `route`, `receivers`, `inhibit_rules`, `time_intervals`, `mute_time_intervals` and
`templates` are read as Alertmanager 0.25 reads them, so that an `alertmanager.yml` with
Slack, PagerDuty and webhook receivers loads unchanged. What Alertmanager has and alertd
does not (other receiver types, their `global` keys, OAuth2) is an error naming the key,
never ignored. `owners` is alertd's own: which team owns an alert, found by label matchers.

Cross references (a route naming a receiver or a time interval that does not exist, a
receiver defined twice...) are checked by `routing_problems`, once every key is valid.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from alertd.config.types import (
    LABEL_NAME,
    Model,
    NonEmptyStr,
    Secret,
    SecretFile,
    TLSConfig,
    describe,
    split_url,
    validation_context,
)
from alertd.lang.diagnostics import did_you_mean
from alertd.lang.durations import format_duration, parse_duration
from alertd.model import LabelMatcher
from alertd.regex import Regex, RegexError

__all__ = [
    "DEFAULT_GROUP_INTERVAL",
    "DEFAULT_GROUP_WAIT",
    "DEFAULT_PAGERDUTY_URL",
    "DEFAULT_REPEAT_INTERVAL",
    "SUPPORTED_RECEIVER_KEYS",
    "Authorization",
    "GlobalConfig",
    "HTTPBasicAuth",
    "HTTPConfig",
    "InhibitRule",
    "NamedTimeInterval",
    "Owner",
    "PagerdutyConfig",
    "PagerdutyImage",
    "PagerdutyLink",
    "Receiver",
    "Route",
    "SlackAction",
    "SlackConfig",
    "SlackConfirm",
    "SlackField",
    "TimeIntervalSpec",
    "TimeRange",
    "WebhookConfig",
    "format_matcher",
    "match_owner",
    "parse_matcher",
    "parse_matchers",
    "routing_problems",
    "sort_matchers",
]

DEFAULT_GROUP_WAIT = 30.0
DEFAULT_GROUP_INTERVAL = 300.0
DEFAULT_REPEAT_INTERVAL = 4 * 3600.0
DEFAULT_RESOLVE_TIMEOUT = 300.0
DEFAULT_PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
DEFAULT_SLACK_APP_URL = "https://slack.com/api/chat.postMessage"
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


def _unsupported() -> Any:
    return Field(default=None, exclude=True, repr=False)


# --- value types -------------------------------------------------------------------------------


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
        if value == "0":
            return 0.0
        parsed, problem = parse_duration(value)
        if parsed is None:
            raise ValueError(f'invalid duration "{value}": {problem}')
        seconds = parsed
    else:
        raise ValueError(f"expected a duration such as 30s, got {describe(value)}")
    if seconds < 0:
        raise ValueError(f"must not be negative, got {format_duration(seconds)}")
    return seconds


# A duration that may be zero (`group_wait: 0s`); seconds in Python, text in JSON.
AMDuration = Annotated[
    float, BeforeValidator(_am_duration), PlainSerializer(format_duration, when_used="json")
]


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
        _compile(pattern, f'the regular expression of "{name}"')
    return value


LabelMap = Annotated[dict[str, LabelValue], AfterValidator(_check_label_map)]
RegexMap = Annotated[dict[str, LabelValue], AfterValidator(_check_regex_map)]


def _compile(pattern: str, what: str) -> None:
    try:
        Regex(pattern)
    except RegexError as exc:
        raise ValueError(f'{what} "{pattern}" is invalid: {exc}') from None


# --- matchers, in Alertmanager's syntax --------------------------------------------------------

_WS = "[ \t\n\f\r]"
_MATCHER = re.compile(
    rf"{_WS}*([a-zA-Z_:][a-zA-Z0-9_:]*){_WS}*(=~|=|!=|!~){_WS}*(.*?){_WS}*", re.DOTALL)
_OP_ORDER = {"=": 0, "!=": 1, "=~": 2, "!~": 3}
_MATCHER_HELP = 'write name="value", name!="value", name=~"regex" or name!~"regex"'


def parse_matchers(text: str) -> list[LabelMatcher]:
    """The matchers in `text`, as Alertmanager parses one item of `matchers`: one matcher
    (`severity="page"`, `team!=ml`) or several separated by commas, with optional braces
    (`{a="b", c=~"d|e"}`). Raises ValueError naming the bad matcher."""
    if text.startswith("{"):
        text = text[1:]
    if text.endswith("}"):
        text = text[:-1]
    tokens: list[str] = []
    token: list[str] = []
    inside_quotes = escaped = False
    for ch in text:
        if ch == "," and not inside_quotes:
            tokens.append("".join(token))
            token = []
            continue
        if ch == '"':
            if escaped:
                escaped = False
            else:
                inside_quotes = not inside_quotes
        elif ch == "\\":
            escaped = not escaped
        elif ch != ",":
            escaped = False
        token.append(ch)
    last = "".join(token).strip(" \t\n\f\r\v")
    if last:
        tokens.append(last)
    return [parse_matcher(t) for t in tokens]


def parse_matcher(text: str) -> LabelMatcher:
    """One matcher in Alertmanager's syntax; a quoted value may use \\", \\\\ and \\n."""
    found = _MATCHER.fullmatch(text)
    if found is None:
        raise ValueError(f'invalid matcher "{text.strip()}": {_MATCHER_HELP}')
    name, op, raw = found[1], found[2], found[3]
    quoted = raw.startswith('"')
    if quoted:
        raw = raw[1:]
    value: list[str] = []
    escaped = False
    for i, ch in enumerate(raw):
        last = i == len(raw) - 1
        if escaped:
            escaped = False
            value.append({"n": "\n", '"': '"', "\\": "\\"}.get(ch, "\\" + ch))
        elif ch == "\\":
            if last:
                value.append("\\")
            else:
                escaped = True
        elif ch == '"':
            if not quoted or not last:
                raise ValueError(f'invalid matcher "{text.strip()}": a double quote inside '
                                 'the value must be escaped as \\"')
            quoted = False
        else:
            value.append(ch)
    if quoted:
        raise ValueError(f'invalid matcher "{text.strip()}": the value has no closing quote')
    return _matcher(name, op, "".join(value), f'matcher "{text.strip()}"')


def _matcher(name: str, op: str, value: str, what: str) -> LabelMatcher:
    try:
        return LabelMatcher(name, op, value)
    except RegexError as exc:
        raise ValueError(f'the regular expression of {what} is invalid: {exc}') from None


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_matcher(m: LabelMatcher) -> str:
    """`name="value"` as Alertmanager writes a matcher (and as `parse_matcher` reads it)."""
    return f'{m.name}{m.op}"{_escape(m.value)}"'


def sort_matchers(matchers: Sequence[LabelMatcher]) -> list[LabelMatcher]:
    """Alertmanager's order: by name, then value, then operator (=, !=, =~, !~)."""
    return sorted(matchers, key=lambda m: (m.name, m.value, _OP_ORDER[m.op]))


def _check_matchers(value: str) -> str:
    parse_matchers(value)
    return value


# One item of a `matchers` list, checked when read and compiled by `compiled_matchers`.
MatcherText = Annotated[str, AfterValidator(_check_matchers)]


def _compiled(matchers: Sequence[str], equal: Mapping[str, str] | None = None,
              regex: Mapping[str, str] | None = None) -> list[LabelMatcher]:
    """Every matcher of a route or inhibition side, sorted as Alertmanager sorts them. A
    deprecated `match_re` value is anchored as Alertmanager 0.25 writes it."""
    found = [LabelMatcher(n, "=", v) for n, v in (equal or {}).items()]
    found += [LabelMatcher(n, "=~", f"^(?:{v})$") for n, v in (regex or {}).items()]
    for text in matchers:
        found += parse_matchers(text)
    return sort_matchers(found)


# --- HTTP client settings ----------------------------------------------------------------------


class HTTPBasicAuth(Model):
    username: str
    password: Secret | None = None
    password_file: SecretFile | None = None

    @model_validator(mode="after")
    def _check(self) -> HTTPBasicAuth:
        if self.password is not None and self.password_file is not None:
            raise ValueError("set at most one of password and password_file")
        return self


class Authorization(Model):
    type: NonEmptyStr = "Bearer"
    credentials: Secret | None = None
    credentials_file: SecretFile | None = None

    @model_validator(mode="after")
    def _check(self) -> Authorization:
        problems = []
        if self.type.lower() == "basic":
            problems.append('type cannot be "Basic": use basic_auth instead')
        if self.credentials is not None and self.credentials_file is not None:
            problems.append("set at most one of credentials and credentials_file")
        if problems:
            raise ValueError("\n".join(problems))
        return self


class HTTPConfig(Model):
    """`http_config`, as in Prometheus and Alertmanager (without OAuth2)."""

    basic_auth: HTTPBasicAuth | None = None
    authorization: Authorization | None = None
    bearer_token: Secret | None = None
    bearer_token_file: SecretFile | None = None
    tls_config: TLSConfig | None = None
    proxy_url: HttpURL | None = None
    follow_redirects: bool = True
    enable_http2: bool = True
    oauth2: Unsupported = _unsupported()
    no_proxy: Unsupported = _unsupported()
    proxy_from_environment: Unsupported = _unsupported()
    proxy_connect_header: Unsupported = _unsupported()

    @model_validator(mode="after")
    def _check(self) -> HTTPConfig:
        given = [name for name in ("basic_auth", "authorization", "bearer_token",
                                   "bearer_token_file") if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError("set at most one of basic_auth, authorization, bearer_token and "
                             f"bearer_token_file (found {' and '.join(given)})")
        return self


# --- global ------------------------------------------------------------------------------------


class GlobalConfig(Model):
    resolve_timeout: AMDuration = DEFAULT_RESOLVE_TIMEOUT
    http_config: HTTPConfig | None = None
    slack_api_url: SecretURL | None = None
    slack_api_url_file: SecretFile | None = None
    slack_app_token: Secret | None = None
    slack_app_token_file: SecretFile | None = None
    slack_app_url: HttpURL = DEFAULT_SLACK_APP_URL
    pagerduty_url: HttpURL = DEFAULT_PAGERDUTY_URL
    smtp_from: Unsupported = _unsupported()
    smtp_hello: Unsupported = _unsupported()
    smtp_smarthost: Unsupported = _unsupported()
    smtp_auth_username: Unsupported = _unsupported()
    smtp_auth_password: Unsupported = _unsupported()
    smtp_auth_password_file: Unsupported = _unsupported()
    smtp_auth_secret: Unsupported = _unsupported()
    smtp_auth_identity: Unsupported = _unsupported()
    smtp_require_tls: Unsupported = _unsupported()
    opsgenie_api_url: Unsupported = _unsupported()
    opsgenie_api_key: Unsupported = _unsupported()
    opsgenie_api_key_file: Unsupported = _unsupported()
    wechat_api_url: Unsupported = _unsupported()
    wechat_api_secret: Unsupported = _unsupported()
    wechat_api_corp_id: Unsupported = _unsupported()
    victorops_api_url: Unsupported = _unsupported()
    victorops_api_key: Unsupported = _unsupported()
    victorops_api_key_file: Unsupported = _unsupported()
    telegram_api_url: Unsupported = _unsupported()
    webex_api_url: Unsupported = _unsupported()

    @field_validator("resolve_timeout")
    @classmethod
    def _check_resolve_timeout(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be longer than 0s")
        return value

    @model_validator(mode="after")
    def _check(self) -> GlobalConfig:
        if self.slack_api_url is not None and self.slack_api_url_file is not None:
            raise ValueError("set at most one of slack_api_url and slack_api_url_file")
        return self


# --- receivers ---------------------------------------------------------------------------------


class SlackField(Model):
    title: NonEmptyStr
    value: NonEmptyStr
    short: bool | None = None


class SlackConfirm(Model):
    text: NonEmptyStr
    title: str | None = None
    ok_text: str | None = None
    dismiss_text: str | None = None


class SlackAction(Model):
    type: NonEmptyStr
    text: NonEmptyStr
    url: str | None = None
    style: str | None = None
    name: str | None = None
    value: str | None = None
    confirm: SlackConfirm | None = None

    @model_validator(mode="after")
    def _check(self) -> SlackAction:
        if not self.url and not self.name:
            raise ValueError("set url (a link button) or name (a message action)")
        return self


def _template(value: str | None, key: str) -> str | None:
    """A receiver template must compile (Jinja2); Go templates are let through, ignored."""
    from alertd.notify.templating import compile_field

    try:
        compile_field(key, value, warn=False)
    except ValueError as exc:
        raise ValueError(str(exc).removeprefix(f"{key}: ")) from None
    return value


class SlackConfig(Model):
    """`slack_configs` items. Message fields left out use the receiver's built-in default.

    With `app_token` (a bot token, here or in `global`) alertd uses Slack's Web API: one
    message per group, edited as alerts join and resolve, repeats in its thread, buttons.
    With only `api_url` (an incoming webhook) each notification is a new message."""

    send_resolved: bool = False
    http_config: HTTPConfig | None = None
    api_url: SecretURL | None = None
    api_url_file: SecretFile | None = None
    app_token: Secret | None = None
    app_token_file: SecretFile | None = None
    app_url: HttpURL | None = None
    timeout: AMDuration = 10.0
    pace: AMDuration = 1.0  # alertd: least time between two messages to one channel
    channel: str | None = None
    username: str | None = None
    color: str | None = None
    title: str | None = None
    title_link: str | None = None
    pretext: str | None = None
    text: str | None = None
    fields: list[SlackField] = []
    short_fields: bool = False
    footer: str | None = None
    fallback: str | None = None
    callback_id: str | None = None
    icon_emoji: str | None = None
    icon_url: str | None = None
    image_url: str | None = None
    thumb_url: str | None = None
    link_names: bool = False
    mrkdwn_in: list[str] = []
    actions: list[SlackAction] = []

    @model_validator(mode="after")
    def _check(self) -> SlackConfig:
        if self.api_url is not None and self.api_url_file is not None:
            raise ValueError("set at most one of api_url and api_url_file")
        if self.app_token is not None and self.app_token_file is not None:
            raise ValueError("set at most one of app_token and app_token_file")
        return self

    @field_validator("title", "text")
    @classmethod
    def _check_template(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _template(value, str(info.field_name))


class PagerdutyImage(Model):
    src: str | None = None
    alt: str | None = None
    href: str | None = None


class PagerdutyLink(Model):
    href: str | None = None
    text: str | None = None


class PagerdutyConfig(Model):
    """`pagerduty_configs` items: Events API v2 with `routing_key`, v1 with `service_key`.
    `url` left out is `global.pagerduty_url`; message fields left out use the built-in
    defaults."""

    send_resolved: bool = True
    http_config: HTTPConfig | None = None
    routing_key: Secret | None = None
    routing_key_file: SecretFile | None = None
    service_key: Secret | None = None
    service_key_file: SecretFile | None = None
    url: HttpURL | None = None
    client: str | None = None
    client_url: str | None = None
    description: str | None = None
    details: dict[str, str] | None = None
    images: list[PagerdutyImage] = []
    links: list[PagerdutyLink] = []
    source: str | None = None
    severity: str | None = None
    class_: str | None = Field(default=None, alias="class")
    component: str | None = None
    group: str | None = None
    timeout: AMDuration = 10.0

    @field_validator("description", "client", "client_url", "source", "severity", "class_",
                     "component", "group")
    @classmethod
    def _check_template(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _template(value, str(info.field_name).rstrip("_"))

    @model_validator(mode="after")
    def _check(self) -> PagerdutyConfig:
        keys = (self.routing_key, self.routing_key_file, self.service_key, self.service_key_file)
        problems = []
        if all(key is None for key in keys):
            problems.append("set one of routing_key, routing_key_file, service_key and "
                            "service_key_file")
        if self.routing_key is not None and self.routing_key_file is not None:
            problems.append("set at most one of routing_key and routing_key_file")
        if self.service_key is not None and self.service_key_file is not None:
            problems.append("set at most one of service_key and service_key_file")
        if problems:
            raise ValueError("\n".join(problems))
        return self


class WebhookConfig(Model):
    send_resolved: bool = True
    http_config: HTTPConfig | None = None
    url: SecretURL | None = None
    url_file: SecretFile | None = None
    max_alerts: int = Field(default=0, ge=0)
    timeout: AMDuration = 10.0
    # alertd: sign each request with the Standard Webhooks scheme (whsec_... secrets; more
    # than one while rotating).
    signing_secrets: list[Secret] = []
    signing_secret_files: list[SecretFile] = []

    @field_validator("signing_secrets")
    @classmethod
    def _check_signing_secrets(cls, value: list[SecretStr]) -> list[SecretStr]:
        from alertd.receivers.signing import check_secret

        for i, secret in enumerate(value):
            try:
                check_secret(secret.get_secret_value())
            except ValueError as exc:
                raise ValueError(f"signing_secrets[{i}]: {exc}") from None
        return value

    @model_validator(mode="after")
    def _check(self) -> WebhookConfig:
        if (self.url is None) == (self.url_file is None):
            raise ValueError("set exactly one of url and url_file")
        return self


class MqttReceiverConfig(Model):
    """`mqtt_configs` items (alertd): each notification published as JSON (the webhook
    payload) to a topic rendered from the group's labels."""

    send_resolved: bool = True
    url: str = "mqtt://127.0.0.1:1883"
    topic: NonEmptyStr = "alertd/alerts/{{ labels.alertname }}"
    qos: int = Field(default=1, ge=0, le=2)
    retain: bool = False
    client_id: str | None = None
    username: str | None = None
    password: Secret | None = None
    password_file: SecretFile | None = None
    timeout: AMDuration = 10.0

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        # As the MQTT source's url: the same parsing, the same messages.
        split_url(value, ("mqtt", "mqtts"), "mqtt://host:1883 or mqtts://host:8883")
        return value

    @field_validator("topic")
    @classmethod
    def _check_topic(cls, value: str) -> str:
        from alertd.receivers.mqtt import check_topic_template

        check_topic_template(value)
        return value

    @model_validator(mode="after")
    def _check(self) -> MqttReceiverConfig:
        if self.password is not None and self.password_file is not None:
            raise ValueError("set at most one of password and password_file")
        return self


class Receiver(Model):
    """A named set of notification configs; one with none sends nothing, as in
    Alertmanager."""

    name: NonEmptyStr
    slack_configs: list[SlackConfig] = []
    pagerduty_configs: list[PagerdutyConfig] = []
    webhook_configs: list[WebhookConfig] = []
    mqtt_configs: list[MqttReceiverConfig] = []
    # alertd's own: false for a receiver nobody is woken by (a low-priority channel, say),
    # whose notifications the noise report does not count as pages.
    paging: bool = True
    email_configs: Unsupported = _unsupported()
    opsgenie_configs: Unsupported = _unsupported()
    victorops_configs: Unsupported = _unsupported()
    pushover_configs: Unsupported = _unsupported()
    wechat_configs: Unsupported = _unsupported()
    sns_configs: Unsupported = _unsupported()
    telegram_configs: Unsupported = _unsupported()
    webex_configs: Unsupported = _unsupported()
    msteams_configs: Unsupported = _unsupported()
    msteamsv2_configs: Unsupported = _unsupported()
    discord_configs: Unsupported = _unsupported()
    jira_configs: Unsupported = _unsupported()
    rocketchat_configs: Unsupported = _unsupported()
    mattermost_configs: Unsupported = _unsupported()


# --- the routing tree --------------------------------------------------------------------------


class Route(Model):
    """A node of the routing tree. Options left out (None) are inherited from the parent;
    the root's defaults are group_wait 30s, group_interval 5m and repeat_interval 4h."""

    receiver: str | None = None
    group_by: list[str] | None = None
    continue_: bool = Field(default=False, alias="continue")
    matchers: list[MatcherText] = []
    match: LabelMap = {}
    match_re: RegexMap = {}
    group_wait: AMDuration | None = None
    group_interval: AMDuration | None = None
    repeat_interval: AMDuration | None = None
    mute_time_intervals: list[NonEmptyStr] = []
    active_time_intervals: list[NonEmptyStr] = []
    routes: list[Route] = []
    # alertd's own (inherited; never written to Alertmanager YAML): tell a receiver that an
    # alert it was paged about resolved, even if a silence or an inhibition holds it now.
    notify_resolved_after_mute: bool | None = None

    @field_validator("group_by")
    @classmethod
    def _check_group_by(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        problems = []
        if "..." in value and len(value) > 1:
            problems.append("'...' (group by every label) cannot be combined with other labels")
        seen: set[str] = set()
        for name in value:
            if name != "..." and not LABEL_NAME.fullmatch(name):
                problems.append(f'"{name}" is not a valid label name')
            elif name in seen:
                problems.append(f'label "{name}" is listed twice')
            seen.add(name)
        if problems:
            raise ValueError("\n".join(problems))
        return value

    @field_validator("group_interval", "repeat_interval")
    @classmethod
    def _not_zero(cls, value: float | None) -> float | None:
        if value == 0:
            raise ValueError("must be longer than 0s")
        return value

    def compiled_matchers(self) -> list[LabelMatcher]:
        """`match`, `match_re` and `matchers` together, in Alertmanager's order."""
        return _compiled(self.matchers, self.match, self.match_re)

    def walk(self, path: str = "route") -> Iterator[tuple[str, Route]]:
        """This route and every route below it, depth first, with their key paths."""
        yield path, self
        for i, child in enumerate(self.routes):
            yield from child.walk(f"{path}.routes[{i}]")


# --- inhibition --------------------------------------------------------------------------------


class InhibitRule(Model):
    """Mutes alerts matching the target side while an alert matching the source side fires
    and both have the same values for the `equal` labels."""

    source_matchers: list[MatcherText] = []
    target_matchers: list[MatcherText] = []
    source_match: LabelMap = {}
    source_match_re: RegexMap = {}
    target_match: LabelMap = {}
    target_match_re: RegexMap = {}
    equal: list[LabelName] = []

    def compiled_source(self) -> list[LabelMatcher]:
        return _compiled(self.source_matchers, self.source_match, self.source_match_re)

    def compiled_target(self) -> list[LabelMatcher]:
        return _compiled(self.target_matchers, self.target_match, self.target_match_re)


# --- time intervals ----------------------------------------------------------------------------

_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00")
_WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")


def _minutes(value: str) -> int:
    if not _TIME.fullmatch(value):
        raise ValueError(f'invalid time "{value}": write HH:MM, from 00:00 to 24:00')
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _clock_time(value: object) -> object:
    # YAML 1.1 reads an unquoted 17:00 as the base-60 number 1020, where Alertmanager's
    # parser reads the text "17:00" (Alertmanager's own examples leave times unquoted).
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1440:
        return f"{value // 60:02d}:{value % 60:02d}"
    return value


ClockTime = Annotated[str, BeforeValidator(_clock_time)]


class TimeRange(Model):
    """A range of the day, `start_time` included and `end_time` excluded (`24:00` ends the
    day)."""

    start_time: ClockTime
    end_time: ClockTime

    @model_validator(mode="after")
    def _check(self) -> TimeRange:
        start, end = _minutes(self.start_time), _minutes(self.end_time)
        if start >= end:
            raise ValueError(f"start_time {self.start_time} must be before end_time "
                             f"{self.end_time}")
        return self

    @property
    def start_minute(self) -> int:
        return _minutes(self.start_time)

    @property
    def end_minute(self) -> int:
        return _minutes(self.end_time)


def _range_text(value: object, *, numbers: bool, largest: int = 0) -> str:
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 1:5 as the base-60 number 65, where Alertmanager's
        # parser reads the text "1:5": a number too large to be a value is read back so.
        if largest and value >= 60 and value // 60 <= largest:
            return f"{value // 60}:{value % 60}"
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {describe(value)}")
    return value


def _split_range(text: str) -> tuple[str, str]:
    parts = text.lower().split(":")
    if len(parts) == 1:
        return parts[0], parts[0]
    if len(parts) != 2:
        raise ValueError(f'invalid range "{text}": write one value or start:end')
    return parts[0], parts[1]


def _int(text: str, what: str, original: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(f'"{original}" is not a {what}')
    return int(text)


def _weekday_range(value: object) -> tuple[int, int]:
    text = _range_text(value, numbers=False)
    ends = []
    for part in _split_range(text):
        if part not in _WEEKDAYS:
            raise ValueError(f'"{part}" is not a day of the week{did_you_mean(part, _WEEKDAYS)}')
        ends.append(_WEEKDAYS.index(part))
    if ends[0] > ends[1]:
        raise ValueError(f'"{text}": the range must not wrap past saturday; '
                         "write two ranges, such as saturday and sunday")
    return ends[0], ends[1]


def _day_of_month_range(value: object) -> tuple[int, int]:
    text = _range_text(value, numbers=True, largest=31)
    begin, end = (_int(p, "day of the month", text) for p in _split_range(text))
    for day in (begin, end):
        if day == 0 or not -31 <= day <= 31:
            raise ValueError(f"{day} is not a day of the month: write 1 to 31, or -1 "
                             "(the last day) to -31")
    if begin < 0 < end:
        raise ValueError(f'"{text}": the end day must be negative when the start day is')
    # With negative days, compare as in a 28-day month: what is always empty is an error.
    if (begin + 28 if begin < 0 else begin) > (end + 28 if end < 0 else end):
        raise ValueError(f'"{text}": the end day is always before the start day')
    return begin, end


def _month_range(value: object) -> tuple[int, int]:
    text = _range_text(value, numbers=True, largest=12)
    ends = []
    for part in _split_range(text):
        if part in _MONTHS:
            ends.append(_MONTHS.index(part) + 1)
        elif part.isdigit() and 1 <= int(part) <= 12:
            ends.append(int(part))
        else:
            raise ValueError(f'"{part}" is not a month: write january to december, or 1 to 12'
                             + did_you_mean(part, _MONTHS))
    if ends[0] > ends[1]:
        raise ValueError(f'"{text}": the end month is before the start month')
    return ends[0], ends[1]


def _year_range(value: object) -> tuple[int, int]:
    text = _range_text(value, numbers=True)
    begin, end = (_int(p, "year", text) for p in _split_range(text))
    if begin < 1 or end < 1:
        raise ValueError(f'"{text}": years are 1 or later')
    if begin > end:
        raise ValueError(f'"{text}": the end year is before the start year')
    return begin, end


def _weekday_text(r: tuple[int, int]) -> str:
    begin, end = _WEEKDAYS[r[0]], _WEEKDAYS[r[1]]
    return begin if r[0] == r[1] else f"{begin}:{end}"


def _range_number_text(r: tuple[int, int]) -> str:
    return str(r[0]) if r[0] == r[1] else f"{r[0]}:{r[1]}"


# Inclusive ranges, read from "monday:friday", "saturday", "1:5", "-3:-1", "january:march"...
# and kept as (begin, end): weekdays 0 (sunday) to 6, months 1 to 12.
WeekdayRange = Annotated[tuple[int, int], BeforeValidator(_weekday_range),
                         PlainSerializer(_weekday_text)]
DayOfMonthRange = Annotated[tuple[int, int], BeforeValidator(_day_of_month_range),
                            PlainSerializer(_range_number_text)]
MonthRange = Annotated[tuple[int, int], BeforeValidator(_month_range),
                       PlainSerializer(_range_number_text)]
YearRange = Annotated[tuple[int, int], BeforeValidator(_year_range),
                      PlainSerializer(_range_number_text)]


def _check_location(value: str) -> str:
    if value in ("", "UTC", "Local"):
        return value
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'unknown time zone "{value}": write an IANA name such as '
                         "Europe/Berlin, or UTC") from None
    return value


class TimeIntervalSpec(Model):
    """One item of a time interval: every key given must contain the time; a key left out
    contains any time. Without `location`, the time is taken in UTC."""

    times: list[TimeRange] | None = None
    weekdays: list[WeekdayRange] | None = None
    days_of_month: list[DayOfMonthRange] | None = None
    months: list[MonthRange] | None = None
    years: list[YearRange] | None = None
    location: Annotated[str, AfterValidator(_check_location)] | None = None


class NamedTimeInterval(Model):
    """An item of `time_intervals` (or of the deprecated `mute_time_intervals`): a name and
    the intervals it stands for (any of them)."""

    name: NonEmptyStr
    time_intervals: list[TimeIntervalSpec] = []


# --- owners (alertd's own) ---------------------------------------------------------------------


def _check_timezone(value: str) -> str:
    # An IANA name only: unlike a time interval's location, "Local" would make the report
    # depend on the machine it runs on.
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'unknown time zone "{value}": write an IANA name such as '
                         "Europe/Berlin, or UTC") from None
    return value


class Owner(Model):
    """Who owns the alerts its matchers match: the team, where to reach it, its runbooks."""

    name: NonEmptyStr
    matchers: list[MatcherText] = []
    slack_channel: NonEmptyStr | None = None
    slack_handle: NonEmptyStr | None = None
    pagerduty_routing_key: Secret | None = None
    pagerduty_routing_key_file: SecretFile | None = None
    runbook_base_url: HttpURL | None = None
    # The team's own time zone: the noise report places each page in business, off or
    # sleep hours by the clock of the people it woke (UTC when left out).
    timezone: Annotated[str, AfterValidator(_check_timezone)] | None = None

    _matchers: list[LabelMatcher] = PrivateAttr(default_factory=list)

    def model_post_init(self, context: Any, /) -> None:
        # Compiled once: every alert that arrives without an owner is matched against these.
        self._matchers = _compiled(self.matchers)

    @model_validator(mode="after")
    def _check(self) -> Owner:
        if self.pagerduty_routing_key is not None and self.pagerduty_routing_key_file is not None:
            raise ValueError("set at most one of pagerduty_routing_key and "
                             "pagerduty_routing_key_file")
        return self

    def compiled_matchers(self) -> list[LabelMatcher]:
        return list(self._matchers)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every matcher matches `labels` (an owner without matchers matches all)."""
        return all(m.matches(labels.get(m.name, "")) for m in self._matchers)

    def runbook_url(self, alertname: str) -> str | None:
        """`runbook_base_url/alertname`, or None without a base URL."""
        if self.runbook_base_url is None:
            return None
        return f"{self.runbook_base_url.rstrip('/')}/{quote(alertname, safe='')}"


def match_owner(owners: Sequence[Owner], labels: Mapping[str, str]) -> tuple[int, Owner] | None:
    """The first owner entry whose matchers match `labels`, with its index."""
    for i, owner in enumerate(owners):
        if owner.matches(labels):
            return i, owner
    return None


# --- cross references --------------------------------------------------------------------------


def routing_problems(*, route: Route, route_given: bool, receivers: Sequence[Receiver],
                     global_: GlobalConfig, time_intervals: Sequence[NamedTimeInterval],
                     mute_time_intervals: Sequence[NamedTimeInterval],
                     owners: Sequence[Owner]) -> list[str]:
    """`key.path: message` for each broken cross reference, checked as Alertmanager checks
    them: unique names, receivers and time intervals that exist, a root route that takes
    every alert, and a Slack URL for every Slack config."""
    problems: list[str] = []
    receiver_names = _unique(problems, "receiver",
                             [(f"receivers[{i}]", r.name) for i, r in enumerate(receivers)])
    interval_names = _unique(
        problems, "time interval",
        [(f"time_intervals[{i}]", t.name) for i, t in enumerate(time_intervals)]
        + [(f"mute_time_intervals[{i}]", t.name) for i, t in enumerate(mute_time_intervals)])
    _unique(problems, "owner", [(f"owners[{i}]", o.name) for i, o in enumerate(owners)])
    has_global_slack = any(v is not None for v in (
        global_.slack_api_url, global_.slack_api_url_file, global_.slack_app_token,
        global_.slack_app_token_file))
    for i, receiver in enumerate(receivers):
        for j, slack in enumerate(receiver.slack_configs):
            if all(v is None for v in (slack.api_url, slack.api_url_file, slack.app_token,
                                       slack.app_token_file)) and not has_global_slack:
                problems.append(f"receivers[{i}].slack_configs[{j}]: set app_token (a bot "
                                "token) or api_url (an incoming webhook), here or in global "
                                "(slack_app_token, slack_api_url, or their _file keys)")
    if not route_given:
        if route.receiver not in receiver_names:
            problems.append(f"route: required key missing (without it every alert goes to the "
                            f'receiver "{route.receiver}", which receivers does not define)')
        return problems
    problems += _root_problems(route)
    for path, node in route.walk():
        if node.receiver and node.receiver not in receiver_names:
            problems.append(f'{path}.receiver: undefined receiver "{node.receiver}"'
                            + did_you_mean(node.receiver, receiver_names))
        for key in ("mute_time_intervals", "active_time_intervals"):
            for k, name in enumerate(getattr(node, key)):
                if name not in interval_names:
                    problems.append(f'{path}.{key}[{k}]: undefined time interval "{name}"'
                                    + did_you_mean(name, interval_names))
    return problems


def _unique(problems: list[str], kind: str, named: Sequence[tuple[str, str]]) -> list[str]:
    """The names of (key path, name) pairs, in order; a name given twice is a problem."""
    first: dict[str, str] = {}
    for where, name in named:
        if name in first:
            problems.append(f'{where}.name: {kind} "{name}" is defined twice (first at '
                            f"{first[name]})")
        else:
            first[name] = where
    return list(first)


def _root_problems(route: Route) -> list[str]:
    problems = []
    if not route.receiver:
        problems.append("route.receiver: required key missing (the root route must name the "
                        "receiver of the alerts no other route takes)")
    for key in ("matchers", "match", "match_re"):
        if getattr(route, key):
            problems.append(f"route.{key}: the root route must not have matchers (it takes "
                            "every alert)")
    if route.continue_:
        problems.append("route.continue: the root route cannot have continue")
    for key in ("mute_time_intervals", "active_time_intervals"):
        if getattr(route, key):
            problems.append(f"route.{key}: the root route cannot have time intervals; set "
                            "them on a child route")
    return problems
