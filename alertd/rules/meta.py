"""Alerts about alertd itself, on the same state machine and path as any rule's alerts.

    AlertdSourceDown{source="prometheus"}            a source cannot be reached
    AlertdRuleEvaluationFailing{rule="X", group="g"}  a rule fails to evaluate
    AlertdNotificationsFailing{receiver="r", integration="r/slack/0"}
                                                     a receiver's integration keeps failing

Both fire at the first failure (`for` 0) and resolve at the first success: alertd never
resolves a rule's own alerts because of a failure, so these are what says something is off.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from alertd.model import ALERTNAME, Labels
from alertd.rules.state import Active, Instance, Observation, RuleState, Timing, Transition, step

SOURCE_DOWN = "AlertdSourceDown"
RULE_FAILING = "AlertdRuleEvaluationFailing"
NOTIFY_FAILING = "AlertdNotificationsFailing"
NAMES = (SOURCE_DOWN, RULE_FAILING, NOTIFY_FAILING)
_TIMING = Timing()


class MetaAlerts:
    def __init__(self) -> None:
        self.states: dict[str, RuleState] = {name: RuleState() for name in NAMES}
        self._down: dict[str, str] = {}  # source -> error
        self._failing: dict[tuple[str, str], str] = {}  # (rule, group) -> error
        self._undelivered: dict[tuple[str, str], str] = {}  # (receiver, integration) -> error
        self._errors: dict[Labels, str] = {}

    def source(self, name: str, error: str | None) -> None:
        if error is None:
            self._down.pop(name, None)
        else:
            self._down[name] = error

    def rule_health(self, rule: str, group: str, error: str | None) -> None:
        if error is None:
            self._failing.pop((rule, group), None)
        else:
            self._failing[(rule, group)] = error

    def notifications(self, receiver: str, integration: str, error: str | None) -> None:
        if error is None:
            self._undelivered.pop((receiver, integration), None)
        else:
            self._undelivered[(receiver, integration)] = error

    def forget_rules(self, keep: set[str]) -> None:
        self._failing = {k: v for k, v in self._failing.items() if k[0] in keep}

    def step(self, at: float) -> dict[str, list[Transition]]:
        active = {
            SOURCE_DOWN: {
                Labels({ALERTNAME: SOURCE_DOWN, "source": source, "severity": "page",
                        "owner": "alertd"}): error
                for source, error in self._down.items()},
            RULE_FAILING: {
                Labels({ALERTNAME: RULE_FAILING, "rule": rule, "group": group,
                        "severity": "ticket", "owner": "alertd"}): error
                for (rule, group), error in self._failing.items()},
            NOTIFY_FAILING: {
                Labels({ALERTNAME: NOTIFY_FAILING, "receiver": receiver,
                        "integration": integration, "severity": "page", "owner": "alertd"}): error
                for (receiver, integration), error in self._undelivered.items()},
        }
        out: dict[str, list[Transition]] = {}
        for name in NAMES:
            self._errors.update(active[name])
            obs = Observation(at, MappingProxyType({
                labels: Active(labels.without((ALERTNAME,)), 1.0) for labels in active[name]}))
            self.states[name], out[name] = step(_TIMING, self.states[name], obs)
        return out

    def annotations(self, instance: Instance) -> Mapping[str, str]:
        error = self._errors.get(instance.labels, "")
        labels = instance.labels
        if labels.get(ALERTNAME) == SOURCE_DOWN:
            summary = f"source {labels.get('source')} is down: {error}"
        elif labels.get(ALERTNAME) == NOTIFY_FAILING:
            summary = (f"notifications to {labels.get('integration')} keep failing: {error}")
        else:
            summary = f"rule {labels.get('rule')} fails to evaluate: {error}"
        return {"summary": summary}
