"""POST /api/alertd/v1/slack/actions: the Slack app's interactivity Request URL.

Nothing happens before the request's signature is verified (the app's signing secret,
HMAC over the raw body, a five-minute replay window): a forged or stale click gets 401
and changes nothing. Slack wants an answer within three seconds, so the click is answered
at once and carried out in the background; the page then shows who did what.
"""

from __future__ import annotations

import asyncio
import logging
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier

from alertd.api.body import BadBody, loads
from alertd.clock import Clock
from alertd.notify.actions import ACTIONS, Responder, SlackActions
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


def slack_routes(actions: SlackActions, clock: Clock,
                 signing_secret: Callable[[], str | None]) -> list[web.RouteDef]:
    tasks: set[asyncio.Task[Any]] = set()

    async def handle(request: web.Request) -> web.StreamResponse:
        secret = signing_secret()
        if not secret:
            return web.json_response({"error": "Slack interactivity is not configured: set "
                                      "notify.slack.signing_secret"}, status=404)
        raw = await request.read()
        verifier = SignatureVerifier(secret, clock=_ClockAdapter(clock))
        if not _verified(verifier, raw, request.headers):
            log.warning("slack: rejected a request with a wrong or stale signature")
            return web.json_response({"error": "invalid or stale Slack signature"}, status=401)
        try:
            payload = _payload(raw)
            clicks = _clicks(payload) if payload.get("type") == "block_actions" else None
        except BadBody as exc:
            return web.json_response({"error": str(exc)}, status=400)
        if clicks is None:
            return web.Response(status=200)  # other interactions: nothing to do
        who, pressed = clicks
        for action_id, value in pressed:
            task = asyncio.create_task(
                actions.act(action_id, value, who),
                name=f"slack action {action_id} by {who.id or who.name}")
            tasks.add(task)
            task.add_done_callback(_done)
        return web.Response(status=200)

    def _done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed: %s", task.get_name(), task.exception(),
                      exc_info=task.exception())

    return [web.post(PATH, handle)]


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
    user = payload.get("user") or {}
    if not isinstance(user, dict):
        raise BadBody("payload.user: must be an object")
    who = Responder(_text(user.get("id", ""), "payload.user.id"),
                    _text(user.get("username") or user.get("name") or "",
                          "payload.user.username"))
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


def _text(value: object, field: str) -> str:
    if isinstance(value, dict | list):
        raise BadBody(f"{field}: must be a string")
    text = str(value)  # Slack's ids and values are strings; a number is kept readable
    if not valid_text(text):
        raise BadBody(f"{field}: {INVALID_UNICODE}")
    return text
