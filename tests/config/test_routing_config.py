"""The routing part of alertd.yml: an alertmanager.yml loads unchanged, with Alertmanager's
defaults; what alertd does not support is named, never ignored; cross references are
checked as Alertmanager checks them; secrets stay out of messages and reprs; owners."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from alertd.config import Config, load_config, parse_config
from alertd.config.matchers import format_matcher, parse_matcher, parse_matchers
from alertd.config.owners import Owner, match_owner
from alertd.config.receivers import DEFAULT_PAGERDUTY_URL
from alertd.config.route import Route
from alertd.errors import ConfigError
from alertd.model import LabelMatcher

ALERTMANAGER_YML = """\
global:
  resolve_timeout: 10m
  slack_api_url_file: secrets/slack-url
  http_config:
    proxy_url: http://proxy.internal:3128

templates:
  - 'templates/*.tmpl'

route:
  receiver: slack-default
  group_by: ['alertname', 'cluster', 'service']
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 3h
  routes:
    - matchers:
        - severity="critical"
      receiver: pagerduty-critical
      group_wait: 0s
      continue: true
    - match_re:
        service: ^(checkout|payments)$
      receiver: team-payments
      routes:
        - match:
            severity: warning
            code: 500
          receiver: payments-webhook
    - matchers: ['{namespace=~"ml-.*", team!=data}']
      receiver: ml-slack
      group_by: ['...']
      mute_time_intervals: [weekends]
      active_time_intervals: [business-hours]

inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname, cluster]
  - source_match:
      alertname: NodeDown
    target_match_re:
      alertname: 'Node.+'
    equal: [instance]

receivers:
  - name: slack-default
    slack_configs:
      - channel: '#alerts'
        send_resolved: true
        title: '{{ .CommonLabels.alertname }}'
        text: '{{ range .Alerts }}{{ .Annotations.summary }}{{ end }}'
        icon_emoji: ':fire:'
        fields:
          - title: Severity
            value: '{{ .CommonLabels.severity }}'
            short: true
        actions:
          - type: button
            text: 'Runbook :notebook:'
            url: '{{ (index .Alerts 0).Annotations.runbook_url }}'
  - name: pagerduty-critical
    pagerduty_configs:
      - routing_key: R0UT1NG-KEY-VALUE
        severity: critical
        class: database
        group: '{{ .CommonLabels.cluster }}'
        details:
          cluster: '{{ .CommonLabels.cluster }}'
        links:
          - href: https://grafana.example.com/d/abc
            text: Dashboard
  - name: team-payments
    pagerduty_configs:
      - service_key_file: secrets/pd-service-key
        url: https://events.eu.pagerduty.com/v2/enqueue
        send_resolved: false
  - name: payments-webhook
    webhook_configs:
      - url: https://hooks.example.com/alerts?token=W3BH00K-TOKEN
        max_alerts: 10
        http_config:
          authorization:
            credentials: AUTH-CREDENTIALS
  - name: ml-slack
    slack_configs:
      - api_url: https://hooks.slack.com/services/T0/B0/SL4CK-SECRET
        channel: '#ml-alerts'
  - name: blackhole

time_intervals:
  - name: business-hours
    time_intervals:
      - times:
          - start_time: 09:00
            end_time: 17:00
        weekdays: ['monday:friday']
        location: Europe/Berlin
mute_time_intervals:
  - name: weekends
    time_intervals:
      - weekdays: [saturday, sunday]
