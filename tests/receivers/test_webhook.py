"""The webhook receiver against a local HTTP server: payload, signatures, error classes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from alertd.alerts.model import Alert
from alertd.errors import NotifyError
from alertd.model import Labels
from alertd.receivers import Notification
from alertd.receivers.http import classify, redact_urls, retry_after
from alertd.receivers.signing import verify
from alertd.receivers.webhook import ZERO_TIME, WebhookNotifier, delivery_id, payload
from tests.sources.conftest import free_port

NOW = 1_800_000_000.0
SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
ROTATED = "whsec_YW5vdGhlciBrZXksIHRoaXJ0eS10d28gYnl0ZXMhISE="

# The fields of Alertmanager's version 4 payload, which must stay as they are.
AM_FIELDS = {"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
             "commonLabels", "commonAnnotations", "externalURL", "notification_reason",
             "alerts"}
AM_ALERT_FIELDS = {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL",
                   "fingerprint"}


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    peer: Any


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    hang: bool = False  # never answer, until the test ends
    retry_at_in: float | None = None  # a Retry-After HTTP date this many seconds ahead


class Receiver:
    """A webhook endpoint that records requests and answers as told."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answer = Answer()
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.received.append(Received(dict(request.headers), body, peer))
        if self.answer.hang:
            await self.release.wait()
        headers = dict(self.answer.headers)
        if self.answer.retry_at_in is not None:
            headers["Retry-After"] = formatdate(time.time() + self.answer.retry_at_in,
                                                usegmt=True)
        return web.Response(status=self.answer.status, headers=headers, text=self.answer.body)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    endpoint = Receiver()
    app = web.Application()
    app.router.add_post("/hook/{token}", endpoint.handle)
    server = TestServer(app)
    await server.start_server()
    try:
        yield endpoint, str(server.make_url("/hook/s3cr3t-token"))
    finally:
        endpoint.release.set()
        await server.close()


@pytest.fixture
async def notifiers() -> AsyncIterator[list[WebhookNotifier]]:
    made: list[WebhookNotifier] = []
    yield made
    for notifier in made:
        await notifier.close()


def make(made: list[WebhookNotifier], url: str, **kwargs: Any) -> WebhookNotifier:
    notifier = WebhookNotifier(url, external_url="http://alertd:9093", **kwargs)
    made.append(notifier)
    return notifier


def alert(owner: str | None = "ml-platform", runbook: str | None = "https://runbooks/x",
          resolved: bool = False, **labels: str) -> Alert:
    all_labels = {"alertname": "DriftHigh", **labels}
    if owner is not None:
        all_labels["owner"] = owner
    annotations = {"summary": "drift"} | ({"runbook_url": runbook} if runbook else {})
    return Alert(Labels(all_labels), annotations, starts_at=NOW - 600,
                 ends_at=NOW - 60 if resolved else None, updated_at=NOW - 60,
                 generator_url="http://alertd/rules/drift")


def notification(*alerts: Alert, now: float = NOW) -> Notification:
    return Notification("ml-team", '{}:{alertname="DriftHigh"}',
                        Labels({"alertname": "DriftHigh"}), list(alerts), now)


# --- payload --------------------------------------------------------------------------------


async def test_the_payload_is_alertmanagers_version_4_with_owner_and_runbook(
        receiver: tuple[Receiver, str], notifiers: list[WebhookNotifier]) -> None:
    endpoint, url = receiver
    firing = alert(model="churn")
    resolved = alert(model="fraud", resolved=True)
    outcome = await make(notifiers, url).notify(notification(firing, resolved),
                                                "first notification")
    assert outcome == "200"
    [request] = endpoint.received
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("alertd/")
    body = json.loads(request.body)
    assert set(body) == AM_FIELDS | {"owner"}
    assert body["version"] == "4"
    assert body["status"] == "firing"
    assert body["notification_reason"] == "first notification"
    assert body["owner"] == "ml-platform"
    assert body["externalURL"] == "http://alertd:9093"
    assert body["commonLabels"] == {"alertname": "DriftHigh", "owner": "ml-platform"}
    first, second = body["alerts"]
    assert set(first) == AM_ALERT_FIELDS | {"owner", "runbook_url"}
    assert first["status"] == "firing"
    assert first["endsAt"] == ZERO_TIME
    assert first["owner"] == "ml-platform"
    assert first["runbook_url"] == "https://runbooks/x"
    assert first["startsAt"] == "2027-01-15T07:50:00.000Z"
    assert second["status"] == "resolved"
    assert second["endsAt"] == "2027-01-15T07:59:00.000Z"


