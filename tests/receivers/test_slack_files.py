"""upload_file: the weekly report's chart posted through slack-sdk's AsyncWebClient, against
the Slack double's external upload flow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.web import async_client
from slack_sdk.web.async_client import AsyncWebClient

from alertd.errors import NotifyError
from alertd.receivers.slack_files import upload_file
from tests.fakes.slack import DEFAULT_SCOPES, DEFAULT_TOKEN, FakeSlack

pytestmark = pytest.mark.usefixtures("no_proxy")

CHART = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
REPORTER = "xoxb-report"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_token(REPORTER, DEFAULT_SCOPES | {"files:write"})
        yield fake


def client(slack: FakeSlack, token: str = REPORTER) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=slack.api_url, retry_handlers=[])


async def test_the_chart_is_shared_in_the_reports_thread(slack: FakeSlack) -> None:
    web = client(slack)
    report = await web.chat_postMessage(channel="C0001", text="Alert noise, week 32")
    file_id = await upload_file(web, channel="C0001", thread_ts=str(report["ts"]),
                                filename="noise-week-32.png", content=CHART,
                                title="Pages per rule", initial_comment="Pages per rule")
    (shared,) = slack.files
    assert shared.id == file_id
    assert (shared.filename, shared.content, shared.title) == ("noise-week-32.png", CHART,
                                                               "Pages per rule")
    assert (shared.channel, shared.thread_ts) == ("C0001", report["ts"])
    assert shared.initial_comment == "Pages per rule"


async def test_in_the_channel_without_a_thread(slack: FakeSlack) -> None:
    await upload_file(client(slack), channel="C0001", thread_ts=None, filename="a.png",
                      content=CHART, title="a", initial_comment=None)
    (shared,) = slack.files
    assert (shared.channel, shared.thread_ts, shared.initial_comment) == ("C0001", None, None)


async def test_without_the_files_write_scope_it_fails_and_says_so(slack: FakeSlack) -> None:
    with pytest.raises(NotifyError) as raised:
        await upload_file(client(slack, DEFAULT_TOKEN), channel="C0001", thread_ts=None,
                          filename="a.png", content=CHART, title="a", initial_comment=None)
    assert str(raised.value) == "slack: missing_scope: the app needs the files:write scope"
    assert not raised.value.retryable
    assert slack.files == []


async def test_bytes_that_differ_from_the_announced_length_fail(
        slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    announce = async_client._to_v2_file_upload_item

    def one_byte_more(upload: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = announce(upload)
        return {**item, "length": item["length"] + 1}

    monkeypatch.setattr(async_client, "_to_v2_file_upload_item", one_byte_more)
    with pytest.raises(NotifyError) as raised:
        await upload_file(client(slack), channel="C0001", thread_ts=None, filename="a.png",
                          content=CHART, title="a", initial_comment=None)
    assert "uploading 'a.png' failed" in str(raised.value)
    assert "status: 400" in str(raised.value)
    assert slack.files == []


async def test_an_unknown_channel_fails_for_good(slack: FakeSlack) -> None:
    with pytest.raises(NotifyError) as raised:
        await upload_file(client(slack), channel="C0NOPE", thread_ts=None, filename="a.png",
                          content=CHART, title="a", initial_comment=None)
    assert str(raised.value) == "slack: invalid_channel"
    assert not raised.value.retryable


async def test_slack_down_is_worth_a_retry(slack: FakeSlack) -> None:
    slack.down = True
    with pytest.raises(NotifyError) as raised:
        await upload_file(client(slack), channel="C0001", thread_ts=None, filename="a.png",
                          content=CHART, title="a", initial_comment=None)
    assert raised.value.retryable
