"""`suppresses_inputs`: one incident, one page.

A composite such as `FraudModelDegraded = alert("FraudScoreLatencyHigh") and
on(model_version) alert("FraudErrorRateHigh")` would page along with both of its inputs.
With `suppresses_inputs = true`, each of its alert() references becomes an inhibition
rule: while an instance of the composite fires, the firing instances of the referenced
alert that it was built from are held back, those tied to it as the expression joins them
(by the labels of `on(...)`, else by every label both carry). Resolutions are never held
back (alertd.dispatch.inhibit), so an input paged before the composite fired still has its
page resolved.
"""

from __future__ import annotations

from collections.abc import Iterable

from alertd.dispatch.inhibit import InhibitRule
from alertd.lang.references import RULE_LABELS, input_refs
from alertd.model import ALERTNAME, LabelMatcher
from alertd.rules.rule import AlertRule

GENERATED = -1  # the `index` of generated rules: they have no place in inhibit_rules


def inhibitions(rules: Iterable[AlertRule]) -> tuple[InhibitRule, ...]:
    """The inhibition rules the `suppresses_inputs` of these rules generate."""
    out: dict[InhibitRule, None] = {}
    for rule in rules:
        if not rule.spec.suppresses_inputs:
            continue
        source = (LabelMatcher(ALERTNAME, "=", rule.name),)
        for ref in input_refs(rule.spec.when):
            if ref.state != "firing":
                continue  # pending instances were never paged
            target = (LabelMatcher(ALERTNAME, "=", ref.name),)
            if ref.tie.on is not None:
                generated = InhibitRule(source, target, ref.tie.on, GENERATED, rule.name)
            else:
                # The composite's own labels are not the input's: left out of the tie.
                own = frozenset(rule.static_labels) | RULE_LABELS | ref.tie.ignoring
                generated = InhibitRule(source, target, (), GENERATED, rule.name, own)
            out[generated] = None
    return tuple(out)
