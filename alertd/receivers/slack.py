"""The Slack receiver.

With a bot token (Web API, slack-sdk's AsyncWebClient) a group has one message, kept
current: alerts joining or resolving edit it (chat.update), its resolution turns it green
and says so in its thread, repeats go into the thread. The message's channel and ts are
stored before anything else happens, so a retry or a restart edits the message rather
than posting another. Slack has no idempotency key: a post whose answer was lost (a
timeout, a crash) is looked for in the channel's history by the delivery id carried in
the message's metadata before it is posted again.

With an incoming-webhook URL (no editing possible) each notification is a new message.

Why slack-sdk's clients and not the shared HTTP client of webhooks (receivers/transport.py):
Slack answers most failures with HTTP 200 and an error code in the body, and its Web API
methods (form or JSON bodies, metadata, cursors) are the SDK's to keep up with; the SDK
reads the code into a SlackApiError, classified in slack_errors.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from alertd.errors import NotifyError
from alertd.receivers import Notification, Outcome
from alertd.receivers.http import classify
from alertd.receivers.page import ActionNote, PageView, page_view
from alertd.receivers.services import Services, Where, maybe_secret
from alertd.receivers.slack_blocks import render, thread_reply
from alertd.receivers.slack_errors import GONE, RETRYABLE, slack_error
from alertd.receivers.state import SLACK_PAGE, ReceiverStates
from alertd.receivers.stored import decode, encode
from alertd.receivers.templating import compile_field
from alertd.store.nflog import entry_key

if TYPE_CHECKING:
    from alertd.config.receivers import SlackConfig

__all__ = ["EVENT_TYPE", "RETRYABLE", "SlackNotifier", "acknowledged_by", "api_base",
           "from_config"]

log = logging.getLogger("alertd.receivers.slack")

EVENT_TYPE = "alertd_page"  # the metadata event type of alertd's messages

Renderer = Callable[[PageView], tuple[str | None, str | None]]
"""(title, text) overrides from the receiver's templates; None keeps the default."""


def api_base(app_url: str) -> str:
    """The Web API base from Alertmanager's `app_url` (…/api/chat.postMessage)."""
    base = app_url.rstrip("/")
    if base.endswith("/chat.postMessage"):
        base = base[: -len("/chat.postMessage")]
    return base + "/"


