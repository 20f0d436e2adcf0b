"""Alertmanager's v2 silence API, so that amtool, Grafana and Alertmanager clients work:

    GET    /api/v2/silences          (?filter=<matcher>&active=&pending=&expired=)
    POST   /api/v2/silences          postableSilence -> {"silenceID": id}
    GET    /api/v2/silence/{id}      gettableSilence
    DELETE /api/v2/silence/{id}      expire it

Bodies and errors are Alertmanager's: an error is a JSON string. alertd adds one optional
field to a silence, `expireOnResolve`; when an update leaves it out (as clients that do
not know it will), the silence keeps the value it had, and so do its `annotations`.

An id that is not a UUID names no silence: GET and DELETE answer 404, as the spec
documents for an unknown id (go-swagger's own answer, an undocumented 422, is not used).
Text with a lone surrogate and times outside the years 1 to 9999 are refused with a 400
that names the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from aiohttp import web

from alertd.api.auth import Access
from alertd.api.body import BadBody, read_json
from alertd.api.timefmt import rfc3339
from alertd.clock import Clock
from alertd.model import EMPTY_LABELS, LabelMatcher, Labels
from alertd.silence.model import (
    ACTIVE,
    EXPIRED,
    PENDING,
    InvalidSilence,
    Silence,
    SilenceAlreadyExpired,
    SilenceError,
    SilenceNotFound,
    SilenceState,
    TimeOutOfRange,
    is_equal,
    is_regex,
    make_matcher,
    parse_matcher,
    parse_time,
)
from alertd.silence.silences import Silences, via_of
from alertd.store.db import StoreError
from alertd.validation import INVALID_UNICODE, valid_text

_TRUE = frozenset({"true", "1", "t", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "f", "no", "n", "off"})


class BadRequest(ValueError):
    """The request does not follow the API; the message is the answer's body."""


def routes(silences: Silences, clock: Clock, *, access: Access) -> list[web.RouteDef]:
    """The silence routes; POST and DELETE are writes, GETs reads (see `Access`)."""

    async def list_silences(request: web.Request) -> web.StreamResponse:
        try:
            filters = [_filter(f) for f in request.query.getall("filter", [])]
            wanted: list[SilenceState] = [
                state for state in (ACTIVE, PENDING, EXPIRED)
                if _bool(request.query, state, default=True)]
        except BadRequest as exc:
            return _error(400, str(exc))
        now = clock.now()
        found = silences.query(filters=filters, states=wanted, now=now)
        return _json(200, [silence_json(s, now) for s in found])

    async def get_silence(request: web.Request) -> web.StreamResponse:
        sil = silences.get(request.match_info["silence_id"])
        if sil is None:  # an id that is not a UUID too: no silence has it
            return _error(404, "silence not found")
        return _json(200, silence_json(sil, clock.now()))

    async def post_silence(request: web.Request) -> web.StreamResponse:
        try:
            body = await read_json(request)
        except BadBody as exc:
            return _error(400, f"parsing silence body failed: {exc}")
        try:
            sil, expire_on_resolve, annotations = postable_silence(body)
        except BadRequest as exc:
            return _error(400, str(exc))
        now = clock.now()
        if sil.starts_at >= sil.ends_at:
            return _error(400, "start time must be before end time")
        if sil.ends_at < now:
            return _error(400, "end time can't be in the past")
        prev = silences.get(sil.id) if sil.id else None
        if expire_on_resolve is None:
            expire_on_resolve = prev.expire_on_resolve if prev is not None else False
        if annotations is None:
            annotations = prev.annotations if prev is not None else EMPTY_LABELS
        sil = replace(sil, expire_on_resolve=expire_on_resolve, annotations=annotations)
        try:
            sid = await silences.set(sil, now, via=via_of(request.headers.get("User-Agent")))
        except SilenceNotFound as exc:
            return _error(404, str(exc))
        except SilenceError as exc:
            return _error(400, str(exc))
        except StoreError as exc:
            return _error(500, str(exc))
        return _json(200, {"silenceID": sid})

    async def delete_silence(request: web.Request) -> web.StreamResponse:
        try:
            await silences.expire(request.match_info["silence_id"], clock.now(),
                                  via=via_of(request.headers.get("User-Agent")))
        except SilenceNotFound as exc:
            return _error(404, str(exc))
        except (SilenceAlreadyExpired, StoreError) as exc:
            # Alertmanager answers 500 to expiring an expired silence; so do we.
            return _error(500, str(exc))
        # No body, as in Alertmanager; the type is the one the spec declares for all.
        return web.Response(status=200, content_type="application/json")

    return [
        web.get("/api/v2/silences", access.guard_read(list_silences, _error)),
        web.post("/api/v2/silences", access.guard_write(post_silence, _error)),
        web.get("/api/v2/silence/{silence_id}", access.guard_read(get_silence, _error)),
        web.delete("/api/v2/silence/{silence_id}",
                   access.guard_write(delete_silence, _error)),
    ]


