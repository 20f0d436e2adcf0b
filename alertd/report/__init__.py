"""The weekly noise report, rendered: for a terminal, a review doc, a program, a browser.

Renderers take the report in its JSON form (`Report.to_json()` of `alertd.noise`), so they
work the same on a report built now, read back from a file, or served by the API:

    render(report, "text" | "markdown" | "json" | "html") -> str

`source.py` builds a report from a store and a configuration (for `alertd report` and the
daemon), `web.py` serves it, `cli.py` is the command.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

FORMATS = ("text", "markdown", "json", "html")


def render_json(report: Mapping[str, Any]) -> str:
    """The report as it is; keys sorted, so that two runs over the same history give the
    same bytes (and a diff of two weeks shows only what changed)."""
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False,
                      allow_nan=False) + "\n"


def render(report: Mapping[str, Any], fmt: str, *, links: bool = False) -> str:
    """`report` in one of FORMATS. `links`: the HTML page links to the previous and next
    periods and has a form to pick another (when it is served, not written to a file)."""
    if fmt == "html":
        from alertd.report.html import render_html

        return render_html(report, links=links)
    renderers: dict[str, Callable[[Mapping[str, Any]], str]] = {
        "text": _text, "markdown": _markdown, "json": render_json}
    if fmt not in renderers:
        raise ValueError(f'unknown report format "{fmt}" (choose from {", ".join(FORMATS)})')
    return renderers[fmt](report)


def _text(report: Mapping[str, Any]) -> str:
    from alertd.report.text import render_text

    return render_text(report)


def _markdown(report: Mapping[str, Any]) -> str:
    from alertd.report.markdown import render_markdown

    return render_markdown(report)
