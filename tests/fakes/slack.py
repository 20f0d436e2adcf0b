"""A Slack double that rejects what Slack rejects, for tests driven by slack-sdk clients.

Reproduced (wire contracts of /work/shared/reference/integrations.md, section 1):

- Web API `POST|GET /api/{method}`: arguments merged from the query string, a JSON body
  and a form body (form `blocks`/`attachments`/`metadata` are JSON strings); answers are
  always `application/json`, HTTP 200 for application errors (`ok: false`), HTTP 429
  `ratelimited` with an integer `Retry-After`; `ts` are strings `"<unix>.<6 digits>"`.
- Auth (`not_authed`, `invalid_auth`, `token_revoked`), per-token scopes (`missing_scope`
  with `needed`/`provided`), channel membership (`channel_not_found`, `not_in_channel`,
  `is_archived`).
- chat.postMessage, chat.update, conversations.history, conversations.replies,
  reactions.add, auth.test with the argument semantics of section 1.2, the Block Kit
  limits of section 1.7 (`invalid_blocks` with json-pointers), truncation of `text` above
  40,000 characters (`message_truncated`), thread replies to a reply filed under the
  parent, and message metadata returned only with `include_all_metadata`.
- Incoming webhooks `POST /services/{team}/{bot}/{secret}` answering plain text (section
  1.8), `response_url` posts `POST /actions/{id}` (5 uses in 30 minutes, section 1.9),
  and `signed_block_actions` / `sign` building button clicks signed as in section 1.10.
- Modals (section 8.2, tests/fakes/slack_modals.py): `click()` simulates a click on a
  stored message's button, with a trigger_id the double issued (3 s of its clock, once);
  views.open validates the view (tests/fakes/slack_blockkit.py); `submit_view()` builds
  the signed `view_submission` of a view it opened.
- File uploads (section 8.1, tests/fakes/slack_files.py): files.getUploadURLExternal,
  the upload URL `POST /upload/v1/{ticket}` (no token, as Slack's), and
  files.completeUploadExternal, both methods needing `files:write`; the retired
  files.upload answers `method_deprecated`. `files` lists the files shared.

Also as Slack does: generated `block_id`s are filled in, parents list `reply_count` /
`latest_reply`, `reply_broadcast` replies (subtype `thread_broadcast`) also appear in
conversations.history, and incoming-webhook posts become `bot_message` messages of their
channel. Not modelled: `msg_blocks_too_long`, `markdown_text` limits, private-channel
scopes (`groups:history`), workspace-wide rate limits, message deletion via the API,
views.update/push/publish and `view_closed` payloads, the message a shared file makes in
its channel, files.info.

Wordings used without an authoritative source (tests should not depend on them):

- Block Kit messages other than "must be less than N characters" and "no more than N
  items allowed" (observed): "must be more than 0 characters", "unsupported type: X",
  "must be a valid enum value", "must define either `text` or `fields`" are seen in
  third-party reports; "must provide a string", "must provide an object", "must provide
  an array", "must provide at least 1 item", "must be unique" (duplicate `action_id`)
  are this double's own.
- `thread_not_found` for a `thread_ts` naming no message, `unknown_method` (HTTP 200),
  `message_not_found` for a missing `ts` in chat.update.
- The `response_url` answers (200 `ok`; 404 `expired_url` once used 5 times, after 30
  minutes, or for an unknown URL), all plain text.
- reactions.add `invalid_name`: real Slack checks the emoji exists; here a name is valid
  when it looks like an emoji name (lowercase, digits, `_+-'`, optional skin tone).
- views.open: `invalid_trigger_id` for a trigger_id it did not issue (Slack's reference
  shows `invalid_arguments` with "invalid `trigger_id`"), `exchanged_trigger_id` (the
  wording documented for views.push), "missing required field: X" messages; Block Kit
  messages for views beyond "must be less than N characters".
- Uploads: the upload URL's refusals (404 `upload_url_not_found`, 400 `length_mismatch`),
  `not_in_channel` / `is_archived` / `invalid_channel` (also for user ids) and
  `invalid_arguments` for a `thread_ts` naming no message, in completeUploadExternal.
- Whether Slack puts a message's metadata in the `message` of a block_actions payload is
  not documented: `click(include_metadata=...)` lets a test choose.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fakes import CLIENT_MAX_SIZE, Clock, FailureControls, Injected
from tests.fakes.slack_blockkit import validate_blocks
from tests.fakes.slack_files import ExternalUploads, UploadedFile
from tests.fakes.slack_modals import Modals, OpenedView

Args = dict[str, Any]
Block = dict[str, Any]

TEAM_ID = "T0001"
TEAM_DOMAIN = "example"
APP_ID = "A0001"
BOT_ID = "B0001"
BOT_USER_ID = "U0BOT0001"
BOT_USER_NAME = "alertd"
DEFAULT_TOKEN = "xoxb-test"
DEFAULT_SCOPES = frozenset({"chat:write", "reactions:write", "channels:history"})
DEFAULT_WEBHOOK_PATH = f"{TEAM_ID}/{BOT_ID}/XXXXXXXXXXXXXXXXXXXXXXXX"

METHOD_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "reactions.add": "reactions:write",
    "conversations.history": "channels:history",
    "conversations.replies": "channels:history",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}

MAX_TEXT = 40_000  # chat.postMessage truncates above this
MAX_UPDATE_TEXT = 4_000  # chat.update answers msg_too_long above this
MAX_ATTACHMENTS = 100
RESPONSE_URL_USES = 5
RESPONSE_URL_LIFETIME = 30 * 60.0
UNISSUED_TRIGGER_ID = "1111.2222.0123456789abcdef"

_EMOJI_NAME = re.compile(r"[a-z0-9_+'\-]+(::skin-tone-[2-6])?")


# --- errors ---------------------------------------------------------------------------


class _Fail(Exception):
    """An API answer with `ok: false` (HTTP 200 unless `status` says otherwise)."""

    def __init__(self, error: str, *, status: int = 200,
                 headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.body: Args = {"ok": False, "error": error, **extra}
        self.status = status
        self.headers = dict(headers or {})


class _HookFail(Exception):
    """A plain-text webhook / response_url error answer."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def _invalid_blocks(errors: list[str]) -> _Fail:
    return _Fail("invalid_blocks", errors=errors,
                 response_metadata={"messages": [f"[ERROR] {e}" for e in errors]})


