"""The `report:` section of alertd.yml: the weekly noise report sent to Slack.

    report:
      schedule: "mon 09:00"        # day name and local time it is sent at
      timezone: Europe/Berlin      # whose clock `schedule` reads (default UTC)
      receivers: [ml-slack]        # receivers with a Slack config holding a bot token
      per_owner: false             # true: one message per owner, in the owner's channel
      period: 7d                   # what the report covers, ending at the scheduled time

Without the section (or with no receivers) nothing is sent; `alertd report` and the
`/report` page need none of it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, Field

from alertd.config.receivers import GlobalConfig, Receiver
from alertd.config.types import Duration, Model, NonEmptyStr, TimeZone
from alertd.suggest import did_you_mean

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SCHEDULE = re.compile(r"([a-z]{3}) ([01]\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True, slots=True)
class Schedule:
    """A weekly time: `weekday` 0 (Monday) to 6 (Sunday), hour and minute, local time."""

    weekday: int
    hour: int
    minute: int

    @property
    def day(self) -> str:
        return DAYS[self.weekday]


def parse_schedule(text: str) -> Schedule:
    """`mon 09:00` as a Schedule; ValueError saying what is accepted."""
    found = _SCHEDULE.fullmatch(text.strip().lower())
    if found is None or found.group(1) not in DAYS:
        raise ValueError(f'invalid schedule "{text}": write a day name ({", ".join(DAYS)}) '
                         'and a 24-hour time, such as "mon 09:00"')
    return Schedule(DAYS.index(found.group(1)), int(found.group(2)), int(found.group(3)))


def _check_schedule(value: str) -> str:
    parse_schedule(value)
    return value


def _check_period(value: float) -> float:
    # A report lists every day of its period (see alertd/report/period.py).
    if not 3600 <= value <= 366 * 86400:
        raise ValueError("the period must be from 1h to 366d")
    return value


class ReportConfig(Model):
    schedule: Annotated[str, AfterValidator(_check_schedule)] = "mon 09:00"
    timezone: TimeZone = "UTC"
    receivers: list[NonEmptyStr] = Field(default=[])
    per_owner: bool = False
    period: Annotated[Duration, AfterValidator(_check_period)] = 7 * 86400.0

    def parsed_schedule(self) -> Schedule:
        return parse_schedule(self.schedule)


def bot_token_given(receiver: Receiver, global_: GlobalConfig) -> bool:
    """Whether the receiver's first Slack config uses the Web API (a bot token, its own or
    the global one): the report's thread and chart need it, an incoming webhook has
    neither."""
    c = receiver.slack_configs[0]
    if c.app_token is not None or c.app_token_file is not None:
        return True
    webhook = c.api_url is not None or c.api_url_file is not None
    return not webhook and (global_.slack_app_token is not None
                            or global_.slack_app_token_file is not None)


def report_problems(report: ReportConfig, receivers: Sequence[Receiver],
                    global_: GlobalConfig) -> list[str]:
    """Each receiver named must exist and have a Slack config with a bot token; one line
    per problem, naming its key path."""
    by_name = {r.name: r for r in receivers}
    problems = []
    for i, name in enumerate(report.receivers):
        key = f"report.receivers[{i}]"
        receiver = by_name.get(name)
        if receiver is None:
            problems.append(f'{key}: no receiver "{name}"' + did_you_mean(name, by_name))
        elif not receiver.slack_configs:
            problems.append(f'{key}: receiver "{name}" has no slack_configs')
        elif not bot_token_given(receiver, global_):
            problems.append(f'{key}: receiver "{name}" posts through an incoming webhook; '
                            "the report needs a bot token (app_token)")
        elif not report.per_owner and not receiver.slack_configs[0].channel:
            problems.append(f'{key}: receiver "{name}" has no channel in its first Slack '
                            "config")
    return problems