"""

SECRETS = ("R0UT1NG-KEY-VALUE", "W3BH00K-TOKEN", "AUTH-CREDENTIALS", "SL4CK-SECRET",
           "SL4CK-FILE-SECRET", "PD-FILE-SECRET")


def write_config(tmp_path: Path, text: str = ALERTMANAGER_YML) -> str:
    (tmp_path / "secrets").mkdir(exist_ok=True)
    (tmp_path / "secrets" / "slack-url").write_text(
        "https://hooks.slack.com/services/T1/B1/SL4CK-FILE-SECRET\n")
    (tmp_path / "secrets" / "pd-service-key").write_text("PD-FILE-SECRET\n")
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    return str(path)


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "alertd.yml", env=env or {})
    return str(info.value).splitlines()


def problem(text: str, env: dict[str, str] | None = None) -> str:
    found = problems(text, env)
    assert len(found) == 1, found
    return found[0]


# --- an alertmanager.yml loads unchanged -------------------------------------------------------


def test_the_test_config_is_one_alertmanager_accepts(tmp_path: Path) -> None:
    amtool = shutil.which("amtool") or "/usr/bin/amtool"
    if not Path(amtool).exists():
        pytest.fail("amtool is not installed: run scripts/bootstrap.sh")
    result = subprocess.run([amtool, "check-config", write_config(tmp_path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_alertmanager_yml_loads_unchanged(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    config = load_config(path)
    assert config.global_.resolve_timeout == 600.0
    assert config.global_.slack_api_url_file == str(tmp_path / "secrets" / "slack-url")
    assert config.global_.pagerduty_url == DEFAULT_PAGERDUTY_URL
    assert config.global_.http_config is not None
    assert config.global_.http_config.proxy_url == "http://proxy.internal:3128"
    assert config.templates == [str(tmp_path / "templates" / "*.tmpl")]
    assert [r.name for r in config.receivers] == [
        "slack-default", "pagerduty-critical", "team-payments", "payments-webhook", "ml-slack",
        "blackhole"]

    route = config.route
    assert route.receiver == "slack-default"
    assert route.group_by == ["alertname", "cluster", "service"]
    assert (route.group_wait, route.group_interval, route.repeat_interval) == (
        30.0, 300.0, 3 * 3600.0)
    critical, payments, ml = route.routes
    assert critical.continue_ and critical.group_wait == 0.0
    assert critical.matchers == ['severity="critical"']
    assert payments.match_re == {"service": "^(checkout|payments)$"}
    assert payments.routes[0].match == {"severity": "warning", "code": "500"}
    assert ml.group_by == ["..."]
    assert [format_matcher(m) for m in ml.compiled_matchers()] == [
        'namespace=~"ml-.*"', 'team!="data"']
    assert ml.mute_time_intervals == ["weekends"]
    assert ml.active_time_intervals == ["business-hours"]

    slack = config.receivers[0].slack_configs[0]
    assert slack.send_resolved is True
    assert slack.channel == "#alerts" and slack.icon_emoji == ":fire:"
    assert slack.api_url is None  # from global at send time
    assert slack.fields[0].short is True
    assert slack.actions[0].type == "button"
    pagerduty = config.receivers[1].pagerduty_configs[0]
    assert pagerduty.send_resolved is True  # Alertmanager's default for PagerDuty
    assert pagerduty.routing_key is not None
    assert pagerduty.routing_key.get_secret_value() == "R0UT1NG-KEY-VALUE"
    assert (pagerduty.severity, pagerduty.class_, pagerduty.group) == (
        "critical", "database", "{{ .CommonLabels.cluster }}")
    assert pagerduty.details == {"cluster": "{{ .CommonLabels.cluster }}"}
    assert pagerduty.links[0].text == "Dashboard"
    assert config.receivers[2].pagerduty_configs[0].send_resolved is False
    webhook = config.receivers[3].webhook_configs[0]
    assert webhook.send_resolved is True and webhook.max_alerts == 10
    assert webhook.http_config is not None and webhook.http_config.authorization is not None
    assert webhook.http_config.authorization.type == "Bearer"
    assert config.receivers[4].slack_configs[0].send_resolved is False  # Slack's default
    assert config.receivers[5].slack_configs == []

    assert config.inhibit_rules[0].equal == ["alertname", "cluster"]
    assert [format_matcher(m) for m in config.inhibit_rules[1].compiled_target()] == [
        'alertname=~"^(?:Node.+)$"']
    business = config.time_intervals[0].time_intervals[0]
    assert business.times is not None
    assert [(t.start_minute, t.end_minute) for t in business.times] == [(540, 1020)]
    assert business.weekdays == [(1, 5)]
    assert business.location == "Europe/Berlin"
    assert config.mute_time_intervals[0].time_intervals[0].weekdays == [(6, 6), (0, 0)]


def test_secrets_stay_out_of_the_repr(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    shown = repr(config) + str(config) + str(config.model_dump())
    for secret in SECRETS:
        assert secret not in shown


def test_routing_secrets_come_from_the_environment() -> None:
    text = ("receivers:\n  - name: console\n    pagerduty_configs: [{routing_key: '${PD_KEY}'}]\n"
            "    webhook_configs: [{url: '${HOOK_URL}'}]\n")
    config = parse_config(text, env={"PD_KEY": "k3y", "HOOK_URL": "https://h.example.com/x"})
    receiver = config.receivers[0]
    key = receiver.pagerduty_configs[0].routing_key
    url = receiver.webhook_configs[0].url
    assert key is not None and key.get_secret_value() == "k3y"
    assert url is not None and url.get_secret_value() == "https://h.example.com/x"
    assert problem(text.replace("${HOOK_URL}", "${MISSING}"), {"PD_KEY": "k"}) == (
        'alertd.yml: receivers[0].webhook_configs[0].url: environment variable "MISSING" is '
        "not set")


# --- defaults ----------------------------------------------------------------------------------


def test_without_a_routing_part_every_alert_goes_to_console() -> None:
    config = Config()
    assert config.route == Route(receiver="console")
    assert [r.name for r in config.receivers] == ["console"]
    assert config.inhibit_rules == [] and config.time_intervals == [] and config.owners == []
    assert config.global_.resolve_timeout == 300.0
    assert config.global_.pagerduty_url == "https://events.pagerduty.com/v2/enqueue"
    parsed = parse_config("console: false\n")
    assert (parsed.route, parsed.receivers) == (config.route, config.receivers)


def test_a_route_alone_needs_a_receiver_named_console_or_receivers() -> None:
    assert parse_config("route: {receiver: console}\n").route.receiver == "console"
    assert problem("route: {receiver: team}\n") == (
        'alertd.yml: route.receiver: undefined receiver "team"')
    assert problem("receivers: [{name: team}]\n") == (
        'alertd.yml: route: required key missing (without it every alert goes to the receiver '
        '"console", which receivers does not define)')


def test_receiver_defaults_follow_alertmanager() -> None:
    text = """\