class SlackNotifier:
    name = "slack"

    def __init__(self, *, integration: str, send_resolved: bool, states: ReceiverStates,
                 token: str | None = None, webhook_url: str | None = None,
                 app_url: str = "https://slack.com/api/chat.postMessage",
                 channel: str | None = None, owner_channel: Callable[[str], str | None] =
                 lambda owner: None, owner_handle: Callable[[str], str | None] =
                 lambda owner: None, external_url: str = "", timeout: float = 10.0,
                 pace: float = 1.0, username: str | None = None, icon_emoji: str | None = None,
                 icon_url: str | None = None, templates: Renderer | None = None) -> None:
        if token is None and webhook_url is None:
            raise ValueError("a Slack receiver needs a bot token or an incoming-webhook URL")
        self.integration = integration  # "<receiver>/slack/<index>"
        self.send_resolved = send_resolved
        self.states = states
        self.token = token
        self.webhook_url = webhook_url
        self.base_url = api_base(app_url)
        self.channel = channel
        self.owner_channel = owner_channel
        self.owner_handle = owner_handle
        self.external_url = external_url
        self.timeout = timeout
        self.pace_interval = pace
        identity = (("username", username), ("icon_emoji", icon_emoji), ("icon_url", icon_url))
        self.identity: dict[str, Any] = {k: v for k, v in identity if v}
        self.templates = templates
        self._session: aiohttp.ClientSession | None = None
        self._web: AsyncWebClient | None = None
        self._hook: AsyncWebhookClient | None = None
        # Per group: its lock and how many hold or wait for it (dropped at none).
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    # --- the Notifier protocol ---------------------------------------------------------
    def key(self, group_key: str) -> str:
        """The page's key: the outbox slot of the group on this integration."""
        return entry_key(group_key, self.integration)

    def pace_key(self, n: Notification) -> str | None:
        # A channel's messages are paced together; without a channel (an incoming webhook,
        # whose URL names it), those of this integration.
        return f"slack:{self._channel(n, strict=False) or self.integration}"

    async def notify(self, notification: Notification, reason: str = "") -> str | Outcome:
        try:
            if self.token is None:
                return await self._incoming_webhook(notification, reason)
            async with self._lock(notification.group_key):
                return await self._web_api(notification, reason)
        except SlackApiError as exc:
            raise slack_error(exc) from exc
        except TimeoutError as exc:
            raise NotifyError("slack: no answer in time", retryable=True,
                              ambiguous=True) from exc
        except aiohttp.ClientError as exc:
            raise NotifyError(f"slack unreachable: {type(exc).__name__}: {exc}",
                              retryable=True) from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def preview(self, n: Notification, reason: str = "") -> dict[str, Any]:
        """The chat.postMessage arguments of a new page (or the webhook body)."""
        if self.token is None:
            text, blocks = render(self._view(n, reason, {}), buttons=False)
        else:
            text, blocks = self._render(n, reason, {})
        channel = self.channel or self._channel(n, strict=False)
        return {"channel": channel, "text": text, "blocks": blocks, **self.identity}

    # --- acting on a page (buttons) ----------------------------------------------------
    async def note(self, key: str, action: ActionNote,
                   extra: Mapping[str, Any] | None = None) -> bool:
        """Record what a responder did on a page and show it there; False if the page is
        not one of this integration's. `extra` is kept with the note (the silence made)."""
        entry = {**(extra or {}), "who": action.who, "what": action.what, "at": action.at}

        def add(value: dict[str, Any]) -> bool:
            value["actions"] = [*value.get("actions", []), entry]
            return True

        return await self.change(key, add, action.at) is not None

    async def change(self, key: str, edit: Callable[[dict[str, Any]], bool],
                     at: float, *, show: bool = True) -> bool | None:
        """Edit a page's state under its lock and show the page again (unless `show` is
        off) when `edit` says it changed something. None if the page is not one of this
        integration's, else whether it changed."""
        row = await self.states.get(key)
        if row is None or row.receiver != self.integration or self.token is None:
            return None
        async with self._lock(row.group_key):
            row = await self.states.get(key)
            assert row is not None
            value = dict(row.value)
            if not edit(value):
                return False
            await self.states.put(key, SLACK_PAGE, row.group_key, row.receiver, value, at)
            if show:
                await self._show(value)
        return True

    async def _show(self, value: Mapping[str, Any]) -> None:
        n, reason = decode(value["last"])
        text, blocks = self._render(n, reason, value)
        try:
            await self._client().chat_update(channel=value["channel"], ts=value["ts"],
                                             text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("slack: cannot update the page %s: %s", value["ts"], slack_error(exc))

    async def page(self, key: str) -> Mapping[str, Any] | None:
        row = await self.states.get(key)
        return None if row is None or row.receiver != self.integration else row.value

    # --- Web API -----------------------------------------------------------------------
    async def _web_api(self, n: Notification, reason: str) -> Outcome:
        key = self.key(n.group_key)
        row = await self.states.get(key)
        value: dict[str, Any] | None = dict(row.value) if row is not None else None
        firing = bool(n.firing())
        if value is not None and value.get("resolved") and firing:
            value = None  # the group fired again: a new incident gets a new message
        if value is not None:
            value["last"] = encode(n, reason)
            text, blocks = self._render(n, reason, value)
            try:
                await self._client().chat_update(channel=value["channel"], ts=value["ts"],
                                                 text=text, blocks=blocks)
            except SlackApiError as exc:
                if exc.response.get("error") not in GONE:
                    raise
                value = None  # deleted or too old to edit: post it again
        if value is None:
            # The delivery id: a click on the page names the notification it was about.
            value = {"actions": [], "acks": {}, "opened_at": n.now,
                     "last": encode(n, reason), "delivery": n.delivery_id}
            channel = self._channel(n, strict=True)
            assert channel is not None
            value["channel"], value["ts"] = await self._post(n, reason, channel, value)
            await self._save(n, key, value)
            return Outcome("posted", value["channel"], value["ts"])
        await self._thread(n, reason, value)
        await self._save(n, key, value)
        # The page's channel and ts go to the history: the report links a page to it.
        return Outcome("updated", value["channel"], value["ts"])

    async def _post(self, n: Notification, reason: str, channel: str,
                    value: dict[str, Any]) -> tuple[str, str]:
        if n.maybe_delivered and n.delivery_id:
            found = await self._find(channel, n)
            if found is not None:
                return found
        text, blocks = self._render(n, reason, value)
        resp = await self._client().chat_postMessage(
            channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False,
            metadata={"event_type": EVENT_TYPE,
                      "event_payload": {"delivery": n.delivery_id, "page": self.key(n.group_key)}},
            **self.identity)
        return str(resp["channel"]), str(resp["ts"])

    async def _find(self, channel: str, n: Notification) -> tuple[str, str] | None:
        """The message an earlier attempt of this delivery posted, if it did."""
        try:
            resp = await self._client().conversations_history(
                channel=channel, oldest=f"{n.now - 60:.6f}", limit=200,
                include_all_metadata=True)
        except SlackApiError as exc:
            error = slack_error(exc)
            if error.retryable:
                raise  # look again later rather than risk a second message
            log.warning("slack: cannot look for an earlier attempt (%s); posting again", error)
            return None
        for message in resp.get("messages") or []:
            meta = message.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == EVENT_TYPE and payload.get("delivery") == n.delivery_id:
                return str(resp.get("channel") or channel), str(message["ts"])
        return None

    async def _thread(self, n: Notification, reason: str, value: dict[str, Any]) -> None:
        """Resolution and repeats are said in the page's thread (once per delivery)."""
        if value.get("replied") == n.delivery_id and n.delivery_id:
            return
        firing = n.firing()
        if not firing:
            kind = "resolved"
            value["resolved"] = True
        elif reason == "repeat interval elapsed":
            acks = value.get("acks", {})
            if all(a.fingerprint in acks for a in firing):
                return  # acknowledged: someone is on it, no nagging
            kind = "repeat"
        else:
            return
        view = self._view(n, reason, value)
        text, blocks = thread_reply(view, kind)
        await self._client().chat_postMessage(channel=value["channel"], thread_ts=value["ts"],
                                              text=text, blocks=blocks, **self.identity)
        value["replied"] = n.delivery_id

    async def _save(self, n: Notification, key: str, value: dict[str, Any]) -> None:
        await self.states.put(key, SLACK_PAGE, n.group_key, self.integration, value, n.now)

    # --- incoming webhook --------------------------------------------------------------
    async def _incoming_webhook(self, n: Notification, reason: str) -> str:
        assert self.webhook_url is not None
        text, blocks = render(self._view(n, reason, {}), buttons=False)
        body: dict[str, Any] = {"text": text, "blocks": blocks, **self.identity}
        if self.channel:
            body["channel"] = self.channel
        session = self._http()
        if self._hook is None or self._hook.session is not session:
            self._hook = AsyncWebhookClient(self.webhook_url, timeout=self._timeout_s,
                                            session=session, retry_handlers=[])
        resp = await self._hook.send_dict(body)
        error = classify(resp.status_code, resp.headers or {}, str(resp.body),
                         what="slack webhook")
        if error is not None:
            raise error
        return str(resp.status_code)

    # --- helpers -----------------------------------------------------------------------
    def _view(self, n: Notification, reason: str, value: Mapping[str, Any]) -> PageView:
        actions = [ActionNote(a["who"], a["what"], a["at"], a.get("silence_ended"))
                   for a in value.get("actions", [])]
        return page_view(n, reason=reason, external_url=self.external_url,
                         owner_handle=self.owner_handle, actions=actions,
                         action_value=self.key(n.group_key),
                         acknowledged_by=acknowledged_by(n, value.get("acks", {})))

    def _render(self, n: Notification, reason: str,
                value: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        view = self._view(n, reason, value)
        title, text = self.templates(view) if self.templates is not None else (None, None)
        return render(view, buttons=True, title=title, text=text)

    def _channel(self, n: Notification, *, strict: bool) -> str | None:
        if self.channel:
            return self.channel
        owners = {a.labels.get("owner", "") for a in n.alerts} - {""}
        for owner in sorted(owners):
            channel = self.owner_channel(owner)
            if channel:
                return channel
        if strict:
            raise NotifyError(f"{self.integration}: no channel: set channel in the Slack config "
                              "or slack_channel for the alerts' owner", retryable=False)
        return None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    def _client(self) -> AsyncWebClient:
        # One client per session (not per call, one to three per notification).
        # retry_handlers=[]: the outbox retries, with backoff, and knows when a retry is
        # a maybe-duplicate; the SDK's own retries would not.
        session = self._http()
        if self._web is None or self._web.session is not session:
            self._web = AsyncWebClient(token=self.token, base_url=self.base_url,
                                       timeout=self._timeout_s, session=session,
                                       retry_handlers=[])
        return self._web

    @property
    def _timeout_s(self) -> int:
        # slack-sdk takes whole seconds, and 0 would mean no timeout at all.
        return max(1, math.ceil(self.timeout))

    @contextlib.asynccontextmanager
    async def _lock(self, group_key: str) -> AsyncIterator[None]:
        """One update of a group's page at a time. The lock is forgotten when nobody holds
        or waits for it: kept, there would be one per group ever paged."""
        lock, users = self._locks.setdefault(group_key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._locks[group_key]


def acknowledged_by(n: Notification, acks: Mapping[str, Any]) -> str:
    """Who acknowledged the page, once every firing alert is: the first to click."""
    firing = n.firing()
    if not firing or any(a.fingerprint not in acks for a in firing):
        return ""
    first = min((acks[a.fingerprint] for a in firing), key=lambda ack: ack.get("at", 0.0))
    return str(first.get("name") or first.get("by") or "")


def from_config(c: SlackConfig, services: Services, where: Where) -> SlackNotifier:
    """The notifier of a `slack_configs` item: a bot token (here, else in `global` when
    no webhook URL is given here) or an incoming webhook."""
    g = services.global_
    token = maybe_secret(c.app_token, c.app_token_file)
    if token is None and c.api_url is None and c.api_url_file is None:
        token = maybe_secret(g.slack_app_token, g.slack_app_token_file)
    webhook = maybe_secret(c.api_url, c.api_url_file) or maybe_secret(
        g.slack_api_url, g.slack_api_url_file)
    title = compile_field(f"{where.key}.title", c.title)
    text = compile_field(f"{where.key}.text", c.text)

    def templates(view: PageView) -> tuple[str | None, str | None]:
        return (title.render(view) if title else None, text.render(view) if text else None)

    def owner_channel(owner: str) -> str | None:
        found = services.owner(owner)
        return found.slack_channel if found is not None else None

    def owner_handle(owner: str) -> str | None:
        found = services.owner(owner)
        return found.slack_handle if found is not None else None

    return SlackNotifier(
        integration=where.integration, send_resolved=c.send_resolved, states=services.states,
        token=token, webhook_url=None if token else webhook,
        app_url=c.app_url or g.slack_app_url, channel=c.channel, owner_channel=owner_channel,
        owner_handle=owner_handle, external_url=services.external_url, timeout=c.timeout,
        pace=c.pace, username=c.username, icon_emoji=c.icon_emoji, icon_url=c.icon_url,
        templates=templates if title or text else None)
