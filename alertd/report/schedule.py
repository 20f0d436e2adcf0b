"""The weekly report sent to Slack on the `report:` section's schedule.

    reports = ReportSchedule(config, source=..., store=lambda: store, clock=clock,
                             external_url=lambda: "https://alertd.example.com")
    reports.start()             # the cron job, and a catch-up check at once
    reports.replace(config)     # on reload: a new job if the section changed
    await reports.send_due()    # what the job runs; tests call it with a FakeClock
    await reports.stop()

APScheduler (3.x) only says when to look; whether a period is due is decided by
`due_period` against the store's record of the periods sent, so a job run twice, a run
missed while the daemon was down, or a restart after sending all end with one message
per period and target. The record is written once the message is posted: a crash
between the two would send that period again, which beats never sending it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from alertd.clock import Clock
from alertd.config import Config
from alertd.config.report import ReportConfig
from alertd.config.types import read_file
from alertd.errors import AlertdError
from alertd.report.due import due_period, rfc3339
from alertd.report.send import SlackTarget, send_report
from alertd.report.source import ReportQuery, ReportSource
from alertd.store import Store

log = logging.getLogger("alertd.report")

JOB_ID = "weekly-report"
# A run may start this late (a busy loop, a suspended host) and still send; the default,
# one second, would skip the week's report for a short stall.
MISFIRE_GRACE = 6 * 3600


def cron_trigger(report: ReportConfig) -> CronTrigger:
    s = report.parsed_schedule()
    # Day names, not numbers: APScheduler counts 0 = Monday, crontab 0 = Sunday.
    return CronTrigger(day_of_week=s.day, hour=s.hour, minute=s.minute,
                       timezone=ZoneInfo(report.timezone))


@dataclass(frozen=True, slots=True)
class _Target:
    slack: SlackTarget
    owner: str | None

    @property
    def name(self) -> str:
        return f"report:{self.slack.receiver}:{self.owner or 'all'}"


class ReportSchedule:
    def __init__(self, config: Config, *, source: ReportSource,
                 store: Callable[[], Store | None], clock: Clock,
                 external_url: Callable[[], str]) -> None:
        self.config = config
        self._source = source
        self._store = store
        self._clock = clock
        self._external_url = external_url
        self._scheduler: AsyncIOScheduler | None = None
        self._catch_up: asyncio.Task[int] | None = None
        self._lock = asyncio.Lock()  # the catch-up and the job never send side by side

    def start(self) -> None:
        """Schedule the job (needs a running loop) and check at once for a period missed
        while alertd was down."""
        self._scheduler = AsyncIOScheduler(timezone=ZoneInfo(self.config.report.timezone))
        self._add_job()
        self._scheduler.start()
        if self.config.report.receivers:
            self._catch_up = asyncio.create_task(self.send_due(), name="report-catch-up")

    def replace(self, config: Config) -> None:
        """Use `config` from now on; a changed schedule gets a new job."""
        changed = config.report != self.config.report
        self.config = config
        if changed and self._scheduler is not None:
            self._add_job()

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._catch_up is not None:
            self._catch_up.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._catch_up
            self._catch_up = None

    def next_run(self) -> float | None:
        """When the job runs next (seconds since the epoch), None without one."""
        job = self._scheduler.get_job(JOB_ID) if self._scheduler else None
        return None if job is None or job.next_run_time is None else \
            float(job.next_run_time.timestamp())

    def _add_job(self) -> None:
        assert self._scheduler is not None
        if self._scheduler.get_job(JOB_ID):
            self._scheduler.remove_job(JOB_ID)
        if not self.config.report.receivers:
            return
        self._scheduler.add_job(
            self.send_due, cron_trigger(self.config.report), id=JOB_ID,
            coalesce=True, max_instances=1, misfire_grace_time=MISFIRE_GRACE)

    async def send_due(self) -> int:
        """Send each target the period due and not yet sent; the number of messages
        posted. A target that fails is logged and tried again at the next check."""
        async with self._lock:
            sent = 0
            for target in self._targets():
                try:
                    sent += await self._send_target(target)
                except AlertdError as exc:
                    log.error("%s: the noise report was not sent: %s", target.name, exc)
            return sent

    async def _send_target(self, target: _Target) -> int:
        store = self._store()
        if store is None:
            return 0
        report = self.config.report
        now = self._clock.now()
        last = await store.reports_sent.last_sent(target.name)
        due = due_period(report.parsed_schedule(), report.timezone, now, last, report.period)
        if due is None:
            return 0
        start, end = due
        body = await self._source(ReportQuery(start, end, target.owner, now))
        await send_report(target.slack, body, self._external_url(),
                          on_posted=lambda: store.reports_sent.record(
                              f"{target.name}:{rfc3339(end)}", target.name, end,
                              self._clock.now()))
        return 1

    def _targets(self) -> list[_Target]:
        targets = []
        by_name = {r.name: r for r in self.config.receivers}
        for name in self.config.report.receivers:
            slack = by_name[name].slack_configs[0]
            try:
                token = _token(self.config, name)
            except ValueError as exc:
                log.error("report: receiver %s: %s", name, exc)
                continue
            base = slack.app_url or self.config.global_.slack_app_url
            if not self.config.report.per_owner:
                targets.append(_Target(SlackTarget(name, token, base, slack.channel or ""),
                                       None))
                continue
            for owner in self.config.owners:
                channel = owner.slack_channel or slack.channel
                if channel:
                    targets.append(_Target(SlackTarget(name, token, base, channel),
                                           owner.name))
                else:
                    log.error("report: owner %s has no slack_channel and receiver %s no "
                              "channel: its report is not sent", owner.name, name)
        return targets


def _token(config: Config, receiver: str) -> str:
    """The bot token of the receiver's first Slack config, as its notifications use it."""
    c = next(r for r in config.receivers if r.name == receiver).slack_configs[0]
    g = config.global_
    for value, file in ((c.app_token, c.app_token_file),
                        (g.slack_app_token, g.slack_app_token_file)):
        if value is not None:
            return value.get_secret_value()
        if file is not None:
            return read_file(file, ValueError).strip()
    raise ValueError("no bot token")
