"""FakePagerDuty, driven by aiohttp as an asyncio sender would post Events API v2."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes import ManualClock
from tests.fakes.pagerduty import FakePagerDuty

pytestmark = pytest.mark.usefixtures("no_proxy")

KEY = "e93facc04764012d7bfb002500d5d1a6"
OTHER_KEY = "R0123456789abcdef0123456789abcde"
RETRY_STATUSES = {429, 500, 502, 503, 504}

Event = dict[str, Any]


def trigger(dedup_key: str | None = "srv01/mysql", routing_key: str = KEY,
            **payload: Any) -> Event:
    event: Event = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "payload": {"summary": "DISK at 99% on db1", "source": "db1.example.com",
                    "severity": "critical", "custom_details": {"free": "1%"}, **payload},
        "links": [{"href": "https://grafana.example.com/d/abc", "text": "Dashboard"}],
        "images": [{"src": "https://example.com/graph.png"}],
    }
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    return event


def action(name: str, dedup_key: str = "srv01/mysql", routing_key: str = KEY) -> Event:
    return {"routing_key": routing_key, "event_action": name, "dedup_key": dedup_key}


@pytest.fixture
async def pd() -> AsyncIterator[FakePagerDuty]:
    async with FakePagerDuty() as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def post(session: aiohttp.ClientSession, url: str, event: Any) -> tuple[int, Any]:
    """(status, parsed JSON body or None), tolerating non-JSON answers."""
    async with session.post(url, json=event) as resp:
        text = await resp.text()
        try:
            return resp.status, json.loads(text) if text else None
        except ValueError:
            return resp.status, text


async def send_with_retries(session: aiohttp.ClientSession, url: str, event: Event,
                            attempts: int = 4) -> tuple[int, Any, int]:
    """Retry 429/5xx at once; returns (status, body, attempts used)."""
    for attempt in range(1, attempts + 1):
        status, body = await post(session, url, event)
        if status not in RETRY_STATUSES:
            return status, body, attempt
    return status, body, attempts


# --- dedup semantics --------------------------------------------------------------------


async def test_trigger_dedup_ack_resolve_then_a_new_incident(
        pd: FakePagerDuty, session: aiohttp.ClientSession) -> None:
    answers = [await post(session, pd.enqueue_url, event) for event in (
        trigger(), trigger(summary="DISK at 100% on db1"), action("acknowledge"),
        action("resolve"), trigger())]

    assert answers[0] == (202, {"status": "success", "message": "Event processed",
                                "dedup_key": "srv01/mysql"})
    assert {status for status, _ in answers} == {202}
    first, second = pd.incidents
    assert (first.status, first.trigger_count) == ("resolved", 2)
    assert first.history == ["trigger", "trigger", "acknowledge", "resolve"]
    assert first.summary == "DISK at 99% on db1"  # the first trigger's
    assert (first.severity, first.custom_details) == ("critical", {"free": "1%"})
    assert first.links == [{"href": "https://grafana.example.com/d/abc", "text": "Dashboard"}]
    assert (second.status, second.trigger_count) == ("triggered", 1)
    assert pd.open_incidents() == [second]
    assert len(pd.events) == 5 and pd.dropped == []


async def test_acknowledge_keeps_the_incident_open(
        pd: FakePagerDuty, session: aiohttp.ClientSession) -> None:
    await post(session, pd.enqueue_url, trigger())
    await post(session, pd.enqueue_url, action("acknowledge"))
    await post(session, pd.enqueue_url, trigger())

    [incident] = pd.open_incidents()
    assert (incident.status, incident.trigger_count) == ("acknowledged", 2)


async def test_ack_and_resolve_without_an_open_incident_are_dropped(
        pd: FakePagerDuty, session: aiohttp.ClientSession) -> None:
    await post(session, pd.enqueue_url, trigger())

    other_key = await post(session, pd.enqueue_url, action("resolve", routing_key=OTHER_KEY))
    unknown = await post(session, pd.enqueue_url, action("acknowledge", dedup_key="nope"))

    assert other_key[0] == unknown[0] == 202
    assert [e["event_action"] for e in pd.dropped] == ["resolve", "acknowledge"]
    assert pd.incident("srv01/mysql").status == "triggered"


async def test_same_dedup_key_under_another_routing_key_is_another_incident(
        pd: FakePagerDuty, session: aiohttp.ClientSession) -> None:
    await post(session, pd.enqueue_url, trigger())
    await post(session, pd.enqueue_url, trigger(routing_key=OTHER_KEY))

    assert len(pd.open_incidents()) == 2
    assert len(pd.open_incidents(OTHER_KEY)) == 1


async def test_a_trigger_without_dedup_key_gets_one(
        pd: FakePagerDuty, session: aiohttp.ClientSession) -> None:
    status, body = await post(session, pd.enqueue_url, trigger(dedup_key=None))

    assert status == 202 and body["dedup_key"]
    assert pd.incident(body["dedup_key"]).status == "triggered"


# --- validation -------------------------------------------------------------------------


def without_payload_field(name: str) -> Event:
    event = trigger()
    del event["payload"][name]
    return event


INVALID_EVENTS = [
    pytest.param(trigger(routing_key="short"), id="routing_key length"),
    pytest.param({**trigger(), "event_action": "escalate"}, id="unknown event_action"),
    pytest.param({k: v for k, v in trigger().items() if k != "event_action"},
                 id="missing event_action"),
    pytest.param(trigger(dedup_key="k" * 256), id="256-char dedup_key"),
    pytest.param(without_payload_field("summary"), id="missing summary"),
    pytest.param(without_payload_field("source"), id="missing source"),
    pytest.param(without_payload_field("severity"), id="missing severity"),
    pytest.param(trigger(severity="major"), id="bad severity"),
    pytest.param(trigger(summary="s" * 1025), id="1025-char summary"),
    pytest.param(trigger(timestamp="yesterday"), id="timestamp not ISO 8601"),
    pytest.param({**trigger(), "links": [{"text": "no href"}]}, id="link without href"),
    pytest.param({**trigger(), "images": [{"alt": "no src"}]}, id="image without src"),
    pytest.param({**trigger(), "images": [{"src": "http://example.com/g.png"}]},
                 id="image over http"),
    pytest.param({"routing_key": KEY, "event_action": "acknowledge"}, id="ack without key"),
    pytest.param({"routing_key": KEY, "event_action": "resolve"}, id="resolve without key"),
    pytest.param({"routing_key": KEY, "event_action": "trigger"}, id="trigger no payload"),
]


@pytest.mark.parametrize("event", INVALID_EVENTS)
async def test_invalid_events_are_refused(
        pd: FakePagerDuty, session: aiohttp.ClientSession, event: Event) -> None:
    status, body = await post(session, pd.enqueue_url, event)

    assert status == 400
    assert (body["status"], body["message"]) == ("invalid event", "Event object is invalid")
    assert body["errors"]
    assert pd.events == [] and pd.incidents == []


async def test_documented_error_wordings(
        pd: FakePagerDuty, session: aiohttp.ClientSession) -> None:
    _, body = await post(session, pd.enqueue_url, {"routing_key": "short"})

    assert body["errors"] == ["Length of 'routing_key' is incorrect (should be 32 characters)",
                              "'event_action' is missing or blank"]


async def test_valid_timestamps_are_accepted(
        pd: FakePagerDuty, session: aiohttp.ClientSession) -> None:
    for i, stamp in enumerate(["2015-07-17T08:42:58.315+0000", "2015-07-17T08:42:58Z"]):
        status, _ = await post(session, pd.enqueue_url, trigger(f"k{i}", timestamp=stamp))
        assert status == 202


@pytest.mark.parametrize(("body", "content_type"), [
    (json.dumps(trigger()), "text/plain"), ("{not json", "application/json"),
    ("[1, 2]", "application/json")])
async def test_unrecognized_objects(pd: FakePagerDuty, session: aiohttp.ClientSession,
                                    body: str, content_type: str) -> None:
    async with session.post(pd.enqueue_url, data=body,
                            headers={"Content-Type": content_type}) as resp:
        answer = await resp.json()

    assert resp.status == 400 and answer["status"] == "Unrecognized object"
    assert pd.events == []


async def test_events_are_limited_to_512_kb(
        pd: FakePagerDuty, session: aiohttp.ClientSession) -> None:
    big = await post(session, pd.enqueue_url, trigger("big", custom_details={"x": "y" * 530_000}))
    fits = await post(session, pd.enqueue_url, trigger("ok", custom_details={"x": "y" * 500_000}))

    assert big[0] == 400 and big[1]["status"] == "invalid event"
    assert fits[0] == 202
    assert [e["dedup_key"] for e in pd.events] == ["ok"]


# --- change events ----------------------------------------------------------------------


async def test_change_events(pd: FakePagerDuty, session: aiohttp.ClientSession) -> None:
    change = {"routing_key": KEY, "payload": {"summary": "deployed v2", "source": "ci"},
              "links": [{"href": "https://ci.example.com/1"}]}

    ok = await post(session, pd.change_url, change)
    no_summary = await post(session, pd.change_url, {"routing_key": KEY, "payload": {}})
    bad_key = await post(session, pd.change_url, {**change, "routing_key": "x"})

    assert ok[0] == 202 and ok[1]["status"] == "success"
    assert no_summary[0] == bad_key[0] == 400
    assert pd.change_events == [change] and pd.events == []


# --- failures ---------------------------------------------------------------------------


async def test_injected_429_then_success(
        pd: FakePagerDuty, session: aiohttp.ClientSession) -> None:
    pd.inject(429)
    async with session.post(pd.enqueue_url, json=trigger()) as resp:
        first = (resp.status, await resp.read(), resp.headers.get("Retry-After"))
    pd.inject(429, headers={"Retry-After": "0"})

    status, body, attempts = await send_with_retries(session, pd.enqueue_url, trigger())

    assert first == (429, b"", None)
    assert (status, body["status"], attempts) == (202, "success", 2)
    assert pd.incident("srv01/mysql").trigger_count == 1  # the 429s were not ingested
    assert pd.requests == 3


async def test_server_errors_and_outage(
        pd: FakePagerDuty, session: aiohttp.ClientSession) -> None:
    pd.inject(500, {"status": "error", "message": "Internal error", "errors": ["boom"]})
    pd.inject(502)

    status, _, attempts = await send_with_retries(session, pd.enqueue_url, trigger())
    pd.down = True
    async with session.post(pd.enqueue_url, json=action("resolve")) as resp:
        outage = (resp.status, resp.content_type)

    assert (status, attempts) == (202, 3)
    assert outage == (503, "text/html")
    assert pd.open_incidents()[0].status == "triggered"


async def test_rate_limiter_per_routing_key(session: aiohttp.ClientSession) -> None:
    clock = ManualClock()
    async with FakePagerDuty(clock=clock) as pd:
        pd.limit_rate(2, per_seconds=60.0)
        statuses = [(await post(session, pd.enqueue_url, trigger(f"k{i}")))[0]
                    for i in range(3)]
        other = await post(session, pd.enqueue_url, trigger("k0", routing_key=OTHER_KEY))
        clock.advance(60.0)
        later = await post(session, pd.enqueue_url, trigger("k2"))

        assert statuses == [202, 202, 429]
        assert other[0] == later[0] == 202
        assert [e["dedup_key"] for e in pd.events] == ["k0", "k1", "k0", "k2"]


async def test_held_response_after_the_event_is_processed(
        pd: FakePagerDuty, session: aiohttp.ClientSession) -> None:
    pd.hold()
    task = asyncio.create_task(post(session, pd.enqueue_url, trigger()))
    await pd.wait_held(1)

    assert pd.incident("srv01/mysql").status == "triggered"  # PagerDuty has it...
    task.cancel()  # ...the sender dies before hearing back, and sends it again
    with pytest.raises(asyncio.CancelledError):
        await task
    pd.release()
    status, _ = await post(session, pd.enqueue_url, trigger())

    assert status == 202
    [incident] = pd.incidents
    assert incident.trigger_count == 2  # deduplicated, not a second incident
    assert (pd.held, pd.held_total) == (0, 1)


async def test_release_delivers_held_responses(
        pd: FakePagerDuty, session: aiohttp.ClientSession) -> None:
    pd.hold()
    task = asyncio.create_task(post(session, pd.enqueue_url, trigger()))
    await pd.wait_held(1)
    assert not task.done()

    pd.release()

    assert (await task)[0] == 202
