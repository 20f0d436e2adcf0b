"""A fixed `channel` in a Slack config shared by several teams masks the owners'
`slack_channel`: `alertd check --config` warns (naming the key and the owners), and the
daemon logs it once when it starts and at each reload."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from alertd.alerts.store import AlertStore
from alertd.cli import cli
from alertd.clock import FakeClock
from alertd.config.load import parse_config
from alertd.notify.service import Notifications
from alertd.receivers.slack_channels import masked_channels

SHARED = """\
rule_files: []
console: false
route:
  receiver: default
  routes:
    - matchers: ['owner="payments"']
      receiver: payments
    - matchers: ['team="search"']
      receiver: search
    - matchers: ['severity="page"']
      receiver: shared
receivers:
  - name: default
  - name: shared
    slack_configs:
      - app_token: xoxb-test
        channel: '#alerts'
  - name: payments
    slack_configs:
      - app_token: xoxb-test
        channel: '#payments'
  - name: search
    slack_configs:
      - api_url: https://hooks.slack.com/services/T0/B0/X
        channel: '#search-hook'
owners:
  - name: ml-platform
    matchers: ['team="ml"']
    slack_channel: '#ml-alerts'
  - name: payments
    slack_channel: '#payments'
  - name: search
    matchers: ['team="search"']
    slack_channel: '#search'
  - name: data
"""


def test_a_shared_channel_masks_the_owners_whose_alerts_it_may_page() -> None:
    (masked,) = masked_channels(parse_config(SHARED))
    assert masked.key == "receivers[1].slack_configs[0].channel"
    # payments: its own route takes its alerts first. search: its team's route takes them
    # first (and posts to an incoming webhook, which never reads owner channels).
    # data: no channel of its own to mask.
    assert [o.name for o in masked.owners] == ["ml-platform"]
    assert masked.message() == (
        'receivers[1].slack_configs[0].channel: channel "#alerts" takes every page of '
        'receiver "shared", masking the slack_channel of owner "ml-platform" (#ml-alerts), '
        "whose alerts it may page; leave channel out to page each owner in its own channel")


def test_no_warning_without_a_fixed_channel_or_when_it_is_the_owners_own() -> None:
    config = SHARED.replace("channel: '#alerts'", "send_resolved: true")
    assert masked_channels(parse_config(config)) == []
    config = SHARED.replace("'#alerts'", "'#ml-alerts'")
    assert masked_channels(parse_config(config)) == []


def test_a_route_that_continues_does_not_hide_the_shared_receiver() -> None:
    config = SHARED.replace("      receiver: payments\n",
                            "      receiver: payments\n      continue: true\n")
    (masked,) = masked_channels(parse_config(config))
    assert [o.name for o in masked.owners] == ["ml-platform", "payments"]


def test_check_warns_with_the_key_and_keeps_the_exit_code(tmp_path: Path) -> None:
    (tmp_path / "alertd.yml").write_text(SHARED)
    result = CliRunner().invoke(cli, ["check", "--config", str(tmp_path / "alertd.yml")])
    assert result.exit_code == 0, result.output
    line = result.output.splitlines()[0]
    assert line.startswith(f"{tmp_path / 'alertd.yml'}:17:18: warning: "
                           "receivers[1].slack_configs[0].channel: ")
    assert '"ml-platform" (#ml-alerts)' in line
    assert "0 errors, 1 warning" in result.output

    result = CliRunner().invoke(cli, ["check", "--format", "json", "--config",
                                      str(tmp_path / "alertd.yml")])
    (found,) = [json.loads(line) for line in result.output.splitlines()]
    assert (found["severity"], found["line"]) == ("warning", 17)
    assert result.exit_code == 0


async def test_the_daemon_logs_it_once_at_start_and_at_each_reload(
        caplog: pytest.LogCaptureFixture) -> None:
    config = parse_config(SHARED)
    caplog.set_level(logging.WARNING, logger="alertd.receivers.slack")

    def logged() -> int:
        return sum("masking the slack_channel" in r.getMessage() for r in caplog.records)

    notifications = Notifications(config, FakeClock(0.0), AlertStore())
    assert logged() == 1
    notifications.set_listen_url("http://127.0.0.1:9095")  # rebuilds receivers: no repeat
    assert logged() == 1
    await notifications.reconfigure(config)
    assert logged() == 2
