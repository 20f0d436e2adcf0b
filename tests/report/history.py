"""A constructed alert history for the report's end-to-end tests: a week of pages with
known counts, written to a store as the daemon writes them."""

from __future__ import annotations

from dataclasses import dataclass

from alertd.history import HistoryEvent, event
from alertd.model import Labels
from alertd.store import Store

WEEK_START = 1_795_392_000.0  # Monday 2026-11-23T00:00:00Z
DAY = 86400.0
WEEK_END = WEEK_START + 7 * DAY
HOUR = 3600.0


@dataclass(frozen=True)
class Paged:
    """One firing that paged: when (seconds into the week), which rule and owner."""

    at: float
    rule: str
    owner: str
    acked_after: float | None = 300.0
    lasts: float = 1800.0
    instance: str = "a"


def page_events(p: Paged, number: int) -> list[HistoryEvent]:
    labels = Labels({"alertname": p.rule, "owner": p.owner, "severity": "page",
                     "instance": p.instance})
    at = WEEK_START + p.at
    group_key = f'{{}}:{{alertname="{p.rule}"}}'
    events = [
        event(at, "transition", labels, {"from": "pending", "to": "firing", "value": 1.0},
              rule=p.rule),
        event(at, "route", labels, {"receiver": "pager", "route": "{}", "group_key": group_key},
              rule=p.rule),
        event(at + 10, "delivery", labels, {
            "receiver": "pager", "integration": "slack", "attempt": 1, "outcome": "ok",
            "group_key": group_key, "delivery": f"d{number:04d}", "reason": "first"},
            rule=p.rule),
    ]
    if p.acked_after is not None:
        events.append(event(at + 10 + p.acked_after, "ack", labels,
                            {"by": "alice", "via": "slack", "group_key": group_key},
                            rule=p.rule))
    events.append(event(at + p.lasts, "transition", labels, {
        "from": "firing", "to": "resolved", "value": 0.0, "reason": "condition_gone"},
        rule=p.rule))
    return events


# Business hours on Monday, an evening, two nights; ChurnLatencyP99High pages most.
WEEK = (
    Paged(10 * HOUR, "ChurnLatencyP99High", "ml-platform"),
    Paged(11 * HOUR, "ChurnLatencyP99High", "ml-platform", acked_after=None, lasts=120.0),
    Paged(DAY + 3 * HOUR, "ChurnLatencyP99High", "ml-platform", acked_after=900.0),
    Paged(2 * DAY + 19 * HOUR, "ChurnLatencyP99High", "ml-platform", instance="b"),
    Paged(2 * DAY + 14 * HOUR, "FraudScoreDrift", "risk", lasts=4 * HOUR),
    Paged(4 * DAY + 23 * HOUR, "FraudScoreDrift", "risk", acked_after=None, lasts=60.0),
)
# The week before: fewer pages, for the changes.
WEEK_BEFORE = (
    Paged(-5 * DAY + 10 * HOUR, "ChurnLatencyP99High", "ml-platform"),
    Paged(-3 * DAY + 15 * HOUR, "FraudScoreDrift", "risk"),
)


async def write_history(store: Store) -> int:
    """The pages of WEEK and WEEK_BEFORE in the store's history; how many pages in WEEK."""
    events = [e for i, p in enumerate((*WEEK_BEFORE, *WEEK)) for e in page_events(p, i)]
    await store.history.append(sorted(events, key=lambda e: e.at))
    return len(WEEK)


RULES = """\
group churn {
  owner = "ml-platform"

  alert ChurnLatencyP99High {
    when     = churn_latency > 1
    severity = "page"
    runbook  = "https://runbooks.example.com/churn"
  }
}

group fraud {
  alert FraudScoreDrift {
    when     = fraud_drift > 0.25
    severity = "page"
  }

  alert QuietRule {
    when  = quiet > 1
    owner = "ml-platform"
  }
}
"""

OWNERS = """\
owners:
  - name: risk
    matchers: [alertname=~"Fraud.*"]
    runbook_base_url: https://runbooks.example.com/risk
  - name: ml-platform
"""