global: {slack_api_url: 'https://hooks.slack.com/services/x'}
route: {receiver: r}
receivers:
  - name: r
    slack_configs: [{channel: '#a'}]
    pagerduty_configs: [{routing_key: k}]
    webhook_configs: [{url: 'http://h/'}]
"""
    r = parse_config(text).receivers[0]
    slack, pagerduty, webhook = r.slack_configs[0], r.pagerduty_configs[0], r.webhook_configs[0]
    assert (slack.send_resolved, pagerduty.send_resolved, webhook.send_resolved) == (
        False, True, True)
    assert pagerduty.url is None  # global.pagerduty_url at send time
    assert webhook.max_alerts == 0
    assert slack.http_config is None and not slack.short_fields and not slack.link_names


def test_group_wait_may_be_zero_but_not_the_other_timers() -> None:
    config = parse_config("route: {receiver: console, group_wait: 0s, routes: "
                          "[{group_wait: '0'}, {group_wait: 0}]}\n")
    assert [r.group_wait for _, r in config.route.walk()] == [0.0, 0.0, 0.0]
    assert problems("route: {receiver: console, group_interval: 0s, repeat_interval: 0s}\n") == [
        "alertd.yml: route.group_interval: must be longer than 0s",
        "alertd.yml: route.repeat_interval: must be longer than 0s",
    ]
    assert problem("route: {receiver: console, group_wait: 30}\n") == (
        "alertd.yml: route.group_wait: expected a duration, got the number 30; write a "
        "duration such as 30s")
    assert problem("route: {receiver: console, repeat_interval: 1.5h}\n") == (
        'alertd.yml: route.repeat_interval: invalid duration "1.5h": fractions are not '
        "allowed; write 1h30m rather than 1.5h")


# --- what alertd does not support is named -----------------------------------------------------


@pytest.mark.parametrize("key", [
    "email_configs", "opsgenie_configs", "victorops_configs", "pushover_configs",
    "wechat_configs", "sns_configs", "telegram_configs", "webex_configs", "msteams_configs",
    "discord_configs"])
def test_other_receiver_types_are_rejected_by_name(key: str) -> None:
    text = f"route: {{receiver: a}}\nreceivers:\n  - name: console\n  - name: b\n  - name: a\n" \
           f"    {key}: [{{to: someone}}]\n"
    assert problem(text) == (
        f"alertd.yml: receivers[2].{key}: not supported by alertd (supported: slack_configs, "
        "pagerduty_configs, webhook_configs, mqtt_configs)")


def test_unsupported_global_keys_are_named_under_global() -> None:
    text = ("global:\n  smtp_smarthost: 'mail:25'\n  opsgenie_api_key: k\n  slack_api_urll: x\n"
            "  http_config: {oauth2: {client_id: x}}\n")
    assert problems(text) == [
        "alertd.yml: global.http_config.oauth2: not supported by alertd (use authorization, "
        "basic_auth or bearer_token)",
        "alertd.yml: global.smtp_smarthost: not supported by alertd (alertd has no email "
        "receiver)",
        "alertd.yml: global.opsgenie_api_key: not supported by alertd (alertd has no OpsGenie "
        "receiver)",
        'alertd.yml: global.slack_api_urll: unknown key (did you mean "slack_api_url"?)',
    ]


def test_unknown_keys_are_named_with_a_suggestion() -> None:
    text = ("route:\n  receiver: console\n  routes:\n    - {matcher: [a=b], contine: true}\n"
            "receivers:\n  - name: console\n    slack_config: []\n"
            "    webhook_configs: [{url: 'http://h/', send_resolve: true}]\n")
    assert problems(text) == [
        'alertd.yml: route.routes[0].matcher: unknown key (did you mean "matchers"?)',
        'alertd.yml: route.routes[0].contine: unknown key (did you mean "continue"?)',
        'alertd.yml: receivers[0].webhook_configs[0].send_resolve: unknown key (did you mean '
        '"send_resolved"?)',
        'alertd.yml: receivers[0].slack_config: unknown key (did you mean "slack_configs"?)',
    ]


def test_aliased_keys_are_named_as_written() -> None:
    assert problem("global: {resolve_timeout: 0s}\n") == (
        "alertd.yml: global.resolve_timeout: must be longer than 0s")
    assert problem("route: {receiver: console, continue: 1}\n") == (
        "alertd.yml: route.continue: expected true or false, got the number 1")
    text = "receivers: [{name: console, pagerduty_configs: [{routing_key: k, class: [x]}]}]\n"
    assert problem(text) == (
        "alertd.yml: receivers[0].pagerduty_configs[0].class: expected a string, got a list")


# --- checks within one key ---------------------------------------------------------------------


def test_matcher_errors_name_the_item() -> None:
    text = ("route:\n  receiver: console\n  routes:\n"
            "    - matchers: ['a=b', 'not a matcher', 'c=~\"((\"', 'd=\"x\"y\"']\n")
    found = problems(text)
    assert found[0] == (
        'alertd.yml: route.routes[0].matchers[1]: invalid matcher "not a matcher": write '
        'name="value", name!="value", name=~"regex" or name!~"regex"')
    assert found[1] == (
        'alertd.yml: route.routes[0].matchers[2]: the regular expression of matcher '
        '"c=~"((\"" is invalid: missing ): `((`')
    assert found[2] == (
        'alertd.yml: route.routes[0].matchers[3]: invalid matcher "d="x"y"": a double quote '
        'inside the value must be escaped as \\"')
    assert len(found) == 3


def test_group_by_checks() -> None:
    text = "route: {receiver: console, group_by: ['...', alertname, bad-name, alertname]}\n"
    assert problems(text) == [
        "alertd.yml: route.group_by: '...' (group by every label) cannot be combined with "
        "other labels",
        'alertd.yml: route.group_by: "bad-name" is not a valid label name',
        'alertd.yml: route.group_by: label "alertname" is listed twice',
    ]


def test_deprecated_match_maps_check_names_and_regexes() -> None:
    text = ("route: {receiver: console, routes: [{match: {bad-name: x}, match_re: {a: '(('}}]}\n"
            "inhibit_rules: [{source_match: {1x: y}, equal: [ok, not-ok]}]\n")
    found = problems(text)
    assert found[0] == 'alertd.yml: route.routes[0].match: "bad-name" is not a valid label name'
    assert found[1].startswith('alertd.yml: route.routes[0].match_re: the regular expression '
                               'of "a" "((" is invalid: ')
    assert found[2:] == [
        'alertd.yml: inhibit_rules[0].source_match: "1x" is not a valid label name',
        'alertd.yml: inhibit_rules[0].equal[1]: "not-ok" is not a valid label name',
    ]


def test_receiver_config_checks() -> None:
    text = """\
