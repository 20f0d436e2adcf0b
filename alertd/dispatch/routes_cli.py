"""`alertd routes test`: the receivers an alert would reach, and why.

The receivers are listed as `amtool config routes test` prints them: one per matching
route, in tree order, so a receiver reached by two routes is listed twice. Unlike amtool,
the alert first gets an `owner` label from the config's `owners` when it has none, as
alertd's ingest does, since routes may match on it.
"""

from __future__ import annotations

from collections.abc import Mapping

from alertd.config.matchers import format_matcher
from alertd.config.model import Config
from alertd.config.owners import match_owner
from alertd.dispatch.route import Route
from alertd.model import Labels

__all__ = ["routes_test"]


def routes_test(config: Config, labels: Mapping[str, str]) -> tuple[list[str], str]:
    """The receiver of each route that takes an alert with `labels`, and an explanation
    (several lines, without a final newline)."""
    lines = [f"alert {Labels(labels)}"]
    alert = dict(labels)
    if "owner" not in alert:
        found = match_owner(config.owners, alert)
        if found is not None:
            i, owner = found
            alert["owner"] = owner.name
            why = ", ".join(format_matcher(m) for m in owner.compiled_matchers()) or "any alert"
            lines.append(f'owner "{owner.name}" added from owners[{i}] (matchers: {why})')
    root = Route.from_config(config.route)
    lines += root.explain(alert)
    matches = root.match(alert)
    receivers = [route.receiver for route in matches]
    lines.append("receivers: " + ", ".join(receivers))
    for route in matches:
        lines.append(f'  "{route.receiver}" via {route.path}: {route.options_text()}')
    return receivers, "\n".join(lines)
