"""Per-receiver message templates: Jinja2 in the same immutable sandbox as rule templates,
over the page a notification becomes.

A template sees:

    status, alertname, severity, summary, value, since, owner, runbook_url, graph_url,
    dashboard_url, labels and annotations (those the alerts share, Alertmanager's
    CommonLabels and CommonAnnotations), firing, resolved (lists of alerts, each with
    labels, annotations, summary, value, starts_at, ends_at, runbook_url, generator_url,
    fingerprint, as Alertmanager's .Alerts have .Labels, .Annotations, .GeneratorURL),
    reason, receiver, external_url

and is checked when the configuration loads: its syntax, filters, tests and variables.

Alertmanager's Go templates (`{{ .CommonLabels.alertname }}`) are not Jinja: a field
written in Go template syntax is reported when the configuration loads and left to the
built-in layout, so an alertmanager.yml still loads and pages still go out.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import jinja2

from alertd.receivers.page import AlertLine, PageView
from alertd.templates import ENVIRONMENT, LabelMap, find_template_problems

log = logging.getLogger("alertd.notify")

VARIABLES = ("status", "alertname", "severity", "summary", "value", "since", "owner",
             "runbook_url", "graph_url", "dashboard_url", "labels", "annotations", "firing",
             "resolved", "reason", "receiver", "external_url")
_GO_TEMPLATE = re.compile(r"\{\{-?\s*(\.|template\s|range\s|if\s+\.|end\s*-?\}\}|define\s)")


class NotificationTemplate:
    """A compiled receiver template; rendering never raises (None: use the default)."""

    def __init__(self, key: str, text: str) -> None:
        self.key = key
        self.text = text
        self._template: jinja2.Template | None = None
        if "{" in text:
            self._template = ENVIRONMENT.from_string(text)

    def render(self, view: PageView) -> str | None:
        if self._template is None:
            return self.text
        try:
            return self._template.render(**context(view)).strip()
        except Exception as exc:  # a template must never stop a page
            log.warning("template %s failed (%s): the default is used", self.key, exc)
            return None


def compile_field(key: str, text: str | None, *,
                  warn: bool = True) -> NotificationTemplate | None:
    """A receiver template from the config; None for an absent or Go-syntax field.

    Raises ValueError naming the problem: a syntax error, an unknown filter, test or
    variable (which would fail, or render empty, at every page)."""
    if text is None:
        return None
    if _GO_TEMPLATE.search(text):
        if not warn:
            return None
        log.warning("%s is an Alertmanager (Go) template, which alertd does not run: the "
                    "built-in layout is used (rewrite it in Jinja2 to customise)", key)
        return None
    try:
        template = NotificationTemplate(key, text)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(f"{key}: template syntax error on line {exc.lineno}: "
                         f"{exc.message}") from None
    for problem in find_template_problems(text, VARIABLES):
        line = f" on line {problem.line}" if problem.line and "\n" in text else ""
        raise ValueError(f"{key}: {problem.message}{line}")
    return template


def _alert(line: AlertLine) -> dict[str, Any]:
    # LabelMap: `annotations.values` reads an annotation named "values", not dict.values.
    return {"labels": LabelMap(line.labels), "annotations": LabelMap(line.annotations),
            "summary": line.summary, "value": line.value,
            "starts_at": line.starts_at, "ends_at": line.ends_at,
            "runbook_url": line.runbook_url, "generator_url": line.generator_url,
            "fingerprint": line.fingerprint}


def context(view: PageView) -> dict[str, Any]:
    return {
        "status": view.status, "alertname": view.alertname, "severity": view.severity,
        "summary": view.summary, "value": view.value, "since": view.since,
        "owner": view.owner, "runbook_url": view.runbook_url, "graph_url": view.graph_url,
        "dashboard_url": view.dashboard_url,
        "labels": LabelMap({**view.labels, **_shared(view)}),
        "annotations": LabelMap(view.annotations),
        "firing": [_alert(a) for a in view.firing],
        "resolved": [_alert(a) for a in view.resolved],
        "reason": view.reason, "receiver": view.receiver, "external_url": view.external_url,
    }


def _shared(view: PageView) -> dict[str, str]:
    # PageView.labels leaves out what pages show in their own place; templates see all.
    out = {"alertname": view.alertname} if view.alertname else {}
    if view.severity:
        out["severity"] = view.severity
    if view.owner:
        out["owner"] = view.owner
    return out