# --- argument parsing -----------------------------------------------------------------


def _json_arg(value: Any, error: str) -> Any:
    """A structured argument, which form bodies carry as a JSON string."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise _Fail(error) from None


def _parse_blocks(value: Any) -> list[Any] | None:
    if value is None:
        return None
    blocks = _json_arg(value, "invalid_blocks_format")
    if not isinstance(blocks, list):
        raise _Fail("invalid_blocks_format")
    return blocks


def _parse_attachments(value: Any) -> list[Any] | None:
    if value is None:
        return None
    attachments = _json_arg(value, "invalid_attachments")
    if not isinstance(attachments, list):
        raise _Fail("invalid_attachments")
    if len(attachments) > MAX_ATTACHMENTS:
        raise _Fail("too_many_attachments")
    return attachments


def _parse_metadata(value: Any) -> dict[str, Any] | None:
    """`{"event_type": str, "event_payload": dict}` or `invalid_metadata_format`."""
    if value is None:
        return None
    metadata = _json_arg(value, "invalid_metadata_format")
    if not (isinstance(metadata, dict)
            and isinstance(metadata.get("event_type"), str) and metadata["event_type"]
            and isinstance(metadata.get("event_payload"), dict)):
        raise _Fail("invalid_metadata_format")
    return metadata


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _as_bool(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _as_int(value: Any, default: int, error: str) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _Fail(error) from None


def _ts_value(ts: Any, error: str) -> Decimal:
    try:
        return Decimal(str(ts))
    except InvalidOperation:
        raise _Fail(error) from None


def _encode_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _decode_cursor(cursor: str) -> Decimal:
    try:
        prefix, _, ts = base64.b64decode(cursor).decode().partition(":")
    except ValueError:
        raise _Fail("invalid_cursor") from None
    if prefix != "next_ts":
        raise _Fail("invalid_cursor")
    return _ts_value(ts, "invalid_cursor")


async def _read_args(request: web.Request) -> tuple[Args, str | None]:
    """Query string merged with a JSON or form body; the second item is a parse error."""
    args: Args = dict(request.query)
    if request.method != "POST" or not request.body_exists:
        return args, None
    if request.content_type == "application/json":
        try:
            body = json.loads(await request.text())
        except ValueError:
            return args, "invalid_json"
        if not isinstance(body, dict):
            return args, "json_not_object"
        args.update(body)
    else:
        args.update((await request.post()).items())
    return args, None


# --- messages -------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageVersion:
    text: str
    blocks: list[Block] | None
    attachments: list[Any] | None
    metadata: dict[str, Any] | None


@dataclass
class Message:
    """A stored message. `versions[0]` is as posted, `versions[-1]` as it is now."""

    channel: str
    ts: str
    text: str
    blocks: list[Block] | None = None
    attachments: list[Any] | None = None
    metadata: dict[str, Any] | None = None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    unfurl_links: bool | None = None
    user: str | None = BOT_USER_ID
    bot_id: str | None = BOT_ID
    subtype: str | None = None
    by_this_bot: bool = True
    reactions: list[str] = field(default_factory=list)
    edited_ts: str | None = None
    versions: list[MessageVersion] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.versions.append(self._snapshot())

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def edit(self, *, text: str | None, blocks: list[Block] | None, blocks_given: bool,
             attachments: list[Any] | None, metadata: dict[str, Any] | None,
             edited_ts: str) -> None:
        """chat.update semantics: text without blocks drops the blocks; neither keeps them."""
        if blocks_given:
            self.blocks = blocks or None
        elif text is not None:
            self.blocks = None
        if text is not None:
            self.text = text
        if attachments is not None:
            self.attachments = attachments or None
        if metadata is not None:
            self.metadata = metadata
        self.edited_ts = edited_ts
        self.versions.append(self._snapshot())

    def to_api(self, *, include_metadata: bool) -> Args:
        out: Args = {"type": "message", "text": self.text, "ts": self.ts}
        if self.subtype:
            out["subtype"] = self.subtype
        if self.user:
            out["user"] = self.user
        if self.bot_id:
            out["bot_id"] = self.bot_id
        if self.by_this_bot:
            out.update(app_id=APP_ID, team=TEAM_ID)
        for key in ("blocks", "attachments"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.edited_ts:
            out["edited"] = {"user": self.user, "ts": self.edited_ts}
        if self.reactions:
            out["reactions"] = [{"name": name, "users": [BOT_USER_ID], "count": 1}
                                for name in self.reactions]
        if include_metadata and self.metadata:
            out["metadata"] = self.metadata
        return out

    def _snapshot(self) -> MessageVersion:
        return MessageVersion(self.text, self.blocks, self.attachments, self.metadata)


@dataclass(frozen=True)
class WebhookPost:
    path: str
    channel: str
    body: dict[str, Any]
    ts: str


@dataclass(frozen=True)
class ResponseUrlPost:
    url_id: str
    body: dict[str, Any]
    effect: str  # "replaced" | "deleted" | "in_channel" | "ephemeral"


@dataclass
class _ResponseUrl:
    channel: str
    message_ts: str | None
    created: float
    uses: int = 0


class _TsSource:
    """Message timestamps: wall-clock microseconds, strictly increasing."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last = 0

    def next(self) -> str:
        micros = max(int(self._clock() * 1_000_000), self._last + 1)
        self._last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _with_block_ids(blocks: list[Block], seed: str) -> list[Block]:
    """Copies of `blocks`, with a generated `block_id` where none was given (as Slack)."""
    out = []
    for index, block in enumerate(blocks):
        block = dict(block)
        if "block_id" not in block:
            digest = hashlib.sha1(f"{seed}/{index}".encode()).digest()
            block["block_id"] = base64.b64encode(digest).decode()[:5]
        out.append(block)
    return out


