"""A constructed week for the recommendations, with its answers worked out by hand.

Rules (evaluated every minute, owner ml in Europe/Berlin, paged through Slack with
group_by [alertname, instance], group_wait 30s, group_interval 5m):

- Flappy (for 1m): 20 firings of host-1, one every 8 hours from Monday 01:00 UTC. The
  condition holds 4 minutes (pending at s, firing at s+1m, resolved at s+4m, paged at
  s+1m30s), except the 6th firing's, which holds 20 minutes and was acknowledged.
- Barks (for 0s): 10 firings of host-2, one every 12 hours from Monday 02:00 UTC, each
  holding 3 minutes (paged at s+30s); the 4th page was acknowledged.
- Useless (for 0s): 5 firings of host-3, one a day from Monday 14:00 UTC (afternoon in
  Berlin), each holding 10 minutes; nobody acted on any.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from alertd.history import HistoryEvent, transition
from alertd.model import Labels
from tests.noise.timelines import START, acked, delivered, fire, pend, resolve

MINUTE, HOUR = 60.0, 3600.0

RULES = """group ml {
  interval = 1m
  owner    = "ml"

  # Flaps when the queue drains slowly.
  alert Flappy {
    when     = queue_depth > 10
    for      = 1m
    severity = "page"
    runbook  = "https://runbooks.example.com/flappy"
    summary  = "queue is deep"
  }

  alert Barks {
    when     = error_ratio > 0.1
    severity = "page"
    runbook  = "https://runbooks.example.com/barks"
    summary  = "errors"
  }

  alert Useless {
    when     = cpu_busy > 0.9
    severity = "page"
    runbook  = "https://runbooks.example.com/useless"
    summary  = "busy"
  }
}
"""

CONFIG = """storage: "sqlite:///data/alertd.db"
rule_files: ["ml.rules"]

route:
  receiver: ml-oncall
  group_by: [alertname, instance]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h

receivers:
  - name: ml-oncall
    slack_configs:
      - api_url: http://127.0.0.1:9/slack
        channel: "#ml-oncall"
  - name: ml-tickets
    paging: false
    webhook_configs:
      - url: http://127.0.0.1:9/tickets

owners:
  - name: ml
    timezone: Europe/Berlin
"""


def write_files(directory: Path) -> Path:
    (directory / "ml.rules").write_text(RULES, encoding="utf-8")
    config = directory / "alertd.yml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


def labels(rule: str, instance: str) -> Labels:
    return Labels({"alertname": rule, "instance": instance, "owner": "ml",
                   "severity": "page"})


def _firing(ls: Labels, start: float, *, for_: float, lasts: float, n: int,
            acked_by: str | None = None) -> list[HistoryEvent]:
    fired = start + for_
    if for_:
        out = [pend(start, ls), fire(fired, ls)]
    else:  # fired at its first evaluation
        out = [transition(start, ls, old="inactive", new="firing", value=1.0,
                          rule=ls["alertname"])]
    page = fired + 30.0
    key = f'{{}}:{{alertname="{ls["alertname"]}", instance="{ls["instance"]}"}}'
    out.append(delivered(page, ls, f'{ls["alertname"]}-{n}', receiver="ml-oncall",
                         group_key=key))
    if acked_by:
        out.append(acked(page + 2 * MINUTE, ls, acked_by))
    out.append(resolve(start + lasts, ls))
    return out


def history() -> list[HistoryEvent]:
    events: list[HistoryEvent] = []
    flappy = labels("Flappy", "host-1")
    for n in range(20):
        long = n == 5
        events += _firing(flappy, START + HOUR + n * 8 * HOUR, for_=MINUTE,
                          lasts=20 * MINUTE if long else 4 * MINUTE, n=n,
                          acked_by="alice" if long else None)
    barks = labels("Barks", "host-2")
    for n in range(10):
        events += _firing(barks, START + 2 * HOUR + n * 12 * HOUR, for_=0.0,
                          lasts=3 * MINUTE, n=n, acked_by="bob" if n == 3 else None)
    useless = labels("Useless", "host-3")
    for n in range(5):
        events += _firing(useless, START + 14 * HOUR + n * 24 * HOUR, for_=0.0,
                          lasts=10 * MINUTE, n=n)
    return sorted(events, key=lambda e: e.at)


class InMemoryHistory:
    """A HistorySource over events in hand."""

    def __init__(self, events: Iterable[HistoryEvent]) -> None:
        self.events = sorted(events, key=lambda e: e.at)

    async def between(self, since: float, until: float, kinds: Iterable[str] | None = None,
                      owner: str | None = None,
                      rule: str | None = None) -> AsyncIterator[HistoryEvent]:
        wanted = None if kinds is None else set(kinds)
        for e in self.events:
            if (since <= e.at < until and (wanted is None or e.kind in wanted)
                    and (owner is None or e.owner == owner)
                    and (rule is None or e.rule == rule)):
                yield e
