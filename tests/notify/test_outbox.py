"""The deliverer: the outbox written before the first attempt, retries that a newer
notification replaces, giving up, and what a restart sends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from alertd.alerts.model import Alert
from alertd.clock import FakeClock
from alertd.errors import NotifyError
from alertd.model import Labels
from alertd.notify.outbox import Deliverer
from alertd.receivers import Notification
from alertd.receivers.retry import RetryPolicy
from alertd.receivers.stored import decode, encode
from alertd.store import Store


class Flaky:
    """An integration that fails while `errors` has entries, and records what it got."""

    name = "webhook"
    send_resolved = True

    def __init__(self) -> None:
        self.errors: list[NotifyError] = []
        self.got: list[Notification] = []

    async def notify(self, notification: Notification, reason: str = "") -> str:
        self.got.append(notification)
        if self.errors:
            raise self.errors.pop(0)
        return "200"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'alertd.db'}")
    yield opened
    await opened.close()


def notification(now: float, *names: str, value: float | None = 1.5) -> Notification:
    alerts = [Alert(Labels({"alertname": n}), {"summary": f"{n} broke"}, now - 60, None, now,
                    value=value) for n in names]
    return Notification("team", '{}:{alertname="X"}', Labels({"alertname": "X"}), alerts, now)


def deliverer(clock: FakeClock, flaky: Flaky, store: Store | None) -> Deliverer:
    return Deliverer(clock, integrations=lambda name: [flaky] if name == "team" else [],
                     repository=store.outbox if store else None,
                     policy=RetryPolicy(initial=10.0, maximum=60.0, give_up_after=300.0),
                     rand=lambda: 1.0)


async def submit(d: Deliverer, n: Notification) -> None:
    await d.submit(n, "first notification", integration="team/webhook/0", index=0)
    await d.settle()


def test_a_notification_survives_its_json_form() -> None:
    n = notification(100.0, "A", "B", value=float("nan"))
    back, reason = decode(encode(n, "repeat interval elapsed"), delivery_id="d1", attempt=2)
    assert reason == "repeat interval elapsed"
    assert [a.labels for a in back.alerts] == [a.labels for a in n.alerts]
    assert dict(back.alerts[0].annotations) == {"summary": "A broke"}
    assert back.alerts[0].value is not None and back.alerts[0].value != back.alerts[0].value
    assert (back.delivery_id, back.attempt, back.group_key) == ("d1", 2, n.group_key)


async def test_written_before_sent_and_marked_done_after(store: Store) -> None:
    clock, flaky = FakeClock(100.0), Flaky()
    d = deliverer(clock, flaky, store)
    await submit(d, notification(100.0, "A"))
    (sent,) = flaky.got
    assert sent.delivery_id and sent.attempt == 0
    assert await store.outbox.counts() == {"done": 1}


async def test_a_retry_waits_its_backoff_and_carries_the_same_delivery_id(store: Store) -> None:
    clock, flaky = FakeClock(100.0), Flaky()
    flaky.errors = [NotifyError("503", retryable=True)]
    d = deliverer(clock, flaky, store)
    await submit(d, notification(100.0, "A"))
    assert d.next_due() == 110.0  # initial backoff 10s (jitter at its top)
    clock.set(109.0)
    assert d.deliver_due(clock.now()) == 0
    clock.set(110.0)
    assert d.deliver_due(clock.now()) == 1
    await d.settle()
    first, second = flaky.got
    assert first.delivery_id == second.delivery_id and second.attempt == 1
    assert not second.maybe_delivered  # a 503 is an answer: nothing arrived
    assert await store.outbox.counts() == {"done": 1}


async def test_a_newer_notification_replaces_one_waiting_to_be_retried(store: Store) -> None:
    clock, flaky = FakeClock(100.0), Flaky()
    flaky.errors = [NotifyError("503", retryable=True)]
    d = deliverer(clock, flaky, store)
    await submit(d, notification(100.0, "A"))
    clock.set(105.0)
    await submit(d, notification(105.0, "A", "B"))
    clock.set(200.0)
    d.deliver_due(clock.now())
    await d.settle()
    assert [len(n.alerts) for n in flaky.got] == [1, 2]  # the old one is not sent again
    assert await store.outbox.counts() == {"done": 1, "superseded": 1}


async def test_not_retryable_or_too_old_is_given_up(store: Store) -> None:
    clock, flaky = FakeClock(100.0), Flaky()
    flaky.errors = [NotifyError("400 invalid", retryable=False)]
    d = deliverer(clock, flaky, store)
    await submit(d, notification(100.0, "A"))
    assert d.pending == 0 and await store.outbox.counts() == {"failed": 1}
    flaky.errors = [NotifyError("503", retryable=True)] * 10
    await d.submit(notification(100.0, "B"), "first notification",
                   integration="team/webhook/0", index=0)
    for t in range(110, 500, 10):
        clock.set(float(t))
        d.deliver_due(clock.now())
        await d.settle()
    assert d.pending == 0  # give_up_after 300s
    assert await store.outbox.counts() == {"failed": 2}
    assert d.stats.failed == {("team", "webhook"): 2}


async def test_a_restart_sends_what_was_pending_flagged_as_maybe_delivered(store: Store) -> None:
    clock, flaky = FakeClock(100.0), Flaky()
    flaky.errors = [NotifyError("timeout", retryable=True, ambiguous=True)]
    await submit(deliverer(clock, flaky, store), notification(100.0, "A"))
    # A new process: the same store, nothing in memory.
    again = Flaky()
    d = deliverer(clock, again, store)
    clock.set(150.0)
    assert await d.recover() == 1
    await d.settle()
    (resent,) = again.got
    assert resent.maybe_delivered and resent.delivery_id == flaky.got[0].delivery_id
    assert await store.outbox.counts() == {"done": 1}


async def test_an_integration_removed_by_a_reload_fails_its_pending_notifications(
        store: Store) -> None:
    clock, flaky = FakeClock(100.0), Flaky()
    d = deliverer(clock, flaky, store)
    await d.submit(notification(100.0, "A"), "first notification",
                   integration="team/slack/0", index=0)  # no such integration now
    await d.settle()
    assert flaky.got == [] and await store.outbox.counts() == {"failed": 1}


class Channel(Flaky):
    """A Slack-like integration: messages to one channel are paced."""

    name = "slack"
    pace_interval = 1.0

    def pace_key(self, n: Notification) -> str:
        return "slack:C1"


async def test_pacing_spaces_updates_but_never_delays_a_first_page() -> None:
    clock, channel = FakeClock(100.0), Channel()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(round(seconds, 3))

    d = Deliverer(clock, integrations=lambda name: [channel], monotonic=lambda: 50.0,
                  sleep=sleep)

    async def send(group: str, reason: str) -> None:
        n = notification(100.0, group)
        n = Notification(n.receiver, group, n.group_labels, n.alerts, n.now)
        await d.submit(n, reason, integration="team/slack/0", index=0)
        await d.settle()

    await send("g1", "first notification")
    await send("g1", "new alerts added")  # an update to the same channel: waits its turn
    await send("g2", "first notification")  # a new group's first page: never waits
    await send("g1", "some alerts resolved")
    assert waits == [1.0, 3.0]
    assert len(channel.got) == 4


async def test_a_slot_is_forgotten_once_its_notifications_are_over(store: Store) -> None:
    # A thousand new groups an hour must not leave a thousand locks an hour behind; a slot
    # with a retry waiting keeps its own.
    clock, flaky = FakeClock(100.0), Flaky()
    d = deliverer(clock, flaky, store)
    for i in range(50):
        n = notification(100.0, "A")
        await d.submit(Notification(n.receiver, f'{{}}:{{alertname="G{i}"}}', n.group_labels,
                                    n.alerts, n.now), "first notification",
                       integration="team/webhook/0", index=0)
    await d.settle()
    assert len(flaky.got) == 50
    assert (d._locks, d._latest) == ({}, {})
    flaky.errors = [NotifyError("503", retryable=True)]
    await submit(d, notification(100.0, "B"))
    assert d.pending == 1 and len(d._latest) == 1  # the retry's slot stays known
    clock.advance(10.0)
    d.deliver_due(clock.now())
    await d.settle()
    assert d.pending == 0 and (d._locks, d._latest) == ({}, {})


class Held(Flaky):
    """Waits at each notification until the event of its first alert's name is set."""

    def __init__(self, *names: str) -> None:
        super().__init__()
        self.release = {name: asyncio.Event() for name in names}
        self.entered: dict[str, asyncio.Event] = {name: asyncio.Event() for name in names}

    async def notify(self, notification: Notification, reason: str = "") -> str:
        name = notification.alerts[0].labels["alertname"]
        self.entered[name].set()
        await self.release[name].wait()
        return await super().notify(notification, reason)


