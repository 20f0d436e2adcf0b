"""`GET /api/v2/alerts` in Alertmanager's shape, so its tools can read alertd's alerts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from alertd.alerts.store import Alert, AlertStore
from alertd.api.timefmt import rfc3339
from alertd.model import LabelMatcher

# A firing alert's endsAt is a lease, as Prometheus sends it: renewed at every evaluation.
ENDS_AT_LEASE = 4 * 60.0

_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


def parse_filter(text: str) -> LabelMatcher:
    """A filter as amtool sends it: `alertname="X"`, `severity=~"page|ticket"`."""
    m = _MATCHER.match(text.strip().strip("{}"))
    if m is None:
        raise ValueError(f'bad matcher "{text}"')
    return LabelMatcher(m.group(1), m.group(2), m.group(3))


def alert_json(alert: Alert, now: float) -> dict[str, Any]:
    ends = alert.ends_at if alert.ends_at is not None else alert.updated_at + ENDS_AT_LEASE
    return {
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations()),
        "startsAt": rfc3339(alert.starts_at),
        "endsAt": rfc3339(ends),
        "updatedAt": rfc3339(alert.updated_at),
        "fingerprint": alert.fingerprint,
        "receivers": [],
        "status": {"state": "active" if alert.firing else "unprocessed",
                   "silencedBy": [], "inhibitedBy": []},
        "generatorURL": "",
    }


def routes(store: AlertStore, now: Callable[[], float]) -> list[web.RouteDef]:
    async def get_alerts(request: web.Request) -> web.Response:
        try:
            matchers = [parse_filter(f) for f in request.query.getall("filter", [])]
        except ValueError as exc:
            return web.json_response({"code": 400, "message": str(exc)}, status=400)
        out = []
        for alert in store.alerts():
            if not alert.firing:
                continue  # resolved alerts are not listed, as in Alertmanager
            if all(m.matches_labels(alert.labels) for m in matchers):
                out.append(alert_json(alert, now()))
        out.sort(key=lambda a: (a["labels"].get("alertname", ""), a["fingerprint"]))
        return web.json_response(out)

    return [web.get("/api/v2/alerts", get_alerts)]
