"""A composite's decision chain in the history: the transition to firing carries its
inputs, and `alertd explain` says what it fired because of."""

from __future__ import annotations

from collections.abc import Sequence

from alertd import history
from alertd.alerts.store import AlertStore
from alertd.clock import FakeClock
from alertd.history import HistoryEvent
from alertd.history.explain import explain_text, rule_notes
from alertd.history.recorder import HistoryRecorder
from alertd.history.transitions import Transitions
from alertd.model import Labels
from alertd.rules.inputs import Input
from alertd.rules.selectors import Unmatched
from alertd.rules.state import Status, Transition
from alertd.store.batch import unavailable

T0 = 1_795_683_600.0  # 2026-11-26T09:00:00Z
LABELS = Labels({"alertname": "FraudDegraded", "model_version": "v2", "owner": "risk-ml",
                 "service": "fraud"})
BURN = Labels({"alertname": "FraudLatencyBurn", "model_version": "v2", "owner": "risk-ml",
               "service": "fraud", "region": "eu"})
INPUTS = (Input("histogram_quantile(...)", 0.25, ">", 0.1, unit="duration"),
          Input('alert("FraudLatencyBurn")', 45, alert="FraudLatencyBurn", labels=BURN))


class Sink:
    def __init__(self) -> None:
        self.events: list[HistoryEvent] = []

    async def append(self, events: Sequence[HistoryEvent]) -> None:
        self.events.extend(events)

    def unavailable(self, exc: BaseException) -> bool:
        return unavailable(exc)  # as the store tells it


async def test_the_transition_to_firing_carries_the_inputs() -> None:
    sink = Sink()
    recorder = HistoryRecorder(sink, FakeClock(T0))
    transitions = Transitions(AlertStore(), lambda: recorder)
    transitions.of_rule("FraudDegraded", [
        Transition(LABELS, Status.PENDING, Status.FIRING, T0, 1.0, inputs=INPUTS),
        Transition(LABELS, Status.FIRING, Status.RESOLVED, T0 + 60, 1.0)], T0)
    await recorder.flush()
    firing, resolved = sink.events
    assert firing.details["inputs"] == [
        {"expr": "histogram_quantile(...)", "value": 0.25, "op": ">", "threshold": 0.1,
         "unit": "duration"},
        {"expr": 'alert("FraudLatencyBurn")', "value": 45, "alert": "FraudLatencyBurn",
         "labels": dict(BURN)},
    ]
    assert "inputs" not in resolved.details


def test_explain_prints_the_decision_chain() -> None:
    events = [
        history.transition(T0, LABELS, old="inactive", new="pending", value=1,
                           inputs=[i.details() for i in INPUTS]),
        history.transition(T0 + 120, LABELS, old="pending", new="firing", value=1,
                           inputs=[i.details() for i in INPUTS]),
    ]
    lines = explain_text(events).splitlines()
    assert lines[1:] == [
        "2026-11-26T09:00:00Z  pending   value=1: pending because histogram_quantile(...) = "
        '250ms > 100ms and FraudLatencyBurn{region="eu"} firing (value 45)',
        "2026-11-26T09:02:00Z  firing    value=1: fired because histogram_quantile(...) = "
        '250ms > 100ms and FraudLatencyBurn{region="eu"} firing (value 45)',
    ]


def test_explain_names_the_selectors_of_a_rule_that_match_nothing() -> None:
    notes = rule_notes("ChurnFeatureDrift", [
        Unmatched('feature_psi{modle="churn"}',
                  'no feature_psi series has a label "modle" (did you mean "model"?)')])
    assert explain_text([], notes).splitlines() == [
        "rule ChurnFeatureDrift: selectors that have matched no series since the rule "
        "loaded:",
        '  feature_psi{modle="churn"}: no feature_psi series has a label "modle" '
        '(did you mean "model"?)',
        "no history recorded",
    ]
    assert rule_notes("ChurnFeatureDrift", []) == []


def test_a_rules_health_reads_as_a_phrase() -> None:
    rule = Labels({"alertname": "ChurnFeatureDrift"})
    events = [history.event(T0, "health", rule, {"health": "nodata"}),
              history.event(T0 + 60, "health", rule, {"health": "error", "error": "timeout"})]
    assert explain_text(events).splitlines()[1:] == [
        "2026-11-26T09:00:00Z  rule health nodata (its inputs returned no data)",
        "2026-11-26T09:01:00Z  rule health error: timeout",
    ]