receivers:
  - name: console
    pagerduty_configs:
      - {severity: critical}
      - {routing_key: a, routing_key_file: /dev/null}
    webhook_configs:
      - {max_alerts: 1}
      - {url: 'ftp://host/x'}
      - {url: 'http://h/', max_alerts: -1}
    slack_configs:
      - api_url: 'not a url'
        actions: [{type: button, text: Ack}]
"""
    assert problems(text) == [
        "alertd.yml: receivers[0].slack_configs[0].api_url: invalid URL: the scheme must be "
        "http or https",
        "alertd.yml: receivers[0].slack_configs[0].actions[0]: set url (a link button) or "
        "name (a message action)",
        "alertd.yml: receivers[0].pagerduty_configs[0]: set one of routing_key, "
        "routing_key_file, service_key and service_key_file",
        'alertd.yml: receivers[0].pagerduty_configs[1].routing_key_file: "/dev/null" is empty',
        "alertd.yml: receivers[0].webhook_configs[0]: set exactly one of url and url_file",
        "alertd.yml: receivers[0].webhook_configs[1].url: invalid URL: the scheme must be "
        "http or https",
        "alertd.yml: receivers[0].webhook_configs[2].max_alerts: must be at least 0, got -1",
    ]


def test_http_config_checks() -> None:
    text = """\
