"""The PagerDuty receiver's answers, classified as the webhook's (alertd.receivers.http):
what a retry can fix, how long PagerDuty asks to wait, and no answer at all."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from alertd.alerts.model import Alert
from alertd.errors import NotifyError
from alertd.model import Labels
from alertd.receivers import Notification
from alertd.receivers.pagerduty import PagerDutyNotifier
from alertd.receivers.state import ReceiverStates
from tests.fakes.pagerduty import FakePagerDuty

pytestmark = pytest.mark.usefixtures("no_proxy")

KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
async def pd() -> AsyncIterator[FakePagerDuty]:
    async with FakePagerDuty() as fake:
        yield fake


def notification(now: float = 1_800_000_000.0) -> Notification:
    alert = Alert(Labels({"alertname": "DiskFull", "severity": "page"}),
                  {"summary": "disk 97% full"}, now - 60, None, now)
    return Notification("ops", '{}:{alertname="DiskFull"}', Labels({"alertname": "DiskFull"}),
                        [alert], now, delivery_id="d1")


def pager(url: str) -> PagerDutyNotifier:
    return PagerDutyNotifier(integration="ops/pagerduty/0", routing_key=KEY, url=url,
                             send_resolved=True, states=ReceiverStates(), timeout=5.0)


async def test_server_errors_are_retried_after_the_wait_pagerduty_asks(
        pd: FakePagerDuty) -> None:
    notifier = pager(pd.enqueue_url)
    try:
        pd.inject(503, headers={"Retry-After": "7"})
        with pytest.raises(NotifyError) as info:
            await notifier.notify(notification(), "first notification")
        assert info.value.retryable and info.value.retry_after == 7.0
        assert "pagerduty answered 503" in str(info.value)
        pd.inject(500)
        with pytest.raises(NotifyError) as info:
            await notifier.notify(notification(), "first notification")
        assert info.value.retryable
        assert await notifier.notify(notification(), "first notification") == "202"
    finally:
        await notifier.close()
    (incident,) = pd.incidents
    assert incident.trigger_count == 1 and incident.severity == "critical"


async def test_a_pagerduty_that_cannot_be_reached_is_retried() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    notifier = pager(f"http://127.0.0.1:{port}/v2/enqueue")
    try:
        with pytest.raises(NotifyError) as info:
            await notifier.notify(notification(), "first notification")
    finally:
        await notifier.close()
    assert info.value.retryable and not info.value.ambiguous
    assert "pagerduty unreachable" in str(info.value)
