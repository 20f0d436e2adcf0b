"""`receivers` and `global`: Slack, PagerDuty and webhook configs as Alertmanager 0.25
reads them, alertd's MQTT configs, and the defaults `global` gives them.

The message fields are templates, MQTT topics too, and webhook signing secrets have a
format of their own: they are checked with the ValueChecks the loader is handed
(alertd.receivers.checks hands in the receivers' own), so that this package runs none of
the receivers' code.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from alertd.config.amtypes import AMDuration, HttpURL, SecretURL, Unsupported, unsupported
from alertd.config.http import HTTPConfig
from alertd.config.types import (
    Model,
    NonEmptyStr,
    Secret,
    SecretFile,
    at_most_one,
    exactly_one,
    raise_problems,
    split_url,
    value_checks,
)

__all__ = [
    "DEFAULT_PAGERDUTY_URL",
    "DEFAULT_RESOLVE_TIMEOUT",
    "DEFAULT_SLACK_APP_URL",
    "GlobalConfig",
    "MqttReceiverConfig",
    "PagerdutyConfig",
    "PagerdutyImage",
    "PagerdutyLink",
    "Receiver",
    "SlackAction",
    "SlackConfig",
    "SlackConfirm",
    "SlackField",
    "WebhookConfig",
]

DEFAULT_RESOLVE_TIMEOUT = 300.0
DEFAULT_PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
DEFAULT_SLACK_APP_URL = "https://slack.com/api/chat.postMessage"


class GlobalConfig(Model):
    resolve_timeout: AMDuration = DEFAULT_RESOLVE_TIMEOUT
    http_config: HTTPConfig | None = None
    slack_api_url: SecretURL | None = None
    slack_api_url_file: SecretFile | None = None
    slack_app_token: Secret | None = None
    slack_app_token_file: SecretFile | None = None
    slack_app_url: HttpURL = DEFAULT_SLACK_APP_URL
    pagerduty_url: HttpURL = DEFAULT_PAGERDUTY_URL
    smtp_from: Unsupported = unsupported()
    smtp_hello: Unsupported = unsupported()
    smtp_smarthost: Unsupported = unsupported()
    smtp_auth_username: Unsupported = unsupported()
    smtp_auth_password: Unsupported = unsupported()
    smtp_auth_password_file: Unsupported = unsupported()
    smtp_auth_secret: Unsupported = unsupported()
    smtp_auth_identity: Unsupported = unsupported()
    smtp_require_tls: Unsupported = unsupported()
    opsgenie_api_url: Unsupported = unsupported()
    opsgenie_api_key: Unsupported = unsupported()
    opsgenie_api_key_file: Unsupported = unsupported()
    wechat_api_url: Unsupported = unsupported()
    wechat_api_secret: Unsupported = unsupported()
    wechat_api_corp_id: Unsupported = unsupported()
    victorops_api_url: Unsupported = unsupported()
    victorops_api_key: Unsupported = unsupported()
    victorops_api_key_file: Unsupported = unsupported()
    telegram_api_url: Unsupported = unsupported()
    webex_api_url: Unsupported = unsupported()

    @field_validator("resolve_timeout")
    @classmethod
    def _check_resolve_timeout(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be longer than 0s")
        return value

    @model_validator(mode="after")
    def _check(self) -> GlobalConfig:
        raise_problems(at_most_one(self, "slack_api_url"))
        return self

    def has_slack(self) -> bool:
        """Whether a Slack URL or bot token is given here, for every Slack config."""
        return any(v is not None for v in (self.slack_api_url, self.slack_api_url_file,
                                           self.slack_app_token, self.slack_app_token_file))


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

    @field_validator("title", "text")
    @classmethod
    def _check_template(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _template(value, str(info.field_name), info)

    @model_validator(mode="after")
    def _check(self) -> SlackConfig:
        raise_problems(at_most_one(self, "api_url"))
        raise_problems(at_most_one(self, "app_token"))
        return self

    def has_slack(self) -> bool:
        """Whether a Slack URL or bot token is given here (else `global` must give one)."""
        return any(v is not None for v in (self.api_url, self.api_url_file, self.app_token,
                                           self.app_token_file))


def _template(value: str | None, key: str, info: ValidationInfo) -> str | None:
    """A receiver template must compile (Jinja2); Go templates are let through, ignored."""
    checks = value_checks(info)
    if checks is not None and value is not None:
        try:
            checks.template(key, value)
        except ValueError as exc:
            raise ValueError(str(exc).removeprefix(f"{key}: ")) from None
    return value


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
        return _template(value, str(info.field_name).rstrip("_"), info)

    @model_validator(mode="after")
    def _check(self) -> PagerdutyConfig:
        keys = (self.routing_key, self.routing_key_file, self.service_key, self.service_key_file)
        problems = []
        if all(key is None for key in keys):
            problems.append("set one of routing_key, routing_key_file, service_key and "
                            "service_key_file")
        problems += at_most_one(self, "routing_key") + at_most_one(self, "service_key")
        raise_problems(problems)
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
    def _check_signing_secrets(cls, value: list[SecretStr],
                               info: ValidationInfo) -> list[SecretStr]:
        checks = value_checks(info)
        if checks is None:
            return value
        for i, secret in enumerate(value):
            try:
                checks.signing_secret(secret.get_secret_value())
            except ValueError as exc:
                raise ValueError(f"signing_secrets[{i}]: {exc}") from None
        return value

    @model_validator(mode="after")
    def _check(self) -> WebhookConfig:
        raise_problems(exactly_one(self, "url"))
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
    def _check_topic(cls, value: str, info: ValidationInfo) -> str:
        checks = value_checks(info)
        if checks is not None:
            checks.topic(value)
        return value

    @model_validator(mode="after")
    def _check(self) -> MqttReceiverConfig:
        raise_problems(at_most_one(self, "password"))
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
    email_configs: Unsupported = unsupported()
    opsgenie_configs: Unsupported = unsupported()
    victorops_configs: Unsupported = unsupported()
    pushover_configs: Unsupported = unsupported()
    wechat_configs: Unsupported = unsupported()
    sns_configs: Unsupported = unsupported()
    telegram_configs: Unsupported = unsupported()
    webex_configs: Unsupported = unsupported()
    msteams_configs: Unsupported = unsupported()
    msteamsv2_configs: Unsupported = unsupported()
    discord_configs: Unsupported = unsupported()
    jira_configs: Unsupported = unsupported()
    rocketchat_configs: Unsupported = unsupported()
    mattermost_configs: Unsupported = unsupported()