async def test_wait_started_waits_for_the_attempts_of_now_not_later_ones() -> None:
    # What a reload waits for before closing the old integrations: under steady traffic
    # "until nothing is in flight" might never come.
    clock, held = FakeClock(1000.0), Held("A", "B")
    d = deliverer(clock, held, None)
    await d.submit(notification(1000.0, "A"), "first notification",
                   integration="team/webhook/0", index=0)
    await held.entered["A"].wait()
    waiting = asyncio.ensure_future(d.wait_started())  # the attempts under way now: A
    later = replace(notification(1000.0, "B"), group_key='{}:{alertname="Y"}')
    await d.submit(later, "first notification", integration="team/webhook/0", index=0)
    await held.entered["B"].wait()
    held.release["A"].set()
    await asyncio.wait_for(waiting, 5)  # B is still under way
    assert [n.alerts[0].labels["alertname"] for n in held.got] == ["A"]
    held.release["B"].set()
    await d.settle()
    assert [n.alerts[0].labels["alertname"] for n in held.got] == ["A", "B"]


def notification_of(now: float, group: str) -> Notification:
    alert = Alert(Labels({"alertname": group}), {}, now - 60, None, now)
    return Notification("team", f'{{}}:{{alertname="{group}"}}', Labels({"alertname": group}),
                        [alert], now)


