"""Alertmanager's API v2 for alerts, groups, receivers and status.

Prometheus's Alertmanager client and amtool talk to alertd through these, unchanged:
`POST /api/v2/alerts` (what Prometheus sends), `GET /api/v2/alerts` and
`/api/v2/alerts/groups` (amtool alert query), `GET /api/v2/receivers` and
`GET /api/v2/status` (whose `config.original` is the routing part as Alertmanager YAML,
which `amtool config routes test` reads).

The handlers read what they need from the app (`ALERTMANAGER`); `install` puts it there
and adds the routes, behind the app's tokens (`ACCESS`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from alertd import __version__
from alertd.alerts.model import Alert
from alertd.alerts.store import AlertStore
from alertd.api.auth import guarded_routes
from alertd.api.body import BadBody, read_json
from alertd.api.errors import alertmanager_error
from alertd.clock import Clock
from alertd.config.matchers import parse_matchers
from alertd.dispatch.dispatcher import GroupView
from alertd.dispatch.route import Route
from alertd.errors import AlertdError
from alertd.model import LabelMatcher, Labels
from alertd.notify.mute import InhibitIndex, Inhibitor, SilenceIndex
from alertd.regex import Regex, RegexError
from alertd.timefmt import rfc3339
from alertd.validation import INVALID_UNICODE, TIME_OUT_OF_RANGE, representable, valid_text

log = logging.getLogger("alertd.api")

# A firing alert's endsAt as shown, when it has no end of its own: a lease, as Prometheus
# sends it, renewed at every evaluation.
ENDS_AT_LEASE = 4 * 60.0

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def parse_filter(text: str) -> list[LabelMatcher]:
    """Matchers as amtool sends them: `alertname="X"`, `{severity=~"page|ticket"}`."""
    return parse_matchers(text.strip())


@dataclass(frozen=True, slots=True)
class AlertmanagerContext:
    """What the endpoints read and call; getters for what a reload replaces."""

    store: AlertStore
    clock: Clock
    started_at: float
    routes: Callable[[], Route]  # the current routing tree (it changes on reload)
    groups: Callable[[], Sequence[GroupView]]
    silences: Callable[[], SilenceIndex]
    inhibitor: Callable[[], Inhibitor]
    receivers: Callable[[], Sequence[str]]
    config_yaml: Callable[[], str]
    resolve_timeout: Callable[[], float]
    muted_by: Callable[[Labels, float], list[str]]
    # Merges posted alerts into the store and returns once they are durable (raises
    # AlertdError if they could not be stored): a 2xx means the alerts survive a crash.
    accept: Callable[[list[Alert], float], Awaitable[None]]


ALERTMANAGER = web.AppKey("alertmanager", AlertmanagerContext)


def _bad(message: str) -> web.Response:
    # The spec's BadRequest is `type: string`: the message itself, as a JSON string.
    return alertmanager_error(400, message)


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "true").lower() != "false"


def _time(value: Any, field: str, index: int) -> float | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"[{index}].{field}: must be an RFC 3339 date-time string")
    if not valid_text(value):
        raise ValueError(f"[{index}].{field}: {INVALID_UNICODE}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f'[{index}].{field}: invalid date-time "{value}"') from exc
    if parsed.year <= 1:
        return None  # Go's zero time: "not set"
    if parsed.tzinfo is None:
        raise ValueError(f'[{index}].{field}: date-time "{value}" has no time zone')
    t = parsed.timestamp()
    if not representable(t):  # e.g. 9999-12-31T23:59:59-14:00, in year 10000 in UTC
        raise ValueError(f'[{index}].{field}: date-time "{value}" {TIME_OUT_OF_RANGE}')
    return t


def _label_map(value: Any, field: str, index: int, *, required: bool) -> dict[str, str]:
    if value is None:
        if required:
            raise ValueError(f"[{index}].{field}: required")
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"[{index}].{field}: must be an object of strings")
    out = {k: v for k, v in value.items() if _label(k, v, f"[{index}].{field}")}
    if required and not out:
        raise ValueError(f"[{index}].{field}: at least one label is required")
    return out


def _label(name: object, value: object, where: str) -> bool:
    """Whether the pair is a label to keep (one with an empty value is not); ValueError
    when it is not a label at all."""
    if isinstance(name, str) and not valid_text(name):
        raise ValueError(f"{where}: {INVALID_UNICODE} in a name")
    if not isinstance(name, str) or not _LABEL_NAME.fullmatch(name):
        raise ValueError(f'{where}: invalid label name "{name}"')
    if not isinstance(value, str):
        raise ValueError(f"{where}.{name}: must be a string")
    if not valid_text(value):
        raise ValueError(f"{where}.{name}: {INVALID_UNICODE}")
    return bool(value)


def parse_postable(body: Any, now: float, resolve_timeout: float) -> tuple[list[Alert], list[str]]:
    """Alerts from a postableAlerts body, with Alertmanager's defaults for the times."""
    if not isinstance(body, list):
        return [], ["the body must be a JSON array of alerts"]
    alerts: list[Alert] = []
    errors: list[str] = []
    for i, item in enumerate(body):
        try:
            if not isinstance(item, dict):
                raise ValueError(f"[{i}]: must be an object")
            labels = _label_map(item.get("labels"), "labels", i, required=True)
            annotations = _label_map(item.get("annotations"), "annotations", i, required=False)
            starts = _time(item.get("startsAt"), "startsAt", i)
            ends = _time(item.get("endsAt"), "endsAt", i)
            generator = item.get("generatorURL") or ""
            if not isinstance(generator, str):
                raise ValueError(f"[{i}].generatorURL: must be a string")
            if not valid_text(generator):
                raise ValueError(f"[{i}].generatorURL: {INVALID_UNICODE}")
        except ValueError as exc:
            errors.append(str(exc))
            continue
        if starts is None:
            starts = ends if ends is not None and ends < now else now
        timeout = ends is None
        if ends is None:
            # No end given: it ends unless it is sent again within resolve_timeout.
            ends = now + resolve_timeout
        if ends < starts:
            errors.append(f"[{i}]: endsAt is before startsAt")
            continue
        alerts.append(Alert(Labels(labels), annotations, starts, ends, now, generator,
                            timeout=timeout))
    return alerts, errors


