"""FakeSlack, driven by the real slack-sdk clients (AsyncWebClient, AsyncWebhookClient)."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.parse
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import Clock as SignatureClock
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes import ManualClock
from tests.fakes.slack import DEFAULT_TOKEN, FakeSlack, sign, signed_block_actions

pytestmark = pytest.mark.usefixtures("no_proxy")

Block = dict[str, Any]

TS = re.compile(r"\d{10}\.\d{6}")
METADATA = {"event_type": "alert_fired", "event_payload": {"fingerprint": "3f2a", "n": 1}}


class FixedSignatureClock(SignatureClock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def plain(text: str) -> Block:
    return {"type": "plain_text", "text": text}


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, **extra: Any) -> Block:
    return {"type": "button", "text": plain(text), "action_id": action_id, **extra}


def actions(*elements: Block) -> Block:
    return {"type": "actions", "elements": list(elements)}


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(channels=("C0001", "C0002"), not_member=("C0OUT",),
                         archived=("C0ARCH",), channel_names={"alerts": "C0001"}) as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=DEFAULT_TOKEN, base_url=slack.api_url)


async def slack_error(call: Any) -> AsyncSlackResponse:
    """The response of a call that must fail with SlackApiError."""
    with pytest.raises(SlackApiError) as raised:
        await call
    response: AsyncSlackResponse = raised.value.response
    return response


# --- posting ----------------------------------------------------------------------------


async def test_post_message_is_stored_and_answered_like_slack(
        slack: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [section("*disk full* on db1")]
    resp = await client.chat_postMessage(channel="C0001", text="disk full", blocks=blocks,
                                         unfurl_links=False)

    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp["ok"] is True and resp["channel"] == "C0001"
    assert TS.fullmatch(resp["ts"])
    assert resp["message"]["text"] == "disk full"
    assert resp["message"]["blocks"][0]["block_id"]  # generated, as Slack does
    [msg] = slack.messages("C0001")
    assert (msg.ts, msg.text, msg.unfurl_links) == (resp["ts"], "disk full", False)
    assert slack.calls[-1] == ("chat.postMessage", {"channel": "C0001", "text": "disk full",
                                                    "blocks": blocks, "unfurl_links": False})


async def test_ts_are_unique_strings_increasing_per_channel(
        slack: FakeSlack, client: AsyncWebClient) -> None:
    stamps = [(await client.chat_postMessage(channel=channel, text="x"))["ts"]
              for _ in range(10) for channel in ("C0001", "C0002")]

    assert len(set(stamps)) == len(stamps)
    assert [Decimal(ts) for ts in stamps] == sorted(Decimal(ts) for ts in stamps)
    assert all(isinstance(ts, str) and TS.fullmatch(ts) for ts in stamps)


async def test_channel_name_is_resolved_to_its_id(client: AsyncWebClient) -> None:
    resp = await client.chat_postMessage(channel="#alerts", text="x")

    assert resp["channel"] == "C0001"


@pytest.mark.parametrize(("token", "error"), [
    (None, "not_authed"), ("xoxb-wrong", "invalid_auth"), ("xoxb-old", "token_revoked")])
async def test_bad_tokens_are_refused_with_http_200(
        slack: FakeSlack, token: str | None, error: str) -> None:
    slack.revoked.add("xoxb-old")
    client = AsyncWebClient(token=token, base_url=slack.api_url)

    resp = await slack_error(client.chat_postMessage(channel="C0001", text="x"))

    assert (resp.status_code, resp["error"]) == (200, error)
    assert slack.messages("C0001") == []


@pytest.mark.parametrize(("channel", "error"), [
    ("C9999", "channel_not_found"), ("C0OUT", "not_in_channel"), ("C0ARCH", "is_archived"),
    ("#nowhere", "channel_not_found")])
async def test_channels_the_bot_cannot_post_to(
        client: AsyncWebClient, channel: str, error: str) -> None:
    resp = await slack_error(client.chat_postMessage(channel=channel, text="x"))

    assert (resp.status_code, resp["error"]) == (200, error)


async def test_a_message_needs_text_blocks_or_attachments(client: AsyncWebClient) -> None:
    with pytest.warns(UserWarning, match="text"):
        resp = await slack_error(client.chat_postMessage(channel="C0001"))

    assert resp["error"] == "no_text"


async def test_text_above_40000_characters_is_truncated_with_a_warning(
        slack: FakeSlack, client: AsyncWebClient) -> None:
    resp = await client.chat_postMessage(channel="C0001", text="x" * 40_001)

    assert resp["response_metadata"]["warnings"] == ["message_truncated"]
    assert len(slack.message("C0001", resp["ts"]).text) == 40_000


async def test_auth_test(client: AsyncWebClient) -> None:
    resp = await client.auth_test()

    assert resp["ok"] is True
    assert {"user_id", "bot_id", "team_id", "team"} <= set(resp.data)


async def test_unknown_method(client: AsyncWebClient) -> None:
    resp = await slack_error(client.api_call("chat.nope", json={"channel": "C0001"}))

    assert resp["error"] == "unknown_method"


# --- Block Kit validation ---------------------------------------------------------------


BAD_BLOCKS = [
    pytest.param([divider()] * 51, "/blocks", id="51 blocks"),
    pytest.param([divider(), divider(), divider(), section("x" * 3001)],
                 "/blocks/3/text/text", id="3001-char section text"),
    pytest.param([actions(button("Ack", "a1"), button("x" * 76, "a2"))],
                 "/blocks/0/elements/1/text/text", id="76-char button text"),
    pytest.param([{"type": "header", "text": {"type": "mrkdwn", "text": "*down*"}}],
                 "/blocks/0/text/type", id="header mrkdwn"),
    pytest.param([{"type": "header", "text": plain("x" * 151)}], "/blocks/0/text/text",
                 id="151-char header"),
    pytest.param([{**section("x"), "block_id": "b" * 256}], "/blocks/0/block_id",
                 id="256-char block_id"),
    pytest.param([{"type": "section", "fields": [plain("f")] * 11}], "/blocks/0/fields",
                 id="11 fields"),
    pytest.param([{"type": "section", "fields": [plain("f"), plain("f"), plain("x" * 2001)]}],
                 "/blocks/0/fields/2/text", id="2001-char field"),
    pytest.param([{"type": "section"}], "/blocks/0", id="section without text or fields"),
    pytest.param([{"type": "context", "elements": [plain("c")] * 11}],
                 "/blocks/0/elements", id="11 context elements"),
    pytest.param([actions(*[button("b", f"a{i}") for i in range(26)])],
                 "/blocks/0/elements", id="26 actions elements"),
    pytest.param([actions(button("a", "same"), button("b", "same"))],
                 "/blocks/0/elements/1/action_id", id="duplicate action_id"),
    pytest.param([actions(button("a", "x" * 256))], "/blocks/0/elements/0/action_id",
                 id="256-char action_id"),
    pytest.param([actions(button("a", "a1", value="v" * 2001))],
                 "/blocks/0/elements/0/value", id="2001-char value"),
    pytest.param([actions(button("a", "a1", url="https://x/" + "u" * 2991))],
                 "/blocks/0/elements/0/url", id="3001-char url"),
    pytest.param([actions(button("a", "a1", style="warning"))],
                 "/blocks/0/elements/0/style", id="bad style"),
    pytest.param([{"type": "carousel"}], "/blocks/0/type", id="unknown block type"),
    pytest.param([{"type": "section", "text": {"type": "markdown", "text": "x"}}],
                 "/blocks/0/text/type", id="unknown text type"),
    pytest.param([section("ok"), section("")], "/blocks/1/text/text", id="empty text"),
]


def assert_invalid_blocks(resp: AsyncSlackResponse, pointer: str) -> None:
    assert (resp.status_code, resp["error"]) == (200, "invalid_blocks")
    [error] = resp["errors"]
    assert error.endswith(f"[json-pointer:{pointer}]")
    assert resp["response_metadata"]["messages"] == [f"[ERROR] {error}"]


@pytest.mark.parametrize(("blocks", "pointer"), BAD_BLOCKS)
async def test_invalid_blocks_are_refused_with_a_json_pointer(
        slack: FakeSlack, client: AsyncWebClient, blocks: list[Block], pointer: str) -> None:
    resp = await slack_error(client.chat_postMessage(channel="C0001", text="x", blocks=blocks))

    assert_invalid_blocks(resp, pointer)
    assert slack.messages("C0001") == []


async def test_block_limits_are_inclusive(client: AsyncWebClient) -> None:
    blocks = [{"type": "header", "text": plain("h" * 150)}, section("s" * 3000),
              actions(*[button("b" * 75, f"a{i}", value="v" * 2000) for i in range(25)]),
              *[divider()] * 47]

    resp = await client.chat_postMessage(channel="C0001", text="x", blocks=blocks)

    assert len(resp["message"]["blocks"]) == 50


async def test_section_text_wording_matches_slack(client: AsyncWebClient) -> None:
    resp = await slack_error(client.chat_postMessage(
        channel="C0001", text="x", blocks=[section("x" * 3001)]))

    assert resp["errors"] == [
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]


async def test_form_encoded_blocks_are_a_json_string(
        slack: FakeSlack, client: AsyncWebClient) -> None:
    ok = await client.api_call("chat.postMessage", data={
        "channel": "C0001", "text": "x", "blocks": json.dumps([section("form")])})
    bad = await slack_error(client.api_call("chat.postMessage", data={
        "channel": "C0001", "text": "x", "blocks": json.dumps([divider(), section("")])}))
    garbled = await slack_error(client.api_call("chat.postMessage", data={
        "channel": "C0001", "text": "x", "blocks": "[{not json"}))

    assert slack.message("C0001", ok["ts"]).blocks[0]["text"]["text"] == "form"  # type: ignore[index]
    assert_invalid_blocks(bad, "/blocks/1/text/text")
    assert garbled["error"] == "invalid_blocks_format"


# --- threads, metadata, history ---------------------------------------------------------


async def test_a_reply_to_a_reply_is_filed_under_the_parent(
        slack: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C0001", text="firing")
    first = await client.chat_postMessage(channel="C0001", text="ack", thread_ts=parent["ts"])
    second = await client.chat_postMessage(channel="C0001", text="resolved",
                                           thread_ts=first["ts"])

    assert first["message"]["thread_ts"] == parent["ts"]
    assert second["message"]["thread_ts"] == parent["ts"]
    assert [m.text for m in slack.messages("C0001")] == ["firing"]
    assert [m.text for m in slack.replies("C0001", parent["ts"])] == ["ack", "resolved"]
    thread = await client.conversations_replies(channel="C0001", ts=parent["ts"])
    assert [m["text"] for m in thread["messages"]] == ["firing", "ack", "resolved"]
    assert thread["messages"][0]["reply_count"] == 2


async def test_thread_ts_must_name_a_message_of_that_channel(
        client: AsyncWebClient) -> None:
    elsewhere = await client.chat_postMessage(channel="C0002", text="x")

    resp = await slack_error(client.chat_postMessage(
        channel="C0001", text="reply", thread_ts=elsewhere["ts"]))

    assert resp["error"] == "thread_not_found"


async def test_metadata_is_stored_and_returned_only_when_asked(
        slack: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C0001", text="firing", metadata=METADATA)

    plain_history = await client.conversations_history(channel="C0001")
    with_metadata = await client.conversations_history(channel="C0001",
                                                       include_all_metadata=True)

    assert slack.message("C0001", posted["ts"]).metadata == METADATA
    assert "metadata" not in plain_history["messages"][0]
    assert with_metadata["messages"][0]["metadata"] == METADATA


@pytest.mark.parametrize("metadata", [
    {"event_type": "alert_fired"}, {"event_payload": {}}, {"event_type": "", "event_payload": {}},
    {"event_type": "x", "event_payload": "not an object"}, "{not json"])
async def test_malformed_metadata_is_refused(
        slack: FakeSlack, client: AsyncWebClient, metadata: Any) -> None:
    resp = await slack_error(client.chat_postMessage(channel="C0001", text="x",
                                                     metadata=metadata))

    assert resp["error"] == "invalid_metadata_format"
    assert slack.messages("C0001") == []


async def test_history_pages_newest_first_within_bounds(client: AsyncWebClient) -> None:
    ts = [(await client.chat_postMessage(channel="C0001", text=t))["ts"] for t in "abcde"]
    await client.chat_postMessage(channel="C0001", text="reply", thread_ts=ts[0])

    first = await client.conversations_history(channel="C0001", limit=2)
    second = await client.conversations_history(
        channel="C0001", limit=2, cursor=first["response_metadata"]["next_cursor"])
    between = await client.conversations_history(channel="C0001", oldest=ts[1], latest=ts[3])
    inclusive = await client.conversations_history(channel="C0001", oldest=ts[1],
                                                   latest=ts[3], inclusive=True)

    assert [m["text"] for m in first["messages"]] == ["e", "d"] and first["has_more"]
    assert [m["text"] for m in second["messages"]] == ["c", "b"]
    assert [m["text"] for m in between["messages"]] == ["c"]
    assert not between["has_more"]
    assert [m["text"] for m in inclusive["messages"]] == ["d", "c", "b"]


async def test_broadcast_replies_also_show_in_history(client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C0001", text="firing")
    await client.chat_postMessage(channel="C0001", text="quiet", thread_ts=parent["ts"])
    await client.chat_postMessage(channel="C0001", text="loud", thread_ts=parent["ts"],
                                  reply_broadcast=True)

    history = await client.conversations_history(channel="C0001")

    assert [m["text"] for m in history["messages"]] == ["loud", "firing"]


async def test_history_needs_its_scope(slack: FakeSlack) -> None:
    slack.add_token("xoxb-post-only", {"chat:write"})
    client = AsyncWebClient(token="xoxb-post-only", base_url=slack.api_url)
    await client.chat_postMessage(channel="C0001", text="x")

    resp = await slack_error(client.conversations_history(channel="C0001"))

    assert resp["error"] == "missing_scope"
    assert (resp["needed"], resp["provided"]) == ("channels:history", "chat:write")


async def test_history_of_a_channel_the_bot_is_not_in(client: AsyncWebClient) -> None:
    resp = await slack_error(client.conversations_history(channel="C0OUT"))

    assert resp["error"] == "not_in_channel"


# --- chat.update ------------------------------------------------------------------------


async def test_update_semantics_and_history(slack: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C0001", text="firing",
                                           blocks=[section("*firing*")])
    ts = posted["ts"]

    with pytest.warns(UserWarning, match="text"):
        keep = await client.chat_update(channel="C0001", ts=ts, metadata=METADATA)
    assert keep["message"]["blocks"][0]["text"]["text"] == "*firing*"  # neither: blocks kept
    new_blocks = await client.chat_update(channel="C0001", ts=ts, text="acked",
                                          blocks=[section("*acked*")])
    assert new_blocks["message"]["blocks"][0]["text"]["text"] == "*acked*"
    text_only = await client.chat_update(channel="C0001", ts=ts, text="resolved")

    assert text_only["text"] == "resolved" and "blocks" not in text_only["message"]
    msg = slack.message("C0001", ts)
    assert [v.text for v in msg.versions] == ["firing", "firing", "acked", "resolved"]
    assert [v.blocks is not None for v in msg.versions] == [True, True, True, False]
    assert [u.get("text") for u in slack.updates("C0001", ts)] == [None, "acked", "resolved"]
    assert text_only["message"]["edited"]["ts"]


async def test_update_text_is_limited_to_4000_characters(
        slack: FakeSlack, client: AsyncWebClient) -> None:
    ts = (await client.chat_postMessage(channel="C0001", text="x"))["ts"]

    too_long = await slack_error(client.chat_update(channel="C0001", ts=ts, text="y" * 4001))
    await client.chat_update(channel="C0001", ts=ts, text="y" * 4000)

    assert too_long["error"] == "msg_too_long"
    assert len(slack.updates("C0001", ts)) == 1


async def test_update_errors(slack: FakeSlack, client: AsyncWebClient) -> None:
    ts = (await client.chat_postMessage(channel="C0001", text="x"))["ts"]
    foreign = slack.seed_message("C0001", "a human wrote this")

    missing = await slack_error(client.chat_update(channel="C0001", ts="1.000001", text="y"))
    not_ours = await slack_error(client.chat_update(channel="C0001", ts=foreign.ts, text="y"))
    bad_blocks = await slack_error(client.chat_update(
        channel="C0001", ts=ts, text="y", blocks=[actions(button("x" * 76, "a"))]))
    with pytest.warns(UserWarning, match="text"):
        nothing = await slack_error(client.chat_update(channel="C0001", ts=ts))

    assert missing["error"] == "message_not_found"
    assert not_ours["error"] == "cant_update_message"
    assert_invalid_blocks(bad_blocks, "/blocks/0/elements/0/text/text")
    assert nothing["error"] == "no_text"
    assert slack.updates("C0001", ts) == [] and slack.message("C0001", ts).text == "x"


# --- reactions --------------------------------------------------------------------------


async def test_reactions(slack: FakeSlack, client: AsyncWebClient) -> None:
    ts = (await client.chat_postMessage(channel="C0001", text="x"))["ts"]

    await client.reactions_add(channel="C0001", name="white_check_mark", timestamp=ts)
    again = await slack_error(client.reactions_add(channel="C0001", name="white_check_mark",
                                                   timestamp=ts))
    colons = await slack_error(client.reactions_add(channel="C0001", name=":tada:",
                                                    timestamp=ts))
    unknown = await slack_error(client.reactions_add(channel="C0001", name="tada",
                                                     timestamp="1.000001"))

    assert slack.message("C0001", ts).reactions == ["white_check_mark"]
    assert (again["error"], colons["error"], unknown["error"]) == (
        "already_reacted", "invalid_name", "message_not_found")
    method, args = slack.calls[1]
    assert (method, args) == ("reactions.add", {"channel": "C0001", "name": "white_check_mark",
                                                "timestamp": ts})


# --- rate limiting, outages, held responses ---------------------------------------------


async def test_injected_429_without_a_retry_handler(
        slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.inject_ratelimited(retry_after=7)

    resp = await slack_error(client.chat_postMessage(channel="C0001", text="x"))

    assert (resp.status_code, resp["error"]) == (429, "ratelimited")
    assert resp.headers["Retry-After"] == "7"
    assert slack.messages("C0001") == []


async def test_rate_limit_retry_handler_retries_after_retry_after(
        slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("slack_sdk.http_retry.builtin_async_handlers.random.random",
                        lambda: 0.0)  # the handler sleeps Retry-After + random()
    client = AsyncWebClient(token=DEFAULT_TOKEN, base_url=slack.api_url,
                            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    slack.inject_ratelimited(retry_after=0)
    slack.inject_ratelimited(retry_after=0)

    resp = await client.chat_postMessage(channel="C0001", text="x")

    assert resp["ok"] is True
    assert [method for method, _ in slack.calls] == ["chat.postMessage"] * 3
    assert len(slack.messages("C0001")) == 1


async def test_real_limiter_per_method_per_channel() -> None:
    clock = ManualClock()
    async with FakeSlack(channels=("C0001", "C0002"), clock=clock) as slack:
        slack.limit_rate(1, per_seconds=1.0)
        client = AsyncWebClient(token=DEFAULT_TOKEN, base_url=slack.api_url)
        ts = (await client.chat_postMessage(channel="C0001", text="1"))["ts"]

        limited = await slack_error(client.chat_postMessage(channel="C0001", text="2"))
        await client.chat_postMessage(channel="C0002", text="other channel")
        await client.reactions_add(channel="C0001", name="eyes", timestamp=ts)
        clock.advance(1.0)
        await client.chat_postMessage(channel="C0001", text="3")

        assert (limited.status_code, limited["error"]) == (429, "ratelimited")
        assert limited.headers["Retry-After"] == "1"
        assert [m.text for m in slack.messages("C0001")] == ["1", "3"]


async def test_outage_answers_503_html(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.down = True

    resp = await slack_error(client.chat_postMessage(channel="C0001", text="x"))
    async with aiohttp.ClientSession() as session, \
            session.post(slack.api_url + "chat.postMessage") as raw:
        content_type = raw.content_type

    assert resp.status_code == 503
    assert content_type == "text/html"
    assert slack.messages("C0001") == []


async def test_held_response_after_the_message_is_stored(
        slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.hold()
    task = asyncio.create_task(client.chat_postMessage(channel="C0001", text="paged"))
    await slack.wait_held(1)

    assert [m.text for m in slack.messages("C0001")] == ["paged"]  # Slack stored it...
    task.cancel()  # ...and the client dies before hearing back
    with pytest.raises(asyncio.CancelledError):
        await task
    slack.release()

    resp = await client.chat_postMessage(channel="C0001", text="after")
    assert resp["ok"] is True
    assert (slack.held, slack.held_total) == (0, 1)


async def test_release_delivers_held_responses(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.hold()
    tasks = [asyncio.create_task(client.chat_postMessage(channel="C0001", text=str(i)))
             for i in range(2)]
    await slack.wait_held(2)
    assert not any(task.done() for task in tasks)

    slack.release()
    results = await asyncio.gather(*tasks)

    assert {r["ts"] for r in results} == {m.ts for m in slack.messages("C0001")}


# --- incoming webhooks ------------------------------------------------------------------


async def test_webhook_posts_answer_ok(slack: FakeSlack) -> None:
    resp = await AsyncWebhookClient(slack.webhook_url).send(text="disk full",
                                                            blocks=[section("*disk*")])

    assert (resp.status_code, resp.body) == (200, "ok")
    [post] = slack.webhook_posts
    assert (post.channel, post.body["text"]) == ("C0001", "disk full")
    assert [m.text for m in slack.messages("C0001")] == ["disk full"]


async def test_webhook_errors_are_plain_text(slack: FakeSlack) -> None:
    webhook = AsyncWebhookClient(slack.webhook_url)
    archived = AsyncWebhookClient(slack.add_webhook("C0ARCH"))
    unknown = AsyncWebhookClient(f"{slack.url}/services/T0001/B0001/nope")

    no_text = await webhook.send()
    bad_blocks = await webhook.send(text="x", blocks=[{"type": "header",
                                                       "text": {"type": "mrkdwn", "text": "x"}}])
    gone = await archived.send(text="x")
    no_service = await unknown.send(text="x")
    async with aiohttp.ClientSession() as session, \
            session.post(slack.webhook_url, data="not json") as raw:
        invalid = (raw.status, await raw.text())

    assert (no_text.status_code, no_text.body) == (400, "no_text")
    assert (bad_blocks.status_code, bad_blocks.body) == (400, "invalid_blocks")
    assert (gone.status_code, gone.body) == (410, "channel_is_archived")
    assert (no_service.status_code, no_service.body) == (404, "no_service")
    assert invalid == (400, "invalid_payload")
    assert slack.webhook_posts == []


async def test_webhook_429_is_retried_by_the_handler(
        slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("slack_sdk.http_retry.builtin_async_handlers.random.random",
                        lambda: 0.0)
    slack.inject_webhook(429, "rate_limited", {"Retry-After": "0"})
    slack.inject_webhook(429, "rate_limited", {"Retry-After": "0"})
    plain_client = AsyncWebhookClient(slack.webhook_url)
    retrying = AsyncWebhookClient(slack.webhook_url,
                                  retry_handlers=[AsyncRateLimitErrorRetryHandler()])

    first = await plain_client.send(text="x")
    second = await retrying.send(text="y")

    assert (first.status_code, first.headers["Retry-After"]) == (429, "0")
    assert (second.status_code, second.body) == (200, "ok")
    assert [p.body["text"] for p in slack.webhook_posts] == ["y"]


# --- response_url -----------------------------------------------------------------------


async def test_response_url_replaces_the_message_and_expires_after_5_uses(
        slack: FakeSlack, client: AsyncWebClient) -> None:
    ts = (await client.chat_postMessage(channel="C0001", text="firing",
                                        blocks=[section("*firing*")]))["ts"]
    responder = AsyncWebhookClient(slack.response_url("C0001", ts))

    replaced = await responder.send(text="acked by alice", replace_original=True)
    posted = await responder.send(text="on it", response_type="in_channel")
    for _ in range(3):
        await responder.send(text="only you can see this")
    sixth = await responder.send(text="too late")

    assert (replaced.status_code, replaced.body) == (200, "ok")
    assert slack.message("C0001", ts).text == "acked by alice"
    assert slack.message("C0001", ts).blocks is None
    assert posted.status_code == 200
    assert [m.text for m in slack.messages("C0001")] == ["acked by alice", "on it"]
    assert [p.effect for p in slack.response_url_posts] == [
        "replaced", "in_channel", "ephemeral", "ephemeral", "ephemeral"]
    assert (sixth.status_code, sixth.body) == (404, "expired_url")


async def test_response_url_expires_after_30_minutes() -> None:
    clock = ManualClock()
    async with FakeSlack(clock=clock) as slack:
        responder = AsyncWebhookClient(slack.response_url("C0001"))
        assert (await responder.send(text="in time")).status_code == 200

        clock.advance(30 * 60 + 1)
        late = await responder.send(text="late")

        assert (late.status_code, late.body) == (404, "expired_url")


# --- signatures -------------------------------------------------------------------------

DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = "1531420618"
DOC_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    "&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    "%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_sign_reproduces_the_slack_doc_vector() -> None:
    verifier = SignatureVerifier(DOC_SECRET, clock=FixedSignatureClock(1531420618 + 10))

    assert sign(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY) == DOC_SIGNATURE
    assert sign(DOC_SECRET, int(DOC_TIMESTAMP), DOC_BODY.encode()) == DOC_SIGNATURE
    assert verifier.is_valid(DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE)


def test_signed_block_actions_pass_the_sdk_verifier() -> None:
    body, headers = signed_block_actions(
        "s3cret", action_id="ack", value="fp:3f2a", message_ts="1700000000.000200",
        response_url="http://127.0.0.1:1/actions/x", timestamp=1_700_000_000)
    verifier = SignatureVerifier("s3cret", clock=FixedSignatureClock(1_700_000_030))
    stale = SignatureVerifier("s3cret", clock=FixedSignatureClock(1_700_000_301))

    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body.replace(b"ack", b"nak"), headers)
    assert not stale.is_valid_request(body, headers)
    payload = json.loads(urllib.parse.parse_qs(body.decode())["payload"][0])
    assert payload["type"] == "block_actions"
    assert (payload["actions"][0]["action_id"], payload["actions"][0]["value"]) == (
        "ack", "fp:3f2a")
    assert payload["container"]["message_ts"] == payload["message"]["ts"] == "1700000000.000200"
    assert (payload["user"]["id"], payload["channel"]["id"]) == ("U0001", "C0001")
    assert payload["response_url"] == "http://127.0.0.1:1/actions/x"
