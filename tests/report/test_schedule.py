"""The scheduled report against the Slack double: posted once per period, its chart in the
thread, one message per owner, never again after a restart, sent late after downtime.

The job is driven by calling `send_due()` with a FakeClock, not by waiting for
APScheduler's timer; the timer itself is checked through the job's next run time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from alertd.clock import FakeClock
from alertd.config import Config, parse_config
from alertd.report.schedule import ReportSchedule
from alertd.report.source import ReportQuery
from alertd.store import Store
from tests.fakes.slack import DEFAULT_SCOPES, FakeSlack
from tests.report.fixtures import with_recommendation

pytestmark = pytest.mark.usefixtures("no_proxy")

TOKEN = "xoxb-report"
MONDAY_9_BERLIN = datetime(2026, 11, 30, 8, 0, tzinfo=UTC).timestamp()
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(channels=("C0001", "C0002")) as fake:
        fake.add_token(TOKEN, DEFAULT_SCOPES | {"files:write"})
        yield fake


def config(slack: FakeSlack, *, per_owner: bool = False) -> Config:
    return parse_config(f"""
route: {{receiver: noise}}
receivers:
  - name: noise
    slack_configs: [{{app_token: {TOKEN}, channel: C0001, app_url: "{slack.api_url}"}}]
owners:
  - {{name: ml-platform, slack_channel: C0002}}
  - {{name: risk}}
report:
  schedule: "mon 09:00"
  timezone: Europe/Berlin
  receivers: [noise]
  per_owner: {str(per_owner).lower()}
""")


class Source:
    """Reports as the statistics would give them; records what was asked."""

    def __init__(self) -> None:
        self.queries: list[ReportQuery] = []

    async def __call__(self, query: ReportQuery) -> dict[str, Any]:
        self.queries.append(query)
        report = with_recommendation()
        report["owner"] = query.owner
        return report


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'alertd.db'}") as opened:
        yield opened


def schedule(cfg: Config, store: Store, clock: FakeClock, source: Source) -> ReportSchedule:
    return ReportSchedule(cfg, source=source, store=lambda: store, clock=clock,
                          external_url=lambda: "https://alertd.example.com/")


async def test_the_scheduled_report_posts_once_with_its_chart_in_the_thread(
        slack: FakeSlack, store: Store) -> None:
    clock, source = FakeClock(MONDAY_9_BERLIN + 2), Source()
    reports = schedule(config(slack), store, clock, source)
    assert await reports.send_due() == 1
    assert await reports.send_due() == 0  # the job run again (or twice): nothing more

    (message,) = slack.messages("C0001")
    assert message.text.startswith("Alert noise report, all owners")
    kinds = [b["type"] for b in message.blocks or []]
    assert kinds[0] == "header" and kinds[-1] == "actions" and len(kinds) <= 50
    texts = "\n".join(b["text"]["text"] for b in message.blocks or [] if b["type"] == "section")
    assert "`ChurnLatencyP99High` (ml-platform): 12 pages, 2 in sleep hours" in texts
    assert "*Recommendations*" in texts and "saves 8 pages" in texts
    button = (message.blocks or [])[-1]["elements"][0]
    assert button["url"] == ("https://alertd.example.com/report?from=2026-11-23T00%3A00%3A00Z"
                             "&to=2026-11-30T00%3A00%3A00Z")
    (query,) = source.queries
    assert (query.start, query.end, query.owner) == (
        MONDAY_9_BERLIN - 7 * 86400, MONDAY_9_BERLIN, None)

    (chart,) = slack.files
    assert (chart.channel, chart.thread_ts) == ("C0001", message.ts)
    assert chart.content is not None and chart.content.startswith(PNG)
    assert 10_000 < len(chart.content) < 2_000_000
    assert chart.filename.endswith(".png")


async def test_per_owner_each_owner_gets_its_report_in_its_channel(
        slack: FakeSlack, store: Store) -> None:
    clock, source = FakeClock(MONDAY_9_BERLIN + 60), Source()
    assert await schedule(config(slack, per_owner=True), store, clock, source).send_due() == 2
    (own,) = slack.messages("C0002")
    (fallback,) = slack.messages("C0001")  # risk has no channel: the receiver's
    assert "owner ml-platform" in own.text and "owner risk" in fallback.text
    assert (own.blocks or [])[-1]["elements"][0]["url"].endswith("&owner=ml-platform")
    assert sorted(q.owner or "" for q in source.queries) == ["ml-platform", "risk"]
    assert sorted(f.channel or "" for f in slack.files) == ["C0001", "C0002"]


async def test_a_restart_after_sending_does_not_send_again(slack: FakeSlack,
                                                           tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'alertd.db'}"
    clock = FakeClock(MONDAY_9_BERLIN + 5)
    async with await Store.open(url) as first:
        assert await schedule(config(slack), first, clock, Source()).send_due() == 1
    clock.advance(3600)
    async with await Store.open(url) as second:
        again = schedule(config(slack), second, clock, Source())
        assert await again.send_due() == 0
        assert len(slack.messages("C0001")) == 1
        clock.set(MONDAY_9_BERLIN + 7 * 86400)  # the next Monday 09:00 (still winter time)
        assert await again.send_due() == 1
    assert len(slack.messages("C0001")) == 2


async def test_a_daemon_down_at_nine_sends_once_when_it_starts(slack: FakeSlack,
                                                               store: Store) -> None:
    clock = FakeClock(MONDAY_9_BERLIN + 5 * 3600)  # started at 14:00, five hours late
    reports = schedule(config(slack), store, clock, Source())
    reports.start()  # checks at once for the period missed
    try:
        assert reports._catch_up is not None
        assert await reports._catch_up == 1
        assert len(slack.messages("C0001")) == 1
        next_run = reports.next_run()
        assert next_run is not None
        assert datetime.fromtimestamp(next_run, UTC) > datetime.now(UTC)
        assert await reports.send_due() == 0
    finally:
        await reports.stop()


async def test_reload_replaces_the_job_when_the_schedule_changed(slack: FakeSlack,
                                                                 store: Store) -> None:
    cfg = config(slack)
    reports = schedule(cfg, store, FakeClock(MONDAY_9_BERLIN - 3600), Source())
    reports.start()
    try:
        job = reports._scheduler.get_job("weekly-report") if reports._scheduler else None
        assert job is not None and str(job.trigger.fields[4]) == "mon"
        changed = cfg.model_copy(update={"report": cfg.report.model_copy(
            update={"schedule": "fri 16:30"})})
        reports.replace(changed)
        job = reports._scheduler.get_job("weekly-report") if reports._scheduler else None
        assert job is not None
        local = job.next_run_time.astimezone(job.trigger.timezone)
        assert (local.weekday(), local.hour, local.minute) == (4, 16, 30)
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 6 * 3600)
    finally:
        await reports.stop()


async def test_a_failed_post_is_not_recorded_and_is_sent_at_the_next_check(
        slack: FakeSlack, store: Store) -> None:
    clock = FakeClock(MONDAY_9_BERLIN + 5)
    slack.tokens.pop(TOKEN)
    reports = schedule(config(slack), store, clock, Source())
    assert await reports.send_due() == 0
    slack.add_token(TOKEN, DEFAULT_SCOPES | {"files:write"})
    assert await reports.send_due() == 1