def gettable(alert: Alert, now: float, *, receivers: Iterable[str], silenced_by: list[str],
             inhibited_by: list[str], muted_by: list[str]) -> dict[str, Any]:
    ends = alert.ends_at if alert.ends_at is not None else alert.updated_at + ENDS_AT_LEASE
    state = "suppressed" if silenced_by or inhibited_by or muted_by else "active"
    return {
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "startsAt": rfc3339(alert.starts_at),
        "endsAt": rfc3339(ends),
        "updatedAt": rfc3339(alert.updated_at),
        "fingerprint": alert.fingerprint,
        "receivers": [{"name": r} for r in dict.fromkeys(receivers)],
        "status": {"state": state, "silencedBy": silenced_by, "inhibitedBy": inhibited_by,
                   "mutedBy": muted_by},
        "generatorURL": alert.generator_url,
    }


class _AlertQuery:
    def __init__(self, request: web.Request) -> None:
        self.matchers = [m for f in request.query.getall("filter", []) for m in parse_filter(f)]
        self.active = _flag(request, "active")
        self.silenced = _flag(request, "silenced")
        self.inhibited = _flag(request, "inhibited")
        # `unprocessed` filters nothing: alertd processes every alert as it arrives.
        receiver = request.query.get("receiver")
        try:
            self.receiver = Regex(receiver) if receiver else None
        except RegexError as exc:
            raise ValueError(f'invalid receiver regular expression "{receiver}": {exc}') from None

    def keeps(self, alert: _Described) -> bool:
        if not all(m.matches_labels(alert.labels) for m in self.matchers):
            return False
        if self.receiver and not any(self.receiver.matches(r) for r in alert.receivers):
            return False
        if alert.silenced and not self.silenced:
            return False
        if alert.inhibited and not self.inhibited:
            return False
        return (alert.silenced or alert.inhibited) or self.active


@dataclass(frozen=True, slots=True)
class _Described:
    labels: Labels
    body: dict[str, Any]  # the gettableAlert
    receivers: list[str]
    silenced: bool
    inhibited: bool  # by another alert, or muted by a time interval


