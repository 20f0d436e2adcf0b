"""The figures of a report (its JSON form) and how each is labelled and formatted.

A report's `totals`, each rule and each owner carry the same FIGURES; one table of columns
here keeps the text, markdown and HTML renderers in step. Readers are lenient: a figure
missing from the dict shows as "—" rather than failing the whole report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alertd.report import units

Figures = Mapping[str, Any]


def figure(figures: Figures, *path: str) -> Any:
    """The value at `path` (`"interruptions", "sleep"`), or None when it is missing."""
    value: Any = figures
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # a stable id: data attributes in the page, tests
    title: str  # the full label (HTML headers, the totals table)
    short: str  # the terminal's and markdown's narrow header
    path: tuple[str, ...]
    kind: str  # count, duration, share, rate: how it is formatted and how it changes

    def value(self, figures: Figures) -> Any:
        return figure(figures, *self.path)

    def text(self, figures: Figures) -> str:
        return fmt(self.value(figures), self.kind)

    def change(self, figures: Figures, previous: Figures | None) -> str:
        if previous is None:
            return ""
        return units.delta(units.number(self.value(figures)), units.number(self.value(previous)),
                           self.kind)


_FORMATS: dict[str, Callable[[Any], str]] = {
    "count": units.count, "duration": units.duration, "share": units.share, "rate": units.rate,
}


def fmt(value: Any, kind: str) -> str:
    return _FORMATS[kind](units.number(value))



def _col(key: str, title: str, short: str, kind: str, *path: str) -> Column:
    return Column(key, title, short, path or (key,), kind)


# Every figure, in the order of the tables; the ackers and feedback reasons (maps of
# names) are shown beside them, see `ackers` and `reasons`.
COLUMNS: tuple[Column, ...] = (
    _col("pages", "Pages", "pages", "count"),
    _col("firings", "Firings", "firings", "count"),
    _col("business", "Pages in business hours", "bus.", "count", "interruptions", "business"),
    _col("off", "Pages off hours", "off", "count", "interruptions", "off"),
    _col("sleep", "Pages in sleep hours", "sleep", "count", "interruptions", "sleep"),
    _col("time_firing_s", "Time firing", "firing", "duration"),
    _col("median_firing_s", "Median firing", "median", "duration"),
    _col("firing_over_7d", "Firing over 7 days", ">7d", "count"),
    _col("self_resolved_share", "Resolved on their own", "self-res.", "share"),
    _col("flaps_per_day", "Flaps per day", "flaps/d", "rate"),
    _col("flapping_instances", "Flapping instances", "flapping", "count"),
    _col("ack_share", "Acknowledged", "acked", "share"),
    _col("ack_p50_s", "Time to ack (median)", "ack p50", "duration"),
    _col("ack_p95_s", "Time to ack (p95)", "ack p95", "duration"),
    _col("unacknowledged", "Unacknowledged pages", "unacked", "count"),
    _col("useful", "Marked useful", "useful", "count", "feedback", "useful"),
    _col("noise", "Marked noise", "noise", "count", "feedback", "noise"),
    _col("silenced_s", "Time silenced", "silenced", "duration"),
    _col("actionability", "Actionability", "action.", "share"),
    _col("eval_errors", "Evaluation errors", "errors", "count"),
    _col("nodata_s", "Time without data", "no data", "duration"),
)
BY_KEY = {c.key: c for c in COLUMNS}

# The figures a person looks at first: the summary cards, the terminal's tables.
HEADLINE = ("pages", "sleep", "off", "firings", "time_firing_s", "self_resolved_share",
            "ack_share", "ack_p50_s", "unacknowledged", "actionability")


# The narrower tables of the terminal and the review doc (the page shows every column).
RULE_KEYS = ("pages", "sleep", "off", "firings", "time_firing_s", "self_resolved_share",
             "flaps_per_day", "ack_share", "ack_p50_s", "noise", "actionability")
OWNER_KEYS = ("pages", "sleep", "off", "firings", "time_firing_s", "self_resolved_share",
              "ack_share", "ack_p50_s", "unacknowledged", "actionability")


def columns(keys: Sequence[str]) -> list[Column]:
    return [BY_KEY[k] for k in keys]


def with_change(cols: Sequence[Column], row: Mapping[str, Any]) -> list[str]:
    """Each figure of a row as text, the pages followed by their change against the
    previous period: the figure a review starts from."""
    cells: list[str] = []
    for c in cols:
        cells.append(c.text(row))
        if c.key == "pages":
            cells.append(c.change(row, previous(row)))
    return cells


def headers_with_change(cols: Sequence[Column], name: Callable[[Column], str],
                        change: str) -> list[str]:
    """The headers of `with_change`'s cells."""
    out: list[str] = []
    for c in cols:
        out.append(name(c))
        if c.key == "pages":
            out.append(change)
    return out


def named_counts(value: Any, limit: int = 3) -> str:
    """A map of names to counts as `alice 4, bob 2`, largest first, the rest as `+N more`."""
    if not isinstance(value, Mapping) or not value:
        return units.NONE
    ranked = sorted(value.items(), key=lambda kv: (-(units.number(kv[1]) or 0), str(kv[0])))
    shown = ", ".join(f"{k} {units.count(units.number(v))}" for k, v in ranked[:limit])
    return shown + (f", +{len(ranked) - limit} more" if len(ranked) > limit else "")


def ackers(figures: Figures) -> str:
    return named_counts(figure(figures, "ackers"))


def reasons(figures: Figures) -> str:
    return named_counts(figure(figures, "feedback", "reasons"))


def rows(report: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """The `rules` or `owners` list of a report, tolerating its absence."""
    value = report.get(key)
    return [r for r in value if isinstance(r, Mapping)] if isinstance(value, list) else []


def previous(row: Mapping[str, Any]) -> Figures | None:
    value = row.get("previous")
    return value if isinstance(value, Mapping) else None
