"""The aiohttp application: every route of the API, over what the daemon hands it.

`build_app(ctx)` takes an `ApiContext`, the frozen set of what the handlers read and call,
which the daemon builds when it starts serving. Each endpoint module keeps its part of it
in the app under a key of its own (`request.app[KEY]` in its handlers), and every route
that needs a token goes through the one check of auth.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from alertd.api import alertmanager, ops, silences, slack
from alertd.api.alertmanager import AlertmanagerContext
from alertd.api.auth import ACCESS, Access, Handler, fixed_tokens, reads
from alertd.api.errors import alertd_error, quiet_parser_errors, unexpected_errors
from alertd.api.history import history
from alertd.api.ops import OpsContext
from alertd.api.report import report_routes
from alertd.api.rules import RULES, RulesContext, rules
from alertd.api.silences import SilenceContext
from alertd.api.slack import SlackContext
from alertd.api.status import STATUS, StatusContext, status
from alertd.clock import Clock
from alertd.config import Config
from alertd.report.source import ReportSource
from alertd.sources.webhook import SampleSink, webhook_routes

# Room for the headers of a request whose body is at the samples endpoint's limit.
_HEADROOM = 1024


@dataclass(frozen=True, slots=True)
class ApiContext:
    """What the API reads and calls. Getters stand for what a reload replaces."""

    clock: Clock
    config: Callable[[], Config]  # the current configuration (tokens, sources)
    alertmanager: AlertmanagerContext
    silences: SilenceContext
    rules: RulesContext
    status: StatusContext
    ops: OpsContext
    report: ReportSource  # builds the noise report
    slack: SlackContext
    samples: SampleSink  # where pushed samples go, when the samples endpoint is on


def build_app(ctx: ApiContext) -> web.Application:
    """The API over `ctx`."""
    quiet_parser_errors()
    webhook = ctx.config().sources.webhook
    app = web.Application(client_max_size=webhook.max_body_bytes + _HEADROOM,
                          middlewares=[unexpected_errors])
    app[ACCESS] = _access(ctx.config)
    alertmanager.install(app, ctx.alertmanager)
    silences.install(app, ctx.silences)
    app[RULES] = ctx.rules
    app[STATUS] = ctx.status
    app.add_routes([
        web.get("/api/alertd/v1/alerts/{fingerprint}/history", _read(history)),
        web.get("/api/alertd/v1/history", _read(history)),
        web.get("/api/alertd/v1/rules", _read(rules)),
        web.get("/api/alertd/v1/status", _read(status)),
        *report_routes(ctx.report, ctx.clock, _read),
    ])
    ops.install(app, ctx.ops)
    slack.install(app, ctx.slack)
    if webhook.enabled:
        app.add_routes(_samples_routes(ctx, webhook.tokens(), webhook.max_body_bytes))
    return app


def _access(config: Callable[[], Config]) -> Access:
    # Looked up at every request: a reload replaces the configuration, and the token
    # files are read again when used.
    return Access(write=lambda: config().api.write(), read=lambda: config().api.read())


def _samples_routes(ctx: ApiContext, tokens: frozenset[str],
                    max_body_bytes: int) -> list[web.RouteDef]:
    """The samples endpoint, behind its own tokens (`sources.webhook`'s, read at start)."""
    routes = webhook_routes(ctx.samples, ctx.clock, tokens=frozenset(),
                            max_body_bytes=max_body_bytes)
    return [web.route(r.method, r.path, fixed_tokens(tokens, r.handler, alertd_error))
            for r in routes]


def _read(handler: Handler) -> Handler:
    return reads(handler, alertd_error)
