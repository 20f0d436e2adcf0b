"""The report for a terminal: aligned tables, the noisiest rules first, changes as +N/-N."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alertd.report import sections, units
from alertd.report.figures import (
    COLUMNS,
    OWNER_KEYS,
    RULE_KEYS,
    Column,
    ackers,
    columns,
    headers_with_change,
    reasons,
    rows,
    with_change,
)


def render_text(report: Mapping[str, Any]) -> str:
    parts = [
        _heading(report),
        _totals(report),
        _rules(report),
        _owners(report),
        _health(report),
        _silences(report),
        _recommendations(report),
    ]
    text = "\n\n".join(p for p in parts if p) + "\n"
    return text.translate(_CONTROLS_BUT_NEWLINE)


# Control characters in what a report shows (an alert name, a silence comment) would break
# the table's lines or, for escape sequences, drive the terminal: each becomes one space
# (in a table cell, a line break too).
_CONTROLS = dict.fromkeys([*range(32), *range(127, 160)], " ")
_CONTROLS_BUT_NEWLINE = {k: v for k, v in _CONTROLS.items() if k != ord("\n")}


def table(header: Sequence[str], body: Sequence[Sequence[str]], left: int = 1) -> str:
    """Columns two spaces apart; the first `left` columns (names) left-aligned, the figures
    right-aligned so that their digits line up."""
    rows = [[c.translate(_CONTROLS) for c in row] for row in [header, *body]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for row in rows:
        cells = [c.ljust(w) if i < left else c.rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _heading(report: Mapping[str, Any]) -> str:
    minutes = report.get("self_resolve_minutes")
    return "\n".join([
        sections.title(report),
        f"compared with {sections.previous_period(report)}; "
        f"generated {units.timestamp(report.get('generated_at'))}",
        f"(resolved on their own: within {minutes} minutes of firing)"
        if minutes is not None else "",
    ]).rstrip()


def _totals(report: Mapping[str, Any]) -> str:
    now = sections.mapping(report.get("totals"))
    before = sections.mapping(report.get("totals_previous"))
    body = [[c.title, c.text(now), c.text(before), c.change(now, before)] for c in COLUMNS]
    return "\n".join(["TOTALS", table(["", "this period", "previous", "change"], body),
                      f"acknowledged by: {ackers(now)}", f"noise reasons: {reasons(now)}"])


def _header(cols: Sequence[Column]) -> list[str]:
    return headers_with_change(cols, lambda c: c.short.upper(), "CHANGE")


def _rules(report: Mapping[str, Any]) -> str:
    listed = rows(report, "rules")
    if not listed:
        return "RULES\n  no rule paged or fired in this period"
    cols = columns(RULE_KEYS)
    shown = listed[:sections.RULES_SHOWN]
    body = [[str(r.get("rule", "")), units.name(r.get("owner")), *with_change(cols, r)]
            for r in shown]
    more = len(listed) - len(shown)
    tail = f"\n... {more} more rules (--format html or json lists them all)" if more else ""
    head = f"TOP RULES BY PAGES ({len(shown)} of {len(listed)})"
    return f"{head}\n{table(['RULE', 'OWNER', *_header(cols)], body, left=2)}{tail}"


def _owners(report: Mapping[str, Any]) -> str:
    listed = rows(report, "owners")
    if not listed:
        return ""
    cols = columns(OWNER_KEYS)
    body = [[units.name(r.get("owner")), *with_change(cols, r)] for r in listed]
    return "OWNERS\n" + table(["OWNER", *_header(cols)], body)


def _health(report: Mapping[str, Any]) -> str:
    lines = ["RULE HEALTH"]
    for _, label, names in sections.health(report):
        lines.append(f"  {label.lower()} ({len(names)}): {', '.join(names) or units.NONE}")
    return "\n".join(lines)


def _silences(report: Mapping[str, Any]) -> str:
    lines = ["SILENCES"]
    long_running = sections.silences(report, "long_running")
    nothing = sections.silences(report, "matched_nothing")
    lines.append(f"  running for long ({len(long_running)})")
    if long_running:
        body = [[str(s.get("id", "")), sections.matchers(s.get("matchers")),
                 str(s.get("by", "")), units.timestamp(s.get("since")),
                 str(s.get("comment", ""))] for s in long_running]
        lines.append(_indent(table(["ID", "MATCHERS", "BY", "SINCE", "COMMENT"], body,
                                   left=5), "    "))
    lines.append(f"  matched nothing ({len(nothing)})")
    if nothing:
        body = [[str(s.get("id", "")), sections.matchers(s.get("matchers")),
                 str(s.get("by", "")), str(s.get("comment", ""))] for s in nothing]
        lines.append(_indent(table(["ID", "MATCHERS", "BY", "COMMENT"], body, left=4), "    "))
    return "\n".join(lines)


def _recommendations(report: Mapping[str, Any]) -> str:
    recs = sections.recommendations(report)
    if not recs:
        return ""
    lines = ["RECOMMENDATIONS"]
    for rec in recs:
        safe = "safe" if rec.get("safe") else "review: actionable pages would be lost"
        lines.append(f"  {rec.get('rule', '')}: {rec.get('change', '')}: "
                     f"{sections.recommendation_effect(rec)} [{safe}]")
        diff = rec.get("diff")
        if isinstance(diff, str) and diff.strip():
            lines.append(_indent(diff.rstrip("\n"), "      "))
    return "\n".join(lines)


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())
