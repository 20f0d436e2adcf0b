"""Alerts as the outside world sees them, keyed by fingerprint.

Rules own their instances (rules/state.py); after each evaluation the daemon syncs a
rule's instances here, where they become alerts in Alertmanager's sense: firing ones
are active, resolved ones carry an end time. Listeners hear about every change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from alertd.model import Labels
from alertd.rules.state import Instance, Status

Annotator = Callable[[Instance], Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Alert:
    rule: str
    instance: Instance
    annotator: Annotator
    updated_at: float

    @property
    def labels(self) -> Labels:
        return self.instance.labels

    @property
    def fingerprint(self) -> str:
        return self.instance.labels.fingerprint()

    @property
    def firing(self) -> bool:
        return self.instance.status is Status.FIRING

    @property
    def starts_at(self) -> float:
        inst = self.instance
        return inst.fired_at if inst.fired_at is not None else inst.active_at

    @property
    def ends_at(self) -> float | None:
        return self.instance.resolved_at

    def annotations(self) -> Mapping[str, str]:
        # Rendered when read: values change at every evaluation, reads are rare.
        return self.annotator(self.instance)


Listener = Callable[[list[Alert]], None]


class AlertStore:
    def __init__(self) -> None:
        self._by_rule: dict[str, dict[str, Alert]] = {}
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def sync_rule(self, rule: str, instances: Iterable[Instance], annotator: Annotator,
                  at: float) -> None:
        """Replace the alerts of `rule` with its firing and resolved instances."""
        current: dict[str, Alert] = {}
        for inst in instances:
            if inst.status in (Status.FIRING, Status.RESOLVED):
                alert = Alert(rule, inst, annotator, at)
                current[alert.fingerprint] = alert
        previous = self._by_rule.get(rule, {})
        changed = [a for fp, a in current.items()
                   if fp not in previous or previous[fp].instance.status is not a.instance.status]
        if current:
            self._by_rule[rule] = current
        else:
            self._by_rule.pop(rule, None)
        if changed:
            for listener in self._listeners:
                listener(changed)

    def forget_rule(self, rule: str) -> None:
        self._by_rule.pop(rule, None)

    def alerts(self) -> list[Alert]:
        return [a for alerts in self._by_rule.values() for a in alerts.values()]

    def active(self) -> list[Alert]:
        return [a for a in self.alerts() if a.firing]
