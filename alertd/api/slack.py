"""POST /api/alertd/v1/slack/actions: the Slack app's interactivity Request URL.

Nothing happens before the request's signature is verified (the app's signing secret,
HMAC over the raw body, a five-minute window): a forged or stale click gets 401 and
changes nothing, and so does a replay, within the window, of a request already taken.
Slack wants an answer within three seconds, so the click is answered at once and carried
out in the background; the page then shows who did what.

Two kinds of interaction come here: `block_actions` (a button of a page) and
`view_submission` (the answer of the form Noise opens). A form sent without a reason is
answered with the field's error, which Slack shows in the form, left open.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier

from alertd.api.body import BadBody, loads
from alertd.api.errors import alertd_error
from alertd.api.replay import SeenSignatures
from alertd.clock import Clock
from alertd.notify.actions import ACTIONS, Click, Responder, SlackActions
from alertd.receivers.slack import EVENT_TYPE
from alertd.receivers.slack_feedback import (
    NOISE_FORM,
    PICK_A_REASON,
    REASON_BLOCK,
    FormOrigin,
    form_answer,
)
from alertd.validation import INVALID_UNICODE, valid_text

log = logging.getLogger("alertd.api")

PATH = "/api/alertd/v1/slack/actions"

# Unix seconds, in ASCII digits. slack_sdk's verifier raises (rather than says no) on a
# timestamp that is not a number or is too large for a float, on a signature that is not
# ASCII and on a body that is not UTF-8: such requests are refused before it sees them.
_TIMESTAMP = re.compile(r"[0-9]{1,15}")


class _ClockAdapter(SlackClock):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock.now()


@dataclass(frozen=True, slots=True)
class SlackContext:
    actions: SlackActions
    clock: Clock
    # Read when a click arrives, so that a rotated secret (or its file) applies at once.
    signing_secret: Callable[[], str | None]


SLACK = web.AppKey("slack", SlackContext)
# The signatures this app has taken already (see replay.py).
SEEN = web.AppKey("slack_seen", SeenSignatures)


def install(app: web.Application, ctx: SlackContext) -> None:
    app[SLACK] = ctx
    app[SEEN] = SeenSignatures(ctx.clock)
    app.add_routes([web.post(PATH, handle)])


async def handle(request: web.Request) -> web.StreamResponse:
    ctx = request.app[SLACK]
    secret = ctx.signing_secret()
    if not secret:
        return alertd_error(404, "Slack interactivity is not configured: set "
                            "notify.slack.signing_secret")
    raw = await request.read()
    refused = _refusal(request, raw, secret, ctx.clock)
    if refused is not None:
        return alertd_error(401, refused)
    try:
        return _interaction(ctx.actions, _payload(raw))
    except BadBody as exc:
        return alertd_error(400, str(exc))


def _refusal(request: web.Request, raw: bytes, secret: str, clock: Clock) -> str | None:
    """Why the request is not taken as Slack's: a wrong or stale signature, or one that
    was used already; None when it is taken (and its signature remembered)."""
    verifier = SignatureVerifier(secret, clock=_ClockAdapter(clock))
    if not _verified(verifier, raw, request.headers):
        log.warning("slack: rejected a request with a wrong or stale signature")
        return "invalid or stale Slack signature"
    if not request.app[SEEN].first_time(request.headers["X-Slack-Signature"],
                                        int(request.headers["X-Slack-Request-Timestamp"])):
        log.warning("slack: rejected a replayed request (its signature was already used)")
        return "replayed Slack request"
    return None


def _interaction(actions: SlackActions, payload: dict[str, Any]) -> web.Response:
    if payload.get("type") == "block_actions":
        return _clicked(actions, payload)
    if payload.get("type") == "view_submission":
        return _submitted(actions, payload)
    return web.Response(status=200)  # other interactions: nothing to do


def _clicked(actions: SlackActions, payload: dict[str, Any]) -> web.Response:
    who, pressed = _clicks(payload)
    click = _click(payload)
    for action_id, value in pressed:
        actions.start(actions.act(action_id, value, who, click),
                      name=f"slack action {action_id} by {who.id or who.name}")
    return web.Response(status=200)


def _submitted(actions: SlackActions, payload: dict[str, Any]) -> web.Response:
    view = _object(payload, "view")
    if view.get("callback_id") != NOISE_FORM:
        return web.Response(status=200)  # not alertd's form: close it
    who = _responder(payload)
    try:
        origin = FormOrigin.decode(_text(view.get("private_metadata", ""),
                                         "payload.view.private_metadata"))
    except ValueError as exc:
        raise BadBody(f"payload.view.private_metadata: not alertd's: {exc}") from None
    reason, comment = form_answer(view)
    if reason is None:
        # Slack shows this under the field and keeps the form open.
        return web.json_response({"response_action": "errors",
                                  "errors": {REASON_BLOCK: PICK_A_REASON}})
    if comment is not None and not valid_text(comment):
        raise BadBody(f"payload.view.state: the comment: {INVALID_UNICODE}")
    actions.start(actions.give_reason(origin, who, reason, comment),
                  name=f"slack noise reason by {who.id or who.name}")
    return web.Response(status=200)  # an empty 200 closes the form


def _verified(verifier: SignatureVerifier, raw: bytes, headers: Mapping[str, str]) -> bool:
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not _TIMESTAMP.fullmatch(timestamp) or not signature.isascii():
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return verifier.is_valid(raw, timestamp, signature)


def _payload(raw: bytes) -> dict[str, Any]:
    """The JSON object in the form field `payload` (the body is known to be UTF-8)."""
    fields = urllib.parse.parse_qs(raw.decode("utf-8"))
    if len(fields.get("payload", ())) != 1:
        raise BadBody("expected a form field `payload` holding JSON")
    payload = loads(fields["payload"][0].encode("utf-8"))
    if not isinstance(payload, dict):
        raise BadBody("payload: must be a JSON object")
    return payload


def _clicks(payload: dict[str, Any]) -> tuple[Responder, list[tuple[str, str]]]:
    """Who clicked, and the (action_id, value) of each of alertd's buttons clicked."""
    who = _responder(payload)
    actions = payload.get("actions") or []
    if not isinstance(actions, list):
        raise BadBody("payload.actions: must be an array")
    pressed = []
    for i, action in enumerate(actions):
        action_id = action.get("action_id") if isinstance(action, dict) else None
        if not isinstance(action_id, str) or action_id not in ACTIONS:
            continue  # URL buttons (runbook, graph) report their clicks too
        pressed.append((action_id, _text(action.get("value", ""),
                                         f"payload.actions[{i}].value")))
    return who, pressed


