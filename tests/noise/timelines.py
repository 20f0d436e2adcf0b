"""Building blocks of the constructed histories the tests compute by hand.

The main period is the week from Monday 2026-10-19 00:00 UTC to Monday 2026-10-26 00:00
UTC; the previous period is the week before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from alertd.history import HistoryEvent, event
from alertd.model import Labels
from alertd.noise import RuleInfo, Settings, summarize
from alertd.noise.report import Report

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
START = 1792368000.0  # Monday 2026-10-19 00:00 UTC
END = START + 7 * DAY  # Monday 2026-10-26 00:00 UTC
PREVIOUS_START = START - 7 * DAY


def alert(rule: str = "ChurnLatencyHigh", owner: str | None = "ml", **extra: str) -> Labels:
    labels = {"alertname": rule, "severity": "page", **extra}
    if owner is not None:
        labels["owner"] = owner
    return Labels(labels)


def _of(labels: Labels, at: float, kind: str, details: dict[str, Any]) -> HistoryEvent:
    return event(at, kind, labels, details, rule=labels["alertname"])


def pend(at: float, labels: Labels) -> HistoryEvent:
    return _of(labels, at, "transition", {"from": "inactive", "to": "pending", "value": 1.0})


def fire(at: float, labels: Labels) -> HistoryEvent:
    return _of(labels, at, "transition", {"from": "pending", "to": "firing", "value": 1.0})


def resolve(at: float, labels: Labels) -> HistoryEvent:
    return _of(labels, at, "transition", {"from": "firing", "to": "resolved", "value": 0.0,
                                          "reason": "condition_gone"})


def delivered(at: float, labels: Labels, delivery: str | None = "d1", *,
              receiver: str = "ml-oncall", integration: str = "slack", outcome: str = "ok",
              group_key: str = "{}:{}", channel: str | None = None,
              ts: str | None = None) -> HistoryEvent:
    details = {"receiver": receiver, "integration": integration, "attempt": 1,
               "outcome": outcome, "group_key": group_key, "delivery": delivery,
               "reason": "first notification", "channel": channel, "ts": ts}
    return _of(labels, at, "delivery", details)


def acked(at: float, labels: Labels, by: str, via: str = "slack") -> HistoryEvent:
    return _of(labels, at, "ack", {"by": by, "via": via})


def feedback(at: float, labels: Labels, by: str, verdict: str, *, reason: str | None = None,
             channel: str | None = "C0001", ts: str | None = "1792400000.000100",
             group_key: str = "{}:{}") -> HistoryEvent:
    return _of(labels, at, "feedback", {"by": by, "verdict": verdict, "reason": reason,
                                        "channel": channel, "ts": ts,
                                        "group_key": group_key})


def muted(at: float, labels: Labels, *ids: str, until: float | None = None) -> HistoryEvent:
    return _of(labels, at, "silenced", {"silences": sorted(ids), "until": until})


def silence(at: float, sid: str, *, action: str = "created", by: str = "carol",
            comment: str = "", starts_at: float, ends_at: float,
            owner: str | None = "ml") -> HistoryEvent:
    labels = {"alertname": "ChurnLatencyHigh"}
    if owner is not None:
        labels["owner"] = owner
    matchers = [f'{k}="{v}"' for k, v in sorted(labels.items())]
    return event(at, "silence", Labels(labels), {
        "action": action, "id": sid, "by": by, "comment": comment, "via": "api",
        "matchers": matchers, "starts_at": starts_at, "ends_at": ends_at})


def health(at: float, rule: str, state: str) -> HistoryEvent:
    return event(at, "health", Labels({"alertname": rule}), {"health": state}, rule=rule)


def report(events: Iterable[HistoryEvent], *, start: float = START, end: float = END,
           owner: str | None = None, rules: Sequence[RuleInfo] = (),
           zones: dict[str, str] | None = None, paging: dict[str, bool] | None = None,
           self_resolve_s: float = 300.0) -> Report:
    """The report over the events, sorted by time (events of the same time stay in the
    order given)."""
    settings = Settings(start=start, end=end, owner=owner, rules=tuple(rules),
                        zones=zones or {}, paging=paging or {},
                        self_resolve_s=self_resolve_s)
    return summarize(sorted(events, key=lambda e: e.at), settings, now=end)
