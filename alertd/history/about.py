"""Events about an alert, with the rule it comes from derived in one place.

Every stage that records a decision about an alert (routing, the flush pipeline, the
outbox, the Slack buttons, PagerDuty) goes through `about` or `rule_of`, so that each
event of a rule's alert carries the rule's name and the report can join them by rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from alertd.alerts.model import Alert
from alertd.history import HistoryEvent, event
from alertd.model import ALERTNAME
from alertd.rules.meta import NAMES as META_RULES

RULE_SOURCE = "rule"  # Alert.source of the alerts of alertd's own rules


def rule_of(labels: Mapping[str, str], source: str) -> str | None:
    """The rule an alert comes from: its alertname when one of alertd's rules made it.

    The alerts alertd raises about itself (AlertdNotificationsFailing...) come from no
    rule a user wrote, and their transitions have always been recorded without one.
    """
    if source != RULE_SOURCE:
        return None
    name = labels.get(ALERTNAME) or None
    return None if name in META_RULES else name


def about(at: float, kind: str, alert: Alert, details: Mapping[str, Any]) -> HistoryEvent:
    """An event about `alert`, under its labels as stored, with its rule."""
    return event(at, kind, alert.labels, details, rule=rule_of(alert.labels, alert.source))


def with_rule(e: HistoryEvent, alert: Alert | None) -> HistoryEvent:
    """The event with the rule of `alert` (the alert it is about) when it names none."""
    if e.rule is not None or alert is None:
        return e
    rule = rule_of(alert.labels, alert.source)
    return e if rule is None else replace(e, rule=rule)
