"""Selectors that have matched no series since their rule loaded, and the matcher that
empties each, as the series in memory tell."""

from __future__ import annotations

from alertd.lang.check import check_files
from alertd.lang.parse import parse_file
from alertd.model import LabelMatcher
from alertd.rules.evaluator import Evaluator, RuleSet
from alertd.rules.selectors import explain_unmatched, unmatched_counts, why_empty
from alertd.sources.samples import SeriesStore

RULES = '''\
group churn {
  alert DriftTypo {
    when = last_over_time(feature_psi{modle="churn"}[1h]) > 0.25
  }

  alert DriftWrongModel {
    when  = feature_psi{model="chrun", feature=~"tenure.*"} > 0.25
    clear = feature_psi{model="chrun", feature=~"tenure.*"} < 0.2
  }

  alert DriftWrongMetric {
    when = rate(feature_pis{model="churn"}[5m]) > 0.25
  }

  alert Drift {
    when = feature_psi{model="churn"} > 0.25
  }

  alert NotReporting {
    when = absent(feature_psi{model="fraud"})
  }

  alert Latency {
    when = prom(`histogram_quantile(0.99, rate(x_bucket[5m]))`) > 1
  }
}
'''


def setup() -> tuple[RuleSet, Evaluator, SeriesStore]:
    parsed = parse_file(RULES, "churn.rules")
    result = check_files([parsed.file])
    assert result.ok, result.diagnostics
    rules = RuleSet.from_groups(result.groups)
    store = SeriesStore()
    for model, feature in (("churn", "tenure_days"), ("churn", "country"), ("ranking", "age")):
        store.add({"__name__": "feature_psi", "model": model, "feature": feature}, 0.0, 0.1)
    return rules, Evaluator(rules), store


def explained(rules: RuleSet, store: SeriesStore, name: str) -> list[tuple[str, str | None]]:
    return [(u.selector, u.why) for u in explain_unmatched(rules.by_name[name], store)]


def test_misspelt_selectors_are_named_with_the_matcher_that_empties_them() -> None:
    rules, evaluator, store = setup()
    for rule in rules:
        evaluator.evaluate(rule, 60.0, store)
    assert explained(rules, store, "DriftTypo") == [(
        'feature_psi{modle="churn"}',
        'no feature_psi series has a label "modle" (did you mean "model"?)')]
    assert explained(rules, store, "DriftWrongModel") == [(
        'feature_psi{model="chrun", feature=~"tenure.*"}',
        '"chrun" is not among the values of model in feature_psi series the other matchers '
        'select: "churn" (did you mean "churn"?)')]
    assert explained(rules, store, "DriftWrongMetric") == [(
        'feature_pis{model="churn"}',
        'no series is named "feature_pis" (did you mean "feature_psi"?)')]
    # Matching series, absent() (there to match nothing) and prom() are not reported.
    for name in ("Drift", "NotReporting", "Latency"):
        assert explained(rules, store, name) == []


def test_a_selector_that_matched_once_since_the_rule_loaded_is_not_reported() -> None:
    rules, evaluator, store = setup()
    rule = rules.by_name["DriftTypo"]
    store.add({"__name__": "feature_psi", "modle": "churn", "feature": "x"}, 0.0, 0.1)
    evaluator.evaluate(rule, 60.0, store)
    assert explained(rules, store, "DriftTypo") == []
    # A rule not evaluated yet since it loaded is not reported either.
    assert explained(rules, store, "DriftWrongModel") == []


def test_the_metric_counts_per_rule_evaluated_reading_pushed_series() -> None:
    rules, evaluator, store = setup()
    for rule in rules:
        evaluator.evaluate(rule, 60.0, store)
    assert dict(unmatched_counts(rules.rules)) == {
        "DriftTypo": 1, "DriftWrongModel": 1, "DriftWrongMetric": 1, "Drift": 0}


def test_a_negative_matcher_that_leaves_nothing_is_named() -> None:
    store = SeriesStore()
    store.add({"__name__": "up", "job": "api"}, 0.0, 1.0)
    assert why_empty("up", [LabelMatcher("job", "!=", "api")], store) == (
        'job!="api" leaves no up series (job: "api")')
    assert why_empty("up", [LabelMatcher("job", "=", "apl")], store) == (
        '"apl" is not among the values of job in up series: "api" (did you mean "api"?)')
    assert why_empty("up", [LabelMatcher("job", "=~", "ap"), LabelMatcher("env", "=", "x")],
                     store) is None
