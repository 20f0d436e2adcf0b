"""The report as Markdown, to paste into a review doc or a pull request (GitHub's tables)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from alertd.report import sections, tables, units
from alertd.report.figures import COLUMNS, HEADLINE, ackers, columns, reasons


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


# Names in code spans, free text escaped.
_STYLE = tables.CellStyle(name=code, text=cell)


def _bold(text: str) -> str:
    return f"**{text}**"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _heading(report: Mapping[str, Any]) -> str:
    minutes = report.get("self_resolve_minutes")
    note = f" Resolved on their own: within {minutes} minutes of firing." if minutes else ""
    return (f"## {cell(sections.title(report))}\n\n"
            f"Compared with {sections.previous_period(report)}. Generated "
            f"{units.timestamp(report.get('generated_at'))}.{note}")


def _summary(report: Mapping[str, Any]) -> str:
    body = tables.totals(report, columns(HEADLINE))
    return "### Summary\n\n" + table(["", "This period", "Previous", "Change"], body)


_RULE_HEADERS = tables.headers(tables.RULE_COLUMNS, str.capitalize)
_OWNER_HEADERS = tables.headers(tables.OWNER_COLUMNS, str.capitalize)


def _rules(report: Mapping[str, Any]) -> str:
    top = tables.top_rules(report, _STYLE)
    if not top.body:
        return "### Rules\n\nNo rule paged or fired in this period."
    tail = f"\n\n{top.more} more rules are in the full report." if top.more else ""
    return (f"### Top rules by pages {top.count}\n\n"
            f"{table(['Rule', 'Owner', *_RULE_HEADERS], top.body, left=2)}{tail}")


def _owners(report: Mapping[str, Any]) -> str:
    body = tables.owners(report, _STYLE)
    if not body:
        return ""
    return "### Owners\n\n" + table(["Owner", *_OWNER_HEADERS], body)


def _recommendations(report: Mapping[str, Any]) -> str:
    lines = [_recommendation(rec) for rec in tables.recommendations(report)]
    return "\n".join(["### Recommendations\n", *lines]) if lines else ""


def _recommendation(rec: tables.Recommendation) -> str:
    line = f"- {code(rec.rule)}: {cell(rec.change)}; {rec.effect} ({rec.safety(_bold)})"
    return line if rec.diff is None else f"{line}\n{_fenced(rec.diff, 'diff', indent='  ')}"


def _health(report: Mapping[str, Any]) -> str:
    out = ["### Rule health"]
    for _, label, names in sections.health(report):
        listed = ", ".join(code(n) for n in names) if names else "none"
        out.append(f"- {label} ({len(names)}): {listed}")
    return "\n".join(out)


def _silences(report: Mapping[str, Any]) -> str:
    out = ["### Silences"]
    for key, label in tables.SILENCE_LISTS:
        header, body = tables.silences(report, key, _STYLE)
        out.append(f"\n{label} ({len(body)})")
        if body:
            out.append("\n" + table(header, body, left=len(header)))
    return "\n".join(out)


def _details(report: Mapping[str, Any]) -> str:
    """Every figure of the totals, folded (GitHub renders <details>), with who acked."""
    now = sections.mapping(report.get("totals"))
    return ("<details><summary>Every figure</summary>\n\n"
            + table(["", "This period", "Previous", "Change"], tables.totals(report, COLUMNS))
            + f"\n\nAcknowledged by: {cell(ackers(now))}. "
              f"Noise reasons: {cell(reasons(now))}.\n\n</details>")


def _fenced(text: str, lang: str, indent: str = "") -> str:
    # A fence longer than any run of backticks in the text, so the text cannot close it.
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 3)
    lines = [f"{fence}{lang}", *text.rstrip("\n").splitlines(), fence]
    return "\n".join(indent + line for line in lines)