async def test_a_success_after_an_outage_sends_the_backlog_at_once(store: Store) -> None:
    clock, flaky = FakeClock(100.0), Flaky()
    d = deliverer(clock, flaky, store)
    flaky.errors = [NotifyError("503", retryable=True)] * 3
    for group in ("A", "B", "C"):
        await d.submit(notification_of(100.0, group), "first notification",
                       integration="team/webhook/0", index=0)
    await d.settle()
    assert d.pending == 3 and d.next_due() == 110.0  # each waits out its backoff
    # The receiver is back: a new page goes through, and the backlog follows it at once
    # rather than at 110 s (or a minute later, after longer backoffs).
    await submit(d, notification_of(101.0, "D"))
    await d.settle()
    assert d.pending == 0
    assert sorted(n.alerts[0].labels["alertname"] for n in flaky.got[3:]) == ["A", "B", "C", "D"]
    assert await store.outbox.counts() == {"done": 4}


async def test_a_receiver_that_asked_for_a_pause_is_not_woken_by_a_success(
        store: Store) -> None:
    clock, flaky = FakeClock(100.0), Flaky()
    d = deliverer(clock, flaky, store)
    flaky.errors = [NotifyError("429", retryable=True, retry_after=30.0)]
    await submit(d, notification_of(100.0, "A"))
    await submit(d, notification_of(100.0, "B"))
    assert d.pending == 1 and d.next_due() == 130.0
