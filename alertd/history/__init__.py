"""Alert history: every decision taken about an alert, as an append-only list of events.

`alertd explain` and the history endpoint read it back (explain.py); the weekly noise report
is computed from it. An event names the alert (fingerprint and labels) and copies the
fields reports group and filter by (alertname, rule, owner, severity); what is particular
to its kind is in `details`. The functions below build each kind with the detail keys the
readers rely on:

    transition  from, to, value, expr?, reason?, inputs?, baseline?   the state changed (value that
                caused it); reason, for a change to resolved or inactive: condition_gone,
                clear, keep_firing_for_ended, nodata, ends_at_passed, rule_removed;
                inputs, for a composite rule's change to pending or firing: what made it,
                a list of {expr, value, op?, threshold?, unit?, alert?, state?, labels?}
                (alertd.rules.inputs); baseline, for a rule with drift functions: the
                baseline versions they compared with (`churn-training@3`)
    route       receiver, route, group_key   a route took the alert into an aggregation group
    silenced    silences, until?             silences muted it at a flush (ids; latest end)
    inhibited   sources                      alerts inhibiting it (fingerprints)
    muted       receiver, group_key, reason  a time interval held the route quiet
    dedup       receiver, group_key, send, reason      notify the receiver or not, and why
    delivery    receiver, integration, attempt, outcome (ok|failed|retry), group_key,
                delivery, reason, status?, error?, channel?, ts?   (Slack: the page)
    ack         by, via (slack|pagerduty|api), group_key?, delivery?   a responder
                acknowledged it (via pagerduty: the acknowledgement reached PagerDuty)
    feedback    by, verdict (useful|noise), reason?, comment?, group_key?, delivery?,
                channel?, ts?                a responder's judgement of a page; reason for
                noise: too_sensitive, not_actionable, duplicate, wrong_team, other
    silence     action (created|changed|expired|expired_on_resolve), id, by, comment, via
                (api|cli|slack), matchers, starts_at, ends_at   a silence's lifecycle; its
                labels are the silence's equality matchers
    health      health (ok|error|nodata), error?   a rule's health changed; labels
                {alertname: rule}

Every event of an alert is under the fingerprint of its labels as stored (owner attached),
and carries the rule's name when the alert comes from one of alertd's rules.

A notification carries a whole group, so dedup and delivery are recorded once per alert in
it; count pages as distinct (receiver, group_key, at) of successful deliveries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from alertd.model import ALERTNAME, Labels

KINDS = ("transition", "route", "silenced", "inhibited", "muted", "dedup", "delivery", "ack",
         "feedback", "silence", "health")
OUTCOMES = ("ok", "failed", "retry")
SILENCE_ACTIONS = ("created", "changed", "expired", "expired_on_resolve")


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    at: float
    kind: str
    fingerprint: str
    alertname: str
    rule: str | None
    owner: str | None
    severity: str | None
    labels: Labels
    details: Mapping[str, Any]


def event(at: float, kind: str, labels: Labels, details: Mapping[str, Any], *,
          rule: str | None = None) -> HistoryEvent:
    """An event about the alert with these labels; alertname, owner, severity come from them."""
    if kind not in KINDS:
        raise ValueError(f'unknown history event kind "{kind}"')
    return HistoryEvent(at, kind, labels.fingerprint(), labels.get(ALERTNAME), rule,
                        labels.get("owner") or None, labels.get("severity") or None, labels,
                        MappingProxyType({k: v for k, v in details.items() if v is not None}))


def transition(at: float, labels: Labels, *, old: str, new: str, value: float,
               expr: str | None = None, rule: str | None = None,
               reason: str | None = None,
               inputs: Sequence[Mapping[str, Any]] | None = None,
               baseline: str | None = None) -> HistoryEvent:
    details: dict[str, Any] = {"from": old, "to": new, "value": value, "expr": expr,
                               "reason": reason}
    # Only composite and drift rules have these: left out, not stored as null, on the
    # transitions of every other rule.
    if inputs:
        details["inputs"] = list(inputs)
    if baseline is not None:
        details["baseline"] = baseline
    return event(at, "transition", labels, details, rule=rule)


def routed(at: float, labels: Labels, *, receiver: str, route: str, group_key: str,
           rule: str | None = None) -> HistoryEvent:
    return event(at, "route", labels, {"receiver": receiver, "route": route,
                                       "group_key": group_key}, rule=rule)


def silenced(at: float, labels: Labels, *, silences: Iterable[str], until: float | None = None,
             rule: str | None = None) -> HistoryEvent:
    return event(at, "silenced", labels, {"silences": sorted(silences), "until": until},
                 rule=rule)


def inhibited(at: float, labels: Labels, *, sources: Iterable[str],
              rule: str | None = None) -> HistoryEvent:
    return event(at, "inhibited", labels, {"sources": sorted(sources)}, rule=rule)


def dedup(at: float, labels: Labels, *, receiver: str, group_key: str, send: bool, reason: str,
          rule: str | None = None) -> HistoryEvent:
    return event(at, "dedup", labels, {"receiver": receiver, "group_key": group_key,
                                       "send": send, "reason": reason}, rule=rule)


def delivery(at: float, labels: Labels, *, receiver: str, integration: str, attempt: int,
             outcome: str, status: int | None = None, error: str | None = None,
             group_key: str | None = None, rule: str | None = None,
             delivery_id: str | None = None, reason: str | None = None,
             channel: str | None = None, ts: str | None = None) -> HistoryEvent:
    if outcome not in OUTCOMES:
        raise ValueError(f'unknown delivery outcome "{outcome}"')
    return event(at, "delivery", labels, {
        "receiver": receiver, "integration": integration, "attempt": attempt,
        "outcome": outcome, "status": status, "error": error, "group_key": group_key,
        "delivery": delivery_id, "reason": reason, "channel": channel, "ts": ts,
    }, rule=rule)


def ack(at: float, labels: Labels, *, by: str, via: str | None = None,
        rule: str | None = None, group_key: str | None = None,
        delivery_id: str | None = None) -> HistoryEvent:
    return event(at, "ack", labels, {"by": by, "via": via, "group_key": group_key,
                                     "delivery": delivery_id}, rule=rule)


def feedback(at: float, labels: Labels, *, by: str, verdict: str, comment: str | None = None,
             rule: str | None = None, reason: str | None = None,
             group_key: str | None = None, delivery_id: str | None = None,
             channel: str | None = None, ts: str | None = None) -> HistoryEvent:
    return event(at, "feedback", labels, {
        "by": by, "verdict": verdict, "reason": reason, "comment": comment,
        "group_key": group_key, "delivery": delivery_id, "channel": channel, "ts": ts,
    }, rule=rule)


def silence(at: float, labels: Labels, *, action: str, silence_id: str, by: str,
            comment: str, via: str | None, matchers: Sequence[str], starts_at: float,
            ends_at: float) -> HistoryEvent:
    """A silence's lifecycle; `labels` are its equality matchers (so that the event is
    found with the alerts it silences), `matchers` all of them as text (`name="value"`)."""
    if action not in SILENCE_ACTIONS:
        raise ValueError(f'unknown silence action "{action}"')
    return event(at, "silence", labels, {
        "action": action, "id": silence_id, "by": by, "comment": comment, "via": via,
        "matchers": list(matchers), "starts_at": starts_at, "ends_at": ends_at,
    })