def test_owner_and_runbook_are_empty_when_absent_or_not_shared() -> None:
    body = payload(notification(alert(owner="a", runbook=None), alert(owner="b"),
                                alert(owner=None)), external_url="")
    assert body["owner"] == ""
    assert [a["owner"] for a in body["alerts"]] == ["a", "b", ""]
    assert [a["runbook_url"] for a in body["alerts"]] == ["", "https://runbooks/x",
                                                          "https://runbooks/x"]
    assert payload(notification(), external_url="")["owner"] == ""


def test_the_owner_counts_every_alert_even_beyond_max_alerts() -> None:
    body = payload(notification(alert(owner="a"), alert(owner="b")), external_url="",
                   max_alerts=1)
    assert body["truncatedAlerts"] == 1
    assert body["owner"] == ""


# --- signatures -----------------------------------------------------------------------------


async def test_the_raw_body_is_signed_with_every_secret(
        receiver: tuple[Receiver, str], notifiers: list[WebhookNotifier]) -> None:
    endpoint, url = receiver
    notifier = make(notifiers, url, signing_secrets=[ROTATED, SECRET])
    await notifier.notify(notification(alert()), "first notification")
    [request] = endpoint.received
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert request.headers["webhook-id"].startswith("msg_")
    assert verify(SECRET, request.headers, request.body, now=time.time())
    assert verify(ROTATED, request.headers, request.body, now=time.time())
    assert not verify(SECRET, request.headers, request.body + b" ", now=time.time())


async def test_no_signature_headers_without_secrets(
        receiver: tuple[Receiver, str], notifiers: list[WebhookNotifier]) -> None:
    endpoint, url = receiver
    await make(notifiers, url).notify(notification(alert()))
    assert not any(h.lower().startswith("webhook-") for h in endpoint.received[0].headers)


def test_a_malformed_secret_is_refused_when_the_notifier_is_made() -> None:
    with pytest.raises(ValueError, match="base64"):
        WebhookNotifier("http://127.0.0.1/", signing_secrets=["whsec_***"])


async def test_a_repeat_of_a_notification_carries_the_same_webhook_id(
        receiver: tuple[Receiver, str], notifiers: list[WebhookNotifier]) -> None:
    endpoint, url = receiver
    notifier = make(notifiers, url, signing_secrets=[SECRET])
    await notifier.notify(notification(alert()), "first notification")
    await notifier.notify(notification(alert()), "first notification")  # a retry
    await notifier.notify(notification(alert(), now=NOW + 300), "repeat interval elapsed")
    ids = [r.headers["webhook-id"] for r in endpoint.received]
    assert ids[0] == ids[1] != ids[2]
    assert all(verify(SECRET, r.headers, r.body, now=time.time()) for r in endpoint.received)


def test_the_outboxs_delivery_id_is_the_webhook_id_when_given() -> None:
    n = notification(alert())
    assert delivery_id(n) == delivery_id(notification(alert()))
    assert len(delivery_id(n)) == len("msg_") + 24
    given = Notification(n.receiver, n.group_key, n.group_labels, n.alerts, n.now,
                         delivery_id="msg_outbox_17")
    assert delivery_id(given) == "msg_outbox_17"


# --- sessions -------------------------------------------------------------------------------


async def test_deliveries_share_one_kept_alive_connection(
        receiver: tuple[Receiver, str], notifiers: list[WebhookNotifier]) -> None:
    endpoint, url = receiver
    notifier = make(notifiers, url)
    for _ in range(3):
        await notifier.notify(notification(alert()))
    assert len({r.peer for r in endpoint.received}) == 1
    await notifier.close()
    await notifier.notify(notification(alert()))  # after close, a new session
    assert len({r.peer for r in endpoint.received}) == 2


# --- classification -------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    retryable: bool
    retry_after: tuple[float, float] | None = None  # bounds
    ambiguous: bool = False