def _api_response(body: Args, *, status: int = 200, headers: Mapping[str, str] | None = None,
                  scopes: Iterable[str] = ()) -> web.Response:
    all_headers = dict(headers or {})
    if scopes:
        all_headers["X-OAuth-Scopes"] = ",".join(sorted(scopes))
    return web.json_response(body, status=status, headers=all_headers)


# --- the double -----------------------------------------------------------------------


class FakeSlack(FailureControls):
    """Slack Web API, incoming webhooks and response_url on a loopback port.

    Use as `async with FakeSlack() as slack:` (or `await slack.start()` / `stop()`), then
    point `AsyncWebClient(token=DEFAULT_TOKEN, base_url=slack.api_url)` and
    `AsyncWebhookClient(slack.webhook_url)` at it.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        channels: Iterable[str] = ("C0001",),
        not_member: Iterable[str] = (),
        archived: Iterable[str] = (),
        channel_names: Mapping[str, str] | None = None,
        revoked: Iterable[str] = (),
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        super().__init__(clock)
        channels = tuple(channels)
        self.tokens: dict[str, frozenset[str]] = {token: frozenset(scopes)}
        self.revoked: set[str] = set(revoked)
        self.channels: set[str] = set(channels)  # the bot is a member
        self.not_member: set[str] = set(not_member)
        self.archived: set[str] = set(archived)
        self.channel_names: dict[str, str] = dict(channel_names or {})
        self.calls: list[tuple[str, Args]] = []
        self.webhook_posts: list[WebhookPost] = []
        self.response_url_posts: list[ResponseUrlPost] = []
        self.injected_webhook: deque[Injected] = deque()
        self._limited_methods: frozenset[str] | None = None
        self._messages: dict[str, dict[str, Message]] = defaultdict(dict)
        self._updates: dict[tuple[str, str], list[Args]] = defaultdict(list)
        self._hooks: dict[str, str] = {DEFAULT_WEBHOOK_PATH: channels[0] if channels else ""}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._ids = itertools.count(1)
        self._ts = _TsSource(wall_clock)
        # Trigger ids expire after 3 s of `clock` (give the double a ManualClock to test it).
        self._modals = Modals(clock, with_block_ids=_with_block_ids,
                              stamp={"team_id": TEAM_ID, "app_id": APP_ID, "bot_id": BOT_ID})
        self._uploads = ExternalUploads()
        self._methods: dict[str, Callable[[Args], Args]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "reactions.add": self._reactions_add,
            "views.open": self._modals.views_open,
            "files.getUploadURLExternal": lambda args: self._uploads.get_upload_url(
                args, self.url),
            "files.completeUploadExternal": lambda args: self._uploads.complete(
                args, self._file_destination),
            "files.upload": lambda args: {"ok": False, "error": "method_deprecated"},
        }
        self.app = web.Application(client_max_size=CLIENT_MAX_SIZE)
        self.app.router.add_route("*", "/api/{method}", self._api)
        self.app.router.add_post("/services/{path:.+}", self._incoming_webhook)
        self.app.router.add_post("/actions/{id:.+}", self._response_url_post)
        self.app.router.add_post("/upload/v1/{ticket}", self._upload)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    @property
    def webhook_url(self) -> str:
        """URL of the default incoming webhook (posting to the first channel)."""
        return f"{self.url}/services/{DEFAULT_WEBHOOK_PATH}"

    # -- configuration -------------------------------------------------------------------

    def add_token(self, token: str, scopes: Iterable[str]) -> None:
        self.tokens[token] = frozenset(scopes)

    def archive(self, channel: str) -> None:
        self.channels.discard(channel)
        self.archived.add(channel)

    def add_webhook(self, channel: str, *, secret: str | None = None) -> str:
        """Register an incoming webhook posting to `channel`; returns its URL."""
        path = f"{TEAM_ID}/{BOT_ID}/{secret or secrets.token_hex(12)}"
        self._hooks[path] = channel
        return f"{self.url}/services/{path}"

    def response_url(self, channel: str = "C0001", message_ts: str | None = None) -> str:
        """A fresh response_url for an interaction on `message_ts` in `channel`."""
        url_id = f"{TEAM_ID}/{next(self._ids)}/{secrets.token_hex(12)}"
        self._response_urls[url_id] = _ResponseUrl(channel, message_ts, self.clock())
        return f"{self.url}/actions/{url_id}"

    def limit_rate(self, requests: int, per_seconds: float, *,
                   methods: Iterable[str] | None = None) -> None:
        """Answer 429 `ratelimited` past `requests` per method per channel per window."""
        super().limit_rate(requests, per_seconds)
        self._limited_methods = None if methods is None else frozenset(methods)

    def inject_ratelimited(self, retry_after: int = 0) -> None:
        """Queue one Web API 429, as Slack sends it."""
        self.inject(429, {"ok": False, "error": "ratelimited"},
                    {"Retry-After": str(retry_after)})

    def inject_webhook(self, status: int, body: str | None = None,
                       headers: Mapping[str, str] | None = None) -> None:
        """Queue a canned answer for the webhook, response_url and upload URL routes."""
        self.injected_webhook.append(Injected(status, body, dict(headers or {})))

    def seed_message(self, channel: str, text: str, *, user: str = "U0HUMAN01",
                     thread_ts: str | None = None, blocks: list[Block] | None = None,
                     metadata: dict[str, Any] | None = None) -> Message:
        """Store a message posted by someone else (this bot cannot update it)."""
        if channel not in self.channels | self.not_member | self.archived:
            raise ValueError(f"unknown channel {channel!r}")
        msg = Message(channel=channel, ts=self._ts.next(), text=text, blocks=blocks,
                      metadata=metadata, thread_ts=thread_ts, user=user, bot_id=None,
                      by_this_bot=False)
        self._messages[channel][msg.ts] = msg
        return msg

    def delete_message(self, channel: str, ts: str) -> None:
        """Someone deleted the message in Slack: its ts is unknown from now on."""
        del self._messages[channel][ts]

    # -- assertions ----------------------------------------------------------------------

    def messages(self, channel: str) -> list[Message]:
        """Top-level messages of `channel`, oldest first."""
        return [m for m in self._messages[channel].values() if not m.is_reply]

    def replies(self, channel: str, ts: str) -> list[Message]:
        """Replies in the thread of `ts`, oldest first (without the parent)."""
        return [m for m in self._messages[channel].values() if m.is_reply and m.thread_ts == ts]

    def message(self, channel: str, ts: str) -> Message:
        return self._messages[channel][ts]

    def updates(self, channel: str, ts: str) -> list[Args]:
        """Arguments of each accepted chat.update of that message, in order."""
        return list(self._updates[(channel, ts)])

    @property
    def views(self) -> list[OpenedView]:
        """The views opened with views.open, in order."""
        return list(self._modals.opened)

    @property
    def files(self) -> list[UploadedFile]:
        """The files uploaded and completed, in order (name, bytes, channel, thread_ts)."""
        return self._uploads.files

    # -- interactions (signed as Slack signs them) ---------------------------------------

    def click(self, signing_secret: str, message: Message, action_id: str, *,
              user: str = "U0001", user_name: str = "alice", timestamp: int | None = None,
              include_metadata: bool = False) -> tuple[bytes, dict[str, str]]:
        """(body, headers) of a click by `user` on the button `action_id` of `message` as
        it is now, carrying a trigger_id this double issued (3 s, once) and a fresh
        response_url."""
        button, block_id = _find_button(message, action_id)
        ts = int(time.time()) if timestamp is None else timestamp
        payload = block_actions_payload(
            action_id=action_id, value=str(button.get("value", "")), user=user,
            user_name=user_name, channel=message.channel, message_ts=message.ts,
            response_url=self.response_url(message.channel, message.ts), block_id=block_id,
            message_text=message.text, action_ts=f"{ts}.000100",
            trigger_id=self._modals.issue(user))
        payload["message"] = message.to_api(include_metadata=include_metadata)
        payload["actions"][0]["text"] = button["text"]
        return _signed(signing_secret, payload, ts)

    def submit_view(self, signing_secret: str, view: OpenedView,
                    answers: Mapping[str, str | None], *, user_name: str = "alice",
                    timestamp: int | None = None,
                    check_required: bool = True) -> tuple[bytes, dict[str, str]]:
        """(body, headers) of the `view_submission` of `view` by the user who opened it:
        `answers` maps an input block_id to the text typed or the option value picked."""
        values = self._modals.state(view, answers, check_required=check_required)
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": {"id": view.user, "username": user_name, "name": user_name,
                     "team_id": TEAM_ID},
            "api_app_id": APP_ID, "token": "legacy-verification-token",
            "trigger_id": self._modals.issue(view.user),
            "view": self._modals.view_object(view, values),
            "response_urls": [], "is_enterprise_install": False, "enterprise": None,
        }
        ts = int(time.time()) if timestamp is None else timestamp
        return _signed(signing_secret, payload, ts)

    # -- Web API -------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args, parse_error = await _read_args(request)
        self.calls.append((method, args))
        early = self.early_response()
        if early is not None:
            return early
        scopes: frozenset[str] = frozenset()
        try:
            scopes = self._authenticate(request)
            body = self._dispatch(method, args, scopes, parse_error)
        except _Fail as failure:
            if failure.status != 200:
                return _api_response(failure.body, status=failure.status,
                                     headers=failure.headers, scopes=scopes)
            body = failure.body
        return await self.deliver(_api_response(body, scopes=scopes))

    def _authenticate(self, request: web.Request) -> frozenset[str]:
        auth = request.headers.get("Authorization")
        if not auth:
            raise _Fail("not_authed")
        token = auth.removeprefix("Bearer ").strip()
        if token in self.revoked:
            raise _Fail("token_revoked")
        if not auth.startswith("Bearer ") or token not in self.tokens:
            raise _Fail("invalid_auth")
        return self.tokens[token]

    def _dispatch(self, method: str, args: Args, scopes: frozenset[str],
                  parse_error: str | None) -> Args:
        handler = self._methods.get(method)
        if handler is None:
            raise _Fail("unknown_method", req_method=method)
        if parse_error:
            raise _Fail(parse_error)
        needed = METHOD_SCOPES.get(method)
        if needed and needed not in scopes:
            raise _Fail("missing_scope", needed=needed, provided=",".join(sorted(scopes)))
        self._check_rate(method, args)
        return handler(args)

    def _check_rate(self, method: str, args: Args) -> None:
        if self.limiter is None:
            return
        if self._limited_methods is not None and method not in self._limited_methods:
            return
        wait = self.limiter.acquire((method, str(args.get("channel", ""))))
        if wait is not None:
            raise _Fail("ratelimited", status=429, headers={"Retry-After": str(wait)})

    # -- channels and messages -----------------------------------------------------------

    def _resolve(self, value: Any, *, allow_names: bool = False) -> str:
        channel = str(value or "")
        if allow_names:
            channel = self.channel_names.get(channel.removeprefix("#"), channel)
        if channel not in self.channels | self.not_member | self.archived:
            raise _Fail("channel_not_found")
        return channel

    def _writable(self, value: Any, *, allow_names: bool = False) -> str:
        channel = self._resolve(value, allow_names=allow_names)
        if channel in self.archived:
            raise _Fail("is_archived")
        if channel not in self.channels:
            raise _Fail("not_in_channel")
        return channel

    def _readable(self, value: Any) -> str:
        channel = self._resolve(value)
        if channel in self.not_member:
            raise _Fail("not_in_channel")
        return channel

    def _find(self, channel: str, ts: Any, error: str = "message_not_found") -> Message:
        msg = self._messages[channel].get(str(ts or ""))
        if msg is None:
            raise _Fail(error)
        return msg

    def _thread_parent(self, channel: str, thread_ts: Any) -> Message | None:
        """The parent a reply goes under; a reply's ts stands for its parent (as Slack)."""
        if thread_ts in (None, ""):
            return None
        found = self._find(channel, thread_ts, "thread_not_found")
        if found.is_reply and found.thread_ts is not None:
            return self._find(channel, found.thread_ts, "thread_not_found")
        return found

    def _render(self, msg: Message, *, include_metadata: bool) -> Args:
        out = msg.to_api(include_metadata=include_metadata)
        if msg.is_reply:
            parent = self._messages[msg.channel].get(msg.thread_ts or "")
            out["parent_user_id"] = parent.user if parent else None
        replies = [] if msg.is_reply else self.replies(msg.channel, msg.ts)
        if replies:
            out.update(thread_ts=msg.ts, reply_count=len(replies),
                       reply_users=sorted({r.user or "" for r in replies}),
                       latest_reply=replies[-1].ts)
        return out

    def _check_content(self, args: Args) -> tuple[str | None, list[Any] | None,
                                                   list[Any] | None]:
        """text, blocks, attachments of a new message, or the error Slack answers."""
        text = _opt_str(args.get("text"))
        blocks = _parse_blocks(args.get("blocks"))
        attachments = _parse_attachments(args.get("attachments"))
        markdown_text = _opt_str(args.get("markdown_text"))
        if not (text or blocks or attachments or markdown_text):
            raise _Fail("no_text")
        if markdown_text and (text or blocks):
            raise _Fail("markdown_text_conflict")
        if blocks and (errors := validate_blocks(blocks)):
            raise _invalid_blocks(errors)
        return text if text is not None else markdown_text, blocks, attachments

    # -- methods -------------------------------------------------------------------------

    def _auth_test(self, args: Args) -> Args:
        return {"ok": True, "url": f"https://{TEAM_DOMAIN}.slack.com/", "team": "Example",
                "user": BOT_USER_NAME, "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                "bot_id": BOT_ID, "is_enterprise_install": False}

    def _chat_post_message(self, args: Args) -> Args:
        channel = self._writable(args.get("channel"), allow_names=True)
        text, blocks, attachments = self._check_content(args)
        parent = self._thread_parent(channel, args.get("thread_ts"))
        metadata = _parse_metadata(args.get("metadata"))
        truncated = text is not None and len(text) > MAX_TEXT
        ts = self._ts.next()
        msg = Message(
            channel=channel, ts=ts, text=(text or "")[:MAX_TEXT],
            blocks=_with_block_ids(blocks, ts) if blocks else None,
            attachments=attachments or None, metadata=metadata,
            thread_ts=parent.ts if parent else None,
            reply_broadcast=bool(parent) and _as_bool(args.get("reply_broadcast")),
            unfurl_links=None if "unfurl_links" not in args else _as_bool(args["unfurl_links"]),
        )
        if msg.reply_broadcast:
            msg.subtype = "thread_broadcast"
        self._messages[channel][ts] = msg
        body: Args = {"ok": True, "channel": channel, "ts": ts,
                      "message": self._render(msg, include_metadata=True)}
        if truncated:
            body["warning"] = "message_truncated"
            body["response_metadata"] = {"warnings": ["message_truncated"]}
        return body

    def _chat_update(self, args: Args) -> Args:
        channel = self._writable(args.get("channel"))
        msg = self._find(channel, args.get("ts"))
        if not msg.by_this_bot:
            raise _Fail("cant_update_message")
        text = _opt_str(args.get("text"))
        if text is not None and len(text) > MAX_UPDATE_TEXT:
            raise _Fail("msg_too_long")
        blocks = _parse_blocks(args.get("blocks"))
        attachments = _parse_attachments(args.get("attachments"))
        metadata = _parse_metadata(args.get("metadata"))
        if text is None and blocks is None and attachments is None and metadata is None:
            raise _Fail("no_text")
        if blocks and (errors := validate_blocks(blocks)):
            raise _invalid_blocks(errors)
        msg.edit(text=text, blocks=_with_block_ids(blocks or [], msg.ts + "/edit"),
                 blocks_given=blocks is not None, attachments=attachments,
                 metadata=metadata, edited_ts=self._ts.next())
        self._updates[(channel, msg.ts)].append(dict(args))
        return {"ok": True, "channel": channel, "ts": msg.ts, "text": msg.text,
                "message": self._render(msg, include_metadata=True)}

    def _conversations_history(self, args: Args) -> Args:
        channel = self._readable(args.get("channel"))
        limit = max(1, min(_as_int(args.get("limit"), 100, "invalid_limit"), 999))
        oldest = _ts_value(args.get("oldest") or "0", "invalid_ts_oldest")
        latest = _ts_value(args["latest"], "invalid_ts_latest") if args.get("latest") else None
        inclusive = _as_bool(args.get("inclusive"))
        if args.get("cursor"):
            latest, inclusive = _decode_cursor(str(args["cursor"])), False

        def in_range(msg: Message) -> bool:
            ts = Decimal(msg.ts)
            above = ts >= oldest if inclusive else ts > oldest
            below = latest is None or (ts <= latest if inclusive else ts < latest)
            return above and below

        shown = [m for m in self._messages[channel].values()
                 if (not m.is_reply or m.reply_broadcast) and in_range(m)]
        shown.reverse()
        page = shown[:limit]
        meta = _as_bool(args.get("include_all_metadata"))
        body: Args = {"ok": True, "messages": [self._render(m, include_metadata=meta)
                                               for m in page],
                      "has_more": len(shown) > limit, "pin_count": 0}
        if body["has_more"]:
            body["response_metadata"] = {"next_cursor": _encode_cursor(page[-1].ts)}
        return body

    def _conversations_replies(self, args: Args) -> Args:
        channel = self._readable(args.get("channel"))
        msg = self._find(channel, args.get("ts"), "thread_not_found")
        parent = self._thread_parent(channel, msg.ts) or msg
        limit = max(1, _as_int(args.get("limit"), 1000, "invalid_limit"))
        thread = [parent, *self.replies(channel, parent.ts)]
        meta = _as_bool(args.get("include_all_metadata"))
        return {"ok": True,
                "messages": [self._render(m, include_metadata=meta) for m in thread[:limit]],
                "has_more": len(thread) > limit}

    def _reactions_add(self, args: Args) -> Args:
        if not args.get("channel") or not args.get("timestamp"):
            raise _Fail("no_item_specified")
        channel = self._writable(args["channel"])
        name = str(args.get("name") or "")
        if not _EMOJI_NAME.fullmatch(name):
            raise _Fail("invalid_name")
        msg = self._find(channel, args["timestamp"])
        if name in msg.reactions:
            raise _Fail("already_reacted")
        msg.reactions.append(name)
        return {"ok": True}

    # -- file uploads --------------------------------------------------------------------

    def _file_destination(self, channel: str, thread_ts: str | None) -> str | None:
        """Why files cannot be shared in `channel` (a thread of it), or None."""
        if channel not in self.channels | self.not_member | self.archived:
            return "invalid_channel"  # a user id too: open the DM first
        if channel in self.archived:
            return "is_archived"
        if channel not in self.channels:
            return "not_in_channel"
        if thread_ts and thread_ts not in self._messages[channel]:
            return "invalid_arguments"
        return None

    async def _upload(self, request: web.Request) -> web.Response:
        early = self.early_response(self.injected_webhook)
        if early is not None:
            return early
        if request.content_type.startswith("multipart/"):
            part = await (await request.multipart()).next()
            content = await part.read() if isinstance(part, BodyPartReader) else b""
        else:
            content = await request.read()
        status, text = self._uploads.receive(request.match_info["ticket"], content)
        return await self.deliver(web.Response(status=status, text=text))

    # -- incoming webhooks and response_url ----------------------------------------------

    async def _incoming_webhook(self, request: web.Request) -> web.Response:
        early = self.early_response(self.injected_webhook)
        if early is not None:
            return early
        path = request.match_info["path"]
        try:
            channel = self._hooks.get(path)
            if channel is None:
                raise _HookFail(404, "no_service")
            if channel in self.archived:
                raise _HookFail(410, "channel_is_archived")
            body = await _read_hook_body(request)
            _check_hook_content(body)
        except _HookFail as failure:
            return web.Response(status=failure.status, text=failure.text)
        msg = self._store_hook_message(channel, body, path)
        self.webhook_posts.append(WebhookPost(path, channel, body, msg.ts))
        return await self.deliver(web.Response(text="ok"))

    def _store_hook_message(self, channel: str, body: dict[str, Any], path: str) -> Message:
        ts = self._ts.next()
        blocks = body.get("blocks")
        msg = Message(channel=channel, ts=ts, text=str(body.get("text") or "")[:MAX_TEXT],
                      blocks=_with_block_ids(blocks, ts) if blocks else None,
                      attachments=body.get("attachments") or None, user=None,
                      bot_id=path.split("/")[1], subtype="bot_message", by_this_bot=False)
        self._messages[channel][ts] = msg
        return msg

    async def _response_url_post(self, request: web.Request) -> web.Response:
        early = self.early_response(self.injected_webhook)
        if early is not None:
            return early
        url_id = request.match_info["id"]
        try:
            target = self._live_response_url(url_id)
            body = await _read_hook_body(request)
            if not _as_bool(body.get("delete_original")):
                _check_hook_content(body)
            effect = self._apply_response(target, body)
        except _HookFail as failure:
            return web.Response(status=failure.status, text=failure.text)
        target.uses += 1
        self.response_url_posts.append(ResponseUrlPost(url_id, body, effect))
        return await self.deliver(web.Response(text="ok"))

    def _live_response_url(self, url_id: str) -> _ResponseUrl:
        target = self._response_urls.get(url_id)
        if (target is None or target.uses >= RESPONSE_URL_USES
                or self.clock() - target.created > RESPONSE_URL_LIFETIME):
            raise _HookFail(404, "expired_url")
        return target

    def _apply_response(self, target: _ResponseUrl, body: dict[str, Any]) -> str:
        original = self._messages[target.channel].get(target.message_ts or "")
        if _as_bool(body.get("delete_original")) and original is not None:
            del self._messages[target.channel][original.ts]
            return "deleted"
        if _as_bool(body.get("replace_original")) and original is not None:
            blocks = body.get("blocks")
            original.edit(text=_opt_str(body.get("text")),
                          blocks=_with_block_ids(blocks or [], original.ts + "/r"),
                          blocks_given=blocks is not None,
                          attachments=body.get("attachments"), metadata=None,
                          edited_ts=self._ts.next())
            return "replaced"
        if body.get("response_type") == "in_channel":
            ts = self._ts.next()
            blocks = body.get("blocks")
            thread_ts = body.get("thread_ts")
            self._messages[target.channel][ts] = Message(
                channel=target.channel, ts=ts, text=str(body.get("text") or ""),
                blocks=_with_block_ids(blocks, ts) if blocks else None,
                thread_ts=str(thread_ts) if thread_ts else None)
            return "in_channel"
        return "ephemeral"


async def _read_hook_body(request: web.Request) -> dict[str, Any]:
    """A webhook message: a JSON object, or a form field `payload` holding one."""
    raw = await request.text()
    if request.content_type == "application/x-www-form-urlencoded":
        raw = urllib.parse.parse_qs(raw).get("payload", [""])[0]
    try:
        body = json.loads(raw)
    except ValueError:
        raise _HookFail(400, "invalid_payload") from None
    if not isinstance(body, dict):
        raise _HookFail(400, "invalid_payload")
    return body


def _check_hook_content(body: dict[str, Any]) -> None:
    blocks = body.get("blocks")
    if not (body.get("text") or blocks or body.get("attachments")):
        raise _HookFail(400, "no_text")
    if blocks is not None and (not isinstance(blocks, list) or validate_blocks(blocks)):
        raise _HookFail(400, "invalid_blocks")
    if len(body.get("attachments") or []) > MAX_ATTACHMENTS:
        raise _HookFail(400, "too_many_attachments")


# --- signed interactions --------------------------------------------------------------


def sign(signing_secret: str, timestamp: int | str, body: bytes | str) -> str:
    """Slack's request signature: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    raw = body.encode() if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def block_actions_payload(*, action_id: str, value: str, user: str = "U0001",
                          user_name: str = "alice", channel: str = "C0001",
                          message_ts: str = "1700000000.000100",
                          response_url: str = "https://hooks.slack.com/actions/T0001/1/x",
                          block_id: str = "b1", message_text: str = "fallback",
                          action_ts: str | None = None,
                          trigger_id: str = UNISSUED_TRIGGER_ID) -> dict[str, Any]:
    """The `block_actions` payload of a button click in a message (section 1.9). The
    default trigger_id was not issued by any FakeSlack: views.open refuses it."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user_name, "name": user_name, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                      "is_ephemeral": False},
        "trigger_id": trigger_id,
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "channel": {"id": channel, "name": "alerts"},
        "message": {"type": "message", "ts": message_ts, "bot_id": BOT_ID,
                    "text": message_text, "blocks": []},
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": action_id, "block_id": block_id,
                     "text": {"type": "plain_text", "text": "Ack", "emoji": True},
                     "value": value, "action_ts": action_ts or f"{time.time():.6f}"}],
        "state": {"values": {}},
    }


