"""The report as Markdown, to paste into a review doc or a pull request (GitHub's tables)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from alertd.report import sections, units
from alertd.report.figures import (
    COLUMNS,
    HEADLINE,
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


def render_markdown(report: Mapping[str, Any]) -> str:
    parts = [
        _heading(report),
        _summary(report),
        _rules(report),
        _owners(report),
        _recommendations(report),
        _health(report),
        _silences(report),
        _details(report),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def cell(text: str) -> str:
    """Plain text safe in a table cell or a list item: Markdown's punctuation escaped, line
    breaks flattened, and angle brackets as entities (GitHub would take `<prod>` for a tag
    and drop it)."""
    escaped = re.sub(r"([\\`*_\[\]|#])", r"\\\1", text)
    return escaped.replace("<", "&lt;").replace(">", "&gt;").replace("\r", " ").replace(
        "\n", " ")


def code(text: str) -> str:
    """`text` as inline code: a name shown exactly. Pipes are escaped even there, since a
    table row is split on them first; backticks get a longer fence."""
    flat = text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    fence = "`" * (max((len(r) for r in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def table(header: Sequence[str], body: Sequence[Sequence[str]], left: int = 1) -> str:
    """A table of cells already in Markdown (pass text through `cell` or `code`)."""
    align = ["---" if i < left else "---:" for i in range(len(header))]
    return "\n".join(_row(r) for r in [header, align, *body])


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _heading(report: Mapping[str, Any]) -> str:
    minutes = report.get("self_resolve_minutes")
    note = f" Resolved on their own: within {minutes} minutes of firing." if minutes else ""
    return (f"## {cell(sections.title(report))}\n\n"
            f"Compared with {sections.previous_period(report)}. Generated "
            f"{units.timestamp(report.get('generated_at'))}.{note}")


def _summary(report: Mapping[str, Any]) -> str:
    now = sections.mapping(report.get("totals"))
    before = sections.mapping(report.get("totals_previous"))
    body = [[c.title, c.text(now), c.text(before), c.change(now, before)]
            for c in columns(HEADLINE)]
    return "### Summary\n\n" + table(["", "This period", "Previous", "Change"], body)


def _header(cols: Sequence[Column]) -> list[str]:
    return headers_with_change(cols, lambda c: c.short.capitalize(), "Change")


def _rules(report: Mapping[str, Any]) -> str:
    listed = rows(report, "rules")
    if not listed:
        return "### Rules\n\nNo rule paged or fired in this period."
    shown = listed[:sections.RULES_SHOWN]
    cols = columns(RULE_KEYS)
    body = [[code(str(r.get("rule", ""))), cell(units.name(r.get("owner"))), *with_change(cols, r)]
            for r in shown]
    more = len(listed) - len(shown)
    tail = f"\n\n{more} more rules are in the full report." if more else ""
    title = f"### Top rules by pages ({len(shown)} of {len(listed)})"
    return f"{title}\n\n{table(['Rule', 'Owner', *_header(cols)], body, left=2)}{tail}"


def _owners(report: Mapping[str, Any]) -> str:
    listed = rows(report, "owners")
    if not listed:
        return ""
    cols = columns(OWNER_KEYS)
    body = [[cell(units.name(r.get("owner"))), *with_change(cols, r)] for r in listed]
    return "### Owners\n\n" + table(["Owner", *_header(cols)], body)


def _recommendations(report: Mapping[str, Any]) -> str:
    recs = sections.recommendations(report)
    if not recs:
        return ""
    out = ["### Recommendations\n"]
    for rec in recs:
        safe = "safe" if rec.get("safe") else "**review**: actionable pages would be lost"
        out.append(f"- {code(str(rec.get('rule', '')))}: {cell(str(rec.get('change', '')))}; "
                   f"{sections.recommendation_effect(rec)} ({safe})")
        diff = rec.get("diff")
        if isinstance(diff, str) and diff.strip():
            out.append(_fenced(diff, "diff", indent="  "))
    return "\n".join(out)


def _health(report: Mapping[str, Any]) -> str:
    out = ["### Rule health"]
    for _, label, names in sections.health(report):
        listed = ", ".join(code(n) for n in names) if names else "none"
        out.append(f"- {label} ({len(names)}): {listed}")
    return "\n".join(out)


def _silences(report: Mapping[str, Any]) -> str:
    out = ["### Silences"]
    long_running = sections.silences(report, "long_running")
    nothing = sections.silences(report, "matched_nothing")
    out.append(f"\nRunning for long ({len(long_running)})")
    if long_running:
        out.append("\n" + table(["ID", "Matchers", "By", "Since", "Comment"], [
            [code(str(s.get("id", ""))), code(sections.matchers(s.get("matchers"))),
             cell(str(s.get("by", ""))), units.timestamp(s.get("since")),
             cell(str(s.get("comment", "")))] for s in long_running], left=5))
    out.append(f"\nMatched nothing ({len(nothing)})")
    if nothing:
        out.append("\n" + table(["ID", "Matchers", "By", "Comment"], [
            [code(str(s.get("id", ""))), code(sections.matchers(s.get("matchers"))),
             cell(str(s.get("by", ""))), cell(str(s.get("comment", "")))] for s in nothing],
            left=4))
    return "\n".join(out)


def _details(report: Mapping[str, Any]) -> str:
    """Every figure of the totals, folded (GitHub renders <details>), with who acked."""
    now = sections.mapping(report.get("totals"))
    before = sections.mapping(report.get("totals_previous"))
    body = [[c.title, c.text(now), c.text(before), c.change(now, before)] for c in COLUMNS]
    return ("<details><summary>Every figure</summary>\n\n"
            + table(["", "This period", "Previous", "Change"], body)
            + f"\n\nAcknowledged by: {cell(ackers(now))}. "
              f"Noise reasons: {cell(reasons(now))}.\n\n</details>")


def _fenced(text: str, lang: str, indent: str = "") -> str:
    # A fence longer than any run of backticks in the text, so the text cannot close it.
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 3)
    lines = [f"{fence}{lang}", *text.rstrip("\n").splitlines(), fence]
    return "\n".join(indent + line for line in lines)
