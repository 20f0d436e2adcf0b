"""Against Alertmanager's own amtool (Debian's prometheus-alertmanager): the YAML alertd writes
for `GET /api/v2/status` passes `amtool check-config`, and `amtool config routes test`
finds the same receivers and the same routes as alertd, both from the user's file and from
alertd's rendering of it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from alertd.config import Config, load_config
from alertd.config.amyaml import SECRET, to_alertmanager_yaml
from alertd.dispatch.route import Route
from alertd.dispatch.routes_cli import routes_test

CONFIG = r"""
global:
  resolve_timeout: 2m
  slack_api_url: https://hooks.slack.com/services/T0/B0/GL0BAL-SL4CK
  http_config:
    basic_auth: {username: alertd, password: HTTP-PASSW0RD}

route:
  receiver: default
  group_by: [alertname, cluster]
  group_wait: 45s
  routes:
    - matchers: [severity="page"]
      receiver: pager
      continue: true
      group_wait: 0s
      routes:
        - matchers: ['team=~"ml|data"', 'env!="staging"']
          receiver: ml-pager
        - matchers: [team!~"ml|data"]
          receiver: infra-pager
          continue: true
        - match: {service: db}
          receiver: db-pager
    - matchers: ['{owner="ml-platform", alertname!="Watchdog"}']
      receiver: ml-slack
      group_by: ['...']
      mute_time_intervals: [nights]
      routes:
        - matchers: [env=""]
          receiver: ml-unknown-env
        - matchers: ['model=~"churn-v[0-9]+"']
          receiver: churn-webhook
          group_by: [model]
          active_time_intervals: [office]
    - match_re: {service: 'api|web.*'}
      receiver: web
      continue: true
    - matchers: ['msg="hello \"world\""']
      receiver: hello
    - matchers: [team=~".+"]
      repeat_interval: 12h
      routes:
        - {receiver: catchall-team}

inhibit_rules:
  - source_matchers: [severity="page"]
    target_matchers: [severity="ticket"]
    equal: [alertname, cluster]
  - source_match: {alertname: ClusterDown}
    target_match_re: {alertname: '.+'}
    equal: [cluster]

receivers:
  - name: default
  - name: pager
    pagerduty_configs:
      - routing_key: PD-R0UT1NG
        severity: critical
        class: ml
        details: {runbook: '{{ .CommonAnnotations.runbook_url }}'}
  - name: ml-pager
    pagerduty_configs:
      - service_key: PD-S3RV1CE
        url: https://events.eu.pagerduty.com/generic/2010-04-15/create_event.json
  - name: infra-pager
    pagerduty_configs:
      - routing_key_file: secrets/pd-key
  - name: db-pager
    webhook_configs:
      - url: https://db-oncall.example.com/hook?token=W3BH00K
        max_alerts: 5
        send_resolved: false
  - name: ml-slack
    slack_configs:
      - channel: '#ml-alerts'
        send_resolved: true
        title: '{{ .CommonLabels.alertname }} on {{ .CommonLabels.model }}'
        text: "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}"
        actions:
          - {type: button, text: Runbook, url: '{{ .CommonAnnotations.runbook_url }}'}
  - name: ml-unknown-env
    slack_configs:
      - api_url_file: secrets/slack-url
        channel: '#ml-triage'
        http_config:
          authorization: {credentials_file: secrets/token}
  - name: churn-webhook
    webhook_configs:
      - url: http://churn.internal:8080/alerts
        http_config:
          bearer_token: B3AR3R
          proxy_url: http://proxy.internal:3128
  - name: web
    webhook_configs:
      - url: https://web.example.com/W3B-T0KEN
  - name: hello
  - name: catchall-team

time_intervals:
  - name: office
    time_intervals:
      - times: [{start_time: 08:00, end_time: 18:30}]
        weekdays: ['monday:friday']
        days_of_month: ['1:10', '-5:-1']
        months: ['january:june', '9']
        years: ['2024:2030']
        location: Europe/Paris
mute_time_intervals:
  - name: nights
    time_intervals:
      - times: [{start_time: '22:00', end_time: '24:00'}, {start_time: '00:00', end_time: '07:00'}]
