"""The Slack Request URL with the form Noise opens: signed `view_submission`s, well or badly
formed, are answered as Slack expects (200, a field error, or a 400), never with a 500."""

from __future__ import annotations

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
ORIGIN = json.dumps({"page": "k" * 64, "channel": "C0001", "ts": "1800000000.000100"})


async def post(http: aiohttp.ClientSession, payload: object) -> tuple[int, str]:
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    async with http.post(SLACK, data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": TS,
            "X-Slack-Signature": sign(SLACK_SECRET, TS, body)}) as resp:
        return resp.status, await resp.text()


def submission(view: Any, user: Any = None) -> dict[str, Any]:
    return {"type": "view_submission", "user": user or {"id": "U1", "username": "alice"},
            "view": view}


def form(metadata: Any = ORIGIN, reason: str | None = "other", comment: Any = None,
         callback_id: str = "alertd_noise_reason") -> dict[str, Any]:
    picked = {"text": {"type": "plain_text", "text": "Other"}, "value": reason}
    return {"callback_id": callback_id, "private_metadata": metadata, "state": {"values": {
        "alertd_reason": {"reason": {"type": "radio_buttons",
                                     "selected_option": picked if reason else None}},
        "alertd_comment": {"comment": {"type": "plain_text_input", "value": comment}}}}}


async def test_a_form_without_a_reason_is_answered_with_the_fields_error(
        http: aiohttp.ClientSession) -> None:
    assert await post(http, submission(form(reason=None))) == (200, json.dumps(
        {"response_action": "errors", "errors": {"alertd_reason": "pick a reason"}}))


async def test_answers_close_the_form_and_only_alertds_are_acted_on(
        daemon: Daemon, http: aiohttp.ClientSession,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "alertd")
    assert await post(http, submission(form(callback_id="someone_else"))) == (200, "")
    await daemon.notifications.actions.settle()
    assert not [r for r in caplog.records if "noise reason" in r.getMessage()]
    # alertd's, about a page it no longer knows: closed, and said in the log.
    assert await post(http, submission(form(comment="noisy"))) == (200, "")
    await daemon.notifications.actions.settle()
    assert [r.getMessage() for r in caplog.records if "noise reason" in r.getMessage()] == [
        "slack: a noise reason names no known page"]
    assert problems_logged(caplog) == []


@pytest.mark.parametrize("payload", [
    submission(5),
    submission(form(metadata=7)),
    submission(form(metadata="not json")),
    submission(form(metadata=json.dumps({"page": "k"}))),
    submission(form(metadata={"page": "k"})),
    submission(form(comment="\ud800")),
    submission(form(), user="U1"),
    {**block_actions_payload(action_id="alertd_noise", value="k"), "container": 5},
    {**block_actions_payload(action_id="alertd_noise", value="k"), "trigger_id": ["t"]},
    {**block_actions_payload(action_id="alertd_noise", value="k"), "message": "m"},
])
async def test_malformed_interactions_are_a_400(
        http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture,
        payload: dict[str, Any]) -> None:
    status, _ = await post(http, payload)
    assert status == 400
    assert problems_logged(caplog) == []
