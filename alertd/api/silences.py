"""Alertmanager's v2 silence API, so that amtool, Grafana and Alertmanager clients work:

    GET    /api/v2/silences          (?filter=<matcher>&active=&pending=&expired=)
    POST   /api/v2/silences          postableSilence -> {"silenceID": id}
    GET    /api/v2/silence/{id}      gettableSilence
    DELETE /api/v2/silence/{id}      expire it

Bodies and errors are Alertmanager's: an error is a JSON string. alertd adds one optional
field to a silence, `expireOnResolve`; when an update leaves it out (as clients that do
not know it will), the silence keeps the value it had, and so do its `annotations`.
"""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiohttp import hdrs, web

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
    is_equal,
    is_regex,
    make_matcher,
    parse_matcher,
    parse_time,
)
from alertd.silence.silences import Silences
from alertd.store.db import StoreError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_TRUE = frozenset({"true", "1", "t", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "f", "no", "n", "off"})


class BadRequest(ValueError):
    """The request does not follow the API; the message is the answer's body."""


def routes(silences: Silences, clock: Clock, *, write_tokens: frozenset[str],
           read_tokens: frozenset[str] | None) -> list[web.RouteDef]:
    """The silence routes. With `write_tokens`, POST and DELETE need one as a bearer token;
    with `read_tokens` (not None), so do GETs, which a write token also opens."""
    writers = tuple(t.encode() for t in sorted(write_tokens))
    readers = None if read_tokens is None else tuple(
        t.encode() for t in sorted(read_tokens | write_tokens))

    def guard(tokens: tuple[bytes, ...] | None, fn: Handler) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            if tokens is not None:
                refused = _check_token(request.headers.get(hdrs.AUTHORIZATION), tokens)
                if refused is not None:
                    return refused
            return await fn(request)

        return handle

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
        sid = request.match_info["silence_id"]
        if not _is_uuid(sid):
            return _not_uuid(sid)
        sil = silences.get(sid)
        if sil is None:
            return _error(404, "silence not found")
        return _json(200, silence_json(sil, clock.now()))

    async def post_silence(request: web.Request) -> web.StreamResponse:
        try:
            body = await _body(request)
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
            sid = await silences.set(sil, now)
        except SilenceNotFound as exc:
            return _error(404, str(exc))
        except SilenceError as exc:
            return _error(400, str(exc))
        except StoreError as exc:
            return _error(500, str(exc))
        return _json(200, {"silenceID": sid})

    async def delete_silence(request: web.Request) -> web.StreamResponse:
        sid = request.match_info["silence_id"]
        if not _is_uuid(sid):
            return _not_uuid(sid)
        try:
            await silences.expire(sid, clock.now())
        except SilenceNotFound as exc:
            return _error(404, str(exc))
        except (SilenceAlreadyExpired, StoreError) as exc:
            # Alertmanager answers 500 to expiring an expired silence; so do we.
            return _error(500, str(exc))
        return web.Response(status=200)

    return [
        web.get("/api/v2/silences", guard(readers, list_silences)),
        web.post("/api/v2/silences", guard(writers or None, post_silence)),
        web.get("/api/v2/silence/{silence_id}", guard(readers, get_silence)),
        web.delete("/api/v2/silence/{silence_id}", guard(writers or None, delete_silence)),
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
    sid = _field(body, "id", str, required=False) or ""
    raw_matchers = _field(body, "matchers", list)
    if not raw_matchers:
        raise BadRequest("matchers in body should have at least 1 items")
    matchers = tuple(_matcher(m, i) for i, m in enumerate(raw_matchers))
    starts_at = _time_field(body, "startsAt")
    ends_at = _time_field(body, "endsAt")
    created_by = _field(body, "createdBy", str)
    comment = _field(body, "comment", str)
    expire_on_resolve = _field(body, "expireOnResolve", bool, required=False)
    raw_annotations = _field(body, "annotations", dict, required=False)
    annotations = None
    if raw_annotations is not None:
        if not all(isinstance(v, str) for v in raw_annotations.values()):
            raise BadRequest("annotations in body must be an object of strings")
        annotations = Labels(raw_annotations)
    sil = Silence(id=sid, matchers=matchers, starts_at=starts_at, ends_at=ends_at,
                  created_by=created_by, comment=comment)
    return sil, expire_on_resolve, annotations


def _time_field(body: dict[str, Any], name: str) -> float:
    text = _field(body, name, str)
    try:
        return parse_time(text)
    except ValueError:
        raise BadRequest(f'{name} in body must be of type date-time: "{text}"') from None


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
    name = _field(raw, "name", str, required=False)
    value = _field(raw, "value", str, required=False)
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


async def _body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"parsing silence body failed: {exc}") from None


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _not_uuid(sid: str) -> web.Response:
    # go-swagger's answer to a path parameter that is not of its format.
    return _json(422, {"code": 605, "message": f'silenceID in path must be of type uuid: "{sid}"'})


def _time(t: float) -> str:
    text = rfc3339(t)
    assert text is not None
    return text


def _json(status: int, body: object) -> web.Response:
    return web.Response(status=status, text=json.dumps(body, ensure_ascii=False),
                        content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json(status, message)


def _check_token(header: str | None, tokens: tuple[bytes, ...]) -> web.Response | None:
    if header is None:
        return _unauthorized("missing bearer token", invalid=False)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized('the Authorization header must be "Bearer <token>"', invalid=False)
    given = token.strip().encode()
    # Compare with every token, so the time taken says nothing about which one is close.
    ok = False
    for expected in tokens:
        ok |= hmac.compare_digest(given, expected)
    return None if ok else _unauthorized("invalid bearer token", invalid=True)


def _unauthorized(message: str, *, invalid: bool) -> web.Response:
    response = _error(401, message)
    response.headers[hdrs.WWW_AUTHENTICATE] = (
        'Bearer realm="alertd"' + (', error="invalid_token"' if invalid else ""))
    return response