# --- JSON -----------------------------------------------------------------------------------

def silence_json(s: Silence, now: float) -> dict[str, Any]:
    """A gettableSilence."""
    return {
        "id": s.id,
        "status": {"state": s.state(now)},
        "updatedAt": _time(s.updated_at),
        "matchers": [{"name": m.name, "value": m.value, "isRegex": is_regex(m),
                      "isEqual": is_equal(m)} for m in s.matchers],
        "startsAt": _time(s.starts_at),
        "endsAt": _time(s.ends_at),
        "createdBy": s.created_by,
        "comment": s.comment,
        "annotations": dict(s.annotations),
        "expireOnResolve": s.expire_on_resolve,
    }


def postable_silence(body: Any) -> tuple[Silence, bool | None, Labels | None]:
    """A postableSilence: the silence, and its expireOnResolve and annotations when given."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object (a postableSilence)")
    sid = _text_field(body, "id", required=False) or ""
    raw_matchers = _field(body, "matchers", list)
    if not raw_matchers:
        raise BadRequest("matchers in body should have at least 1 items")
    matchers = tuple(_matcher(m, i) for i, m in enumerate(raw_matchers))
    starts_at = _time_field(body, "startsAt")
    ends_at = _time_field(body, "endsAt")
    created_by = _text_field(body, "createdBy")
    comment = _text_field(body, "comment")
    expire_on_resolve = _field(body, "expireOnResolve", bool, required=False)
    raw_annotations = _field(body, "annotations", dict, required=False)
    annotations = None if raw_annotations is None else _annotations(raw_annotations)
    sil = Silence(id=sid, matchers=matchers, starts_at=starts_at, ends_at=ends_at,
                  created_by=created_by, comment=comment)
    return sil, expire_on_resolve, annotations


def _annotations(raw: Mapping[str, Any]) -> Labels:
    for key, value in raw.items():
        if not isinstance(value, str):
            raise BadRequest("annotations in body must be an object of strings")
        if not valid_text(key):
            raise BadRequest(f"annotations in body: {INVALID_UNICODE} in a name")
        if not valid_text(value):
            raise BadRequest(f"annotations.{key} in body: {INVALID_UNICODE}")
    return Labels(raw)


def _time_field(body: dict[str, Any], name: str) -> float:
    text = _text_field(body, name)
    try:
        return parse_time(text)
    except TimeOutOfRange as exc:
        raise BadRequest(f"{name} in body: {exc}") from None
    except ValueError:
        raise BadRequest(f'{name} in body must be of type date-time: "{text}"') from None


def _text_field(body: dict[str, Any], name: str, *, required: bool = True,
                where: str = "") -> Any:
    value = _field(body, name, str, required=required)
    if value is not None and not valid_text(value):
        raise BadRequest(f"{where}{name} in body: {INVALID_UNICODE}")
    return value


def _field(body: dict[str, Any], name: str, kind: type, *, required: bool = True) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"{name} in body is required")
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise BadRequest(f"{name} in body must be of type {_TYPE_NAMES[kind]}")
    return value


_TYPE_NAMES: dict[type, str] = {str: "string", bool: "boolean", list: "array", dict: "object"}


def _matcher(raw: Any, index: int) -> LabelMatcher:
    if not isinstance(raw, dict):
        raise BadRequest(f"matchers.{index} in body must be of type object")
    name = _text_field(raw, "name", required=False, where=f"matchers.{index}.")
    value = _text_field(raw, "value", required=False, where=f"matchers.{index}.")
    regex = _field(raw, "isRegex", bool, required=False)
    equal = _field(raw, "isEqual", bool, required=False)
    for key, got in (("name", name), ("value", value), ("isRegex", regex)):
        if got is None:
            raise BadRequest(f"matchers.{index}.{key} in body is required")
    try:
        return make_matcher(name, value, is_regex=regex,
                            is_equal=True if equal is None else equal, index=index)
    except InvalidSilence as exc:
        raise BadRequest(str(exc)) from None


def _filter(text: str) -> LabelMatcher:
    try:
        return parse_matcher(text)
    except InvalidSilence as exc:
        raise BadRequest(str(exc)) from None


def _bool(query: Any, name: str, *, default: bool) -> bool:
    raw = query.get(name)
    if raw is None:
        return default
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadRequest(f'{name} in query must be of type boolean: "{raw}"')


def _time(t: float) -> str:
    text = rfc3339(t)
    assert text is not None
    return text


def _json(status: int, body: object) -> web.Response:
    # Text the API let in is valid UTF-8; should a lone surrogate still reach an answer,
    # backslashreplace writes it as its JSON escape (\udxxx) instead of failing.
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8", "backslashreplace")
    return web.Response(status=status, body=raw, content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json(status, message)

