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
that names the field (see silence_body.py).

The handlers read the silences and the clock from the app (`SILENCES`); `install` puts
them there and adds the routes, behind the app's tokens (`ACCESS`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from aiohttp import web

from alertd.api.auth import guarded_routes
from alertd.api.body import BadBody, read_json
from alertd.api.errors import alertmanager_error
from alertd.api.silence_body import (
    BadRequest,
    matcher_filter,
    postable_silence,
    query_flag,
    silence_json,
)
from alertd.clock import Clock
from alertd.model import EMPTY_LABELS, Labels
from alertd.silence.model import (
    ACTIVE,
    EXPIRED,
    PENDING,
    Silence,
    SilenceAlreadyExpired,
    SilenceError,
    SilenceNotFound,
    SilenceState,
)
from alertd.silence.silences import Silences, via_of
from alertd.store.db import StoreError


@dataclass(frozen=True, slots=True)
class SilenceContext:
    silences: Silences
    clock: Clock


SILENCES = web.AppKey("silences", SilenceContext)


def install(app: web.Application, ctx: SilenceContext) -> None:
    """The silence routes on `app`; POST and DELETE are writes, GETs reads (see `Access`)."""
    app[SILENCES] = ctx
    by_id = "/api/v2/silence/{silence_id}"
    app.add_routes(guarded_routes([
        ("GET", "/api/v2/silences", list_silences), ("POST", "/api/v2/silences", post_silence),
        ("GET", by_id, get_silence), ("DELETE", by_id, delete_silence),
    ], alertmanager_error))


async def list_silences(request: web.Request) -> web.StreamResponse:
    ctx = request.app[SILENCES]
    try:
        filters = [matcher_filter(f) for f in request.query.getall("filter", [])]
        wanted: list[SilenceState] = [
            state for state in (ACTIVE, PENDING, EXPIRED)
            if query_flag(request.query, state, default=True)]
    except BadRequest as exc:
        return alertmanager_error(400, str(exc))
    now = ctx.clock.now()
    found = ctx.silences.query(filters=filters, states=wanted, now=now)
    return _json(200, [silence_json(s, now) for s in found])


async def get_silence(request: web.Request) -> web.StreamResponse:
    ctx = request.app[SILENCES]
    sil = ctx.silences.get(request.match_info["silence_id"])
    if sil is None:  # an id that is not a UUID too: no silence has it
        return alertmanager_error(404, "silence not found")
    return _json(200, silence_json(sil, ctx.clock.now()))


async def post_silence(request: web.Request) -> web.StreamResponse:
    ctx = request.app[SILENCES]
    try:
        sil, expire_on_resolve, annotations = await _posted(request)
        now = ctx.clock.now()
        _check_times(sil, now)
    except BadRequest as exc:
        return alertmanager_error(400, str(exc))
    sil = _keeping(ctx.silences, sil, expire_on_resolve, annotations)
    try:
        sid = await ctx.silences.set(sil, now, via=via_of(request.headers.get("User-Agent")))
    except SilenceNotFound as exc:
        return alertmanager_error(404, str(exc))
    except SilenceError as exc:
        return alertmanager_error(400, str(exc))
    except StoreError as exc:
        return alertmanager_error(500, str(exc))
    return _json(200, {"silenceID": sid})


async def delete_silence(request: web.Request) -> web.StreamResponse:
    ctx = request.app[SILENCES]
    try:
        await ctx.silences.expire(request.match_info["silence_id"], ctx.clock.now(),
                                  via=via_of(request.headers.get("User-Agent")))
    except SilenceNotFound as exc:
        return alertmanager_error(404, str(exc))
    except (SilenceAlreadyExpired, StoreError) as exc:
        # Alertmanager answers 500 to expiring an expired silence; so do we.
        return alertmanager_error(500, str(exc))
    # No body, as in Alertmanager; the type is the one the spec declares for all.
    return web.Response(status=200, content_type="application/json")


async def _posted(request: web.Request) -> tuple[Silence, bool | None, Labels | None]:
    try:
        body = await read_json(request)
    except BadBody as exc:
        raise BadRequest(f"parsing silence body failed: {exc}") from None
    return postable_silence(body)


def _check_times(sil: Silence, now: float) -> None:
    if sil.starts_at >= sil.ends_at:
        raise BadRequest("start time must be before end time")
    if sil.ends_at < now:
        raise BadRequest("end time can't be in the past")


def _keeping(silences: Silences, sil: Silence, expire_on_resolve: bool | None,
             annotations: Labels | None) -> Silence:
    """`sil` with the expireOnResolve and annotations the update left out kept from the
    silence it replaces (defaults for a new one)."""
    prev = silences.get(sil.id) if sil.id else None
    if expire_on_resolve is None:
        expire_on_resolve = prev.expire_on_resolve if prev is not None else False
    if annotations is None:
        annotations = prev.annotations if prev is not None else EMPTY_LABELS
    return replace(sil, expire_on_resolve=expire_on_resolve, annotations=annotations)


def _json(status: int, body: object) -> web.Response:
    # Text the API let in is valid UTF-8; should a lone surrogate still reach an answer,
    # backslashreplace writes it as its JSON escape (\udxxx) instead of failing.
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8", "backslashreplace")
    return web.Response(status=status, body=raw, content_type="application/json")
