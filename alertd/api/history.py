"""`GET /api/alertd/v1/alerts/{fingerprint}/history` and `GET /api/alertd/v1/history`: what
happened to an alert (by fingerprint) or to every alert of a name, and why, as JSON or, with
`format=text`, as `alertd explain` prints it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from alertd.api.errors import alertd_error
from alertd.api.rules import RULES, RulesContext
from alertd.history import HistoryEvent
from alertd.history.explain import explain_text, rule_notes
from alertd.model import json_float
from alertd.rules.selectors import explain_unmatched
from alertd.timefmt import rfc3339

# The most events listed for an alert name.
NAME_LIMIT = 1000


async def history(request: web.Request) -> web.StreamResponse:
    ctx = request.app[RULES]
    store = ctx.store()
    if store is None:
        return alertd_error(503, "not started")
    recorder = ctx.history()
    if recorder is not None:
        await recorder.flush()  # the events of the last second count too
    fingerprint = request.match_info.get("fingerprint")
    if fingerprint:
        events = await store.history.for_alert(fingerprint)
    else:
        name = request.query.get("alertname", "")
        if not name:
            return alertd_error(400, "give alertname=...")
        events = await store.history.for_alertname(name, None, None, NAME_LIMIT)
    if request.query.get("format") == "text":
        return web.Response(text=explain_text(events, _notes(ctx, request, fingerprint)) + "\n")
    return web.json_response([_event(e) for e in events])


def _notes(ctx: RulesContext, request: web.Request, fingerprint: str | None) -> list[str]:
    """For an alert name, why the rule's selectors match nothing, when they do not."""
    rule = ctx.manager.ruleset.by_name.get(request.query.get("alertname", ""))
    if rule is None or fingerprint:
        return []
    return rule_notes(rule.name, explain_unmatched(rule, ctx.series))


def _event(e: HistoryEvent) -> dict[str, Any]:
    return {
        "at": rfc3339(e.at), "kind": e.kind, "fingerprint": e.fingerprint,
        "alertname": e.alertname, "rule": e.rule, "labels": dict(e.labels),
        "details": {k: json_float(v) if isinstance(v, float) else v
                    for k, v in e.details.items()},
    }
