"""What the notification path records: every event of a rule's alert names the rule, a
Slack delivery names its page (channel, ts), and an acknowledgement PagerDuty accepted is
an `ack` via pagerduty."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from alertd import history
from alertd.alerts.model import Alert
from alertd.alerts.store import AlertStore
from alertd.clock import FakeClock
from alertd.errors import NotifyError
from alertd.history import HistoryEvent
from alertd.history.about import rule_of
from alertd.history.recorder import HistoryRecorder
from alertd.model import Labels
from alertd.notify.outbox import Deliverer
from alertd.notify.recording import Recording
from alertd.receivers import Notification
from alertd.receivers.pagerduty import PagerDutyNotifier
from alertd.receivers.slack import SlackNotifier
from alertd.receivers.state import ReceiverStates
from alertd.rules.state import Instance, Status
from alertd.store.batch import unavailable
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import DEFAULT_TOKEN, FakeSlack

pytestmark = pytest.mark.usefixtures("no_proxy")

T0 = 1_800_000_000.0
GROUP = '{}:{alertname="DiskFull"}'
RULE_ALERT = Labels({"alertname": "DiskFull", "owner": "storage", "severity": "page"})
POSTED = Labels({"alertname": "DiskFull", "instance": "db1", "owner": "storage"})


class Sink:
    def __init__(self) -> None:
        self.events: list[HistoryEvent] = []

    async def append(self, events: Sequence[HistoryEvent]) -> None:
        self.events.extend(events)

    def unavailable(self, exc: BaseException) -> bool:
        return unavailable(exc)  # as the store tells it


def alert(labels: Labels, source: str) -> Alert:
    return Alert(labels, {"summary": "disk 97% full"}, T0 - 60, None, T0, source=source)


def recording(clock: FakeClock) -> tuple[Recording, Sink, AlertStore]:
    alerts, sink = AlertStore(), Sink()
    rec = Recording(clock, alerts)
    rec.history = HistoryRecorder(sink, clock)
    return rec, sink, alerts


async def flushed(rec: Recording, sink: Sink) -> list[HistoryEvent]:
    assert rec.history is not None
    await rec.history.flush()
    return sink.events


def test_the_rule_of_an_alert_is_its_alertname_when_one_of_alertds_rules_made_it() -> None:
    assert rule_of(RULE_ALERT, "rule") == "DiskFull"
    assert rule_of(POSTED, "api") is None
    assert rule_of(Labels({"alertname": "AlertdNotificationsFailing"}), "rule") is None


async def test_every_decision_about_a_rules_alert_carries_its_rule() -> None:
    rec, sink, _ = recording(FakeClock(T0))
    for kind in ("route", "muted", "dedup", "silenced", "inhibited", "delivery"):
        rec.alert(kind, alert(RULE_ALERT, "rule"), {"receiver": "ops"}, T0)
        rec.alert(kind, alert(POSTED, "api"), {"receiver": "ops"}, T0)
    events = await flushed(rec, sink)
    assert {(e.kind, e.rule) for e in events if e.labels == RULE_ALERT} == {
        (k, "DiskFull") for k in ("route", "muted", "dedup", "silenced", "inhibited",
                                  "delivery")}
    assert {e.rule for e in events if e.labels == POSTED} == {None}


async def test_an_ack_or_feedback_built_without_a_rule_gets_that_of_its_alert() -> None:
    rec, sink, alerts = recording(FakeClock(T0))
    alerts.put([alert(POSTED, "api")], T0)
    alerts.sync_rule("DiskFull", [Instance(RULE_ALERT, Labels(), Status.FIRING, T0, 1.0,
                                           fired_at=T0)], lambda i: {}, T0)
    rec.event(history.ack(T0, RULE_ALERT, by="ana", via="slack"))
    rec.event(history.feedback(T0, RULE_ALERT, by="ana", verdict="noise"))
    rec.event(history.ack(T0, POSTED, by="ana", via="slack"))
    rec.event(history.ack(T0, RULE_ALERT.merged({"x": "gone"}), by="ana", via="slack"))
    events = await flushed(rec, sink)
    assert [(e.kind, e.rule) for e in events] == [
        ("ack", "DiskFull"), ("feedback", "DiskFull"), ("ack", None), ("ack", None)]


def notification(now: float, labels: Labels, source: str) -> Notification:
    return Notification("ops", GROUP, Labels({"alertname": "DiskFull"}),
                        [Alert(labels, {"summary": "disk 97% full"}, now - 60, None, now,
                               source=source)], now)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


async def test_a_slack_delivery_names_its_page_and_the_rule(slack: FakeSlack) -> None:
    clock = FakeClock(T0)
    rec, sink, _ = recording(clock)
    bot = SlackNotifier(integration="ops/slack/0", send_resolved=True, states=ReceiverStates(),
                        token=DEFAULT_TOKEN, app_url=f"{slack.url}/api/chat.postMessage",
                        channel="C0001")
    deliverer = Deliverer(clock, integrations=lambda name: [bot], record=rec.alert)
    try:
        await deliverer.submit(notification(T0, RULE_ALERT, "rule"), "first notification",
                               integration="ops/slack/0", index=0)
        await deliverer.settle()
        clock.advance(60)
        await deliverer.submit(notification(T0 + 60, RULE_ALERT, "rule"),
                               "repeat interval elapsed", integration="ops/slack/0", index=0)
        await deliverer.settle()
    finally:
        await bot.close()
    [page] = slack.messages("C0001")
    events = await flushed(rec, sink)
    assert [(e.kind, e.rule, e.details["outcome"], e.details["channel"], e.details["ts"])
            for e in events] == [("delivery", "DiskFull", "ok", "C0001", page.ts)] * 2


@pytest.fixture
async def pd() -> AsyncIterator[FakePagerDuty]:
    async with FakePagerDuty() as fake:
        yield fake


async def test_an_acknowledgement_pagerduty_accepted_is_recorded_for_each_alert(
        pd: FakePagerDuty) -> None:
    rec, sink, _ = recording(FakeClock(T0 + 30))
    pager = PagerDutyNotifier(integration="ops/pagerduty/0",
                              routing_key="0123456789abcdef0123456789abcdef",
                              url=pd.enqueue_url, send_resolved=True, states=ReceiverStates(),
                              acknowledged=rec.pagerduty_ack)
    two = Notification("ops", GROUP, Labels({"alertname": "DiskFull"}),
                       [*notification(T0, RULE_ALERT, "rule").alerts,
                        *notification(T0, POSTED, "api").alerts], T0)
    try:
        assert await pager.acknowledge(GROUP, by="ana") is False  # it never paged
        await pager.notify(two, "first notification")
        assert await pager.acknowledge(GROUP, by="ana (slack U1)") is True
    finally:
        await pager.close()
    events = await flushed(rec, sink)
    assert [(e.kind, e.at, e.fingerprint, e.rule, dict(e.details)) for e in events] == [
        ("ack", T0 + 30, RULE_ALERT.fingerprint(), "DiskFull",
         {"by": "ana (slack U1)", "via": "pagerduty", "group_key": GROUP}),
        ("ack", T0 + 30, POSTED.fingerprint(), None,
         {"by": "ana (slack U1)", "via": "pagerduty", "group_key": GROUP})]


async def test_an_acknowledgement_pagerduty_refused_is_not_recorded(pd: FakePagerDuty) -> None:
    rec, sink, _ = recording(FakeClock(T0))
    pager = PagerDutyNotifier(integration="ops/pagerduty/0",
                              routing_key="0123456789abcdef0123456789abcdef",
                              url=pd.enqueue_url, send_resolved=True, states=ReceiverStates(),
                              acknowledged=rec.pagerduty_ack)
    try:
        await pager.notify(notification(T0, RULE_ALERT, "rule"), "first notification")
        pd.inject(500)
        with pytest.raises(NotifyError, match="500"):
            await pager.acknowledge(GROUP, by="ana")
    finally:
        await pager.close()
    assert await flushed(rec, sink) == []
