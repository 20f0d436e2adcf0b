"""The report's chart as a PNG for Slack: pages per day stacked by business, off and sleep
hours, and the ten rules that paged most.

Drawn with matplotlib's object API on an Agg canvas (no pyplot): no display is needed and
no global figure state is shared between reports rendered one after another. The colours
are the page's (charts.py), Paul Tol's colour-blind safe palette.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from alertd.report import sections, units
from alertd.report.charts import BANDS
from alertd.report.figures import rows

TOP_RULES = 10
NAME_CHARS = 40


def chart_png(report: Mapping[str, Any]) -> bytes:
    fig = Figure(figsize=(9, 7), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    days_ax, rules_ax = fig.subplots(2, 1, height_ratios=(1, 1.2))
    _days(days_ax, report)
    _rules(rules_ax, report)
    fig.suptitle(sections.title(report)[:120], fontsize=11)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def _count(value: Any) -> float:
    return units.number(value) or 0.0


def _days(ax: Any, report: Mapping[str, Any]) -> None:
    days = [d for d in report.get("pages_per_day") or [] if isinstance(d, Mapping)]
    labels = [str(d.get("date", ""))[5:] for d in days]  # MM-DD: the year is in the title
    # Positions, not the labels, place the bars: a period over a year repeats an MM-DD.
    positions = list(range(len(days)))
    bottom = [0.0] * len(days)
    for band in BANDS:
        heights = [_count(d.get(band.key)) for d in days]
        ax.bar(positions, heights, bottom=bottom, color=band.color, label=band.label)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    every = max(1, -(-len(days) // 14))  # at most 14 date labels, so they never overlap
    ax.set_xticks(positions[::every], labels[::every])
    ax.set_title("Pages per day", fontsize=10)
    ax.set_ylabel("pages")
    ax.legend(fontsize=8, loc="upper right")
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)


def _rules(ax: Any, report: Mapping[str, Any]) -> None:
    paging = sorted((r for r in rows(report, "rules") if _count(r.get("pages")) > 0),
                    key=lambda r: (-_count(r.get("pages")), str(r.get("rule"))))[:TOP_RULES]
    names = [_short(str(r.get("rule", ""))) for r in reversed(paging)]
    ax.barh(names, [_count(r.get("pages")) for r in reversed(paging)], color=BANDS[0].color)
    ax.set_title(f"Top {TOP_RULES} rules by pages" if paging else "No rule paged", fontsize=10)
    ax.set_xlabel("pages")
    ax.tick_params(axis="y", labelsize=8)


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"