class _Describe:
    """Alerts as gettableAlerts, with what a query filters on, at `now`."""

    def __init__(self, ctx: AlertmanagerContext, now: float, index: InhibitIndex) -> None:
        self.ctx = ctx
        self.now = now
        self.index = index

    def __call__(self, alert: Alert) -> _Described:
        ctx, now = self.ctx, self.now
        receivers = [r.receiver for r in ctx.routes().match(alert.labels)]
        inhibited_by = [labels.fingerprint() for labels in self.index.inhibited_by(alert.labels)]
        silenced_by = ctx.silences().mutes(alert.labels, now)
        muted_by = ctx.muted_by(alert.labels, now)
        body = gettable(alert, now, receivers=receivers, silenced_by=silenced_by,
                        inhibited_by=inhibited_by, muted_by=muted_by)
        return _Described(alert.labels, body, receivers, bool(silenced_by),
                          bool(inhibited_by or muted_by))


def install(app: web.Application, ctx: AlertmanagerContext) -> None:
    """The routes on `app`; POST is a write, GETs reads (see `Access`)."""
    app[ALERTMANAGER] = ctx
    app.add_routes(guarded_routes([
        ("GET", "/api/v2/alerts", get_alerts), ("POST", "/api/v2/alerts", post_alerts),
        ("GET", "/api/v2/alerts/groups", get_groups),
        ("GET", "/api/v2/receivers", get_receivers),
        ("GET", "/api/v2/status", get_status),
    ], alertmanager_error))


@dataclass(frozen=True, slots=True)
class _Reading:
    """What a GET of alerts or groups reads, once its query is understood: the time, the
    active alerts, and how each is described (inhibited by which of them)."""

    query: _AlertQuery
    now: float
    active: list[Alert]
    describe: _Describe

    @classmethod
    def of(cls, request: web.Request) -> _Reading:
        """Raises ValueError for a query that cannot be understood."""
        ctx = request.app[ALERTMANAGER]
        query = _AlertQuery(request)
        now = ctx.clock.now()
        active = ctx.store.active(now)
        return cls(query, now, active,
                   _Describe(ctx, now, ctx.inhibitor().index([a.labels for a in active])))


async def get_alerts(request: web.Request) -> web.Response:
    try:
        reading = _Reading.of(request)
    except ValueError as exc:
        return _bad(str(exc))
    query, describe = reading.query, reading.describe
    out = [d.body for d in map(describe, reading.active) if query.keeps(d)]
    out.sort(key=lambda a: (a["labels"].get("alertname", ""), a["fingerprint"]))
    return web.json_response(out)


async def post_alerts(request: web.Request) -> web.Response:
    ctx = request.app[ALERTMANAGER]
    try:
        body = await read_json(request)
    except BadBody as exc:
        return _bad(str(exc))
    now = ctx.clock.now()
    alerts, errors = parse_postable(body, now, ctx.resolve_timeout())
    if alerts:
        try:
            await ctx.accept(alerts, now)
        except AlertdError as exc:
            log.error("posted alerts not acknowledged: %s", exc)
            return alertmanager_error(500, f"cannot store the alerts: {exc}")
    if errors:
        return _bad("; ".join(errors))
    # No body, as in Alertmanager; the type is the one the spec declares for all.
    return web.Response(status=200, content_type="application/json")


async def get_groups(request: web.Request) -> web.Response:
    try:
        reading = _Reading.of(request)
    except ValueError as exc:
        return _bad(str(exc))
    ctx = request.app[ALERTMANAGER]
    query, now, describe = reading.query, reading.now, reading.describe
    out = []
    for view in ctx.groups():
        if query.receiver and not query.receiver.matches(view.group.receiver):
            continue
        unresolved = (a for a in view.group.alerts.values() if not a.resolved(now))
        alerts = [d.body for d in map(describe, unresolved) if query.keeps(d)]
        if alerts:
            out.append(_group_json(view, alerts))
    return web.json_response(out)


async def get_receivers(request: web.Request) -> web.Response:
    ctx = request.app[ALERTMANAGER]
    return web.json_response([{"name": name} for name in ctx.receivers()])


async def get_status(request: web.Request) -> web.Response:
    ctx = request.app[ALERTMANAGER]
    return web.json_response({
        "cluster": {"status": "disabled", "peers": []},
        "versionInfo": {"version": __version__, "revision": "", "branch": "",
                        "buildUser": "", "buildDate": "", "goVersion": ""},
        "config": {"original": ctx.config_yaml()},
        "uptime": rfc3339(ctx.started_at),
    })


def _group_json(view: GroupView, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    group = view.group
    route_labels = {m.name: m.value for m in view.route.matchers if m.op == "="}
    return {"labels": dict(group.labels), "routeLabels": route_labels,
            "receiver": {"name": group.receiver}, "alerts": alerts}
