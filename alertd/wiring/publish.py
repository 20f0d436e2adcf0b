"""What each evaluation tells the rest of the daemon: the alert store, the live flap
detector, the history and the metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alertd.alerts.store import AlertStore
from alertd.clock import Clock
from alertd.console import ConsolePrinter
from alertd.history.transitions import Transitions
from alertd.metrics import Metrics
from alertd.noise.flapping import FlapTracker
from alertd.rules import meta as meta_rules
from alertd.rules.manager import Group, RuleManager
from alertd.rules.meta import MetaAlerts
from alertd.rules.rule import AlertRule
from alertd.rules.state import Health, RuleState, Transition
from alertd.sources.windows import SampleWindows


@dataclass(slots=True)
class GroupStatus:
    last_eval: float | None = None
    duration: float | None = None


@dataclass(slots=True)
class Publisher:
    """The scheduler's `publish` and `on_group_done`."""

    manager: RuleManager
    meta: MetaAlerts
    flaps: FlapTracker
    alerts: AlertStore
    transitions: Transitions
    metrics: Metrics
    windows: SampleWindows
    clock: Clock
    console: ConsolePrinter | None
    group_status: dict[tuple[str, float], GroupStatus]

    def publish(self, rule: str, transitions: Sequence[Transition], at: float) -> None:
        if rule in meta_rules.NAMES:
            state = self.meta.states[rule]
            self.alerts.sync_rule(rule, state.instances.values(), self.meta.annotations, at)
        else:
            alert_rule = self.manager.ruleset.by_name.get(rule)
            if alert_rule is not None:
                self._publish_rule(alert_rule, at)
        compiled = self.manager.ruleset.by_name.get(rule)
        baseline = self.manager.evaluator.baselines_of(compiled) if compiled else None
        self.transitions.of_rule(rule, transitions, at, baseline=baseline)
        if transitions and self.console:
            self.console.transitions(rule, transitions, at)

    def _publish_rule(self, alert_rule: AlertRule, at: float) -> None:
        rule = alert_rule.name
        state = self.manager.evaluator.states.get(rule, RuleState())
        self.flaps.observe(rule, state.instances.values(), alert_rule.interval, at)
        self.flaps.sweep(at, self.manager.ruleset.by_name)
        self.alerts.sync_rule(rule, state.instances.values(), self.flaps.annotator(
            rule, alert_rule.annotations_for, at), at, alert_rule.generator_url_for)
        self.metrics.evaluations.labels(rule).inc()
        if state.health is Health.ERROR:
            self.metrics.evaluation_failures.labels(rule).inc()
        for health in Health:
            self.metrics.rule_health.labels(rule, health.value).set(
                1 if state.health is health else 0)
        self.transitions.health(rule, state, alert_rule.static_labels.get("owner"), at)

    def group_done(self, group: Group, at: float, duration: float) -> None:
        self.group_status[(group.name, group.interval)] = GroupStatus(at, duration)
        self.metrics.eval_duration.labels(group.name).observe(duration)
        self.metrics.series.set(len(self.windows.store))
        active = self.alerts.active(self.clock.now())
        self.metrics.alerts.labels("firing").set(len(active))