global:
  http_config:
    bearer_token: t
    basic_auth: {username: u, password: p, password_file: /dev/null}
    authorization: {type: Basic, credentials: c}
    proxy_url: 'socks://x'
"""
    assert problems(text) == [
        "alertd.yml: global.http_config.basic_auth.password_file: \"/dev/null\" is empty",
        'alertd.yml: global.http_config.authorization: type cannot be "Basic": use basic_auth '
        "instead",
        'alertd.yml: global.http_config.proxy_url: invalid URL "socks://x": the scheme must be '
        "http or https",
    ]
    text = "global: {http_config: {bearer_token: t, basic_auth: {username: u}}}\n"
    assert problem(text) == (
        "alertd.yml: global.http_config: set at most one of basic_auth, authorization, "
        "bearer_token and bearer_token_file (found basic_auth and bearer_token)")


def test_time_interval_checks() -> None:
    text = """\
time_intervals:
  - name: x
    time_intervals:
      - times: [{start_time: '17:00', end_time: '09:00'}, {start_time: '9:00', end_time: '25:00'}]
        weekdays: ['friday:monday', funday, 'monday:tuesday:friday']
        days_of_month: ['0', '-1:5', '10:3', '-32']
        months: ['march:january', 13, smarch]
        years: ['2022:2020']
        location: Nowhere/City
  - {time_intervals: []}
"""
    assert problems(text) == [
        "alertd.yml: time_intervals[0].time_intervals[0].times[0]: start_time 17:00 must be "
        "before end_time 09:00",
        'alertd.yml: time_intervals[0].time_intervals[0].times[1]: invalid time "9:00": write '
        "HH:MM, from 00:00 to 24:00",
        'alertd.yml: time_intervals[0].time_intervals[0].weekdays[0]: "friday:monday": the '
        "range must not wrap past saturday; write two ranges, such as saturday and sunday",
        'alertd.yml: time_intervals[0].time_intervals[0].weekdays[1]: "funday" is not a day of '
        'the week (did you mean "sunday"?)',
        'alertd.yml: time_intervals[0].time_intervals[0].weekdays[2]: invalid range '
        '"monday:tuesday:friday": write one value or start:end',
        "alertd.yml: time_intervals[0].time_intervals[0].days_of_month[0]: 0 is not a day of "
        "the month: write 1 to 31, or -1 (the last day) to -31",
        'alertd.yml: time_intervals[0].time_intervals[0].days_of_month[1]: "-1:5": the end day '
        "must be negative when the start day is",
        'alertd.yml: time_intervals[0].time_intervals[0].days_of_month[2]: "10:3": the end day '
        "is always before the start day",
        "alertd.yml: time_intervals[0].time_intervals[0].days_of_month[3]: -32 is not a day of "
        "the month: write 1 to 31, or -1 (the last day) to -31",
        'alertd.yml: time_intervals[0].time_intervals[0].months[0]: "march:january": the end '
        "month is before the start month",
        'alertd.yml: time_intervals[0].time_intervals[0].months[1]: "13" is not a month: write '
        "january to december, or 1 to 12",
        'alertd.yml: time_intervals[0].time_intervals[0].months[2]: "smarch" is not a month: '
        'write january to december, or 1 to 12 (did you mean "march"?)',
        'alertd.yml: time_intervals[0].time_intervals[0].years[0]: "2022:2020": the end year '
        "is before the start year",
        'alertd.yml: time_intervals[0].time_intervals[0].location: unknown time zone '
        '"Nowhere/City": write an IANA name such as Europe/Berlin, or UTC',
        "alertd.yml: time_intervals[1].name: required key missing",
    ]


def test_unquoted_times_and_ranges_read_as_alertmanager_reads_them() -> None:
    # YAML 1.1 reads 17:00 and 1:5 as base-60 numbers; Alertmanager reads them as text.
    text = ("time_intervals:\n  - name: x\n    time_intervals:\n"
            "      - times: [{start_time: 08:30, end_time: 17:45}]\n"
            "        days_of_month:\n          - 1:5\n          - 20\n"
            "        months:\n          - 1:3\n          - 7\n")
    spec = parse_config(text).time_intervals[0].time_intervals[0]
    assert spec.times is not None
    assert [(t.start_time, t.end_time) for t in spec.times] == [("08:30", "17:45")]
    assert spec.days_of_month == [(1, 5), (20, 20)]
    assert spec.months == [(1, 3), (7, 7)]


# --- cross references --------------------------------------------------------------------------


def test_cross_references_are_checked_as_alertmanager_checks_them() -> None:
    text = """\
