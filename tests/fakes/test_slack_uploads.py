"""FakeSlack's file uploads: the external upload flow slack-sdk's files_upload_v2 drives,
refusing what Slack refuses; the retired files.upload."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from tests.fakes.slack import DEFAULT_SCOPES, DEFAULT_TOKEN, FakeSlack

pytestmark = pytest.mark.usefixtures("no_proxy")

CHART = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
WRITER = "xoxb-files"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(channels=("C0001",), not_member=("C0OUT",),
                         archived=("C0ARCH",)) as fake:
        fake.add_token(WRITER, DEFAULT_SCOPES | {"files:write"})
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=WRITER, base_url=slack.api_url)


async def refused(call: Any) -> AsyncSlackResponse:
    with pytest.raises(SlackApiError) as raised:
        await call
    response: AsyncSlackResponse = raised.value.response
    return response


async def put(url: str, content: bytes) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.post(url, data=content) as resp:
        return resp.status, await resp.text()


async def test_files_upload_v2_shares_the_file_in_a_thread(
        slack: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C0001", text="Weekly report")
    resp = await client.files_upload_v2(channel="C0001", thread_ts=parent["ts"],
                                        filename="noise.png", content=CHART,
                                        title="Pages per rule", initial_comment="This week")
    (shared,) = slack.files
    assert resp["file"]["id"] == shared.id
    assert (shared.filename, shared.title, shared.content) == ("noise.png", "Pages per rule",
                                                               CHART)
    assert (shared.channel, shared.thread_ts, shared.initial_comment) == (
        "C0001", parent["ts"], "This week")
    methods = [m for m, _ in slack.calls]
    assert methods[-2:] == ["files.getUploadURLExternal", "files.completeUploadExternal"]
    assert slack.calls[-2][1]["length"] == str(len(CHART))


async def test_both_methods_need_files_write(slack: FakeSlack) -> None:
    bare = AsyncWebClient(token=DEFAULT_TOKEN, base_url=slack.api_url)
    resp = await refused(bare.files_upload_v2(channel="C0001", filename="a.png", content=b"x"))
    assert (resp["error"], resp["needed"]) == ("missing_scope", "files:write")
    resp = await refused(bare.files_completeUploadExternal(files=[{"id": "F1"}],
                                                           channel_id="C0001"))
    assert resp["error"] == "missing_scope"
    assert slack.files == []


async def test_get_upload_url_needs_a_filename_and_a_length(client: AsyncWebClient) -> None:
    missing = await refused(client.api_call("files.getUploadURLExternal",
                                            params={"filename": "a.png"}))
    assert missing["error"] == "invalid_arguments"
    missing = await refused(client.api_call("files.getUploadURLExternal",
                                            params={"length": 3}))
    assert missing["error"] == "invalid_arguments"
    zero = await refused(client.files_getUploadURLExternal(filename="a.png", length=0))
    assert zero["error"] == "missing_argument"


async def test_the_upload_url_takes_the_announced_bytes_once(
        slack: FakeSlack, client: AsyncWebClient) -> None:
    ticket = await client.files_getUploadURLExternal(filename="a.png", length=len(CHART) + 1)
    assert str(ticket["upload_url"]).startswith(slack.url + "/upload/v1/")
    status, _ = await put(str(ticket["upload_url"]), CHART)  # a byte short
    assert status == 400
    not_uploaded = await refused(client.files_completeUploadExternal(
        files=[{"id": ticket["file_id"]}], channel_id="C0001"))
    assert not_uploaded["error"] == "file_not_found"

    ticket = await client.files_getUploadURLExternal(filename="a.png", length=len(CHART))
    assert await put(str(ticket["upload_url"]), CHART) == (200, f"OK - {len(CHART)}")
    status, _ = await put(str(ticket["upload_url"]), CHART)
    assert status == 404  # used up
    done = await client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}],
                                                     channel_id="C0001")
    assert done["files"][0]["id"] == ticket["file_id"]
    again = await refused(client.files_completeUploadExternal(
        files=[{"id": ticket["file_id"]}], channel_id="C0001"))
    assert again["error"] == "file_not_found"


async def uploaded(client: AsyncWebClient) -> str:
    ticket = await client.files_getUploadURLExternal(filename="a.png", length=len(CHART))
    assert (await put(str(ticket["upload_url"]), CHART))[0] == 200
    return str(ticket["file_id"])


@pytest.mark.parametrize("args, error", [
    ({"files": "not json"}, "invalid_arguments"),
    ({"files": "[]"}, "invalid_arguments"),
    ({"files": '[{"title": "no id"}]'}, "invalid_arguments"),
    ({"files": '[{"id": "F0UNKNOWN"}]', "channel_id": "C0001"}, "file_not_found"),
    ({"channel_id": "C0NOPE"}, "invalid_channel"),
    ({"channel_id": "U0ALICE01"}, "invalid_channel"),  # a DM needs conversations.open
    ({"channel_id": "C0OUT"}, "not_in_channel"),
    ({"channel_id": "C0ARCH"}, "is_archived"),
    ({"channel_id": "C0001", "thread_ts": "1.000001"}, "invalid_arguments"),
    ({"thread_ts": "1.000001"}, "invalid_arguments"),
])
async def test_complete_refuses_what_slack_refuses(
        slack: FakeSlack, client: AsyncWebClient, args: dict[str, str], error: str) -> None:
    file_id = await uploaded(client)
    params = {"files": f'[{{"id": "{file_id}", "title": "t"}}]', **args}
    assert (await refused(client.api_call("files.completeUploadExternal", params=params))
            )["error"] == error
    assert slack.files == []


async def test_without_a_channel_the_file_stays_private(
        slack: FakeSlack, client: AsyncWebClient) -> None:
    file_id = await uploaded(client)
    await client.files_completeUploadExternal(files=[{"id": file_id}])
    (private,) = slack.files
    assert private.channel is None and private.title == "a.png"


async def test_files_upload_is_retired(client: AsyncWebClient) -> None:
    resp = await refused(client.api_call("files.upload", data={"channels": "C0001",
                                                               "content": "x"}))
    assert resp["error"] == "method_deprecated"
