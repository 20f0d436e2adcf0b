"""A compiled rule end to end: labels and annotations of instances, nodata, clear."""

from __future__ import annotations

import math

from alertd.lang.check import check_files
from alertd.lang.parse import parse_file
from alertd.model import Labels
from alertd.rules.evaluator import Evaluator, RuleSet
from alertd.rules.state import Health, Status
from alertd.sources.samples import SeriesStore

RULES = '''\
group churn {
  owner  = "ml-platform"
  labels = { service = "churn", tier = "1" }

  alert ChurnErrors {
    when     = rate(errors_total[5m]) > 0.05
    clear    = rate(errors_total[5m]) < 0.02
    severity = "page"
    labels   = { tier = "0" }
    runbook  = "https://runbooks.example.com/churn/{{ labels.model_version }}"
    summary  = "errors at {{ value | humanize }}/s on {{ labels.model_version }}"
  }

  alert ChurnSilent {
    when   = rate(predictions_total[5m]) < 1
    nodata = "alert"
    owner  = "ml-oncall"
  }
}
'''


def load() -> RuleSet:
    parsed = parse_file(RULES, "churn.rules")
    result = check_files([parsed.file])
    assert result.ok, result.diagnostics
    return RuleSet.from_groups(result.groups)


def counter(store: SeriesStore, version: str, per_minute: float, until: int) -> None:
    for minute in range(until + 1):
        store.add({"__name__": "errors_total", "model_version": version}, minute * 60.0,
                  minute * per_minute)


def test_instance_labels_and_annotations() -> None:
    rules = load()
    store = SeriesStore()
    counter(store, "v2", 6.0, 10)  # 0.1/s
    evaluator = Evaluator(rules)
    evaluator.evaluate(rules.by_name["ChurnErrors"], 600.0, store)
    ((labels, annotations),) = evaluator.firing("ChurnErrors")
    assert labels == Labels({"alertname": "ChurnErrors", "model_version": "v2",
                             "owner": "ml-platform", "service": "churn", "severity": "page",
                             "tier": "0"})
    assert annotations == {"summary": "errors at 100m/s on v2",
                           "runbook_url": "https://runbooks.example.com/churn/v2"}


def test_clear_hysteresis_and_retired_series() -> None:
    rules = load()
    rule = rules.by_name["ChurnErrors"]
    store = SeriesStore()
    evaluator = Evaluator(rules)
    for minute in range(21):
        t = minute * 60.0
        # v1: 0.1/s for ten minutes, then 0.03/s (between the thresholds).
        store.add({"__name__": "errors_total", "model_version": "v1"}, t,
                  minute * 6.0 if minute <= 10 else 60 + (minute - 10) * 1.8)
        # v2: 0.1/s, and no more samples after minute 10 (the version was retired).
        if minute <= 10:
            store.add({"__name__": "errors_total", "model_version": "v2"}, t, minute * 6.0)
        evaluator.evaluate(rule, t, store)
    state = evaluator.states["ChurnErrors"]
    by_version = {i.labels["model_version"]: i.status for i in state.instances.values()}
    assert by_version == {"v1": Status.FIRING, "v2": Status.RESOLVED}


def test_nodata_alert_fires_when_inputs_are_missing() -> None:
    rules = load()
    evaluator = Evaluator(rules)
    evaluator.evaluate(rules.by_name["ChurnSilent"], 0.0, SeriesStore())
    ((labels, _),) = evaluator.firing("ChurnSilent")
    assert labels == Labels({"alertname": "ChurnSilent", "nodata": "true", "owner": "ml-oncall",
                             "service": "churn", "tier": "1"})


def test_duplicate_label_sets_are_an_evaluation_error_that_keeps_alerts() -> None:
    parsed = parse_file('alert Dup {\n  when = label_replace(x, "a", "same", "", "") > 0\n}\n',
                        "dup.rules")
    result = check_files([parsed.file])
    assert result.ok, result.diagnostics
    rules = RuleSet.from_groups(result.groups)
    store = SeriesStore()
    store.add({"__name__": "x", "a": "1"}, 0.0, 1.0)
    evaluator = Evaluator(rules)
    evaluator.evaluate(rules.by_name["Dup"], 0.0, store)
    assert len(evaluator.firing("Dup")) == 1
    store.add({"__name__": "x", "a": "2"}, 60.0, 1.0)
    store.add({"__name__": "x", "a": "1"}, 60.0, 1.0)
    evaluator.evaluate(rules.by_name["Dup"], 60.0, store)
    state = evaluator.states["Dup"]
    assert state.health is Health.ERROR and "more than once" in (state.last_error or "")
    assert len(evaluator.firing("Dup")) == 1  # nothing resolved because of the error
    assert not math.isnan(state.instances[next(iter(state.instances))].value)
