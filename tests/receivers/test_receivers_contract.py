"""The Slack and PagerDuty receivers against the doubles, without the daemon: incoming
webhooks (no editing: a message per notification), and how each answer is classified."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from email.utils import formatdate

import pytest

from alertd.alerts.model import Alert
from alertd.errors import NotifyError
from alertd.model import Labels
from alertd.receivers import Notification
from alertd.receivers.pagerduty import PagerDutyNotifier
from alertd.receivers.pagerduty_event import dedup_key
from alertd.receivers.slack import SlackNotifier
from alertd.receivers.state import ReceiverStates
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack

pytestmark = pytest.mark.usefixtures("no_proxy")

KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def pd() -> AsyncIterator[FakePagerDuty]:
    async with FakePagerDuty() as fake:
        yield fake


def notification(now: float, *, resolved: bool = False) -> Notification:
    alert = Alert(Labels({"alertname": "DiskFull", "severity": "warning"}),
                  {"summary": "disk 97% full"}, now - 60, now if resolved else None, now)
    return Notification("ops", '{}:{alertname="DiskFull"}', Labels({"alertname": "DiskFull"}),
                        [alert], now, delivery_id="d1")


async def test_an_incoming_webhook_gets_a_new_message_per_notification(slack: FakeSlack) -> None:
    hook = SlackNotifier(integration="ops/slack/0", send_resolved=True, states=ReceiverStates(),
                         webhook_url=slack.webhook_url)
    try:
        assert await hook.notify(notification(100.0), "first notification") == "200"
        assert await hook.notify(notification(200.0, resolved=True), "all alerts resolved")
    finally:
        await hook.close()
    first, second = slack.webhook_posts
    assert "FIRING" in first.body["text"] and "RESOLVED" in second.body["text"]
    assert not any(b["type"] == "actions" and any(e.get("action_id") == "alertd_ack"
                                                  for e in b["elements"])
                   for b in first.body["blocks"])  # nothing to click without the Web API


async def test_slack_answers_are_classified_once(slack: FakeSlack) -> None:
    bot = SlackNotifier(integration="ops/slack/0", send_resolved=True, states=ReceiverStates(),
                        token="xoxb-test", app_url=f"{slack.url}/api/chat.postMessage",
                        channel="C0001")
    try:
        slack.inject(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"})
        with pytest.raises(NotifyError) as info:
            await bot.notify(notification(100.0), "first notification")
        assert info.value.retryable and info.value.retry_after == 7
        slack.down = True
        with pytest.raises(NotifyError) as info:
            await bot.notify(notification(100.0), "first notification")
        assert info.value.retryable
        slack.down = False
        wrong = SlackNotifier(integration="ops/slack/1", send_resolved=True,
                              states=ReceiverStates(), token="xoxb-wrong",
                              app_url=f"{slack.url}/api/chat.postMessage", channel="C0001")
        with pytest.raises(NotifyError) as info:
            await wrong.notify(notification(100.0), "first notification")
        assert not info.value.retryable and "invalid_auth" in str(info.value)
        await wrong.close()
        assert await bot.notify(notification(100.0), "first notification") == "posted"
    finally:
        await bot.close()
    assert len(slack.messages("C0001")) == 1


async def test_a_retry_after_date_counts_from_now(slack: FakeSlack) -> None:
    in_two_minutes = formatdate(time.time() + 120, usegmt=True)
    bot = SlackNotifier(integration="ops/slack/0", send_resolved=True, states=ReceiverStates(),
                        token="xoxb-test", app_url=f"{slack.url}/api/chat.postMessage",
                        channel="C0001")
    hook = SlackNotifier(integration="ops/slack/1", send_resolved=True, states=ReceiverStates(),
                         webhook_url=slack.webhook_url)
    try:
        slack.inject(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": in_two_minutes})
        slack.inject_webhook(429, "rate_limited", {"Retry-After": in_two_minutes})
        for notifier in (bot, hook):
            with pytest.raises(NotifyError) as info:
                await notifier.notify(notification(100.0), "first notification")
            assert info.value.retryable
            assert info.value.retry_after is not None and 100 < info.value.retry_after <= 120
    finally:
        await bot.close()
        await hook.close()


async def test_an_incoming_webhooks_answers_are_classified(slack: FakeSlack) -> None:
    hook = SlackNotifier(integration="ops/slack/0", send_resolved=True, states=ReceiverStates(),
                         webhook_url=slack.webhook_url)
    try:
        slack.inject_webhook(400, "invalid_blocks")
        with pytest.raises(NotifyError) as info:
            await hook.notify(notification(100.0), "first notification")
        assert not info.value.retryable and "invalid_blocks" in str(info.value)
        slack.inject_webhook(503, "service unavailable")
        with pytest.raises(NotifyError) as info:
            await hook.notify(notification(100.0), "first notification")
        assert info.value.retryable
    finally:
        await hook.close()


def test_integrations_without_a_channel_are_paced_apart(slack: FakeSlack) -> None:
    one, other = (SlackNotifier(integration=f"ops/slack/{i}", send_resolved=True,
                                states=ReceiverStates(), webhook_url=slack.webhook_url)
                  for i in range(2))
    named = SlackNotifier(integration="ops/slack/2", send_resolved=True, states=ReceiverStates(),
                          webhook_url=slack.webhook_url, channel="C0001")
    n = notification(100.0)
    assert one.pace_key(n) != other.pace_key(n)
    assert named.pace_key(n) == "slack:C0001"


async def test_pagerduty_trigger_retry_and_resolve_share_one_dedup_key(
        pd: FakePagerDuty) -> None:
    pager = PagerDutyNotifier(integration="ops/pagerduty/0", routing_key=KEY,
                              url=pd.enqueue_url, send_resolved=True, states=ReceiverStates())
    try:
        pd.inject(429)
        with pytest.raises(NotifyError) as info:
            await pager.notify(notification(100.0), "first notification")
        assert info.value.retryable
        assert await pager.notify(notification(100.0), "first notification") == "202"
        assert await pager.notify(notification(100.0), "first notification") == "202"
        assert await pager.acknowledge('{}:{alertname="DiskFull"}')
        assert await pager.notify(notification(200.0, resolved=True), "all alerts resolved")
        bad = PagerDutyNotifier(integration="ops/pagerduty/1", routing_key="short",
                                url=pd.enqueue_url, send_resolved=True,
                                states=ReceiverStates())
        with pytest.raises(NotifyError) as info:
            await bad.notify(notification(100.0), "first notification")
        assert not info.value.retryable and "400" in str(info.value)
        await bad.close()
    finally:
        await pager.close()
    (incident,) = pd.incidents
    assert incident.dedup_key == dedup_key('{}:{alertname="DiskFull"}')
    assert incident.trigger_count == 2  # the resend was deduplicated, not a second page
    assert incident.history == ["trigger", "trigger", "acknowledge", "resolve"]
    assert incident.severity == "warning"
