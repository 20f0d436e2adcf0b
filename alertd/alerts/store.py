"""The alert store: every alert, from alertd's rules and from clients, by fingerprint.

Alerts posted to `/api/v2/alerts` and the firing or resolved instances of alertd's own
rules meet here and are merged by fingerprint with Alertmanager's semantics: an update
that overlaps an alert's activity range merges with it (the earliest start stays, an
explicit end beats a timeout), otherwise it replaces it. Resolved alerts stay for a
retention time so that their resolution can still be notified, then are collected.
Listeners (the dispatcher) hear about every alert that changed.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from alertd.alerts.model import Alert, LazyAnnotations
from alertd.model import Labels
from alertd.rules.state import Instance, Reason, Status

Annotator = Callable[[Instance], Mapping[str, str]]
Linker = Callable[[Instance], str]
Listener = Callable[[list[Alert]], None]
Enricher = Callable[[Labels, Mapping[str, str]], tuple[Labels, Mapping[str, str]]]
Transitioned = Callable[[Alert, str, str, float, "Reason | None"], None]
"""(alert, old state, new state, at, why it resolved) for alerts posted by clients:
"inactive", "firing", "resolved"; the reason is ends_at_passed when the end a client gave
passed without an update (`sweep`), condition_gone when a client said it resolved. Rule
alerts have their own transitions from the state machine."""

DEFAULT_RETENTION = 3600.0


class AlertStore:
    def __init__(self, *, retention: float = DEFAULT_RETENTION,
                 enrich: Enricher | None = None) -> None:
        self.retention = retention
        self.enrich = enrich
        self._alerts: dict[str, Alert] = {}
        self._by_rule: dict[str, set[str]] = {}
        # Per rule, each instance last synced (the object) and its alert's fingerprint: an
        # instance passed again unchanged (the same object: a replay steps only the
        # instances that change) is not made into an alert again.
        self._synced: dict[str, dict[Labels, tuple[Instance, str]]] = {}
        self._listeners: list[Listener] = []
        self.on_transition: Transitioned | None = None
        # Posted alerts that were firing when last announced: the sweep announces those
        # whose end (a resolve_timeout, or Prometheus's lease) passed without an update.
        self._announced_firing: set[str] = set()
        # (end, fingerprint) of those, in a heap, so that a sweep looks at the alerts that
        # ended rather than at every firing one (tens of milliseconds at 20,000). An entry
        # whose alert was updated since is stale: the update pushed its own.
        self._ends: list[tuple[float, str]] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _announce(self, changed: list[Alert]) -> None:
        if changed:
            for listener in self._listeners:
                listener(changed)

    # --- ingest ------------------------------------------------------------------------
    def put(self, alerts: Iterable[Alert], now: float) -> list[Alert]:
        """Merge alerts in (Alertmanager's semantics); returns them as stored."""
        stored: list[Alert] = []
        for alert in alerts:
            alert = self._enriched(alert)
            old = self._alerts.get(alert.fingerprint)
            if old is not None and alert.overlaps(old):
                alert = old.merge(alert, now)
            self._alerts[alert.fingerprint] = alert
            stored.append(alert)
            before = "inactive" if old is None else ("resolved" if old.resolved(now) else "firing")
            after = "resolved" if alert.resolved(now) else "firing"
            if after == "firing":
                self._announced_firing.add(alert.fingerprint)
                if alert.ends_at is not None:
                    heapq.heappush(self._ends, (alert.ends_at, alert.fingerprint))
            else:
                self._announced_firing.discard(alert.fingerprint)
            if before != after and self.on_transition is not None:
                reason = Reason.CONDITION_GONE if after == "resolved" else None
                self.on_transition(alert, before, after, now, reason)
        self._announce(stored)
        return stored

    def restore(self, alerts: Iterable[Alert], now: float) -> list[Alert]:
        """Put back posted alerts stored before a restart, as they were stored: no merge,
        no transition (they were recorded when they happened), no announcement (the
        caller rebuilds the groups with their timers). Those collected by the retention
        meanwhile are left out; returns the others."""
        kept = []
        for alert in alerts:
            if alert.ends_at is not None and alert.ends_at <= now - self.retention:
                continue
            self._alerts[alert.fingerprint] = alert
            kept.append(alert)
            if not alert.resolved(now):
                self._announced_firing.add(alert.fingerprint)
                if alert.ends_at is not None:
                    heapq.heappush(self._ends, (alert.ends_at, alert.fingerprint))
        return kept

    def sync_rule(self, rule: str, instances: Iterable[Instance], annotator: Annotator,
                  at: float, generator: Linker | None = None) -> list[Alert]:
        """Bring the alerts of a rule in line with its firing and resolved instances; the
        firing alerts that no instance holds any more, which it resolved. `generator`
        gives an alert its generatorURL when it starts firing."""
        step = _Synced(self._synced.get(rule, {}), {}, set(), [])
        for inst in instances:
            if inst.status in (Status.FIRING, Status.RESOLVED):
                self._sync_one(inst, step, annotator, at, generator)
        previous = self._by_rule.get(rule, set())
        seen = self._by_rule[rule] = step.seen
        self._synced[rule] = step.synced
        ended: list[Alert] = []
        for fingerprint in previous - seen:
            # An instance the rule forgot while firing (its rule was removed): resolved now.
            old = self._alerts.get(fingerprint)
            if old is not None and not old.resolved(at):
                ended.append(replace(old, ends_at=at, updated_at=at))
                self._alerts[fingerprint] = ended[-1]
        self._announce(step.changed + ended)
        return ended

    def sync_changed(self, rule: str, instances: Iterable[Instance], annotator: Annotator,
                     at: float) -> None:
        """`sync_rule` for a caller that knows which of the rule's instances changed:
        those given. Every other instance the rule holds is as it was, and an instance
        left out after its resolution was synced is gone for good (a replay of the
        history, which would otherwise go over every held instance at each change)."""
        synced = self._synced.setdefault(rule, {})
        step = _Synced(synced, synced, self._by_rule.setdefault(rule, set()), [])
        for inst in instances:
            if inst.status in (Status.FIRING, Status.RESOLVED):
                self._sync_one(inst, step, annotator, at, None)
        self._announce(step.changed)

    def _sync_one(self, inst: Instance, step: _Synced, annotator: Annotator, at: float,
                  generator: Linker | None) -> None:
        known = step.last.get(inst.labels)
        if known is not None and known[0] is inst and known[1] in self._alerts:
            step.seen.add(known[1])
            step.synced[inst.labels] = known
            return
        alert = self._from_instance(inst, annotator, at)
        step.seen.add(alert.fingerprint)
        step.synced[inst.labels] = (inst, alert.fingerprint)
        old = self._alerts.get(alert.fingerprint)
        if generator is not None:
            alert = self._linked(alert, old, inst, generator)
        self._alerts[alert.fingerprint] = alert
        # Only a change of state is news for the dispatcher; a new value is not.
        if old is None or old.ends_at != alert.ends_at or old.starts_at != alert.starts_at:
            step.changed.append(alert)

    @staticmethod
    def _linked(alert: Alert, old: Alert | None, inst: Instance, generator: Linker) -> Alert:
        # Rendered once per firing episode, not at every evaluation: the link of an
        # alert does not change while it fires.
        if old is not None and old.starts_at == alert.starts_at:
            url = old.generator_url
        else:
            url = generator(inst)
        return replace(alert, generator_url=url) if url else alert

    def forget_rule(self, rule: str, at: float) -> list[Alert]:
        """A rule was removed: its firing alerts resolve; those alerts, resolved."""
        ended = self.sync_rule(rule, (), lambda i: {}, at)
        self._by_rule.pop(rule, None)
        self._synced.pop(rule, None)
        return ended

    def stored_labels(self, labels: Labels) -> Labels:
        """The labels an alert with these labels is stored under (its owner attached): the
        history records every event of an alert under them."""
        if self.enrich is None:
            return labels
        return self.enrich(labels, {})[0]

    def _from_instance(self, inst: Instance, annotator: Annotator, at: float) -> Alert:
        starts = inst.fired_at if inst.fired_at is not None else inst.active_at
        ends = inst.resolved_at if inst.status is Status.RESOLVED else None
        return self._enriched(Alert(inst.labels, LazyAnnotations(lambda: annotator(inst)),
                                    starts, ends, at, source="rule", value=inst.value))

    def _enriched(self, alert: Alert) -> Alert:
        if self.enrich is None:
            return alert
        labels, annotations = self.enrich(alert.labels, alert.annotations)
        if labels is alert.labels and annotations is alert.annotations:
            return alert
        return replace(alert, labels=labels, annotations=annotations, fingerprint="")

    # --- reading -----------------------------------------------------------------------
    def get(self, fingerprint: str) -> Alert | None:
        return self._alerts.get(fingerprint)

    def alerts(self) -> list[Alert]:
        return list(self._alerts.values())

    def active(self, now: float) -> list[Alert]:
        return [a for a in self._alerts.values() if not a.resolved(now)]

    def by_name(self, alertname: str) -> list[Alert]:
        return [a for a in self._alerts.values() if a.labels.get("alertname") == alertname]

    def sweep(self, now: float) -> list[Alert]:
        """Announce posted alerts that ended by the clock, with no update saying so (a
        sender that stopped sending): their resolution is recorded like any other."""
        ended = []
        while self._ends and self._ends[0][0] <= now:
            _, fingerprint = heapq.heappop(self._ends)
            if fingerprint not in self._announced_firing:
                continue  # announced resolved already, or an earlier entry did it
            alert = self._alerts.get(fingerprint)
            if alert is None or alert.resolved(now):
                self._announced_firing.discard(fingerprint)
            if alert is not None and alert.resolved(now):
                ended.append(alert)
                if self.on_transition is not None:
                    self.on_transition(alert, "firing", "resolved", alert.ends_at or now,
                                       Reason.ENDS_AT_PASSED)
        self._announce(ended)
        return ended

    def gc(self, now: float) -> list[Alert]:
        """Drop alerts resolved longer than the retention ago."""
        gone = [a for a in self._alerts.values()
                if a.ends_at is not None and a.ends_at <= now - self.retention]
        for alert in gone:
            del self._alerts[alert.fingerprint]
        return gone


@dataclass(frozen=True, slots=True)
class _Synced:
    """One sync of a rule's instances: what the store knew of them (`last`), what it
    knows after (`synced`), the fingerprints seen, and the alerts that changed state."""

    last: dict[Labels, tuple[Instance, str]]
    synced: dict[Labels, tuple[Instance, str]]
    seen: set[str]
    changed: list[Alert]
