"""State changes in the history: under the labels the alert is stored under, with the
reason an alert resolved (rules' instances, posted alerts, removed rules)."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

from alertd.alerts.model import Alert
from alertd.alerts.owners import Ownership
from alertd.alerts.store import AlertStore
from alertd.clock import FakeClock
from alertd.config.owners import Owner
from alertd.history import HistoryEvent
from alertd.history.recorder import HistoryRecorder
from alertd.history.transitions import Transitions
from alertd.model import Labels
from alertd.rules.state import Health, Instance, Reason, RuleState, Status, Transition
from alertd.store.batch import unavailable

T0 = 1_800_000_000.0
RULE_LABELS = Labels({"alertname": "ErrorsHigh", "model": "churn", "severity": "page"})
OWNED = RULE_LABELS.merged({"owner": "ml"})


class Sink:
    def __init__(self) -> None:
        self.events: list[HistoryEvent] = []

    async def append(self, events: Sequence[HistoryEvent]) -> None:
        self.events.extend(events)

    def unavailable(self, exc: BaseException) -> bool:
        return unavailable(exc)  # as the store tells it


def setup() -> tuple[AlertStore, Transitions, HistoryRecorder, Sink]:
    ownership = Ownership([Owner.model_validate({"name": "ml",
                                                 "matchers": ['alertname="ErrorsHigh"']})])
    store = AlertStore(enrich=ownership.attach)
    sink = Sink()
    recorder = HistoryRecorder(sink, FakeClock(T0))
    transitions = Transitions(store, lambda: recorder)
    store.on_transition = transitions.of_posted
    return store, transitions, recorder, sink


def instance(status: Status, **extra: float) -> Instance:
    return Instance(RULE_LABELS, Labels({"model": "churn"}), status, T0, 7.0, **extra)


async def test_a_rules_transitions_are_recorded_under_the_labels_the_alert_is_stored_under(
) -> None:
    store, transitions, recorder, sink = setup()
    firing = instance(Status.FIRING, fired_at=T0)
    store.sync_rule("ErrorsHigh", [firing], lambda i: {}, T0)
    transitions.of_rule("ErrorsHigh", [
        Transition(RULE_LABELS, Status.INACTIVE, Status.FIRING, T0, 7.0),
        Transition(RULE_LABELS, Status.FIRING, Status.RESOLVED, T0 + 60, 1.0,
                   Reason.CLEAR)], T0 + 60)
    await recorder.flush()
    (stored,) = store.alerts()
    assert stored.labels == OWNED
    assert [(e.fingerprint, e.owner, e.rule) for e in sink.events] == [
        (stored.fingerprint, "ml", "ErrorsHigh")] * 2
    assert [e.details.get("reason") for e in sink.events] == [None, "clear"]


async def test_the_alerts_alertd_raises_about_itself_carry_no_rule() -> None:
    _, transitions, recorder, sink = setup()
    labels = Labels({"alertname": "AlertdSourceDown", "source": "prometheus"})
    transitions.of_rule("AlertdSourceDown",
                        [Transition(labels, Status.INACTIVE, Status.FIRING, T0, 1.0)], T0)
    await recorder.flush()
    assert [e.rule for e in sink.events] == [None]


def posted(ends_at: float | None, updated_at: float, *, timeout: bool = False) -> Alert:
    return Alert(Labels({"alertname": "ErrorsHigh", "instance": "a"}), MappingProxyType({}),
                 T0, ends_at, updated_at, timeout=timeout)


async def test_a_posted_alert_resolved_by_its_sender_says_condition_gone() -> None:
    store, _, recorder, sink = setup()
    store.put([posted(None, T0)], T0)
    store.put([posted(T0 + 60, T0 + 60)], T0 + 60)
    await recorder.flush()
    assert [(e.details["from"], e.details["to"], e.details.get("reason"), e.owner)
            for e in sink.events] == [("inactive", "firing", None, "ml"),
                                      ("firing", "resolved", "condition_gone", "ml")]
    assert {e.rule for e in sink.events} == {None}  # posted, not one of alertd's rules


async def test_a_posted_alert_whose_end_passed_without_an_update_says_ends_at_passed() -> None:
    store, _, recorder, sink = setup()
    store.put([posted(T0 + 300, T0, timeout=True)], T0)
    store.sweep(T0 + 400)
    await recorder.flush()
    last = sink.events[-1]
    assert (last.at, last.details["to"], last.details["reason"]) == (
        T0 + 300, "resolved", "ends_at_passed")
    assert last.fingerprint == store.alerts()[0].fingerprint


async def test_removing_a_rule_resolves_its_alerts_and_drops_its_pending_ones_for_a_reason(
) -> None:
    store, transitions, recorder, sink = setup()
    other = RULE_LABELS.merged({"model": "fraud"})
    pending = Instance(other, Labels({"model": "fraud"}), Status.PENDING, T0, 3.0)
    firing = instance(Status.FIRING, fired_at=T0)
    store.sync_rule("ErrorsHigh", [firing, pending], lambda i: {}, T0)
    before = {"ErrorsHigh": RuleState(MappingProxyType({RULE_LABELS: firing, other: pending}))}
    transitions.rules_removed(["ErrorsHigh"], before, T0 + 90)
    await recorder.flush()
    assert [(e.details["from"], e.details["to"], e.details["reason"], e.rule, e.owner,
             e.labels.get("model")) for e in sink.events] == [
        ("firing", "resolved", "rule_removed", "ErrorsHigh", "ml", "churn"),
        ("pending", "inactive", "rule_removed", "ErrorsHigh", "ml", "fraud")]
    (stored,) = store.alerts()
    assert stored.resolved(T0 + 90) and sink.events[0].fingerprint == stored.fingerprint


async def test_a_rules_health_is_recorded_when_it_changes_only() -> None:
    _, transitions, recorder, sink = setup()
    states = [RuleState(), RuleState(health=Health.OK), RuleState(health=Health.OK),
              RuleState(health=Health.ERROR, last_error="prometheus: timeout"),
              RuleState(health=Health.ERROR, last_error="prometheus: timeout"),
              RuleState(health=Health.OK, nodata=True), RuleState(health=Health.OK)]
    for i, state in enumerate(states):
        # No owner of its own: the ownership map's (it owns alertname ErrorsHigh).
        transitions.health("ErrorsHigh", state, None, T0 + i)
    await recorder.flush()
    assert [(e.at - T0, e.kind, e.rule, e.owner, dict(e.details)) for e in sink.events] == [
        (1, "health", "ErrorsHigh", "ml", {"health": "ok"}),
        (3, "health", "ErrorsHigh", "ml", {"health": "error", "error": "prometheus: timeout"}),
        (5, "health", "ErrorsHigh", "ml", {"health": "nodata"}),
        (6, "health", "ErrorsHigh", "ml", {"health": "ok"})]
