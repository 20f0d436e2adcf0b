"""The `report:` section: strict keys, schedule, time zone, receivers that can post it."""

from __future__ import annotations

import pytest

from alertd.config import parse_config
from alertd.config.report import Schedule
from alertd.errors import ConfigError

RECEIVERS = """\
route: {receiver: team-slack}
receivers:
  - name: team-slack
    slack_configs: [{app_token: xoxb-1, channel: C0001}]
  - name: hook-slack
    slack_configs: [{api_url: "https://hooks.slack.com/services/T/B/X"}]
  - name: pager
    pagerduty_configs: [{routing_key: abc}]
"""


def load(report: str) -> str:
    return RECEIVERS + "report:\n" + "".join(f"  {line}\n" for line in report.splitlines())


def error(report: str) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_config(load(report))
    return str(raised.value)


def test_a_full_section_is_read() -> None:
    config = parse_config(load('schedule: "tue 17:30"\ntimezone: Europe/Berlin\n'
                               "receivers: [team-slack]\nper_owner: true\nperiod: 14d"))
    report = config.report
    assert report.parsed_schedule() == Schedule(1, 17, 30)
    assert (report.timezone, report.receivers, report.per_owner, report.period) == (
        "Europe/Berlin", ["team-slack"], True, 14 * 86400.0)


def test_defaults_send_nothing() -> None:
    report = parse_config(RECEIVERS).report
    assert (report.schedule, report.timezone, report.receivers) == ("mon 09:00", "UTC", [])


def test_an_unknown_key_is_named() -> None:
    assert "report.day" in error("day: mon")


@pytest.mark.parametrize("schedule", ["monday 09:00", "mon 9:00", "mon 24:00", "xyz 09:00",
                                      "mon", "0 9 * * 1"])
def test_a_bad_schedule_is_named(schedule: str) -> None:
    message = error(f'schedule: "{schedule}"')
    assert "report.schedule" in message
    assert f'invalid schedule "{schedule}"' in message


def test_an_unknown_time_zone_is_named() -> None:
    message = error("timezone: Europe/Berlinn")
    assert "report.timezone" in message and 'unknown time zone "Europe/Berlinn"' in message


def test_an_unknown_receiver_is_named_with_its_index() -> None:
    message = error("receivers: [team-slack, team-slak]")
    assert 'report.receivers[1]: no receiver "team-slak" (did you mean "team-slack"?)' \
        in message


def test_a_receiver_without_slack_or_a_bot_token_is_refused() -> None:
    message = error("receivers: [pager, hook-slack]")
    assert 'report.receivers[0]: receiver "pager" has no slack_configs' in message
    assert 'report.receivers[1]: receiver "hook-slack" posts through an incoming webhook' \
        in message


def test_a_period_out_of_range_is_refused() -> None:
    assert "report.period" in error("period: 400d")
