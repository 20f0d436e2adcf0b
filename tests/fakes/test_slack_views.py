"""FakeSlack's modals: clicks carrying trigger_ids it issued, views.open refusing what
Slack refuses, and the view_submission of a view it opened."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import Clock as SignatureClock
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from tests.fakes import ManualClock
from tests.fakes.slack import (
    DEFAULT_TOKEN,
    UNISSUED_TRIGGER_ID,
    FakeSlack,
    Message,
)

pytestmark = pytest.mark.usefixtures("no_proxy")

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
Block = dict[str, Any]


class At(SignatureClock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def plain(text: str) -> Block:
    return {"type": "plain_text", "text": text}


def modal(**fields: Any) -> Block:
    view: Block = {"type": "modal", "title": plain("Why is it noise?"), "submit": plain("Save"),
                   "close": plain("Cancel"), "callback_id": "why", "private_metadata": "{}",
                   "blocks": [
                       {"type": "input", "block_id": "reason", "label": plain("Why?"),
                        "element": {"type": "radio_buttons", "action_id": "r", "options": [
                            {"text": plain("Too sensitive"), "value": "too_sensitive"},
                            {"text": plain("Other"), "value": "other"}]}},
                       {"type": "input", "block_id": "comment", "optional": True,
                        "label": plain("Anything to add?"),
                        "element": {"type": "plain_text_input", "action_id": "c",
                                    "multiline": True, "max_length": 3000}}]}
    view.update(fields)
    return view


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def slack(clock: ManualClock) -> AsyncIterator[FakeSlack]:
    async with FakeSlack(clock=clock) as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=DEFAULT_TOKEN, base_url=slack.api_url)


@pytest.fixture
async def page(slack: FakeSlack, client: AsyncWebClient) -> Message:
    blocks = [{"type": "actions", "elements": [
        {"type": "button", "text": plain("Noise"), "action_id": "noise", "value": "k1"}]}]
    resp = await client.chat_postMessage(channel="C0001", text="page", blocks=blocks)
    return slack.message("C0001", str(resp["ts"]))


def payload_of(body: bytes) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(urllib.parse.parse_qs(body.decode())["payload"][0])
    return result


def trigger_of(slack: FakeSlack, page: Message, user: str = "U0001") -> str:
    body, _ = slack.click(SECRET, page, "noise", user=user)
    return str(payload_of(body)["trigger_id"])


async def refused(call: Any) -> AsyncSlackResponse:
    with pytest.raises(SlackApiError) as raised:
        await call
    response: AsyncSlackResponse = raised.value.response
    assert response.status_code == 200
    return response


async def test_a_click_is_signed_and_carries_the_button_and_a_trigger(
        slack: FakeSlack, page: Message) -> None:
    body, headers = slack.click(SECRET, page, "noise", user="U0ALICE01", timestamp=1_700_000_000)
    verifier = SignatureVerifier(SECRET, clock=At(1_700_000_100))
    assert verifier.is_valid_request(body, headers)
    payload = payload_of(body)
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == "U0ALICE01"
    assert payload["container"] == {"type": "message", "message_ts": page.ts,
                                     "channel_id": "C0001", "is_ephemeral": False}
    (action,) = payload["actions"]
    assert (action["action_id"], action["value"]) == ("noise", "k1")
    assert payload["trigger_id"] != UNISSUED_TRIGGER_ID
    assert payload["response_url"].startswith(slack.url + "/actions/")
    assert "metadata" not in payload["message"]
    with pytest.raises(ValueError):
        slack.click(SECRET, page, "no-such-button")


async def test_views_open_opens_a_view_once_per_trigger(
        slack: FakeSlack, client: AsyncWebClient, page: Message) -> None:
    trigger = trigger_of(slack, page, "U0ALICE01")
    resp = await client.views_open(trigger_id=trigger, view=modal())
    view = resp["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "why"
    assert all(b.get("block_id") for b in view["blocks"])
    (opened,) = slack.views
    assert (opened.user, opened.trigger_id, opened.private_metadata) == ("U0ALICE01", trigger,
                                                                         "{}")
    again = await refused(client.views_open(trigger_id=trigger, view=modal()))
    assert again["error"] == "exchanged_trigger_id"


async def test_views_open_needs_an_issued_unexpired_trigger_and_a_token(
        slack: FakeSlack, client: AsyncWebClient, page: Message, clock: ManualClock) -> None:
    assert (await refused(client.views_open(trigger_id=UNISSUED_TRIGGER_ID, view=modal()))
            )["error"] == "invalid_trigger_id"
    missing = await refused(client.api_call("views.open", json={"view": modal()}))
    assert missing["error"] == "invalid_arguments"
    trigger = trigger_of(slack, page)
    anonymous = AsyncWebClient(base_url=slack.api_url)
    assert (await refused(anonymous.views_open(trigger_id=trigger, view=modal()))
            )["error"] == "not_authed"
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url)
    assert (await refused(wrong.views_open(trigger_id=trigger, view=modal()))
            )["error"] == "invalid_auth"
    clock.advance(3.01)
    assert (await refused(client.views_open(trigger_id=trigger, view=modal()))
            )["error"] == "expired_trigger_id"
    assert slack.views == []


async def test_views_open_needs_no_scope(page: Message) -> None:
    async with FakeSlack(scopes=()) as bare:
        posted = bare.seed_message("C0001", "x", blocks=page.blocks)
        body, _ = bare.click(SECRET, posted, "noise")
        client = AsyncWebClient(token=DEFAULT_TOKEN, base_url=bare.api_url)
        resp = await client.views_open(trigger_id=payload_of(body)["trigger_id"], view=modal())
        assert resp["ok"]


LONG = "x" * 25


@pytest.mark.parametrize("view, pointer", [
    (modal(title=plain(LONG)), "/view/title/text"),
    (modal(title={"type": "mrkdwn", "text": "t"}), "/view/title/type"),
    (modal(submit=plain(LONG)), "/view/submit/text"),
    (modal(close=plain(LONG)), "/view/close/text"),
    (modal(callback_id="c" * 256), "/view/callback_id"),
    (modal(private_metadata="m" * 3001), "/view/private_metadata"),
    (modal(type="home"), "/view/type"),
    (modal(blocks=[{"type": "divider"}] * 101), "/view/blocks"),
    (modal(blocks=[{"type": "input", "element": {"type": "plain_text_input",
                                                 "action_id": "a"}}]), "/view/blocks/0/label"),
    (modal(blocks=[{"type": "input", "label": plain("x")}]), "/view/blocks/0/element"),
    (modal(blocks=[{"type": "input", "label": plain("x"), "element": {
        "type": "radio_buttons", "action_id": "r", "options": [
            {"text": plain("o"), "value": str(i)} for i in range(11)]}}]),
     "/view/blocks/0/element/options"),
    ({k: v for k, v in modal().items() if k != "submit"}, "/view/submit"),
    ({k: v for k, v in modal().items() if k != "title"}, "/view/title"),
])
async def test_views_open_refuses_views_slack_refuses(
        slack: FakeSlack, client: AsyncWebClient, page: Message, view: Block,
        pointer: str) -> None:
    trigger = trigger_of(slack, page)
    resp = await refused(client.views_open(trigger_id=trigger, view=view))
    assert resp["error"] == "invalid_arguments"
    assert any(f"[json-pointer:{pointer}" in m for m in resp["response_metadata"]["messages"])
    # A refused view does not use the trigger up.
    assert (await client.views_open(trigger_id=trigger, view=modal()))["ok"]


async def test_views_open_takes_the_view_as_a_json_string_in_a_form(
        slack: FakeSlack, client: AsyncWebClient, page: Message) -> None:
    resp = await client.api_call("views.open", data={"trigger_id": trigger_of(slack, page),
                                                     "view": json.dumps(modal())})
    assert resp["ok"]


async def test_a_submission_carries_the_views_state(
        slack: FakeSlack, client: AsyncWebClient, page: Message) -> None:
    await client.views_open(trigger_id=trigger_of(slack, page, "U0ALICE01"), view=modal())
    (opened,) = slack.views
    body, headers = slack.submit_view(SECRET, opened, {"reason": "other", "comment": "hi"},
                                      timestamp=1_700_000_000)
    assert headers["X-Slack-Request-Timestamp"] == "1700000000"
    payload = payload_of(body)
    assert payload["type"] == "view_submission"
    assert payload["user"]["id"] == "U0ALICE01"
    view = payload["view"]
    assert (view["id"], view["callback_id"], view["private_metadata"]) == (opened.id, "why",
                                                                           "{}")
    assert view["state"]["values"] == {
        "reason": {"r": {"type": "radio_buttons",
                         "selected_option": {"text": plain("Other"), "value": "other"}}},
        "comment": {"c": {"type": "plain_text_input", "value": "hi"}}}
    # Slack's client offers only the view's options, and sends no required field empty.
    with pytest.raises(ValueError):
        slack.submit_view(SECRET, opened, {"reason": "made_up"})
    with pytest.raises(ValueError):
        slack.submit_view(SECRET, opened, {"comment": "x"})
    body, _ = slack.submit_view(SECRET, opened, {}, check_required=False)
    assert payload_of(body)["view"]["state"]["values"]["reason"] == {
        "r": {"type": "radio_buttons", "selected_option": None}}
