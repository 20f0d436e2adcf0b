"""The aiohttp application: routes, and the JSON of alertd's own API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from alertd import __version__
from alertd.api import alertmanager
from alertd.api.auth import Access
from alertd.api.errors import alertd_error, error_json, quiet_parser_errors, unexpected_errors
from alertd.api.silences import routes as silence_routes
from alertd.api.slack import slack_routes
from alertd.api.timefmt import rfc3339
from alertd.config.amyaml import to_alertmanager_yaml
from alertd.history.explain import explain_text, rule_notes
from alertd.model import json_float
from alertd.report.source import ReportSource, daemon_source
from alertd.report.web import report_routes
from alertd.rules.selectors import explain_unmatched
from alertd.rules.state import Instance
from alertd.sources.webhook import webhook_routes

if TYPE_CHECKING:
    from alertd.daemon import Daemon

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _access(daemon: Daemon) -> Access:
    # Looked up at every request: a reload replaces daemon.config, and the token files
    # are read again when used.
    return Access(write=lambda: daemon.config.api.write(),
                  read=lambda: daemon.config.api.read())


def _alertmanager_context(daemon: Daemon, access: Access) -> alertmanager.AlertmanagerContext:
    n = daemon.notifications
    return alertmanager.AlertmanagerContext(
        store=daemon.alerts, clock=daemon.clock, started_at=daemon.started_at or 0.0,
        routes=lambda: n.routes, groups=n.dispatcher.views, silences=lambda: n.silences,
        inhibitor=lambda: daemon.inhibitor, receivers=lambda: n.receiver_names,
        config_yaml=lambda: to_alertmanager_yaml(daemon.config),
        resolve_timeout=lambda: n.resolve_timeout,
        access=access, muted_by=n.muted_by, accept=daemon.accept)


def build_app(daemon: Daemon, *, report_source: ReportSource | None = None) -> web.Application:
    """The API of `daemon`; `report_source` builds the noise report (by default from the
    daemon's store, rules and configuration)."""
    quiet_parser_errors()
    app = web.Application(client_max_size=daemon.config.sources.webhook.max_body_bytes + 1024,
                          middlewares=[unexpected_errors])
    clock = daemon.clock
    access = _access(daemon)

    async def history_handler(request: web.Request) -> web.StreamResponse:
        return await _history(daemon, request)

    async def reload_handler(request: web.Request) -> web.StreamResponse:
        return await _reload(daemon)

    def handler(fn: Callable[[Daemon], Awaitable[web.StreamResponse]]) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await fn(daemon)

        return handle

    def read(fn: Handler) -> Handler:
        return access.guard_read(fn, alertd_error)

    reload = access.guard_write(reload_handler, _reload_error)
    routes = [
        *alertmanager.routes(_alertmanager_context(daemon, access)),
        *silence_routes(daemon.notifications.silences, clock, access=access),
        web.get("/api/alertd/v1/alerts/{fingerprint}/history", read(history_handler)),
        web.get("/api/alertd/v1/history", read(history_handler)),
        web.get("/api/alertd/v1/rules", read(handler(_rules))),
        web.get("/api/alertd/v1/status", read(handler(_status))),
        *report_routes(report_source or daemon_source(daemon), clock, read),
        web.get("/metrics", handler(_metrics)),
        web.get("/-/healthy", handler(_healthy)),
        web.get("/-/ready", handler(_ready)),
        web.post("/-/reload", reload),
        web.put("/-/reload", reload),
        *slack_routes(daemon.notifications.actions, clock, daemon.slack_signing_secret),
    ]
    webhook = daemon.config.sources.webhook
    if webhook.enabled:
        routes += webhook_routes(daemon.webhook_sink, clock, tokens=webhook.tokens(),
                                 max_body_bytes=webhook.max_body_bytes)
    app.add_routes(routes)
    return app


async def _healthy(daemon: Daemon) -> web.Response:
    return web.Response(text="alertd is healthy.\n")


async def _ready(daemon: Daemon) -> web.Response:
    if daemon.ready:
        return web.Response(text="alertd is ready.\n")
    return web.Response(text="alertd is not ready.\n", status=503)


def _reload_error(status: int, message: str) -> web.Response:
    return error_json(status, {"status": "error", "error": message})


async def _reload(daemon: Daemon) -> web.Response:
    status = await daemon.reload()
    if status.success:
        return web.json_response({"status": "success", "summary": status.summary})
    return web.json_response({"status": "error", "error": status.error}, status=500)


async def _metrics(daemon: Daemon) -> web.Response:
    body = generate_latest(daemon.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _rules(daemon: Daemon) -> web.Response:
    groups: list[dict[str, Any]] = []
    states = daemon.manager.evaluator.states
    now = daemon.clock.now()
    for group in daemon.manager.groups:
        status = daemon.group_status.get((group.name, group.interval))
        rules = []
        for rule in group.rules:
            state = states[rule.name]
            empty = explain_unmatched(rule, daemon.windows.store)
            rules.append({
                "name": rule.name,
                "file": rule.spec.path,
                "health": state.health.value,
                "lastError": state.last_error,
                "lastEvaluation": rfc3339(state.last_eval),
                "for": rule.timing.for_,
                "interval": rule.interval,
                "streaming": rule in group.streamable,
                "suppressesInputs": rule.spec.suppresses_inputs,
                # Pushed-series selectors that have matched no series since the rule
                # loaded, and, where the series tell, the matcher that empties each.
                "selectorsMatchedNothing": [u.selector for u in empty],
                "selectorHints": {u.selector: u.why for u in empty if u.why},
                "instances": [_instance(daemon, rule.name, i, now)
                              for i in state.instances.values()],
            })
        groups.append({
            "name": group.name,
            "interval": group.interval,
            "lastEvaluation": rfc3339(status.last_eval) if status else None,
            "evaluationTime": status.duration if status else None,
            "rules": rules,
        })
    return web.json_response({"groups": groups})


def _instance(daemon: Daemon, rule: str, inst: Instance, now: float) -> dict[str, Any]:
    flap = daemon.flaps.view(rule, inst.labels, now)
    return {
        "labels": dict(inst.labels),
        "state": inst.status.value,
        "activeAt": rfc3339(inst.active_at),
        "firedAt": rfc3339(inst.fired_at),
        "resolvedAt": rfc3339(inst.resolved_at),
        "value": json_float(inst.value),
        "flapping": flap.flapping,
        "flapScore": round(flap.score, 4),
        "stateChanges1h": flap.changes_1h,
    }


async def _status(daemon: Daemon) -> web.Response:
    reload = daemon.reload_status
    prom = daemon.prometheus
    mqtt = daemon.mqtt
    body = {
        "version": __version__,
        "startedAt": rfc3339(daemon.started_at),
        "ready": daemon.ready,
        "configFile": daemon.config_path,
        "lastReload": {"success": reload.success, "at": rfc3339(reload.at),
                       "error": reload.error, "summary": reload.summary},
        "rules": len(daemon.manager.ruleset),
        "groups": len(daemon.manager.groups),
        "overruns": daemon.scheduler.overruns,
        "sources": {
            "prometheus": {"enabled": prom is not None, "url": daemon.config.sources.prometheus.url,
                           "up": bool(prom and prom.up), "lastError": _error(prom)},
            "webhook": {"enabled": daemon.config.sources.webhook.enabled,
                        "ingested": daemon.webhook_sink.ingested},
            "mqtt": {"enabled": mqtt is not None,
                     "connected": bool(mqtt and mqtt.connected),
                     "messagesReceived": mqtt.messages_received if mqtt else 0,
                     "messagesMalformed": mqtt.messages_malformed if mqtt else 0,
                     "reconnects": mqtt.reconnects if mqtt else 0},
        },
        "samples": {"series": len(daemon.windows.store), "ingested": daemon.windows.ingested,
                    "rejected": daemon.windows.rejected,
                    "retentionSeconds": daemon.windows.retention},
    }
    return web.json_response(body)


def _error(prom: object) -> str | None:
    error = getattr(prom, "last_error", None)
    return None if error is None else str(error)


async def _history(daemon: Daemon, request: web.Request) -> web.Response:
    """What happened to an alert (by fingerprint) or to every alert of a name, and why."""
    store = daemon.store
    if store is None:
        return web.json_response({"error": "not started"}, status=503)
    if daemon.history is not None:
        await daemon.history.flush()
    fingerprint = request.match_info.get("fingerprint")
    if fingerprint:
        events = await store.history.for_alert(fingerprint)
    else:
        name = request.query.get("alertname", "")
        if not name:
            return web.json_response({"error": "give alertname=..."}, status=400)
        events = await store.history.for_alertname(name, None, None, 1000)
    if request.query.get("format") == "text":
        rule = daemon.manager.ruleset.by_name.get(request.query.get("alertname", ""))
        notes = rule_notes(rule.name, explain_unmatched(rule, daemon.windows.store)) \
            if rule is not None and not fingerprint else []
        return web.Response(text=explain_text(events, notes) + "\n")
    return web.json_response([{
        "at": rfc3339(e.at), "kind": e.kind, "fingerprint": e.fingerprint,
        "alertname": e.alertname, "rule": e.rule, "labels": dict(e.labels),
        "details": {k: json_float(v) if isinstance(v, float) else v for k, v in e.details.items()},
    } for e in events])
