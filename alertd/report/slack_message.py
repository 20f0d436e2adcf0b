"""The weekly report as a Slack Block Kit message: the period, the top offenders, the
totals against the previous period, the recommendations, a link to the full page.

Block Kit refuses a section text over 3,000 characters and a message over 50 blocks
(integrations.md §1.7); every text here is cut to fit and the block count is fixed, so a
week with long rule names still posts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from alertd.report import sections, units
from alertd.report.figures import BY_KEY, figure, rows

MAX_SECTION = 3000
MAX_HEADER = 150
MAX_BLOCKS = 50
TOP_RULES = 5
TOP_RECOMMENDATIONS = 5
TOTALS = ("pages", "sleep", "off", "actionability", "ack_share")

Block = dict[str, Any]


def report_link(external_url: str, report: Mapping[str, Any]) -> str:
    """The `/report` page of the same period (and owner)."""
    period = sections.mapping(report.get("period"))
    params = {"from": str(period.get("from", "")), "to": str(period.get("to", ""))}
    if report.get("owner"):
        params["owner"] = str(report["owner"])
    return f"{external_url.rstrip('/')}/report?{urlencode(params)}"


def fallback_text(report: Mapping[str, Any]) -> str:
    """The plain `text` notifications and screen readers use."""
    pages = units.count(units.number(figure(sections.mapping(report.get("totals")), "pages")))
    return f"{sections.title(report)}: {pages} pages"


def report_blocks(report: Mapping[str, Any], link: str) -> list[Block]:
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text",
                                    "text": _cut(sections.title(report), MAX_HEADER)}},
        _context(f"Compared with {sections.previous_period(report)}"),
        _section("*Totals*\n" + _totals(report)),
        _section("*Top offenders*\n" + _offenders(report)),
    ]
    recommendations = _recommendations(report)
    if recommendations:
        blocks.append(_section("*Recommendations*\n" + recommendations))
    blocks.append({"type": "actions", "elements": [{
        "type": "button", "action_id": "open_report", "url": link,
        "text": {"type": "plain_text", "text": "Open the full report"}}]})
    return blocks[:MAX_BLOCKS]


def _totals(report: Mapping[str, Any]) -> str:
    now = sections.mapping(report.get("totals"))
    before = sections.mapping(report.get("totals_previous"))
    lines = []
    for key in TOTALS:
        col = BY_KEY[key]
        change = col.change(now, before)
        lines.append(f"• {col.title}: *{col.text(now)}* (previous {col.text(before)}"
                     f"{', ' + change if change else ''})")
    return "\n".join(lines)


def _offenders(report: Mapping[str, Any]) -> str:
    paging = [r for r in rows(report, "rules") if (units.number(r.get("pages")) or 0) > 0]
    paging.sort(key=lambda r: (-(units.number(r.get("pages")) or 0), str(r.get("rule"))))
    if not paging:
        return "No rule paged in this period."
    lines = []
    for i, r in enumerate(paging[:TOP_RULES], start=1):
        lines.append(
            f"{i}. `{_plain(str(r.get('rule', '')))}` ({_plain(units.name(r.get('owner')))}): "
            f"{BY_KEY['pages'].text(r)} pages, {BY_KEY['sleep'].text(r)} in sleep hours, "
            f"actionability {BY_KEY['actionability'].text(r)}")
    return "\n".join(lines)


def _recommendations(report: Mapping[str, Any]) -> str:
    lines = [f"• `{_plain(str(r.get('rule', '')))}`: {_plain(str(r.get('change', '')))} "
             f"({sections.recommendation_effect(r)})"
             for r in sections.recommendations(report)[:TOP_RECOMMENDATIONS]]
    return "\n".join(lines)


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, MAX_SECTION)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(text, 2000)}]}


def _plain(text: str) -> str:
    # Slack's mrkdwn reads &, < and > as markup (links, mentions): escape them.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        "`", "'")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
