"""What an `slo` block expands into: one ordinary alert block per tier.

    alert FraudScoreLatencyBurnRatePage {
      when     = burn_rate(slo = "FraudScoreLatency", window = 1h) >= 14.4
                 and burn_rate(slo = "FraudScoreLatency", window = 5m) >= 14.4
                 or burn_rate(slo = "FraudScoreLatency", window = 6h) >= 6
                 and burn_rate(slo = "FraudScoreLatency", window = 30m) >= 6
      severity = "page"
      summary  = "..."
    }

The checker checks these blocks like the alerts written in the group (so they inherit the
group's owner and labels, and need a runbook under --require like any other), and
`alertd check --expand` prints them. Settings copied from the slo block keep their place
in the file, so that their problems are reported where they are written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from alertd.durations import format_duration
from alertd.lang import ast
from alertd.lang.format import format_expr, format_source
from alertd.lang.parse import parse_expr
from alertd.lang.slo import SloSpec, TierSpec, increase_query

__all__ = ["SUMMARY", "expand_slo", "expansion_json", "expansion_text", "print_expansions",
           "tier_condition"]

SUMMARY = ("{slo} burns its error budget {{{{ value | humanize }}}}x as fast as the "
           "objective allows")


def tier_condition(slo: str, tier: TierSpec) -> str:
    """The `when` of a tier: each window pair burning at least its factor on both."""
    pairs = []
    for p in tier.windows:
        factor = f"{p.factor:.12g}"
        pairs.append(" and ".join(
            f'burn_rate(slo = "{slo}", window = {format_duration(w)}) >= {factor}'
            for w in (p.long, p.short)))
    return " or ".join(pairs)


def expand_slo(spec: SloSpec) -> list[ast.Block]:
    """The alert blocks of an SLO's tiers."""
    return [_tier_block(spec, tier) for tier in spec.tiers]


def _tier_block(spec: SloSpec, tier: TierSpec) -> ast.Block:
    at = spec.name_span
    summary = SUMMARY.format(slo=spec.name)
    generated = [("when", tier_condition(spec.name, tier)),
                 ("severity", _quote(tier.severity)), ("summary", _quote(summary))]
    if spec.description:
        generated.append(("description", _quote(spec.description)))
    items: list[ast.Item] = [ast.Setting(key, at, parse_expr(text), at)
                             for key, text in generated]
    labels = _labels(spec, tier)
    items += [s for s in spec.inherited if s.key != "labels"]
    if labels is not None:
        items.append(labels)
    return ast.Block("alert", spec.name_span, spec.alert_names[tier.name], at, tuple(items),
                     spec.span)


def _labels(spec: SloSpec, tier: TierSpec) -> ast.Setting | None:
    """The SLO's labels with the tier's over them, as one setting."""
    own = next((s for s in spec.inherited if s.key == "labels"), None)
    if tier.labels is None:
        return own
    if own is None:
        return tier.labels
    if not (isinstance(own.value, ast.Selector) and isinstance(tier.labels.value, ast.Selector)):
        return own  # not maps: the checker reports the value
    tier_names = {m.name for m in tier.labels.value.matchers}
    matchers = tuple(m for m in own.value.matchers if m.name not in tier_names) \
        + tier.labels.value.matchers
    value = ast.Selector(None, matchers, True, own.value.span)
    return ast.Setting("labels", own.key_span, value, own.span)


def _quote(text: str) -> str:
    return format_expr(ast.StringLit(text, False, ast.Span(1, 1, 1, 1, 0, 0)))


def expansion_text(spec: SloSpec) -> str:
    """The alerts of an SLO as rule text, formatted as `alertd fmt` prints it."""
    lines = [f"# slo {spec.name} ({spec.where}), in group {spec.group}",
             "# each alert also gets the annotations burn_rate, budget_consumed and "
             "time_to_exhaustion"]
    for block in expand_slo(spec):
        lines.append(f"alert {block.name} {{")
        for item in block.items:
            if isinstance(item, ast.Setting):
                lines.append(f"  {item.key} = {format_expr(item.value)}")
        lines.append("}")
    return format_source("\n".join(lines) + "\n", spec.path)


def expansion_json(spec: SloSpec) -> dict[str, object]:
    """What `alertd check --expand --format json` prints of an SLO: one object a line."""
    return {
        "slo": spec.name, "path": spec.path, "line": spec.name_span.line,
        "group": spec.group, "objective": spec.objective, "period": spec.period,
        "alerts": [{"name": spec.alert_names[t.name], "tier": t.name, "severity": t.severity,
                    "when": format_expr(parse_expr(tier_condition(spec.name, t))),
                    "windows": [{"long": p.long, "short": p.short, "factor": p.factor}
                                for p in t.windows]} for t in spec.tiers],
        "prometheus_queries": [
            increase_query(q.prom, w) for w in (*spec.windows(), spec.period)
            for q in (spec.good or spec.errors, spec.total) if q is not None and q.prom],
    }


def print_expansions(slos: Sequence[SloSpec], output: str, echo: Callable[[str], None]) -> None:
    """`alertd check --expand`: rule text, or with output "json" one object a line."""
    for i, spec in enumerate(slos):
        if output == "json":
            echo(json.dumps(expansion_json(spec)))
        else:
            echo(("\n" if i else "") + expansion_text(spec).rstrip("\n"))