route:
  receiver: slack
  continue: true
  matchers: [a=b]
  mute_time_intervals: [nights]
  routes:
    - receiver: pagr
      active_time_intervals: [weekdayz]
      routes:
        - {receiver: slack, mute_time_intervals: [nights, holidays]}
receivers:
  - name: slack
    slack_configs: [{channel: '#x'}]
  - name: pager
  - name: slack
time_intervals:
  - {name: nights}
  - {name: weekdays}
mute_time_intervals:
  - {name: nights}
owners:
  - {name: ml}
  - {name: ml}
"""
    assert problems(text) == [
        'alertd.yml: receivers[2].name: receiver "slack" is defined twice (first at '
        "receivers[0])",
        'alertd.yml: mute_time_intervals[0].name: time interval "nights" is defined twice '
        "(first at time_intervals[0])",
        'alertd.yml: owners[1].name: owner "ml" is defined twice (first at owners[0])',
        "alertd.yml: receivers[0].slack_configs[0]: set app_token (a bot token) or api_url "
        "(an incoming webhook), here or in global (slack_app_token, slack_api_url, or their "
        "_file keys)",
        "alertd.yml: route.matchers: the root route must not have matchers (it takes every "
        "alert)",
        "alertd.yml: route.continue: the root route cannot have continue",
        "alertd.yml: route.mute_time_intervals: the root route cannot have time intervals; "
        "set them on a child route",
        'alertd.yml: route.routes[0].receiver: undefined receiver "pagr" (did you mean '
        '"pager"?)',
        'alertd.yml: route.routes[0].active_time_intervals[0]: undefined time interval '
        '"weekdayz" (did you mean "weekdays"?)',
        'alertd.yml: route.routes[0].routes[0].mute_time_intervals[1]: undefined time '
        'interval "holidays"',
    ]


def test_the_root_route_needs_a_receiver() -> None:
    assert problem("route: {group_by: [a]}\n") == (
        "alertd.yml: route.receiver: required key missing (the root route must name the "
        "receiver of the alerts no other route takes)")


def test_a_global_slack_url_serves_every_slack_config() -> None:
    text = ("global: {slack_api_url: '${SLACK_URL}'}\n"
            "receivers: [{name: console, slack_configs: [{channel: '#a'}]}]\n")
    config = parse_config(text, env={"SLACK_URL": "https://hooks.slack.com/services/x"})
    assert config.global_.slack_api_url is not None
    assert problem("global: {slack_api_url: 'https://h/', slack_api_url_file: /dev/null}\n") \
        == 'alertd.yml: global.slack_api_url_file: "/dev/null" is empty'


# --- secrets never appear in messages ----------------------------------------------------------


def test_secrets_are_not_repeated_in_messages() -> None:
    text = """\
