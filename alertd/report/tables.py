"""The rows of the tables the terminal and Markdown renderers both show.

Both say the same things (the totals, the top rules, the owners, the silences); they differ
only in how a cell is written, which a `CellStyle` says, and in how the rows are laid out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alertd.report import sections, units
from alertd.report.figures import (
    OWNER_KEYS,
    RULE_KEYS,
    Column,
    columns,
    headers_with_change,
    rows,
    with_change,
)


def _as_is(text: str) -> str:
    return text


@dataclass(frozen=True, slots=True)
class CellStyle:
    name: Callable[[str], str] = _as_is  # a name shown exactly: a rule, an id, matchers
    text: Callable[[str], str] = _as_is  # free text: an owner, a person, a comment


PLAIN = CellStyle()

# The narrower tables of the terminal and the review doc.
RULE_COLUMNS = tuple(columns(RULE_KEYS))
OWNER_COLUMNS = tuple(columns(OWNER_KEYS))

# The two lists of silences a review looks at, with their labels.
SILENCE_LISTS = (("long_running", "Running for long"), ("matched_nothing", "Matched nothing"))


def totals(report: Mapping[str, Any], cols: Sequence[Column]) -> list[list[str]]:
    """A row per figure: its title, this period's value, the previous one and the change."""
    now = sections.mapping(report.get("totals"))
    before = sections.mapping(report.get("totals_previous"))
    return [[c.title, c.text(now), c.text(before), c.change(now, before)] for c in cols]


def headers(cols: Sequence[Column], case: Callable[[str], str]) -> list[str]:
    """The headers of the figures of `cols` with their change, in the renderer's case."""
    return headers_with_change(cols, lambda c: case(c.short), case("change"))


@dataclass(frozen=True, slots=True)
class TopRules:
    body: list[list[str]]  # name, owner, then the figures of RULE_COLUMNS
    more: int  # the rules not shown

    @property
    def count(self) -> str:
        return f"({len(self.body)} of {len(self.body) + self.more})"


def top_rules(report: Mapping[str, Any], style: CellStyle) -> TopRules:
    """The first RULES_SHOWN rules, and how many more there are."""
    listed = rows(report, "rules")
    return TopRules([[style.name(str(r.get("rule", ""))), style.text(units.name(r.get("owner"))),
                      *with_change(RULE_COLUMNS, r)] for r in listed[:sections.RULES_SHOWN]],
                    max(0, len(listed) - sections.RULES_SHOWN))


def owners(report: Mapping[str, Any], style: CellStyle) -> list[list[str]]:
    """Every owner, then the figures of OWNER_COLUMNS."""
    return [[style.text(units.name(r.get("owner"))), *with_change(OWNER_COLUMNS, r)]
            for r in rows(report, "owners")]


def silences(report: Mapping[str, Any], key: str,
             style: CellStyle) -> tuple[list[str], list[list[str]]]:
    """The header and rows of one of SILENCE_LISTS; running ones say since when."""
    since = key == "long_running"
    header = ["ID", "Matchers", "By", *(["Since"] if since else []), "Comment"]
    body = [[style.name(str(s.get("id", ""))), style.name(sections.matchers(s.get("matchers"))),
             style.text(str(s.get("by", ""))),
             *([units.timestamp(s.get("since"))] if since else []),
             style.text(str(s.get("comment", "")))] for s in sections.silences(report, key)]
    return header, body


@dataclass(frozen=True, slots=True)
class Recommendation:
    rule: str
    change: str
    effect: str  # sections.recommendation_effect
    safe: bool  # no actionable page would be lost
    diff: str | None  # the edit, as a unified diff, when it has one

    def safety(self, stress: Callable[[str], str] = _as_is) -> str:
        """`safe`, or the call for a review (`stress`ed) and why."""
        return "safe" if self.safe else f"{stress('review')}: actionable pages would be lost"


def recommendations(report: Mapping[str, Any]) -> list[Recommendation]:
    out = []
    for rec in sections.recommendations(report):
        diff = rec.get("diff")
        out.append(Recommendation(str(rec.get("rule", "")), str(rec.get("change", "")),
                                  sections.recommendation_effect(rec), bool(rec.get("safe")),
                                  diff if isinstance(diff, str) and diff.strip() else None))
    return out
