"""What the API tells about a rule beyond its health: selectors that have matched nothing
since it loaded (rules endpoint, metric, `alertd explain`), and, for a composite's alert,
its links and why it fired (alerts endpoint, history)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from alertd.clock import FakeClock
from alertd.config import load_config
from alertd.daemon import Daemon

T0 = 1_800_000_000.0

RULES = """\
group churn {
  interval = 1m
  owner    = "ml-platform"

  alert ChurnFeatureDrift {
    when      = feature_psi{modle="churn"} > 0.25
    dashboard = "https://grafana.example.com/d/drift?var-feature={{ labels.feature }}"
  }

  alert ChurnDrift {
    when = feature_psi{model="churn"} > 0.25
  }

  alert ChurnErrorsAndDrift {
    when          = errors{model="churn"} > 5 and on(feature) alert("ChurnDrift")
    generator_url = "https://grafana.example.com/explore?feature={{ labels.feature }}"
  }
}
"""

CONFIG = """\
listen: 127.0.0.1:0
storage: sqlite:///alertd.db
rule_files: ['rules/*.rules']
evaluation_interval: 1m
console: false
sources:
  prometheus: {enabled: false}
"""


class Harness:
    def __init__(self, daemon: Daemon, http: aiohttp.ClientSession) -> None:
        self.daemon = daemon
        self.http = http

    async def push(self, metric: str, value: float, **labels: str) -> None:
        sample = {"metric": metric, "labels": labels, "value": value}
        async with self.http.post("/api/alertd/v1/samples", json=[sample]) as resp:
            assert resp.status == 202, await resp.text()

    async def get(self, path: str) -> Any:
        async with self.http.get(path) as resp:
            assert resp.status == 200, await resp.text()
            if resp.content_type == "application/json":
                return await resp.json()
            return await resp.text()

    async def rule(self, name: str) -> dict[str, Any]:
        body = await self.get("/api/alertd/v1/rules")
        rules: dict[str, dict[str, Any]] = {r["name"]: r for g in body["groups"]
                                             for r in g["rules"]}
        return rules[name]


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "churn.rules").write_text(RULES)
    (tmp_path / "alertd.yml").write_text(CONFIG)
    path = str(tmp_path / "alertd.yml")
    daemon = Daemon(load_config(path), path, FakeClock(T0))
    await daemon.start(schedule=False)
    try:
        async with aiohttp.ClientSession(daemon.listen_url) as http:
            yield Harness(daemon, http)
    finally:
        await daemon.stop()


async def test_a_misspelt_selector_shows_in_the_rules_endpoint(harness: Harness) -> None:
    before = await harness.rule("ChurnFeatureDrift")
    assert before["selectorsMatchedNothing"] == []  # not evaluated yet since it loaded
    await harness.push("feature_psi", 0.4, model="churn", feature="tenure_days")
    await harness.daemon.evaluate_due(T0 + 60, T0)
    drift = await harness.rule("ChurnFeatureDrift")
    assert drift["health"] == "ok"
    assert drift["selectorsMatchedNothing"] == ['feature_psi{modle="churn"}']
    assert drift["selectorHints"] == {
        'feature_psi{modle="churn"}':
            'no feature_psi series has a label "modle" (did you mean "model"?)'}
    assert (await harness.rule("ChurnDrift"))["selectorsMatchedNothing"] == []


async def test_the_metric_counts_the_selectors_matching_nothing(harness: Harness) -> None:
    await harness.push("feature_psi", 0.4, model="churn", feature="tenure_days")
    await harness.daemon.evaluate_due(T0 + 60, T0)
    metrics = await harness.get("/metrics")
    lines = [line for line in metrics.splitlines()
             if line.startswith("alertd_rule_selectors_matching_nothing{")]
    assert sorted(lines) == [
        'alertd_rule_selectors_matching_nothing{rule="ChurnDrift"} 0.0',
        'alertd_rule_selectors_matching_nothing{rule="ChurnErrorsAndDrift"} 1.0',
        'alertd_rule_selectors_matching_nothing{rule="ChurnFeatureDrift"} 1.0',
    ]


async def test_explain_names_the_selector_and_the_matcher_that_empties_it(
        harness: Harness) -> None:
    await harness.push("feature_psi", 0.4, model="churn", feature="tenure_days")
    await harness.daemon.evaluate_due(T0 + 60, T0)
    text = await harness.get("/api/alertd/v1/history?format=text&alertname=ChurnFeatureDrift")
    assert text.splitlines()[:2] == [
        "rule ChurnFeatureDrift: selectors that have matched no series since the rule loaded:",
        '  feature_psi{modle="churn"}: no feature_psi series has a label "modle" '
        '(did you mean "model"?)',
    ]
    # Then its history: no data, which alone does not say why.
    assert text.splitlines()[-1].endswith("rule health nodata (its inputs returned no data)")


async def test_a_composite_alert_carries_its_link_and_why_it_fired(harness: Harness) -> None:
    await harness.push("feature_psi", 0.4, model="churn", feature="tenure_days")
    await harness.push("errors", 9, model="churn", feature="tenure_days")
    await harness.daemon.evaluate_due(T0 + 60, T0)
    (alert,) = [a for a in await harness.get("/api/v2/alerts")
                if a["labels"]["alertname"] == "ChurnErrorsAndDrift"]
    assert alert["generatorURL"] == "https://grafana.example.com/explore?feature=tenure_days"
    assert alert["annotations"]["because"] == (
        'errors{model="churn"} = 9 > 5; ChurnDrift firing (value 0.4)')
    text = await harness.get(
        "/api/alertd/v1/history?format=text&alertname=ChurnErrorsAndDrift")
    assert text.splitlines()[-1].endswith(
        'firing    value=9: fired because errors{model="churn"} = 9 > 5 and '
        'ChurnDrift firing (value 0.4)')
