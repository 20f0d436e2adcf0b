"""The report over HTTP: `GET /api/alertd/v1/report` (JSON) and `GET /report` (the page).

Both take `from`, `to` and `owner` as `alertd report` takes them, and both are reads: the
caller wraps them in the API's read-token check.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

from aiohttp import web

from alertd.api.auth import Handler
from alertd.api.errors import alertd_error
from alertd.clock import Clock
from alertd.report import render, render_json
from alertd.report.period import PeriodError, parse_period
from alertd.report.source import ReportQuery, ReportSource, ReportUnavailable
from alertd.store import StoreError
from alertd.validation import INVALID_UNICODE, valid_text

log = logging.getLogger("alertd.api")

JSON_PATH = "/api/alertd/v1/report"
PAGE_PATH = "/report"

# The page runs no script and loads nothing: say so to the browser, so that nothing a
# report shows (a silence comment, an alert name) could ever make it do otherwise.
PAGE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

ErrorPage = Callable[[int, str], web.Response]


class BadQuery(Exception):
    pass


def report_routes(source: ReportSource, clock: Clock,
                  guard: Callable[[Handler], Handler]) -> list[web.RouteDef]:
    """The two routes, each wrapped in `guard` (the read-token check)."""

    async def report_json(request: web.Request) -> web.StreamResponse:
        report = await _report(request, source, clock, alertd_error)
        if isinstance(report, web.Response):
            return report
        return web.Response(text=render_json(report), content_type="application/json")

    async def report_page(request: web.Request) -> web.StreamResponse:
        report = await _report(request, source, clock, error_page)
        if isinstance(report, web.Response):
            return report
        return web.Response(text=render(report, "html", links=True), content_type="text/html",
                            charset="utf-8", headers={"Content-Security-Policy": PAGE_POLICY})

    return [web.get(JSON_PATH, guard(report_json)), web.get(PAGE_PATH, guard(report_page))]


async def _report(request: web.Request, source: ReportSource, clock: Clock,
                  error: ErrorPage) -> dict[str, object] | web.Response:
    """The report the query asks for, or the error answer to give instead."""
    try:
        query = report_query(request, clock.now())
    except (PeriodError, BadQuery) as exc:
        return error(400, str(exc))
    try:
        return await source(query)
    except ReportUnavailable as exc:
        return error(503, str(exc))
    except StoreError as exc:
        log.warning("GET %s: %s", request.path, exc)
        return error(503, str(exc))


def report_query(request: web.Request, now: float) -> ReportQuery:
    params = request.query
    for name in ("from", "to", "owner"):
        if len(params.getall(name, [])) > 1:
            raise BadQuery(f"{name}: give it once")
        if not valid_text(params.get(name, "")):
            raise BadQuery(f"{name}: {INVALID_UNICODE}")
    owner = params.get("owner", "").strip() or None
    # An empty field (the page's form sent as it is) means the default, as when left out.
    period = parse_period(params.get("from") or None, params.get("to") or None, now,
                          names=("from", "to"))
    return ReportQuery(period.start, period.end, owner, now)


def error_page(status: int, message: str) -> web.Response:
    """An error as a small page, for a person who followed a link or sent the form."""
    body = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>alertd report: '
            f"{status}</title></head><body><h1>The report cannot be shown</h1>"
            f"<p>{html.escape(message)}</p><p><a href=\"{PAGE_PATH}\">The last 7 days</a></p>"
            "</body></html>")
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8",
                        headers={"Content-Security-Policy": PAGE_POLICY})
