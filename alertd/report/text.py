"""The report for a terminal: aligned tables, the noisiest rules first, changes as +N/-N."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alertd.report import sections, tables, units
from alertd.report.figures import COLUMNS, ackers, reasons


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
    body = tables.totals(report, COLUMNS)
    return "\n".join(["TOTALS", table(["", "this period", "previous", "change"], body),
                      f"acknowledged by: {ackers(now)}", f"noise reasons: {reasons(now)}"])


_RULE_HEADERS = tables.headers(tables.RULE_COLUMNS, str.upper)
_OWNER_HEADERS = tables.headers(tables.OWNER_COLUMNS, str.upper)


def _rules(report: Mapping[str, Any]) -> str:
    top = tables.top_rules(report, tables.PLAIN)
    if not top.body:
        return "RULES\n  no rule paged or fired in this period"
    tail = (f"\n... {top.more} more rules (--format html or json lists them all)"
            if top.more else "")
    return (f"TOP RULES BY PAGES {top.count}\n"
            f"{table(['RULE', 'OWNER', *_RULE_HEADERS], top.body, left=2)}{tail}")


def _owners(report: Mapping[str, Any]) -> str:
    body = tables.owners(report, tables.PLAIN)
    if not body:
        return ""
    return "OWNERS\n" + table(["OWNER", *_OWNER_HEADERS], body)


def _health(report: Mapping[str, Any]) -> str:
    lines = ["RULE HEALTH"]
    for _, label, names in sections.health(report):
        lines.append(f"  {label.lower()} ({len(names)}): {', '.join(names) or units.NONE}")
    return "\n".join(lines)


def _silences(report: Mapping[str, Any]) -> str:
    lines = ["SILENCES"]
    for key, label in tables.SILENCE_LISTS:
        header, body = tables.silences(report, key, tables.PLAIN)
        lines.append(f"  {label.lower()} ({len(body)})")
        if body:
            lines.append(_indent(table([h.upper() for h in header], body, left=len(header)),
                                 "    "))
    return "\n".join(lines)


def _recommendations(report: Mapping[str, Any]) -> str:
    lines = [_recommendation(rec) for rec in tables.recommendations(report)]
    return "\n".join(["RECOMMENDATIONS", *lines]) if lines else ""


def _recommendation(rec: tables.Recommendation) -> str:
    line = f"  {rec.rule}: {rec.change}: {rec.effect} [{rec.safety()}]"
    if rec.diff is None:
        return line
    return line + "\n" + _indent(rec.diff.rstrip("\n"), "      ")


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())
