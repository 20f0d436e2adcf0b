"""A PagerDuty Events API v2 double that rejects what PagerDuty rejects.

Reproduced (wire contracts of /work/shared/reference/integrations.md, section 2):

- `POST /v2/enqueue` (alert events) and `POST /v2/change/enqueue` (change events), no auth
  header, the integration key in the body as `routing_key`.
- Validation of section 2.2/2.8: `routing_key` of 32 characters; `event_action` one of
  trigger/acknowledge/resolve; `dedup_key` at most 255 characters and required for
  acknowledge/resolve; a trigger needs `payload.summary` (at most 1024 characters),
  `payload.source` and `payload.severity` (critical/error/warning/info);
  `payload.timestamp`, when present, must parse as ISO 8601; `links[].href` is required;
  `images[].src` is required and HTTPS; the body is at most 512 KB. Invalid events get
  400 `{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}`;
  a body that is not a JSON object, or not sent as `application/json`, gets 400
  `{"status": "Unrecognized object", ...}`.
- Success: 202 `{"status": "success", "message": "Event processed", "dedup_key": ...}`,
  with a generated `dedup_key` when a trigger has none.
- The dedup semantics of section 2.3, keyed by (routing_key, dedup_key): a trigger opens
  an incident when none is open, else it is deduplicated into the open one; acknowledge
  and resolve apply to the open incident and are dropped (still 202) when there is none;
  a trigger after a resolve opens a new incident. A deduplicated trigger keeps the
  incident's summary and severity (the first trigger's).
- Failure controls (see `tests.fakes`): injected answers (429 without `Retry-After` by
  default, 5xx), `down` (503 HTML), `hold()`/`release()`, and a per-routing-key rate
  limiter answering 429 with an empty body, the event not ingested.

Wordings used without an authoritative source (tests should assert the HTTP status and
the `status` field, not these): every error string except "Length of 'routing_key' is
incorrect (should be 32 characters)" and "'event_action' is missing or blank"; the
Content-Type error; the change-event success message "Change event processed".
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.fakes import CLIENT_MAX_SIZE, Clock, FailureControls

Event = dict[str, Any]
Validator = Callable[[Event, int], list[str]]
Acceptor = Callable[[Event], web.Response]

ROUTING_KEY_LENGTH = 32
MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024
MAX_BODY_BYTES = 512 * 1024
ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")


# --- validation -----------------------------------------------------------------------


def _check_routing_key(event: Event) -> list[str]:
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != ROUTING_KEY_LENGTH:
        return ["Length of 'routing_key' is incorrect (should be 32 characters)"]
    return []


def _check_summary(payload: Mapping[str, Any]) -> list[str]:
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        return ["'payload.summary' is missing or blank"]
    if len(summary) > MAX_SUMMARY:
        return [f"'payload.summary' is too long (at most {MAX_SUMMARY} characters)"]
    return []


def _check_timestamp(payload: Mapping[str, Any]) -> list[str]:
    if "timestamp" not in payload:
        return []
    value = payload["timestamp"]
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return ["'payload.timestamp' is not a valid ISO 8601 timestamp"]
    return []


def _check_links(event: Event) -> list[str]:
    links = event.get("links", [])
    if not isinstance(links, list):
        return ["'links' must be an array"]
    return [f"'links[{i}].href' is missing or blank" for i, link in enumerate(links)
            if not (isinstance(link, dict) and isinstance(link.get("href"), str)
                    and link["href"])]


def _check_images(event: Event) -> list[str]:
    images = event.get("images", [])
    if not isinstance(images, list):
        return ["'images' must be an array"]
    errors = []
    for i, image in enumerate(images):
        src = image.get("src") if isinstance(image, dict) else None
        if not isinstance(src, str) or not src:
            errors.append(f"'images[{i}].src' is missing or blank")
        elif not src.startswith("https://"):
            errors.append(f"'images[{i}].src' must be an HTTPS URL")
    return errors


def _payload(event: Event) -> tuple[Mapping[str, Any], list[str]]:
    payload = event.get("payload", {})
    if not isinstance(payload, dict):
        return {}, ["'payload' must be an object"]
    return payload, []


def _check_trigger(event: Event) -> list[str]:
    payload, errors = _payload(event)
    errors += _check_summary(payload)
    if not isinstance(payload.get("source"), str) or not payload["source"].strip():
        errors.append("'payload.source' is missing or blank")
    severity = payload.get("severity")
    if not severity:
        errors.append("'payload.severity' is missing or blank")
    elif severity not in SEVERITIES:
        errors.append("'payload.severity' must be one of critical, error, warning, info")
    return errors + _check_timestamp(payload) + _check_links(event) + _check_images(event)


def _check_dedup_key(event: Event, action: Any) -> list[str]:
    dedup_key = event.get("dedup_key")
    if dedup_key is None or dedup_key == "":
        if action in ("acknowledge", "resolve"):
            return ["'dedup_key' is missing or blank"]
        return []
    if not isinstance(dedup_key, str):
        return ["'dedup_key' must be a string"]
    if len(dedup_key) > MAX_DEDUP_KEY:
        return [f"'dedup_key' is too long (at most {MAX_DEDUP_KEY} characters)"]
    return []


def validate_alert_event(event: Event, size: int) -> list[str]:
    """The `errors` PagerDuty answers for an alert event of `size` bytes (empty if valid)."""
    errors = _check_routing_key(event)
    action = event.get("event_action")
    if not action:
        errors.append("'event_action' is missing or blank")
    elif action not in ACTIONS:
        errors.append("'event_action' must be one of trigger, acknowledge, resolve")
    errors += _check_dedup_key(event, action)
    if action == "trigger":
        errors += _check_trigger(event)
    if size > MAX_BODY_BYTES:
        errors.append(f"Event object is too large (at most {MAX_BODY_BYTES} bytes)")
    return errors


def validate_change_event(event: Event, size: int) -> list[str]:
    """The `errors` PagerDuty answers for a change event (empty if valid)."""
    payload, errors = _payload(event)
    errors = _check_routing_key(event) + errors + _check_summary(payload)
    errors += _check_timestamp(payload) + _check_links(event)
    if size > MAX_BODY_BYTES:
        errors.append(f"Event object is too large (at most {MAX_BODY_BYTES} bytes)")
    return errors


def _invalid(errors: list[str]) -> web.Response:
    return web.json_response({"status": "invalid event", "message": "Event object is invalid",
                              "errors": errors}, status=400)


def _unrecognized(error: str) -> web.Response:
    return web.json_response({"status": "Unrecognized object",
                              "message": "Event object format is unrecognized",
                              "errors": [error]}, status=400)


# --- incidents ------------------------------------------------------------------------


@dataclass
class Incident:
    """An alert as PagerDuty keeps it; `history` lists the actions applied, in order."""

    routing_key: str
    dedup_key: str
    summary: str
    severity: str
    source: str
    custom_details: Any = None
    links: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    status: str = "triggered"  # triggered | acknowledged | resolved
    trigger_count: int = 1
    history: list[str] = field(default_factory=lambda: ["trigger"])
    events: list[Event] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"

    @classmethod
    def from_trigger(cls, event: Event) -> Incident:
        payload = event["payload"]
        return cls(routing_key=event["routing_key"], dedup_key=event["dedup_key"],
                   summary=payload["summary"], severity=payload["severity"],
                   source=payload["source"], custom_details=payload.get("custom_details"),
                   links=list(event.get("links", [])), images=list(event.get("images", [])),
                   events=[event])

    def apply(self, event: Event) -> None:
        action = event["event_action"]
        self.history.append(action)
        self.events.append(event)
        if action == "trigger":
            self.trigger_count += 1
        elif action == "acknowledge":
            self.status = "acknowledged"
        elif action == "resolve":
            self.status = "resolved"


# --- the double -----------------------------------------------------------------------


class FakePagerDuty(FailureControls):
    """PagerDuty Events API v2 on a loopback port.

    Use as `async with FakePagerDuty() as pd:` (or `await pd.start()` / `stop()`), then
    POST events to `pd.enqueue_url` (change events to `pd.change_url`).
    """

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        super().__init__(clock)
        self.events: list[Event] = []  # accepted alert events, in order
        self.change_events: list[Event] = []
        self.dropped: list[Event] = []  # accepted acknowledge/resolve with no open incident
        self.incidents: list[Incident] = []
        self.requests = 0  # requests received, whatever their fate
        self.app = web.Application(client_max_size=CLIENT_MAX_SIZE)
        self.app.router.add_post("/v2/enqueue", self._enqueue)
        self.app.router.add_post("/v2/change/enqueue", self._change_enqueue)

    @property
    def enqueue_url(self) -> str:
        return f"{self.url}/v2/enqueue"

    @property
    def change_url(self) -> str:
        return f"{self.url}/v2/change/enqueue"

    # -- assertions ----------------------------------------------------------------------

    def open_incidents(self, routing_key: str | None = None) -> list[Incident]:
        return [i for i in self.incidents
                if i.is_open and routing_key in (None, i.routing_key)]

    def incident(self, dedup_key: str, routing_key: str | None = None) -> Incident:
        """The latest incident with that dedup_key (KeyError if none)."""
        for found in reversed(self.incidents):
            if found.dedup_key == dedup_key and routing_key in (None, found.routing_key):
                return found
        raise KeyError(dedup_key)

    # -- handlers ------------------------------------------------------------------------

    async def _enqueue(self, request: web.Request) -> web.Response:
        return await self._handle(request, validate_alert_event, self._accept_alert)

    async def _change_enqueue(self, request: web.Request) -> web.Response:
        return await self._handle(request, validate_change_event, self._accept_change)

    async def _handle(self, request: web.Request, validate: Validator,
                      accept: Acceptor) -> web.Response:
        self.requests += 1
        early = self.early_response()
        if early is not None:
            return early
        raw = await request.read()
        event, problem = _parse(request, raw)
        if event is None:
            return _unrecognized(problem)
        if self._throttled(event):
            return web.Response(status=429)
        errors = validate(event, len(raw))
        if errors:
            return _invalid(errors)
        return await self.deliver(accept(event))

    def _throttled(self, event: Event) -> bool:
        """Rate limiting is per integration key; a throttled event is not ingested."""
        if self.limiter is None:
            return False
        return self.limiter.acquire(str(event.get("routing_key"))) is not None

    def _accept_alert(self, event: Event) -> web.Response:
        if not event.get("dedup_key"):
            event["dedup_key"] = uuid.uuid4().hex
        self.events.append(event)
        self._apply(event)
        return web.json_response({"status": "success", "message": "Event processed",
                                  "dedup_key": event["dedup_key"]}, status=202)

    def _accept_change(self, event: Event) -> web.Response:
        self.change_events.append(event)
        return web.json_response({"status": "success", "message": "Change event processed"},
                                 status=202)

    def _apply(self, event: Event) -> None:
        """Section 2.3: dedup into the open incident of (routing_key, dedup_key)."""
        open_one = next((i for i in self.open_incidents(event["routing_key"])
                         if i.dedup_key == event["dedup_key"]), None)
        if open_one is not None:
            open_one.apply(event)
        elif event["event_action"] == "trigger":
            self.incidents.append(Incident.from_trigger(event))
        else:
            self.dropped.append(event)


def _parse(request: web.Request, raw: bytes) -> tuple[Event | None, str]:
    """The event object, or None and why it is unrecognized."""
    if request.content_type != "application/json":
        return None, "Content-Type must be application/json"
    try:
        event = json.loads(raw)
    except ValueError:
        return None, "JSON parse error"
    if not isinstance(event, dict):
        return None, "JSON parse error"
    return event, ""
