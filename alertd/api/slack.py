"""POST /api/alertd/v1/slack/actions: the Slack app's interactivity Request URL.

Nothing happens before the request's signature is verified (the app's signing secret,
HMAC over the raw body, a five-minute replay window): a forged or stale click gets 401
and changes nothing. Slack wants an answer within three seconds, so the click is answered
at once and carried out in the background; the page then shows who did what.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
from collections.abc import Callable
from typing import Any

from aiohttp import web
from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier

from alertd.clock import Clock
from alertd.notify.actions import ACTIONS, Responder, SlackActions

log = logging.getLogger("alertd.api")

PATH = "/api/alertd/v1/slack/actions"


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
        if not verifier.is_valid_request(raw, dict(request.headers)):
            log.warning("slack: rejected a request with a wrong or stale signature")
            return web.json_response({"error": "invalid or stale Slack signature"}, status=401)
        try:
            payload = json.loads(urllib.parse.parse_qs(raw.decode())["payload"][0])
        except (KeyError, IndexError, ValueError, UnicodeDecodeError):
            return web.json_response({"error": "expected a form field `payload` holding JSON"},
                                     status=400)
        if not isinstance(payload, dict) or payload.get("type") != "block_actions":
            return web.Response(status=200)  # other interactions: nothing to do
        user = payload.get("user") or {}
        who = Responder(str(user.get("id", "")), str(user.get("username")
                                                     or user.get("name") or ""))
        for action in payload.get("actions") or []:
            if not isinstance(action, dict) or action.get("action_id") not in ACTIONS:
                continue  # URL buttons (runbook, graph) report their clicks too
            task = asyncio.create_task(
                actions.act(str(action["action_id"]), str(action.get("value", "")), who),
                name=f"slack action {action['action_id']} by {who.id or who.name}")
            tasks.add(task)
            task.add_done_callback(_done)
        return web.Response(status=200)

    def _done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed: %s", task.get_name(), task.exception(),
                      exc_info=task.exception())

    return [web.post(PATH, handle)]