def signed_block_actions(
    signing_secret: str,
    *,
    action_id: str,
    value: str,
    user: str = "U0001",
    user_name: str = "alice",
    channel: str = "C0001",
    message_ts: str = "1700000000.000100",
    response_url: str = "https://hooks.slack.com/actions/T0001/1/x",
    block_id: str = "b1",
    message_text: str = "fallback",
    timestamp: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) exactly as Slack POSTs a button click to the app's Request URL."""
    ts = int(time.time()) if timestamp is None else timestamp
    payload = block_actions_payload(
        action_id=action_id, value=value, user=user, user_name=user_name, channel=channel,
        message_ts=message_ts, response_url=response_url, block_id=block_id,
        message_text=message_text, action_ts=f"{ts}.000100")
    return _signed(signing_secret, payload, ts)


def _signed(signing_secret: str, payload: dict[str, Any],
            timestamp: int) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of an interaction payload as Slack POSTs it to the Request URL."""
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Slack-Request-Timestamp": str(timestamp),
               "X-Slack-Signature": sign(signing_secret, timestamp, body)}
    return body, headers


def _find_button(message: Message, action_id: str) -> tuple[Block, str]:
    """The button `action_id` of `message` as it is now, and its block's id."""
    for block in message.blocks or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("type") == "button" and element.get("action_id") == action_id:
                return element, str(block["block_id"])
    raise ValueError(f"no button {action_id!r} on message {message.ts}")
