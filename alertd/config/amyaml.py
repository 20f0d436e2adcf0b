"""The routing part of a config written back as Alertmanager YAML.

`GET /api/v2/status` answers it as `config.original`, which `amtool` parses with
Alertmanager's own loader (`amtool config routes test` without `--config.file` does). So the
text must be a config Alertmanager 0.25 accepts, routing exactly as alertd does. As in
Alertmanager's own answer, values Alertmanager already fills in are written out (the global
`http_config`, Slack URL and PagerDuty URL on each receiver config) and secrets are written
as `<secret>`; file paths (`*_file`) are not secrets and are kept. A webhook URL, which
Alertmanager 0.25 parses as a plain URL where `<secret>` is not one, is written as
`https://<secret>` (with the scheme of the URL when it is given inline). alertd's own keys
(`owners` and everything outside the routing part) are left out.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import yaml

from alertd.config.http import HTTPConfig
from alertd.config.matchers import format_matcher, parse_matchers, sort_matchers
from alertd.config.model import Config
from alertd.config.receivers import (
    GlobalConfig,
    PagerdutyConfig,
    Receiver,
    SlackConfig,
    WebhookConfig,
)
from alertd.config.route import InhibitRule, Route
from alertd.config.time_intervals import NamedTimeInterval
from alertd.config.types import TLSConfig
from alertd.durations import format_duration

__all__ = ["SECRET", "to_alertmanager_yaml"]

SECRET = "<secret>"

# Plain scalars that Alertmanager's YAML library (YAML 1.1) would not read as strings, and
# that PyYAML's own resolver does not quote.
_GO_YAML_NOT_STRINGS = frozenset({"y", "Y", "n", "N", "<<"})

# Message fields of a Slack config, written when set, in Alertmanager's order.
_SLACK_TEXT = ("channel", "username", "color", "title", "title_link", "pretext", "text")
_SLACK_MORE = ("footer", "fallback", "callback_id", "icon_emoji", "icon_url", "image_url",
               "thumb_url")
_PAGERDUTY_TEXT = ("client", "client_url", "description")
_PAGERDUTY_MORE = ("source", "severity", "class_", "component", "group")


def to_alertmanager_yaml(config: Config) -> str:
    """`config`'s global, route, inhibit_rules, receivers, templates, mute_time_intervals
    and time_intervals as Alertmanager YAML, secrets written as `<secret>`."""
    doc: dict[str, Any] = {
        "global": _global(config.global_),
        "route": _route(config.route),
    }
    if config.inhibit_rules:
        doc["inhibit_rules"] = [_inhibit_rule(rule) for rule in config.inhibit_rules]
    doc["receivers"] = [_receiver(r, config.global_) for r in config.receivers]
    if config.templates:
        doc["templates"] = list(config.templates)
    if config.mute_time_intervals:
        doc["mute_time_intervals"] = [_interval(t) for t in config.mute_time_intervals]
    if config.time_intervals:
        doc["time_intervals"] = [_interval(t) for t in config.time_intervals]
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100)


class _Dumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if value in _GO_YAML_NOT_STRINGS else "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _global(g: GlobalConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"resolve_timeout": format_duration(g.resolve_timeout)}
    if g.http_config is not None:
        out["http_config"] = _http(g.http_config)
    if g.slack_api_url is not None:
        out["slack_api_url"] = SECRET
    if g.slack_api_url_file is not None:
        out["slack_api_url_file"] = g.slack_api_url_file
    out["pagerduty_url"] = g.pagerduty_url
    return out


def _http(h: HTTPConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if h.basic_auth is not None:
        auth: dict[str, Any] = {"username": h.basic_auth.username}
        if h.basic_auth.password is not None:
            auth["password"] = SECRET
        if h.basic_auth.password_file is not None:
            auth["password_file"] = h.basic_auth.password_file
        out["basic_auth"] = auth
    # Alertmanager writes a bearer token as the authorization it stands for.
    kind, credentials, credentials_file = (
        (h.authorization.type, h.authorization.credentials, h.authorization.credentials_file)
        if h.authorization is not None else ("Bearer", h.bearer_token, h.bearer_token_file))
    if h.authorization is not None or credentials is not None or credentials_file is not None:
        authorization: dict[str, Any] = {"type": kind}
        if credentials is not None:
            authorization["credentials"] = SECRET
        if credentials_file is not None:
            authorization["credentials_file"] = credentials_file
        out["authorization"] = authorization
    if h.tls_config is not None:
        out["tls_config"] = _tls(h.tls_config)
    if h.proxy_url is not None:
        out["proxy_url"] = h.proxy_url
    out["follow_redirects"] = h.follow_redirects
    out["enable_http2"] = h.enable_http2
    return out


def _tls(t: TLSConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("ca_file", "cert_file", "key_file", "server_name"):
        if getattr(t, key) is not None:
            out[key] = getattr(t, key)
    out["insecure_skip_verify"] = t.insecure_skip_verify
    return out


def _matchers(texts: list[str]) -> list[str]:
    parsed = [m for text in texts for m in parse_matchers(text)]
    return [format_matcher(m) for m in sort_matchers(parsed)]


def _route(r: Route) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if r.receiver:
        out["receiver"] = r.receiver
    if r.group_by is not None:
        out["group_by"] = list(r.group_by)
    out["continue"] = r.continue_
    out.update(_route_matchers(r))
    for key in ("mute_time_intervals", "active_time_intervals"):
        if getattr(r, key):
            out[key] = list(getattr(r, key))
    for key in ("group_wait", "group_interval", "repeat_interval"):
        value = getattr(r, key)
        if value is not None:
            out[key] = format_duration(value)
    if r.routes:
        out["routes"] = [_route(child) for child in r.routes]
    return out


def _route_matchers(r: Route) -> dict[str, Any]:
    """A route's matchers, each way of writing them kept (Alertmanager reads all three)."""
    out: dict[str, Any] = {}
    if r.match:
        out["match"] = dict(r.match)
    if r.match_re:
        out["match_re"] = dict(r.match_re)
    if r.matchers:
        out["matchers"] = _matchers(r.matchers)
    return out


