"""The report's charts as inline SVG, drawn here so the page needs no script or asset.

Each chart is an `<svg role="img">` named by its `<title>` and summarised in words by its
`<desc>` (what a screen reader says); every bar has a `<title>` too (a tooltip on hover)
and carries its figure in `data-*` attributes. The page puts a table of the same numbers
next to each chart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from alertd.report import units


@dataclass(frozen=True, slots=True)
class Band:
    key: str
    label: str
    color: str  # Paul Tol's colour-blind safe palette; the legend names each in words


BANDS = (
    Band("business", "business hours", "#4477aa"),
    Band("off", "off hours", "#ccbb44"),
    Band("sleep", "sleep hours", "#aa3377"),
)

WIDTH = 720
TOP, BOTTOM, LEFT, RIGHT = 12, 44, 44, 12  # the plot's margins: axis labels, legend
PLOT_HEIGHT = 200
ROW = 26  # one rule's row in the horizontal chart
LABEL_WIDTH = 250  # room for the rule names left of their bars
NAME_CHARS = 34


def axis(value: float, ticks: int = 5) -> tuple[int, int]:
    """(top, step) of an axis from 0 that holds `value`: the step 1, 2 or 5 times a power
    of ten, at most `ticks` steps, the top a whole number of steps (6 pages: 0 to 6 by 2)."""
    power = 1
    while True:
        for step in (power, 2 * power, 5 * power):
            top = max(step, math.ceil(value / step) * step)
            if top // step <= ticks:
                return top, step
        power *= 10


def _count(value: Any) -> int:
    number = units.number(value)
    return int(number) if number is not None else 0


def _svg(chart_id: str, height: int, title: str, desc: str, body: Sequence[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="chart" '
            f'role="img" viewBox="0 0 {WIDTH} {height}" preserveAspectRatio="xMinYMin meet" '
            f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">'
            f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
            f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>')
    return Markup(head + "".join(body) + "</svg>")


def _empty(chart_id: str, title: str, message: str) -> Markup:
    text = (f'<text x="{WIDTH / 2:.0f}" y="40" text-anchor="middle" class="empty">'
            f"{escape(message)}</text>")
    return _svg(chart_id, 64, title, message, [text])


# --- pages per day, stacked by band ---------------------------------------------------------

def pages_per_day(days: Sequence[Mapping[str, Any]], chart_id: str = "pages-per-day") -> Markup:
    title = "Pages per day, by time of day"
    totals = [sum(_count(d.get(b.key)) for b in BANDS) for d in days]
    if not days or not any(totals):
        return _empty(chart_id, title, "No pages in this period.")
    top, step = axis(max(totals))
    slot = (WIDTH - LEFT - RIGHT) / len(days)
    body = [*_y_axis(top, step), *_legend()]
    every = math.ceil(len(days) / 14)  # at most 14 date labels, so they never overlap
    for i, day in enumerate(days):
        body.append(_day(day, LEFT + i * slot, slot, top, label=i % every == 0))
    return _svg(chart_id, TOP + PLOT_HEIGHT + BOTTOM, title, _day_desc(days, totals), body)


def _y(value: float, top: int) -> float:
    return TOP + PLOT_HEIGHT * (1 - value / top)


def _y_axis(top: int, step: int) -> list[str]:
    out = []
    for tick in range(0, top + 1, step):
        y = _y(tick, top)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
                   f'y2="{y:.1f}"/><text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{tick}</text>')
    return out


def _legend() -> list[str]:
    out = []
    y = TOP + PLOT_HEIGHT + 36
    for i, band in enumerate(BANDS):
        x = LEFT + i * 150
        out.append(f'<rect class="swatch band-{band.key}" x="{x}" y="{y - 10}" width="12" '
                   f'height="12" fill="{band.color}"/><text class="legend" x="{x + 18}" '
                   f'y="{y}">{escape(band.label.capitalize())}</text>')
    return out


def _day(day: Mapping[str, Any], x: float, slot: float, top: int, *, label: bool) -> str:
    date = str(day.get("date", ""))
    counts = {b.key: _count(day.get(b.key)) for b in BANDS}
    tip = f"{date}: " + ", ".join(f"{counts[b.key]} in {b.label}" for b in BANDS)
    width = slot * 0.7
    parts = [f'<g class="day" data-date="{escape(date)}"><title>{escape(tip)}</title>']
    base = 0
    for band in BANDS:
        n = counts[band.key]
        if n:
            y0, y1 = _y(base, top), _y(base + n, top)
            parts.append(f'<rect class="bar band-{band.key}" data-band="{band.key}" '
                         f'data-date="{escape(date)}" data-value="{n}" x="{x + slot * 0.15:.1f}" '
                         f'y="{y1:.1f}" width="{width:.1f}" height="{y0 - y1:.1f}" '
                         f'fill="{band.color}"/>')
            base += n
    if label:
        parts.append(f'<text class="tick" x="{x + slot / 2:.1f}" y="{TOP + PLOT_HEIGHT + 16}" '
                     f'text-anchor="middle">{escape(date[5:])}</text>')
    parts.append("</g>")
    return "".join(parts)


def _day_desc(days: Sequence[Mapping[str, Any]], totals: Sequence[int]) -> str:
    by_band = {b.key: sum(_count(d.get(b.key)) for d in days) for b in BANDS}
    busiest = max(range(len(days)), key=lambda i: totals[i])
    bands = ", ".join(f"{by_band[b.key]} in {b.label}" for b in BANDS)
    return (f"{sum(totals)} pages over {len(days)} days: {bands}. The busiest day was "
            f"{days[busiest].get('date', '')} with {totals[busiest]} pages.")


# --- the top rules by pages, horizontal -----------------------------------------------------

def top_rules(rules: Sequence[Mapping[str, Any]], limit: int = 10,
              chart_id: str = "top-rules") -> Markup:
    title = f"Top {limit} rules by pages"
    ranked = sorted((r for r in rules if _count(r.get("pages")) > 0),
                    key=lambda r: -_count(r.get("pages")))[:limit]
    if not ranked:
        return _empty(chart_id, title, "No rule paged in this period.")
    top = max(_count(r.get("pages")) for r in ranked)
    span = WIDTH - LABEL_WIDTH - RIGHT - 40  # room for the figure after the longest bar
    body = [_rule_bar(r, TOP + i * ROW, span * _count(r.get("pages")) / top)
            for i, r in enumerate(ranked)]
    desc = "; ".join(f"{r.get('rule', '')}: {_count(r.get('pages'))} pages" for r in ranked)
    return _svg(chart_id, TOP + len(ranked) * ROW + 8, title, desc + ".", body)


def _rule_bar(rule: Mapping[str, Any], y: float, width: float) -> str:
    name = str(rule.get("rule", ""))
    pages = _count(rule.get("pages"))
    shown = name if len(name) <= NAME_CHARS else name[:NAME_CHARS - 1] + "…"
    owner = units.name(rule.get("owner"))
    return (f'<g class="rule" data-rule="{escape(name)}"><title>{escape(name)} ({escape(owner)})'
            f": {pages} pages</title>"
            f'<text class="label" x="{LABEL_WIDTH - 8}" y="{y + 16:.1f}" text-anchor="end">'
            f"{escape(shown)}</text>"
            f'<rect class="bar" data-rule="{escape(name)}" data-value="{pages}" '
            f'x="{LABEL_WIDTH}" y="{y + 3:.1f}" width="{max(width, 1):.1f}" height="{ROW - 8}" '
            f'fill="{BANDS[0].color}"/>'
            f'<text class="value" x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 16:.1f}">{pages}'
            "</text></g>")
