"""Alert state changes in the history: those of rules' instances and of posted alerts.

Each is recorded under the labels the alert store keeps the alert under (its owner
attached), the labels every later event of the alert (route, dedup, delivery...) carries,
so that a join by fingerprint or owner finds them all. A change to resolved or inactive
says why (rules.state.Reason).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

from alertd.alerts.model import Alert
from alertd.alerts.store import AlertStore
from alertd.history import event, transition
from alertd.history.recorder import HistoryRecorder
from alertd.model import Labels
from alertd.rules.meta import NAMES as META_RULES
from alertd.rules.state import Health, Reason, RuleState, Status, Transition


class Transitions:
    def __init__(self, alerts: AlertStore,
                 history: Callable[[], HistoryRecorder | None]) -> None:
        self.alerts = alerts
        self._history = history  # looked up at each change: the daemon opens it on start
        self._health: dict[str, str] = {}  # rule -> the health last recorded

    def health(self, rule: str, state: RuleState, owner: str | None, at: float) -> None:
        """A `health` event when the rule's health changed (ok, error, nodata): the noise
        report's evaluation errors and no-data time. It is about the rule, owned as the
        rule's alerts are: its own `owner`, else the ownership map's."""
        now = _health_of(state)
        history = self._history()
        if now is None or history is None or self._health.get(rule) == now:
            return
        self._health[rule] = now
        # Built only on a change: the ownership map is matched once, not per evaluation.
        labels = self.alerts.stored_labels(
            Labels({"alertname": rule, **({"owner": owner} if owner else {})}))
        history.record(event(at, "health", labels, {
            "health": now, "error": state.last_error if now == "error" else None}, rule=rule))

    def of_rule(self, rule: str, transitions: Sequence[Transition], at: float, *,
                baseline: str | None = None) -> None:
        """What an evaluation of `rule` changed; `baseline` names the baseline versions
        its drift functions used (`churn-training@3`)."""
        history = self._history()
        if history is None or not transitions:
            return
        name = None if rule in META_RULES else rule
        for t in transitions:
            history.record(transition(
                at, self.alerts.stored_labels(t.labels), old=t.old.value, new=t.new.value,
                value=t.value, rule=name, reason=t.reason,
                inputs=[i.details() for i in t.inputs] if t.inputs else None,
                baseline=baseline))

    def of_posted(self, alert: Alert, old: str, new: str, at: float,
                  reason: Reason | None) -> None:
        """A posted alert changed (AlertStore.on_transition); its labels are as stored."""
        history = self._history()
        if history is not None:
            history.record(transition(at, alert.labels, old=old, new=new, value=math.nan,
                                      reason=reason))

    def rules_removed(self, removed: Iterable[str], before: Mapping[str, RuleState],
                      at: float) -> None:
        """A reload removed these rules (`before`: the rules' states until then): their
        firing alerts resolve and their pending instances are gone, for rule_removed."""
        history = self._history()
        for name in removed:
            ended = self.alerts.forget_rule(name, at)
            if history is None:
                continue
            changes: list[tuple[Labels, Status, Status, float | None]] = [
                (a.labels, Status.FIRING, Status.RESOLVED, a.value) for a in ended]
            state = before.get(name)
            pending = state.in_status(Status.PENDING) if state is not None else []
            changes += [(self.alerts.stored_labels(i.labels), Status.PENDING, Status.INACTIVE,
                         i.value) for i in pending]
            for labels, old, new, value in changes:
                history.record(transition(
                    at, labels, old=old.value, new=new.value,
                    value=math.nan if value is None else value, rule=name,
                    reason=Reason.RULE_REMOVED))


def _health_of(state: RuleState) -> str | None:
    if state.health is Health.ERROR:
        return "error"
    if state.health is Health.UNKNOWN:
        return None  # not evaluated yet
    return "nodata" if state.nodata else "ok"