def _inhibit_rule(rule: InhibitRule) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for side in ("source", "target"):
        if getattr(rule, f"{side}_match"):
            out[f"{side}_match"] = dict(getattr(rule, f"{side}_match"))
        if getattr(rule, f"{side}_match_re"):
            out[f"{side}_match_re"] = dict(getattr(rule, f"{side}_match_re"))
        if getattr(rule, f"{side}_matchers"):
            out[f"{side}_matchers"] = _matchers(getattr(rule, f"{side}_matchers"))
    if rule.equal:
        out["equal"] = list(rule.equal)
    return out


def _receiver(r: Receiver, g: GlobalConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"name": r.name}
    if r.slack_configs:
        out["slack_configs"] = [_slack(c, g) for c in r.slack_configs]
    if r.pagerduty_configs:
        out["pagerduty_configs"] = [_pagerduty(c, g) for c in r.pagerduty_configs]
    if r.webhook_configs:
        out["webhook_configs"] = [_webhook(c, g) for c in r.webhook_configs]
    return out


def _common(send_resolved: bool, own: HTTPConfig | None, g: GlobalConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"send_resolved": send_resolved}
    http = own if own is not None else g.http_config
    if http is not None:
        out["http_config"] = _http(http)
    return out


def _set(out: dict[str, Any], config: object, keys: tuple[str, ...]) -> None:
    for key in keys:
        value = getattr(config, key)
        if value is not None:
            out[key.rstrip("_")] = value


def _slack(c: SlackConfig, g: GlobalConfig) -> dict[str, Any]:
    out = _common(c.send_resolved, c.http_config, g)
    if c.api_url is not None or c.api_url_file is not None:
        url, url_file = c.api_url, c.api_url_file
    else:
        url, url_file = g.slack_api_url, g.slack_api_url_file
    bot = any(v is not None for v in (c.app_token, c.app_token_file, g.slack_app_token,
                                      g.slack_app_token_file))
    if url is not None or (url_file is None and bot):
        # A bot token is alertd's; Alertmanager's own check still wants a URL to be set.
        out["api_url"] = SECRET
    if url_file is not None:
        out["api_url_file"] = url_file
    _set(out, c, _SLACK_TEXT)
    if c.fields:
        out["fields"] = [f.model_dump(exclude_none=True) for f in c.fields]
    out["short_fields"] = c.short_fields
    _set(out, c, _SLACK_MORE)
    out["link_names"] = c.link_names
    if c.mrkdwn_in:
        out["mrkdwn_in"] = list(c.mrkdwn_in)
    if c.actions:
        out["actions"] = [a.model_dump(exclude_none=True) for a in c.actions]
    return out


def _pagerduty(c: PagerdutyConfig, g: GlobalConfig) -> dict[str, Any]:
    out = _common(c.send_resolved, c.http_config, g)
    for key in ("routing_key", "service_key"):
        if getattr(c, key) is not None:
            out[key] = SECRET
        if getattr(c, f"{key}_file") is not None:
            out[f"{key}_file"] = getattr(c, f"{key}_file")
    out["url"] = c.url if c.url is not None else g.pagerduty_url
    _set(out, c, _PAGERDUTY_TEXT)
    if c.details is not None:
        out["details"] = dict(c.details)
    if c.images:
        out["images"] = [i.model_dump(exclude_none=True) for i in c.images]
    if c.links:
        out["links"] = [link.model_dump(exclude_none=True) for link in c.links]
    _set(out, c, _PAGERDUTY_MORE)
    return out


def _webhook(c: WebhookConfig, g: GlobalConfig) -> dict[str, Any]:
    out = _common(c.send_resolved, c.http_config, g)
    scheme = urlsplit(c.url.get_secret_value()).scheme if c.url is not None else "https"
    out["url"] = f"{scheme}://{SECRET}"
    out["max_alerts"] = c.max_alerts
    return out


def _interval(t: NamedTimeInterval) -> dict[str, Any]:
    return {"name": t.name,
            "time_intervals": [spec.model_dump(exclude_none=True) for spec in t.time_intervals]}
