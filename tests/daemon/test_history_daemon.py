"""The daemon's history as the noise report reads it: one fingerprint per alert (its owner
attached by the ownership map), the rule on every event of a rule's alert, why each alert
resolved, and the retention of `history:`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from alertd import history
from alertd.clock import FakeClock
from alertd.daemon import Daemon
from alertd.history import HistoryEvent
from alertd.model import Labels
from tests.daemon.helpers import start_daemon, write_workdir

T0 = 1_800_000_000.0

RULES = '''\
group model {
  interval = 1m

  alert ErrorsHigh {
    when     = errors{model="churn"} > 5
    severity = "page"
  }

  alert LatencyHigh {
    when     = latency{model="churn"} > 250ms
    for      = 5m
    severity = "ticket"
  }
}
'''

CONFIG = """\
listen: 127.0.0.1:0
storage: sqlite:///state/alertd.db
rule_files: ['rules/*.rules']
console: false
sources:
  prometheus: {enabled: false}
history:
  retention: 30d
route:
  receiver: console
  group_by: [alertname]
  group_wait: 0s
owners:
  - name: ml
    matchers: ['alertname=~"ErrorsHigh|LatencyHigh"']
"""


class Harness:
    def __init__(self, daemon: Daemon, clock: FakeClock, tmp_path: Path) -> None:
        self.daemon = daemon
        self.clock = clock
        self.tmp_path = tmp_path
        self.http = aiohttp.ClientSession()

    async def push(self, metric: str, value: float, version: str = "v1") -> None:
        sample = {"metric": metric, "labels": {"model": "churn", "version": version},
                  "value": value}
        async with self.http.post(self.daemon.listen_url + "/api/alertd/v1/samples",
                                  json=[sample]) as resp:
            assert resp.status == 202, await resp.text()
        await self.daemon.run_until_idle()
        n = self.daemon.notifications
        await n.dispatcher.flush_due(self.clock.now())
        await n.settle()

    async def events(self, alertname: str) -> list[HistoryEvent]:
        assert self.daemon.history is not None and self.daemon.store is not None
        await self.daemon.history.flush()
        # The alert's events: the rule's own health events are about the rule.
        return [e for e in await self.daemon.store.history.for_alertname(alertname)
                if e.kind != "health"]

    async def health(self, alertname: str) -> list[HistoryEvent]:
        assert self.daemon.history is not None and self.daemon.store is not None
        await self.daemon.history.flush()
        return [e for e in await self.daemon.store.history.for_alertname(alertname)
                if e.kind == "health"]


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    path = write_workdir(tmp_path, {"model.rules": RULES}, CONFIG)
    clock = FakeClock(T0)
    daemon = await start_daemon(path, clock)
    h = Harness(daemon, clock, tmp_path)
    yield h
    await h.http.close()
    await daemon.stop()


def summary(events: list[HistoryEvent]) -> list[tuple[str, Any, Any]]:
    return [(e.kind, e.details.get("to"), e.details.get("reason")) for e in events]


async def test_every_event_of_a_rules_alert_has_one_fingerprint_its_owner_and_its_rule(
        harness: Harness) -> None:
    await harness.push("errors", 9)
    harness.clock.advance(60)
    await harness.push("errors", 1)
    events = await harness.events("ErrorsHigh")
    (alert,) = harness.daemon.alerts.by_name("ErrorsHigh")
    assert alert.labels["owner"] == "ml"  # attached by the ownership map
    assert {(e.fingerprint, e.owner, e.rule) for e in events} == {
        (alert.fingerprint, "ml", "ErrorsHigh")}
    # The rule's health, once evaluated: under the owner the ownership map gives it.
    assert [(e.rule, e.owner, e.details["health"]) for e in await harness.health(
        "ErrorsHigh")] == [("ErrorsHigh", "ml", "ok")]
    kinds = [e.kind for e in events]
    assert {"transition", "route", "dedup", "delivery"} <= set(kinds)
    transitions = [s for s in summary(events) if s[0] == "transition"]
    assert transitions == [("transition", "firing", None),
                           ("transition", "resolved", "condition_gone")]


async def test_a_reload_that_removes_a_rule_resolves_its_alerts_for_that_reason(
        harness: Harness) -> None:
    await harness.push("errors", 9)
    await harness.push("latency", 0.5)  # pending: `for` is 5m
    harness.clock.advance(30)
    rules = harness.tmp_path / "rules" / "model.rules"
    rules.write_text('group model {\n  alert Other {\n    when = other > 1\n  }\n}\n')
    status = await harness.daemon.reload()
    assert status.success, status.error
    errors = [s for s in summary(await harness.events("ErrorsHigh")) if s[0] == "transition"]
    assert errors[-1] == ("transition", "resolved", "rule_removed")
    latency = await harness.events("LatencyHigh")
    assert [(e.details["from"], e.details["to"], e.details.get("reason"), e.owner, e.rule)
            for e in latency] == [("inactive", "pending", None, "ml", "LatencyHigh"),
                                  ("pending", "inactive", "rule_removed", "ml", "LatencyHigh")]


async def test_the_history_retention_is_applied_by_the_cleanup(harness: Harness) -> None:
    store = harness.daemon.store
    assert store is not None
    labels = Labels({"alertname": "Old"})
    await store.history.append([history.ack(T0 - 31 * 86400, labels, by="ana"),
                                history.ack(T0 - 29 * 86400, labels, by="bo")])
    await harness.daemon.notifications._collect_garbage(T0)
    kept = await store.history.for_alertname("Old")
    assert [e.details["by"] for e in kept] == ["bo"]


async def test_metrics_tell_the_history_events_lost(harness: Harness) -> None:
    async with harness.http.get(harness.daemon.listen_url + "/metrics") as resp:
        text = await resp.text()
    for reason in ("queue_full", "write_failed", "shutdown"):
        assert f'alertd_history_events_dropped_total{{reason="{reason}"}} 0.0' in text
