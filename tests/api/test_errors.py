"""What the API answers and logs when a request is malformed, or a handler fails: a 4xx for
the client's mistakes (with one log line at most), a 500 and one record with the traceback
for alertd's own."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
from typing import Any

import aiohttp
import pytest

from alertd.daemon import Daemon
from tests.api.conftest import SLACK_SECRET, T0, problems_logged
from tests.fakes.slack import block_actions_payload, sign

SLACK = "/api/alertd/v1/slack/actions"
TS = str(int(T0))


async def slack_post(http: aiohttp.ClientSession, body: bytes,
                     headers: dict[str, str]) -> int:
    async with http.post(SLACK, data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", **headers}) as resp:
        return resp.status


def form(payload: object) -> bytes:
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


@pytest.mark.parametrize("timestamp", ["abc", "9" * 400, "9" * 5000, "-5", "", "1e9",
                                       "\u0661\u0662\u0663"])
async def test_a_malformed_slack_timestamp_is_unauthenticated(
        http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, timestamp: str) -> None:
    body = form({"type": "block_actions"})
    headers = {"X-Slack-Request-Timestamp": timestamp,
               "X-Slack-Signature": sign(SLACK_SECRET, timestamp, body)}
    # aiohttp sends header values as UTF-8; the Arabic-Indic digits are what int() takes.
    assert await slack_post(http, body, headers) == 401
    assert problems_logged(caplog) == []


async def test_a_slack_signature_or_body_slack_sdk_cannot_read_is_unauthenticated(
        http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture) -> None:
    body = form({"type": "block_actions"})
    assert await slack_post(http, body, {"X-Slack-Request-Timestamp": TS,
                                         "X-Slack-Signature": "v0=\u00e9"}) == 401
    raw = b"payload=\xff\xfe"
    assert await slack_post(http, raw, {"X-Slack-Request-Timestamp": TS,
                                        "X-Slack-Signature": sign(SLACK_SECRET, TS, raw)}) == 401
    assert problems_logged(caplog) == []


@pytest.mark.parametrize("payload", [
    "[" * 100_000,
    json.dumps({"type": "block_actions", "user": "U1",
                "actions": [{"action_id": "alertd_ack", "value": "k"}]}),
    json.dumps({"type": "block_actions", "actions": 5}),
    json.dumps({"type": "block_actions", "actions": [{"action_id": ["x"]}]}),
    json.dumps({"type": "block_actions", "user": {"id": "U\ud800"},
                "actions": [{"action_id": "alertd_ack", "value": "k"}]}),
    json.dumps([1]),
])
async def test_signed_but_malformed_slack_payloads_are_a_400(
        http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, payload: str) -> None:
    body = urllib.parse.urlencode({"payload": payload}).encode()
    status = await slack_post(http, body, {"X-Slack-Request-Timestamp": TS,
                                           "X-Slack-Signature": sign(SLACK_SECRET, TS, body)})
    assert status == (200 if payload.startswith('{"type": "block_actions", "actions": [{')
                      else 400)
    assert problems_logged(caplog) == []


async def test_a_signed_click_is_still_answered_200(http: aiohttp.ClientSession) -> None:
    body = form(block_actions_payload(action_id="alertd_ack", value="no-such-page"))
    status = await slack_post(http, body, {"X-Slack-Request-Timestamp": TS,
                                           "X-Slack-Signature": sign(SLACK_SECRET, TS, body)})
    assert status == 200


async def raw_request(daemon: Daemon, data: bytes) -> bytes:
    host, port = daemon.listen_url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


@pytest.mark.parametrize("request_bytes", [
    b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n",
    b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Long: " + b"h" * 100_000 + b"\r\n\r\n",
    b"POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
], ids=["long-url", "nul-in-header", "long-header", "bad-chunk"])
async def test_requests_aiohttp_cannot_parse_are_logged_in_one_line(
        daemon: Daemon, caplog: pytest.LogCaptureFixture, request_bytes: bytes) -> None:
    caplog.set_level(logging.WARNING)
    answer = await raw_request(daemon, request_bytes)
    assert answer.split(b" ", 2)[1] == b"400", answer[:200]
    assert problems_logged(caplog) == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "malformed request" in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage()


async def test_a_failing_handler_answers_500_and_logs_one_record_with_the_traceback(
        http: aiohttp.ClientSession, daemon: Daemon, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(now: float) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(daemon.alerts, "active", boom)
    async with http.get("/api/v2/alerts") as resp:
        assert resp.status == 500
        assert await resp.json() == "internal error; see alertd's log"
    async with http.get("/api/alertd/v1/status") as resp:
        assert resp.status == 200  # the rest goes on
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [(r.name, r.getMessage()) for r in errors] == [
        ("alertd.api", "GET /api/v2/alerts failed")]
    assert errors[0].exc_info is not None


async def test_empty_200s_say_they_are_json(http: aiohttp.ClientSession) -> None:
    async with http.post("/api/v2/alerts", json=[{"labels": {"alertname": "A"}}]) as resp:
        assert (resp.status, resp.headers["Content-Type"]) == (200, "application/json")
    async with http.post("/api/v2/silences", json={
            "matchers": [{"name": "alertname", "value": "A", "isRegex": False}],
            "startsAt": "2027-01-15T08:00:00Z", "endsAt": "2027-01-15T09:00:00Z",
            "createdBy": "ana", "comment": "x"}) as resp:
        sid = (await resp.json())["silenceID"]
    async with http.delete(f"/api/v2/silence/{sid}") as resp:
        assert (resp.status, resp.headers["Content-Type"]) == (200, "application/json")


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("sid", ["not-a-uuid", "6a1f0d5e-0000-4000-8000-000000000001"])
async def test_unknown_and_malformed_silence_ids_are_404(
        http: aiohttp.ClientSession, method: str, sid: str) -> None:
    async with http.request(method, f"/api/v2/silence/{sid}") as resp:
        assert (resp.status, await resp.json()) == (404, "silence not found")


async def test_alertmanager_400s_are_json_strings(http: aiohttp.ClientSession) -> None:
    async with http.post("/api/v2/alerts", json=[{"labels": {}}]) as resp:
        assert resp.status == 400
        assert await resp.json() == "[0].labels: at least one label is required"
    async with http.get("/api/v2/alerts", params={"filter": "nonsense"}) as resp:
        assert resp.status == 400 and isinstance(await resp.json(), str)


async def test_a_body_cut_short_is_logged_in_one_line_without_a_traceback(
        daemon: Daemon, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="alertd.api")

    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "alertd.api"]

    host, port = daemon.listen_url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[{")
    await writer.drain()
    writer.write_eof()  # the client gives up before the 100 bytes it announced
    await asyncio.wait_for(reader.read(), 10)
    writer.close()
    for _ in range(500):  # the handler notices the lost connection on its own time
        if lines():
            break
        await asyncio.sleep(0.01)
    assert lines() == ["POST /api/v2/alerts: the client went away before its request was read"]
    assert problems_logged(caplog) == []
    assert [r.getMessage() for r in caplog.records if r.name.startswith("aiohttp")] == []