"""

SECRETS = ("GL0BAL-SL4CK", "HTTP-PASSW0RD", "PD-R0UT1NG", "PD-S3RV1CE", "W3BH00K", "B3AR3R",
           "FILE-PD-KEY", "FILE-SL4CK", "FILE-T0KEN", "W3B-T0KEN")

LABEL_SETS: list[dict[str, str]] = [
    {},
    {"alertname": "Latency", "severity": "page", "team": "ml", "env": "prod"},
    {"alertname": "Latency", "severity": "page", "team": "ml", "env": "staging"},
    {"severity": "page", "team": "infra"},
    {"severity": "page", "team": "infra", "service": "db"},
    {"severity": "page", "service": "db"},
    {"owner": "ml-platform", "alertname": "Drift"},
    {"owner": "ml-platform", "alertname": "Drift", "env": "prod", "model": "churn-v2"},
    {"owner": "ml-platform", "alertname": "Drift", "env": "prod", "model": "churn-vX"},
    {"owner": "ml-platform", "alertname": "Watchdog"},
    {"service": "web-frontend"},
    {"service": "api", "msg": 'hello "world"'},
    {"service": "apix"},
    {"team": "data", "severity": "page", "env": "prod", "owner": "ml-platform"},
    {"team": "search", "cluster": "eu-1"},
]


@dataclass(frozen=True)
class Files:
    config: Config
    original: str  # the user's alertmanager.yml
    rendered: str  # alertd's Alertmanager YAML of it
    rendered_text: str


@pytest.fixture(scope="module")
def amtool() -> str:
    path = shutil.which("amtool") or "/usr/bin/amtool"
    if not os.access(path, os.X_OK):
        pytest.fail("amtool (Debian package prometheus-alertmanager) is not installed: "
                    "run scripts/bootstrap.sh")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    base = tmp_path_factory.mktemp("am")
    secrets = base / "secrets"
    secrets.mkdir()
    (secrets / "pd-key").write_text("FILE-PD-KEY\n")
    (secrets / "slack-url").write_text("https://hooks.slack.com/services/FILE-SL4CK\n")
    (secrets / "token").write_text("FILE-T0KEN\n")
    original = base / "alertmanager.yml"
    original.write_text(CONFIG)
    config = load_config(str(original))
    text = to_alertmanager_yaml(config)
    rendered = base / "rendered.yml"
    rendered.write_text(text)
    return Files(config, str(original), str(rendered), text)


def run(amtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([amtool, *args], capture_output=True, text=True, check=False,
                          timeout=60)


def label_args(labels: dict[str, str]) -> list[str]:
    return [f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
            for k, v in labels.items()]


def amtool_receivers(amtool: str, path: str, labels: dict[str, str]) -> list[str]:
    result = run(amtool, "config", "routes", "test", f"--config.file={path}",
                 *label_args(labels))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()[-1].split(",")


# --- check-config ------------------------------------------------------------------------------


def test_amtool_accepts_the_rendered_yaml(amtool: str, files: Files) -> None:
    for path in (files.original, files.rendered):
        result = run(amtool, "check-config", path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "SUCCESS" in result.stdout
        assert " - 2 inhibit rules" in result.stdout
        assert " - 11 receivers" in result.stdout


def test_amtool_accepts_the_default_config(amtool: str, tmp_path: Path) -> None:
    path = tmp_path / "default.yml"
    path.write_text(to_alertmanager_yaml(Config()))
    result = run(amtool, "check-config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertd_only_keys_are_written_as_alertmanager_reads_them(amtool: str,
                                                                 tmp_path: Path) -> None:
    # Alertmanager 0.25 has no webhook url_file and no ${NAME} expansion.
    (tmp_path / "hook-url").write_text("https://hooks.example.com/FILE-W3B\n")
    (tmp_path / "alertd.yml").write_text(
        "owners: [{name: ml, matchers: [team=ml], slack_channel: '#ml'}]\n"
        "receivers:\n  - name: console\n    webhook_configs:\n"
        "      - url_file: hook-url\n      - url: ${HOOK}\n")
    config = load_config(str(tmp_path / "alertd.yml"), env={"HOOK": "http://h.example.com/E"})
    text = to_alertmanager_yaml(config)
    assert "FILE-W3B" not in text and "h.example.com" not in text
    assert text.count(f"url: https://{SECRET}") == 1 and text.count(f"url: http://{SECRET}") == 1
    path = tmp_path / "rendered.yml"
    path.write_text(text)
    result = run(amtool, "check-config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_secrets_are_written_as_secret(files: Files) -> None:
    for secret in SECRETS:
        assert secret not in files.rendered_text
    text = files.rendered_text
    assert f"slack_api_url: {SECRET}" in text
    assert f"routing_key: {SECRET}" in text and f"service_key: {SECRET}" in text
    assert f"password: {SECRET}" in text and f"credentials: {SECRET}" in text
    assert f"url: https://{SECRET}" in text and f"url: http://{SECRET}" in text
    assert "routing_key_file: " in text and "credentials_file: " in text
    assert "owners" not in text and "sources" not in text


# --- routes test -------------------------------------------------------------------------------


@pytest.mark.parametrize("labels", LABEL_SETS, ids=lambda ls: ",".join(f"{k}={v}" for k, v in
                                                                       ls.items()) or "none")
def test_amtool_finds_the_same_receivers(amtool: str, files: Files,
                                         labels: dict[str, str]) -> None:
    ours, _ = routes_test(files.config, labels)
    assert amtool_receivers(amtool, files.original, labels) == ours
    assert amtool_receivers(amtool, files.rendered, labels) == ours
    verify = run(amtool, "config", "routes", "test", f"--config.file={files.rendered}",
                 f"--verify.receivers={','.join(ours)}", *label_args(labels))
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_the_label_sets_cover_every_kind_of_routing(files: Files) -> None:
    """The comparison above is worth something only if it exercises continue, nested
    routes, every matcher operator and the deprecated matchers."""
    root = Route.from_config(files.config.route)
    matched = [root.match(labels) for labels in LABEL_SETS]
    assert len({tuple(r.receiver for r in m) for m in matched}) >= 10
    assert any(len(m) >= 3 for m in matched)  # continue at two levels
    used = {(m.op) for routes in matched for r in routes for m in r.matchers}
    assert used >= {"=", "!=", "=~"}
    paths = {r.path for routes in matched for r in routes}
    assert {"route", "route.routes[0]", "route.routes[0].routes[2]",  # match
            "route.routes[2]", "route.routes[3]",  # match_re, escaped quotes
            "route.routes[0].routes[1]",  # !~
            "route.routes[1].routes[0]"} <= paths  # a matcher on a missing label


# The drawing indents with spaces, no-break spaces and "│"; each level is 4 characters.
_TREE_LINE = re.compile(r"^([ \u00a0│]*)[├└]── (.*)$")


def tree_nodes(output: str) -> list[tuple[int, str, bool, str | None]]:
    """(depth, matchers, continue, receiver) per line of amtool's tree drawing; a route
    without matchers is drawn as "default-route"."""
    nodes = []
    for line in output.splitlines():
        found = _TREE_LINE.match(line)
        if found is None:
            continue
        parts = found[2].split("  ")
        receiver = next((p[len("receiver: "):] for p in parts if p.startswith("receiver: ")),
                        None)
        nodes.append((len(found[1]) // 4, parts[0], "continue: true" in parts, receiver))
    return nodes


def drawn(route: Route) -> str:
    return route.matchers_text if route.matchers else "default-route"


def test_amtool_draws_the_same_tree(amtool: str, files: Files) -> None:
    root = Route.from_config(files.config.route)
    ours = [(r.path.count(".routes["), drawn(r), r.continue_, r.receiver) for r in root.walk()]
    for path in (files.original, files.rendered):
        result = run(amtool, "config", "routes", f"--config.file={path}")
        assert result.returncode == 0, result.stdout + result.stderr
        assert tree_nodes(result.stdout) == ours


@pytest.mark.parametrize("labels", LABEL_SETS)
def test_amtool_tree_shows_the_same_matching_routes(amtool: str, files: Files,
                                                    labels: dict[str, str]) -> None:
    root = Route.from_config(files.config.route)
    ours = [(drawn(r), r.receiver) for r in root.match(labels)]
    result = run(amtool, "config", "routes", "test", "--tree", f"--config.file={files.rendered}",
                 *label_args(labels))
    assert result.returncode == 0, result.stdout + result.stderr
    leaves = [(m, receiver) for _, m, _, receiver in tree_nodes(result.stdout)
              if receiver is not None]
    assert leaves == ours
