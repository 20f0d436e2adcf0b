"""The report as one HTML page: server-rendered, no script, no external asset, printable.

The page is `templates/report.html.j2` rendered with autoescaping; the charts are inline
SVG from charts.py. Every figure in it carries its raw value in `data-value`, beside the
text a person reads, so a program (or a test) can check the page against the JSON.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined

from alertd.report import charts, sections, units
from alertd.report.figures import (
    COLUMNS,
    HEADLINE,
    Column,
    ackers,
    columns,
    previous,
    reasons,
    rows,
)
from alertd.timefmt import rfc3339


@dataclass(frozen=True, slots=True)
class Card:
    key: str
    title: str
    value: Any  # the raw figure, for data-value
    text: str
    previous: str
    change: str
    trend: str


@dataclass(frozen=True, slots=True)
class Cell:
    key: str
    value: Any
    text: str
    previous: str  # the previous period's figure, shown on hover and to screen readers
    change: str  # shown under the pages only: the change reviews start from
    trend: str


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    owner: str | None
    cells: list[Cell]
    ackers: str
    reasons: str


@functools.cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("alertd.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = units.timestamp
    env.filters["matchers"] = sections.matchers
    env.filters["owner"] = units.name
    return env


def render_html(report: Mapping[str, Any], *, links: bool = False) -> str:
    """The whole page. `links`: navigation to the previous and next periods and a form to
    pick another period or owner, for the page the daemon serves at /report."""
    template = _environment().get_template("report.html.j2")
    return template.render(**context(report, links=links))


def context(report: Mapping[str, Any], *, links: bool = False) -> dict[str, Any]:
    totals = sections.mapping(report.get("totals"))
    before = sections.mapping(report.get("totals_previous"))
    days = [d for d in report.get("pages_per_day") or [] if isinstance(d, Mapping)]
    rule_rows = rows(report, "rules")
    return {
        "title": sections.title(report),
        "scope": sections.scope(report),
        "period": sections.period(report),
        "previous_period": sections.previous_period(report),
        "generated_at": report.get("generated_at"),
        "self_resolve_minutes": report.get("self_resolve_minutes"),
        "cards": [_card(c, totals, before) for c in columns(HEADLINE)],
        "totals": [_cell(c, totals, before) for c in COLUMNS],
        "totals_ackers": ackers(totals),
        "totals_reasons": reasons(totals),
        "days_chart": charts.pages_per_day(days),
        "days": days,
        "bands": charts.BANDS,
        "rules_chart": charts.top_rules(rule_rows),
        "columns": COLUMNS,
        "rules": [_row(str(r.get("rule", "")), r) for r in rule_rows],
        "owners": [_row(units.name(r.get("owner")), r) for r in rows(report, "owners")],
        "health": sections.health(report),
        "long_running": sections.silences(report, "long_running"),
        "matched_nothing": sections.silences(report, "matched_nothing"),
        "recommendations": [
            {**r, "effect": sections.recommendation_effect(r)}
            for r in sections.recommendations(report)],
        "nav": navigation(report) if links else None,
        "owner": report.get("owner"),
        "owner_names": sorted({str(o.get("owner")) for o in rows(report, "owners")
                               if o.get("owner")}),
    }


# Figures where more is better; for every other one (pages, time firing, time to ack)
# a rise is shown as a change for the worse.
HIGHER_IS_BETTER = frozenset({"ack_share", "actionability", "useful"})


def trend(column: Column, change: str) -> str:
    """The CSS class of a change: `worse`, `better`, or "" for none."""
    if not change or change.startswith("±"):
        return ""
    rose = change.startswith("+")
    return "better" if rose == (column.key in HIGHER_IS_BETTER) else "worse"


def _card(column: Column, now: Mapping[str, Any], before: Mapping[str, Any]) -> Card:
    change = column.change(now, before)
    return Card(column.key, column.title, column.value(now), column.text(now),
                column.text(before), change, trend(column, change))


def _cell(column: Column, now: Mapping[str, Any], before: Mapping[str, Any] | None) -> Cell:
    change = column.change(now, before) if column.key == "pages" else ""
    return Cell(column.key, column.value(now), column.text(now),
                column.text(before) if before is not None else units.NONE,
                change, trend(column, change))


def _row(name: str, row: Mapping[str, Any]) -> Row:
    before = previous(row)
    return Row(name, row.get("owner"), [_cell(c, row, before) for c in COLUMNS],
               ackers(row), reasons(row))


def navigation(report: Mapping[str, Any]) -> dict[str, str | None]:
    """Links to the same length of time before and after the report's period, for the same
    owner; no link to a period that starts in the future."""
    period = sections.mapping(report.get("period"))
    start, end = _seconds(period.get("from")), _seconds(period.get("to"))
    if start is None or end is None or end <= start:
        return {"previous": None, "next": None, "from": None, "to": None}
    length = end - start
    now = _seconds(report.get("generated_at"))
    owner = report.get("owner")
    later = None if now is not None and end >= now else _query(end, end + length, owner)
    return {"previous": _query(start - length, start, owner), "next": later,
            "from": period.get("from"), "to": period.get("to")}


def _query(start: float, end: float, owner: Any) -> str:
    params: Sequence[tuple[str, str]] = [("from", _rfc3339(start)), ("to", _rfc3339(end))]
    if owner:
        params = [*params, ("owner", str(owner))]
    return "?" + urlencode(params)


def _seconds(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _rfc3339(t: float) -> str:
    return (rfc3339(t) or "").replace(".000Z", "Z")
