"""Links an alert carries: its generatorURL and its `dashboard`, both shown on a page.

Prometheus links each alert of a rule to the rule's expression in its graph page,
`<external url>/graph?g0.expr=<query>&g0.tab=1`; a rule that queries Prometheus does the
same here, one panel per prom() query. A link that does not render to an http(s) URL is
left out, so that a page never carries a button its chat service would refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote_plus, urlsplit


def is_http_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in text


def prometheus_graph_url(base: str, queries: Sequence[str]) -> str:
    """The graph page of Prometheus at `base` showing `queries`, as Prometheus builds its
    generator URLs (Go's url.QueryEscape, which quote_plus matches); "" without queries."""
    if not queries:
        return ""
    panels = "&".join(f"g{i}.expr={quote_plus(q)}&g{i}.tab=1" for i, q in enumerate(queries))
    return f"{base.rstrip('/')}/graph?{panels}"
