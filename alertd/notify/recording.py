"""The notification path's part of the alert history.

Routing, the flush pipeline, the outbox, the Slack buttons, PagerDuty and the silences
record what they decide through this one object, which derives the rule of each alert's
event in one place (history.about), so that every event of a rule's alert carries it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alertd.alerts.model import Alert
from alertd.alerts.store import AlertStore
from alertd.clock import Clock
from alertd.history import HistoryEvent, ack
from alertd.history.about import about, rule_of, with_rule
from alertd.history.recorder import HistoryRecorder
from alertd.model import Labels


class Recording:
    def __init__(self, clock: Clock, alerts: AlertStore) -> None:
        self.clock = clock
        self.alerts = alerts
        self.history: HistoryRecorder | None = None  # None: nothing is recorded

    def alert(self, kind: str, alert: Alert, details: Mapping[str, Any], at: float) -> None:
        """One decision about an alert (route, muted, dedup, delivery...)."""
        if self.history is not None:
            self.history.record(about(at, kind, alert, details))

    def event(self, e: HistoryEvent) -> None:
        """An event about an alert built elsewhere (the Slack buttons' ack and feedback):
        when it names no rule, the rule of the alert it is about, if that is still known."""
        if self.history is not None:
            self.history.record(with_rule(e, self.alerts.get(e.fingerprint)))

    def silence(self, e: HistoryEvent) -> None:
        """A silence's lifecycle (Silences' `record`): about no alert, so as it is."""
        if self.history is not None:
            self.history.record(e)

    def pagerduty_ack(self, group_key: str, alerts: Sequence[tuple[Labels, str]],
                      by: str) -> None:
        """PagerDuty accepted an acknowledgement of the group's incident (its alerts as
        (labels, source))."""
        if self.history is None:
            return
        now = self.clock.now()
        for labels, source in alerts:
            self.history.record(ack(now, labels, by=by, via="pagerduty", group_key=group_key,
                                    rule=rule_of(labels, source)))