global: {slack_api_url: 'ftp://SL4CK-SECRET'}
receivers:
  - name: console
    slack_configs: [{api_url: 'SL4CK-SECRET'}]
    pagerduty_configs: [{routing_key: 12345}]
    webhook_configs: [{url: 'gopher://W3BH00K-TOKEN'}]
"""
    found = "\n".join(problems(text))
    for secret in ("SL4CK-SECRET", "W3BH00K-TOKEN", "12345"):
        assert secret not in found
    assert "receivers[0].pagerduty_configs[0].routing_key: expected a string, got a number" \
        in found


# --- matchers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ('alertname="Watchdog"', [("alertname", "=", "Watchdog")]),
    ("severity=~page|critical", [("severity", "=~", "page|critical")]),
    ("team!=ml", [("team", "!=", "ml")]),
    ('  team !~ "a|b"  ', [("team", "!~", "a|b")]),
    ('{a="b", c=~"d"}', [("a", "=", "b"), ("c", "=~", "d")]),
    ('a="x,y",b=z', [("a", "=", "x,y"), ("b", "=", "z")]),
    (r'a="say \"hi\"\n", b="back\\slash"', [("a", "=", 'say "hi"\n'), ("b", "=", "back\\slash")]),
    (r'a="\d+"', [("a", "=", r"\d+")]),  # a spurious escape is kept
    ("a=", [("a", "=", "")]),
    ("a==b,", [("a", "=", "=b")]),
    ("__name__:x=y", [("__name__:x", "=", "y")]),
])
def test_matchers_parse_as_in_alertmanager(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert parse_matchers(text) == [LabelMatcher(*m) for m in expected]


@pytest.mark.parametrize("text", ["a", "=b", '1a="b"', 'a="b', 'a="b"c"', "a=b,,c=d"])
def test_bad_matchers_are_errors(text: str) -> None:
    with pytest.raises(ValueError, match="invalid matcher"):
        parse_matchers(text)


def test_format_matcher_round_trips() -> None:
    for value in ["plain", 'quote"d', "new\nline", "back\\slash", "a|b.*"]:
        for op in ("=", "!=", "=~", "!~"):
            if op in ("=~", "!~") and value == "back\\slash":
                continue
            m = LabelMatcher("name", op, value)
            assert parse_matcher(format_matcher(m)) == m


# --- owners ------------------------------------------------------------------------------------


def test_owners_map_matchers_to_teams() -> None:
    text = """\
owners:
  - name: ml-platform
    matchers: ['service=~"churn|fraud"', 'env!=dev']
    slack_channel: '#ml-oncall'
    slack_handle: '@ml-oncall'
    pagerduty_routing_key: ${ML_PD_KEY}
    runbook_base_url: https://runbooks.example.com/ml
  - name: platform
    runbook_base_url: https://runbooks.example.com/platform/
"""
    config = parse_config(text, env={"ML_PD_KEY": "PD-ML-KEY"})
    ml, platform = config.owners
    assert ml.slack_channel == "#ml-oncall" and ml.slack_handle == "@ml-oncall"
    assert ml.pagerduty_routing_key is not None
    assert ml.pagerduty_routing_key.get_secret_value() == "PD-ML-KEY"
    assert "PD-ML-KEY" not in repr(config)
    assert match_owner(config.owners, {"service": "churn", "env": "prod"}) == (0, ml)
    assert match_owner(config.owners, {"service": "churn", "env": "dev"}) == (1, platform)
    assert match_owner([ml], {"service": "ads"}) is None
    assert ml.runbook_url("ChurnLatencyHigh") == (
        "https://runbooks.example.com/ml/ChurnLatencyHigh")
    assert platform.runbook_url("Disk Full") == (
        "https://runbooks.example.com/platform/Disk%20Full")
    assert Owner(name="x").runbook_url("A") is None


def test_owner_checks() -> None:
    text = ("owners:\n  - {name: a, matchers: ['x y'], runbook_base_url: 'runbooks/a',"
            " team: a}\n  - {matchers: [a=b]}\n")
    assert problems(text) == [
        'alertd.yml: owners[0].matchers[0]: invalid matcher "x y": write name="value", '
        'name!="value", name=~"regex" or name!~"regex"',
        'alertd.yml: owners[0].runbook_base_url: invalid URL "runbooks/a": the scheme must be '
        "http or https",
        "alertd.yml: owners[0].team: unknown key",
        "alertd.yml: owners[1].name: required key missing",
    ]