def _responder(payload: dict[str, Any]) -> Responder:
    user = _object(payload, "user")
    return Responder(_text(user.get("id", ""), "payload.user.id"),
                     _text(user.get("username") or user.get("name") or "",
                           "payload.user.username"))


def _click(payload: dict[str, Any]) -> Click:
    """The message clicked (the container, else the channel and message), the trigger
    that can open a form, and the delivery in the message's metadata if it came along."""
    container = _object(payload, "container")
    message = _object(payload, "message")
    metadata = message.get("metadata")
    delivery: object = ""
    if isinstance(metadata, dict) and metadata.get("event_type") == EVENT_TYPE:
        event_payload = metadata.get("event_payload")
        if isinstance(event_payload, dict):
            delivery = event_payload.get("delivery") or ""
    channel = container.get("channel_id") or _object(payload, "channel").get("id") or ""
    return Click(channel=_text(channel, "payload.container.channel_id"),
                 ts=_text(container.get("message_ts") or message.get("ts") or "",
                          "payload.container.message_ts"),
                 trigger_id=_text(payload.get("trigger_id") or "", "payload.trigger_id"),
                 delivery=_text(delivery, "payload.message.metadata"))


def _object(payload: dict[str, Any], field: str) -> dict[str, Any]:
    value = payload.get(field) or {}
    if not isinstance(value, dict):
        raise BadBody(f"payload.{field}: must be an object")
    return value


def _text(value: object, field: str) -> str:
    if isinstance(value, dict | list):
        raise BadBody(f"{field}: must be a string")
    text = str(value)  # Slack's ids and values are strings; a number is kept readable
    if not valid_text(text):
        raise BadBody(f"{field}: {INVALID_UNICODE}")
    return text