@pytest.mark.parametrize(("answer", "expect"), [
    (Answer(200), None),
    (Answer(204), None),
    (Answer(400, body="bad\n request"), Expect(retryable=False)),
    (Answer(404), Expect(retryable=False)),
    (Answer(408), Expect(retryable=True)),
    (Answer(410), Expect(retryable=False)),
    (Answer(429, {"Retry-After": "7"}), Expect(retryable=True, retry_after=(7, 7))),
    (Answer(500, body="boom"), Expect(retryable=True)),
    (Answer(503, retry_at_in=120), Expect(retryable=True, retry_after=(110, 121))),
], ids=lambda v: str(v.status) if isinstance(v, Answer) else "")
async def test_answers_are_classified(
        receiver: tuple[Receiver, str], notifiers: list[WebhookNotifier],
        answer: Answer, expect: Expect | None) -> None:
    endpoint, url = receiver
    endpoint.answer = answer
    notifier = make(notifiers, url)
    if expect is None:
        assert await notifier.notify(notification(alert())) == str(answer.status)
        return
    with pytest.raises(NotifyError) as caught:
        await notifier.notify(notification(alert()))
    error = caught.value
    assert str(error).startswith(f"webhook answered {answer.status}")
    assert error.retryable is expect.retryable
    assert error.ambiguous is expect.ambiguous
    if expect.retry_after is None:
        assert error.retry_after is None
    else:
        low, high = expect.retry_after
        assert error.retry_after is not None and low <= error.retry_after <= high
    if answer.body:
        assert " ".join(answer.body.split()) in str(error)


async def test_connection_refused_is_retryable_and_not_ambiguous(
        notifiers: list[WebhookNotifier]) -> None:
    notifier = make(notifiers, f"http://127.0.0.1:{free_port()}/hook/s3cr3t-token")
    with pytest.raises(NotifyError) as caught:
        await notifier.notify(notification(alert()))
    assert caught.value.retryable
    assert not caught.value.ambiguous
    assert "unreachable" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


async def test_a_timeout_after_sending_is_retryable_and_ambiguous(
        receiver: tuple[Receiver, str], notifiers: list[WebhookNotifier]) -> None:
    endpoint, url = receiver
    endpoint.answer = Answer(hang=True)
    notifier = make(notifiers, url, timeout=0.3)
    with pytest.raises(NotifyError) as caught:
        await notifier.notify(notification(alert()))
    assert len(endpoint.received) == 1  # it did arrive
    assert caught.value.retryable
    assert caught.value.ambiguous
    assert "timed out" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


async def test_an_invalid_url_is_not_retryable(notifiers: list[WebhookNotifier]) -> None:
    notifier = make(notifiers, "ftp://example.invalid/hook")
    with pytest.raises(NotifyError) as caught:
        await notifier.notify(notification(alert()))
    assert not caught.value.retryable


# --- the classification functions -----------------------------------------------------------


@pytest.mark.parametrize(("status", "retryable", "ambiguous"), [
    (301, False, False), (401, False, False), (403, False, False), (422, False, False),
    (502, True, False), (504, True, True),
])
def test_classify_other_statuses(status: int, retryable: bool, ambiguous: bool) -> None:
    error = classify(status, {}, "", what="slack")
    assert error is not None
    assert str(error) == f"slack answered {status}"
    assert (error.retryable, error.ambiguous) == (retryable, ambiguous)


def test_classify_reads_retry_after_only_on_429_and_503_in_any_case() -> None:
    for status in (429, 503):
        error = classify(status, {"retry-after": "12"}, "", what="x", now=NOW)
        assert error is not None and error.retry_after == 12
    error = classify(500, {"Retry-After": "12"}, "", what="x", now=NOW)
    assert error is not None and error.retry_after is None


def test_classify_cuts_a_long_body() -> None:
    error = classify(500, {}, "x" * 10_000, what="webhook")
    assert error is not None and len(str(error)) < 300


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", None), ("7", 7.0), (" 120 ", 120.0), ("-3", None), ("1.5", None),
    ("soon", None), (formatdate(NOW + 30, usegmt=True), 30.0),
    (formatdate(NOW - 30, usegmt=True), 0.0), ("Fri, 15 Jan 2027 08:00:30 -0000", 30.0),
    ("9" * 400, None),
])
def test_retry_after(value: str | None, expected: float | None) -> None:
    assert retry_after(value, NOW) == expected


def test_urls_in_messages_keep_only_scheme_and_host() -> None:
    text = "Connection timeout to host https://user:pw@hooks.example.com:8443/T0/B1?token=x"
    assert redact_urls(text) == "Connection timeout to host https://hooks.example.com:8443/…"
