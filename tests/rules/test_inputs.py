"""A composite rule's instance says why it fired: the alert() instances it was joined with
(their labels and values) and each comparison's value and threshold, worked out when the
instance becomes pending or firing, never at the evaluations in between."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from types import MappingProxyType

import pytest

from alertd.lang.check import check_files
from alertd.lang.context import EvalContext
from alertd.lang.parse import parse_file
from alertd.model import Labels, Sample, Vector
from alertd.rules.evaluator import Evaluator, RuleSet
from alertd.rules.inputs import Explainer, Input, ValueOf, because
from alertd.rules.manager import RuleManager
from alertd.rules.state import Status, Transition
from alertd.sources.samples import SeriesStore

P99 = ('histogram_quantile(0.99, sum by (le, model_version) '
       '(rate(fraud_latency_seconds_bucket[5m])))')

RULES = f'''\
group fraud {{
  owner = "risk-ml"

  alert FraudLatencyBurn {{
    when = burn_rate{{service="fraud"}} > 10
  }}

  alert FraudDrift {{
    when = psi{{service="fraud"}} > 0.25
  }}

  alert FraudDegraded {{
    when     = prom(`{P99}`) > 100ms and on(model_version) alert("FraudLatencyBurn")
    for      = 2m
    severity = "page"
  }}

  alert FraudDrifting {{
    when = errors{{service="fraud"}} / requests{{service="fraud"}} > 5%
           and on(model_version) alert("FraudDrift")
           unless on(model_version) alert("FraudLatencyBurn")
  }}

  alert FraudSlowAndBurning {{
    when = latency{{service="fraud"}} > on(model_version) objective{{service="fraud"}}
           and on(model_version) alert("FraudLatencyBurn")
  }}

  alert FraudErrors {{
    when = errors{{service="fraud"}} > 5
  }}
}}
'''


def load() -> RuleSet:
    parsed = parse_file(RULES, "fraud.rules")
    result = check_files([parsed.file])
    assert result.ok, result.diagnostics
    return RuleSet.from_groups(result.groups)


def prom(query: str, at: float) -> Vector:
    return [Sample(Labels({"model_version": "v2"}), 0.25),
            Sample(Labels({"model_version": "v3"}), 0.3)]


def push(store: SeriesStore, metric: str, version: str, value: float, at: float,
         **labels: str) -> None:
    store.add({"__name__": metric, "service": "fraud", "model_version": version, **labels},
              at, value)


def run(rules: RuleSet, evaluator: Evaluator, store: SeriesStore,
        at: float) -> dict[str, list[Transition]]:
    """Evaluate every rule at `at`, in dependency order; the transitions of each."""
    return {rule.name: evaluator.evaluate(rule, at, store, prom) for rule in rules}


def test_a_composite_instance_records_its_inputs_when_it_becomes_pending_then_firing() -> None:
    rules, store = load(), SeriesStore()
    evaluator = Evaluator(rules)
    push(store, "burn_rate", "v2", 45, 0)  # v3 does not burn: no composite for it
    push(store, "burn_rate", "v3", 2, 0)
    (pending,) = run(rules, evaluator, store, 0)["FraudDegraded"]
    assert pending.new is Status.PENDING
    burn = Labels({"alertname": "FraudLatencyBurn", "model_version": "v2",
                   "owner": "risk-ml", "service": "fraud"})
    assert pending.inputs == (
        Input("histogram_quantile(...)", 0.25, ">", 0.1, unit="duration"),
        Input('alert("FraudLatencyBurn")', 45, alert="FraudLatencyBurn", labels=burn),
    )
    push(store, "burn_rate", "v2", 60, 120)  # worse by the time it fires
    (firing,) = run(rules, evaluator, store, 120)["FraudDegraded"]
    assert firing.new is Status.FIRING
    assert firing.inputs is not None and firing.inputs[1].value == 60

    rule = rules.by_name["FraudDegraded"]
    (instance,) = evaluator.states[rule.name].instances.values()
    assert rule.annotations_for(instance)["because"] == (
        'histogram_quantile(...) = 250ms > 100ms; FraudLatencyBurn{service="fraud"} firing '
        "(value 60)")


def test_inputs_are_worked_out_only_for_instances_that_change(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rules, store = load(), SeriesStore()
    evaluator = Evaluator(rules)
    asked: list[list[Labels]] = []
    explain = Explainer.explain

    def counting(self: Explainer, ctx: EvalContext, instances: Sequence[Labels],
                 value_of: ValueOf) -> dict[Labels, tuple[Input, ...]]:
        asked.append(list(instances))
        return explain(self, ctx, instances, value_of)

    monkeypatch.setattr(Explainer, "explain", counting)
    for at in (0, 60, 120, 180, 240, 300):
        push(store, "burn_rate", "v2", 45, at)
        push(store, "burn_rate", "v3", 50, at)
        run(rules, evaluator, store, at)
    # Both instances at once when pending (0s), at once when firing (120s); never between.
    assert [sorted(i["model_version"] for i in batch) for batch in asked] == [
        ["v2", "v3"], ["v2", "v3"]]
    # Rules that are not composites are never explained.
    assert rules.by_name["FraudErrors"].explainer is None
    assert rules.by_name["FraudLatencyBurn"].explainer is None


def test_what_stands_after_unless_is_not_an_input_and_ratios_show_as_percent() -> None:
    rules, store = load(), SeriesStore()
    evaluator = Evaluator(rules)
    push(store, "errors", "v2", 8, 0)
    push(store, "requests", "v2", 100, 0)
    push(store, "psi", "v2", 0.4, 0, feature="amount")
    push(store, "psi", "v2", 0.3, 0, feature="country")
    push(store, "psi", "v2", 0.1, 0, feature="merchant")  # not drifting: not an input
    (pending,) = run(rules, evaluator, store, 0)["FraudDrifting"]
    assert pending.inputs is not None
    assert [(i.expr, i.value, i.labels and i.labels["feature"]) for i in pending.inputs] == [
        ("errors{service=\"fraud\"} / requests{service=\"fraud\"}", 0.08, None),
        ('alert("FraudDrift")', 0.4, "amount"),
        ('alert("FraudDrift")', 0.3, "country"),
    ]
    assert because([i.details() for i in pending.inputs], pending.labels) == (
        'errors{service="fraud"} / requests{service="fraud"} = 8% > 5%; '
        'FraudDrift{feature="amount"} firing (value 0.4); '
        'FraudDrift{feature="country"} firing (value 0.3)')


def test_a_threshold_from_another_vector_is_the_matching_element() -> None:
    rules, store = load(), SeriesStore()
    evaluator = Evaluator(rules)
    push(store, "burn_rate", "v2", 45, 0)
    push(store, "latency", "v2", 0.3, 0)
    push(store, "objective", "v2", 0.2, 0)
    push(store, "objective", "v3", 0.5, 0)
    (pending,) = run(rules, evaluator, store, 0)["FraudSlowAndBurning"]
    assert pending.inputs is not None
    assert (pending.inputs[0].value, pending.inputs[0].op, pending.inputs[0].threshold) == (
        0.3, ">", 0.2)


def test_a_rule_whose_value_says_it_all_is_not_explained() -> None:
    rules, store = load(), SeriesStore()
    evaluator = Evaluator(rules)
    push(store, "errors", "v2", 9, 0)
    (pending,) = run(rules, evaluator, store, 0)["FraudErrors"]
    assert pending.inputs is None
    rule = rules.by_name["FraudErrors"]
    (instance,) = evaluator.states[rule.name].instances.values()
    assert "because" not in rule.annotations_for(instance)


def test_alertd_test_compares_annotations_without_because() -> None:
    rules, store = load(), SeriesStore()
    evaluator = Evaluator(rules)
    for at in (0, 120):
        push(store, "burn_rate", "v2", 45, at)
        run(rules, evaluator, store, at)
    ((labels, annotations),) = evaluator.firing("FraudDegraded")
    assert labels["model_version"] == "v2"
    assert "because" not in annotations


def test_instances_restored_from_a_save_are_explained_at_their_next_evaluation() -> None:
    rules, store = load(), SeriesStore()
    first = Evaluator(rules)
    for at in (0, 120):
        push(store, "burn_rate", "v2", 45, at)
        run(rules, first, store, at)
    # A save keeps no inputs: what a restart restores.
    saved = dict(first.states)
    degraded = saved["FraudDegraded"]
    saved["FraudDegraded"] = replace(degraded, instances=MappingProxyType(
        {k: replace(v, inputs=None) for k, v in degraded.instances.items()}))
    manager = RuleManager(60.0)
    manager.ruleset, manager.evaluator = rules, Evaluator(rules)
    manager.restore(saved)
    push(store, "burn_rate", "v2", 45, 180)
    transitions = run(rules, manager.evaluator, store, 180)["FraudDegraded"]
    assert transitions == []  # nothing changed, yet the firing instance is explained again
    (instance,) = manager.evaluator.states["FraudDegraded"].instances.values()
    assert instance.status is Status.FIRING
    assert instance.inputs is not None and len(instance.inputs) == 2
