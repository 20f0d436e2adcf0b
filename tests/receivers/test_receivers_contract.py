"""The Slack and PagerDuty receivers against the doubles, without the daemon: incoming
webhooks (no editing: a message per notification), and how each answer is classified."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
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
        assert await hook.notify(notification(200.0, resolved=True), "all alerts resolved") == "200"
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
        assert (await bot.notify(notification(100.0), "first notification")).status == "posted"
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


def bot_for(slack: FakeSlack, states: ReceiverStates | None = None) -> SlackNotifier:
    return SlackNotifier(integration="ops/slack/0", send_resolved=True,
                         states=states or ReceiverStates(), token="xoxb-test",
                         app_url=f"{slack.url}/api/chat.postMessage", channel="C0001")


async def test_a_resend_adopts_its_own_earlier_post_and_no_other(slack: FakeSlack) -> None:
    # After a crash, a post whose answer was lost is looked for by its delivery id; another
    # delivery's message (of another group, say) must not be taken for it.
    first = bot_for(slack)
    try:
        assert (await first.notify(notification(100.0), "first notification")).status == "posted"
    finally:
        await first.close()
    [posted] = slack.messages("C0001")
    other_delivery = replace(notification(100.0), delivery_id="d2", maybe_delivered=True)
    same_delivery = replace(notification(100.0), maybe_delivered=True)  # delivery "d1"
    for n, count in ((other_delivery, 2), (same_delivery, 2)):
        fresh = bot_for(slack)  # a restart that lost the page's state
        try:
            assert (await fresh.notify(n, "first notification")).status == "posted"
            page = await fresh.page(fresh.key(n.group_key))
        finally:
            await fresh.close()
        assert len(slack.messages("C0001")) == count
        if n is same_delivery:
            assert page is not None and page["ts"] == posted.ts


async def test_a_page_deleted_in_slack_is_posted_again(slack: FakeSlack) -> None:
    bot = bot_for(slack)
    try:
        await bot.notify(notification(100.0), "first notification")
        [gone] = slack.messages("C0001")
        slack.delete_message("C0001", gone.ts)
        again = replace(notification(160.0), delivery_id="d2")
        assert (await bot.notify(again, "new alerts added")).status == "posted"
    finally:
        await bot.close()
    [page] = slack.messages("C0001")
    assert page.ts != gone.ts


async def test_a_retried_resolution_replies_in_the_thread_once(slack: FakeSlack) -> None:
    bot = bot_for(slack)
    try:
        await bot.notify(notification(100.0), "first notification")
        resolved = replace(notification(200.0, resolved=True), delivery_id="d2")
        await bot.notify(resolved, "all alerts resolved")
        await bot.notify(replace(resolved, attempt=1), "all alerts resolved")  # a retry
    finally:
        await bot.close()
    [page] = slack.messages("C0001")
    assert len(slack.replies("C0001", page.ts)) == 1


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
        assert await pager.acknowledge('{}:{alertname="DiskFull"}') is True
        resolved = notification(200.0, resolved=True)
        assert await pager.notify(resolved, "all alerts resolved") == "202"
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
