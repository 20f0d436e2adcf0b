"""A drift rule in the daemon: raw feature values pushed over the webhook, compared with a
baseline file at each interval; the version in the history, explain and /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from alertd.clock import FakeClock
from alertd.daemon import Daemon
from tests.daemon.helpers import config_text, start_daemon, write_workdir
from tests.daemon.rule_texts import drift_rules, training

T0 = 1_800_000_000.0
FEATURES = [f"f{i}" for i in range(40)]  # many features of one model
RULES = drift_rules(interval="5m", by="model_version, feature", severity="page")


class Harness:
    def __init__(self, tmp_path: Path, daemon: Daemon, clock: FakeClock) -> None:
        self.tmp_path = tmp_path
        self.daemon = daemon
        self.clock = clock
        self.http = aiohttp.ClientSession()

    async def push(self, version: str, drifted: set[str], at: float) -> None:
        """200 values of every feature, in one request of batched observations."""
        body = [{"metric": "feature_value",
                 "labels": {"model": "churn", "model_version": version, "feature": f},
                 "values": [float(i + (150 if f in drifted else 0)) for i in range(200)],
                 "timestamp": at} for f in FEATURES]
        async with self.http.post(self.daemon.listen_url + "/api/alertd/v1/samples",
                                  json=body) as resp:
            assert resp.status == 202, await resp.text()

    async def text(self, path: str) -> str:
        async with self.http.get(self.daemon.listen_url + path) as resp:
            assert resp.status == 200
            return await resp.text()

    def firing(self) -> list[tuple[str, str]]:
        state = self.daemon.manager.evaluator.states["FeatureDrift"]
        return sorted((i.labels["model_version"], i.labels["feature"])
                      for i in state.instances.values() if i.status.value == "firing")

    async def transitions(self) -> list[dict[str, Any]]:
        assert self.daemon.history is not None and self.daemon.store is not None
        await self.daemon.history.flush()
        events = await self.daemon.store.history.for_alertname("FeatureDrift")
        return [dict(e.details) for e in events if e.kind == "transition"]


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    path = write_workdir(tmp_path, {"drift.rules": RULES, "train.csv": training(FEATURES)},
                         config_text())
    clock = FakeClock(T0)
    daemon = await start_daemon(path, clock)
    h = Harness(tmp_path, daemon, clock)
    yield h
    await h.http.close()
    await daemon.stop()


async def test_drifting_features_fire_at_the_interval_with_the_baseline_version(
        harness: Harness) -> None:
    await harness.push("v1", {"f3", "f17"}, T0 - 120)
    await harness.push("v2", set(), T0 - 120)
    await harness.daemon.run_until_idle()
    # Not evaluated as samples arrive: a drift rule keeps to its interval.
    assert harness.daemon.manager.evaluator.states["FeatureDrift"].last_eval is None
    await harness.daemon.evaluate_due(T0 + 300, T0)
    assert harness.firing() == [("v1", "f17"), ("v1", "f3")]

    assert [(t["to"], t["baseline"]) for t in await harness.transitions()] == [
        ("firing", "train@1"), ("firing", "train@1")]
    explained = await harness.text("/api/alertd/v1/history?format=text&alertname=FeatureDrift")
    assert "firing    value=" in explained and "(baseline train@1)" in explained

    metrics = await harness.text("/metrics")
    scores = [line for line in metrics.splitlines() if line.startswith("alertd_drift_score{")]
    assert len(scores) == 2 * len(FEATURES)
    assert ('alertd_drift_score{feature="f3",method="psi",model_version="v1",'
            'rule="FeatureDrift"}') in metrics
    assert 'alertd_drift_score{feature="f3",method="psi",model_version="v2",' \
           'rule="FeatureDrift"} 0.0' in metrics


async def test_a_changed_baseline_file_is_a_new_version_at_reload(harness: Harness) -> None:
    (harness.tmp_path / "rules" / "train.csv").write_text(training(FEATURES, shift=150))
    status = await harness.daemon.reload()
    assert status.success, status.error
    await harness.push("v1", set(), T0 - 120)  # now every feature drifts from version 2
    await harness.daemon.evaluate_due(T0 + 300, T0)
    assert len(harness.firing()) == len(FEATURES)
    assert {t["baseline"] for t in await harness.transitions()} == {"train@2"}


async def test_a_broken_baseline_file_keeps_the_old_rules(harness: Harness) -> None:
    (harness.tmp_path / "rules" / "train.csv").write_text("f0\n1\n2\n")
    status = await harness.daemon.reload()
    assert not status.success
    assert status.error is not None
    assert status.error.startswith("1 error in rule files:")
    assert 'drift.rules:2:10: baseline "train":' in status.error
    assert 'column "f0": too few reference values for 10 bins: 2' in status.error
    await harness.push("v1", {"f3"}, T0 - 120)
    await harness.daemon.evaluate_due(T0 + 300, T0)
    assert harness.firing() == [("v1", "f3")]
