"""The daemon in process: pushed samples, streaming evaluation, reloads and restarts.

Time is a fake clock; evaluation is driven with evaluate_due() and run_until_idle(), so
nothing here waits for a timer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from alertd.clock import FakeClock
from alertd.config import load_config
from alertd.daemon import Daemon
from tests.daemon.harness import (  # noqa: F401 (the harness fixture)
    RULES,
    T0,
    Harness,
    harness_fixture,
    start,
    write_config,
)


def sample(metric: str, version: str, value: float, **labels: str) -> dict[str, Any]:
    return {"metric": metric, "labels": {"model": "churn", "version": version, **labels},
            "value": value}


async def test_a_pushed_sample_fires_a_streaming_rule_at_once(harness: Harness) -> None:
    resp = await harness.push([sample("errors", "v1", 3), sample("errors", "v2", 9)])
    assert resp.status == 202
    await harness.daemon.run_until_idle()
    firing = await harness.firing()
    assert list(firing) == ["ErrorsHigh/v2"]
    alert = firing["ErrorsHigh/v2"]
    assert alert["labels"] == {"alertname": "ErrorsHigh", "model": "churn", "version": "v2",
                               "owner": "ml", "severity": "page"}
    assert alert["annotations"] == {"summary": "v2 has 9.0 errors",
                                    "runbook_url": "https://runbooks.example.com/errors"}
    assert alert["status"]["state"] == "active"
    assert "FIRING   ErrorsHigh" in harness.out.getvalue()


async def test_for_is_respected_on_group_ticks(harness: Harness) -> None:
    await harness.push([sample("latency", "v1", 0.4)])
    await harness.daemon.run_until_idle()
    assert harness.instances("LatencyHigh")["v1"].status.value == "pending"
    active_at = harness.instances("LatencyHigh")["v1"].active_at
    # Keep the sample fresh and let the group tick for 6 minutes (ticks fall at the
    # group's offset within each minute, so the fifth one may come just before 5m).
    last = T0
    for minute in range(1, 7):
        harness.clock.set(T0 + minute * 60)
        await harness.push([sample("latency", "v1", 0.4)])
        await harness.daemon.evaluate_due(harness.clock.now(), last)
        last = harness.clock.now()
    inst = harness.instances("LatencyHigh")["v1"]
    assert inst.status.value == "firing" and inst.active_at == active_at
    assert inst.fired_at is not None and inst.fired_at - active_at >= 300


async def test_invalid_samples_are_named_and_valid_ones_kept(harness: Harness) -> None:
    resp = await harness.push([sample("errors", "v3", 8), {"metric": "errors", "valeu": 1}])
    assert resp.status == 400
    await harness.daemon.run_until_idle()
    assert "ErrorsHigh/v3" in await harness.firing()


async def test_failed_reload_keeps_the_old_rules(harness: Harness, tmp_path: Path) -> None:
    (tmp_path / "rules" / "broken.rules").write_text("alert Broken {\n  when = rat(x[5m])\n}\n")
    async with harness.http.post(harness.daemon.listen_url + "/-/reload") as resp:
        assert resp.status == 500
        body = await resp.json()
    assert 'unknown function "rat"' in body["error"]
    status = await harness.get("/api/alertd/v1/status")
    assert status["lastReload"]["success"] is False
    assert "broken.rules:2:10" in status["lastReload"]["error"]
    async with harness.http.get(harness.daemon.listen_url + "/metrics") as resp:
        assert "alertd_config_last_reload_successful 0.0" in await resp.text()
    # The old rules still run.
    await harness.push([sample("errors", "v4", 10)])
    await harness.daemon.run_until_idle()
    assert "ErrorsHigh/v4" in await harness.firing()


async def test_reload_keeps_pending_progress(harness: Harness, tmp_path: Path) -> None:
    await harness.push([sample("latency", "v1", 0.4)])
    await harness.daemon.run_until_idle()
    active_at = harness.instances("LatencyHigh")["v1"].active_at
    harness.clock.set(T0 + 120)
    # A change elsewhere in the file: LatencyHigh itself is unchanged.
    (tmp_path / "rules" / "model.rules").write_text(RULES.replace('"page"', '"critical"'))
    status = await harness.daemon.reload()
    assert status.success
    assert harness.instances("LatencyHigh")["v1"].active_at == active_at
    assert harness.instances("LatencyHigh")["v1"].status.value == "pending"


async def test_restart_restores_state_without_new_transitions(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    first = await start(tmp_path, clock)
    await first.push([sample("errors", "v2", 9), sample("latency", "v1", 0.4)])
    await first.daemon.run_until_idle()
    assert "ErrorsHigh/v2" in await first.firing()
    pending_since = first.instances("LatencyHigh")["v1"].active_at
    await first.http.close()
    await first.daemon.stop()

    clock.set(T0 + 30)
    second = await start(tmp_path, clock)
    try:
        # The firing alert is there at once, and nothing was announced again.
        assert "ErrorsHigh/v2" in await second.firing()
        assert second.out.getvalue() == ""
        assert second.instances("LatencyHigh")["v1"].active_at == pending_since
        # The pushed samples came back too (the windows are saved at shutdown).
        assert len(second.daemon.windows.store) == 2
    finally:
        await second.http.close()
        await second.daemon.stop()


async def test_rules_and_status_endpoints(harness: Harness) -> None:
    await harness.push([sample("latency", "v1", 0.4)])
    await harness.daemon.run_until_idle()
    rules = await harness.get("/api/alertd/v1/rules")
    (group,) = rules["groups"]
    by_name = {r["name"]: r for r in group["rules"]}
    latency = by_name["LatencyHigh"]
    assert latency["health"] == "ok" and latency["streaming"] is True
    assert latency["instances"][0]["state"] == "pending"
    status = await harness.get("/api/alertd/v1/status")
    assert status["rules"] == 2 and status["sources"]["webhook"]["ingested"] == 1
    async with harness.http.get(harness.daemon.listen_url + "/-/healthy") as resp:
        assert resp.status == 200
    async with harness.http.get(harness.daemon.listen_url + "/-/ready") as resp:
        assert resp.status == 200


async def test_series_limit_rejects_new_series_with_a_reason(harness: Harness) -> None:
    harness.daemon.windows.max_series_per_metric = 2
    resp = await harness.push([sample("errors", "v1", 1), sample("errors", "v2", 1),
                               sample("errors", "v3", 1)])
    assert resp.status == 422
    async with harness.http.post(harness.daemon.listen_url + "/api/alertd/v1/samples",
                                 json=[sample("errors", "v4", 1)]) as r:
        body = await r.json()
    assert body["accepted"] == 0
    assert "already has 2 series" in body["errors"][0]["message"]
    # Existing series still take samples; one at a time that went back is refused.
    harness.clock.advance(15)
    assert (await harness.push([sample("errors", "v1", 7)])).status == 202
    late = {**sample("errors", "v1", 8), "timestamp": T0}
    async with harness.http.post(harness.daemon.listen_url + "/api/alertd/v1/samples",
                                 json=[late]) as r:
        assert r.status == 422
        assert "is not after the last one" in (await r.json())["errors"][0]["message"]


async def test_arrivals_are_coalesced_into_one_evaluation(harness: Harness) -> None:
    for version in ("v1", "v2", "v3"):
        assert (await harness.push([sample("errors", version, 9)])).status == 202
    before = harness.daemon.scheduler.streaming_runs
    await harness.daemon.run_until_idle()
    await harness.daemon.run_until_idle()  # nothing new arrived: nothing to do
    assert harness.daemon.scheduler.streaming_runs == before + 1
    assert len(await harness.firing()) == 3


async def test_alerts_api_filters_like_amtool(harness: Harness) -> None:
    await harness.push([sample("errors", "v1", 9), sample("errors", "v2", 9)])
    await harness.daemon.run_until_idle()
    alerts = await harness.get('/api/v2/alerts?filter=version="v2"&filter=alertname=~"Err.*"')
    assert [a["labels"]["version"] for a in alerts] == ["v2"]
    async with harness.http.get(harness.daemon.listen_url
                                + "/api/v2/alerts?filter=nonsense") as resp:
        assert resp.status == 400


async def test_metrics_report_ingest_and_evaluation(harness: Harness) -> None:
    await harness.push([sample("errors", "v1", 9), {"metric": "errors"}])
    await harness.daemon.run_until_idle()
    async with harness.http.get(harness.daemon.listen_url + "/metrics") as resp:
        text = await resp.text()
    assert 'alertd_samples_ingested_total{source="webhook"} 1.0' in text
    assert 'alertd_rule_evaluations_total{rule="ErrorsHigh"}' in text
    assert 'alertd_rule_health{health="ok",rule="ErrorsHigh"} 1.0' in text
    assert "alertd_streaming_evaluations_total 1.0" in text


async def test_a_changed_rule_file_is_reloaded(harness: Harness, tmp_path: Path) -> None:
    assert await harness.daemon.reload_if_changed() is None
    rules = tmp_path / "rules" / "model.rules"
    rules.write_text(RULES.replace("alert LatencyHigh", "alert LatencyTooHigh"))
    status = await harness.daemon.reload_if_changed()
    assert status is not None and status.success
    assert set(harness.daemon.manager.evaluator.states) == {"ErrorsHigh", "LatencyTooHigh"}


async def test_read_tokens_protect_reads_and_write_tokens_writes(tmp_path: Path) -> None:
    config_path = write_config(tmp_path)
    config_path.write_text(config_path.read_text()
                           + "api:\n  write_tokens: [w-secret]\n  read_tokens: [r-secret]\n")
    daemon = Daemon(load_config(str(config_path)), str(config_path), FakeClock(T0))
    await daemon.start(schedule=False)
    try:
        async with aiohttp.ClientSession() as http:
            base = daemon.listen_url
            for path in ("/api/v2/alerts", "/api/v2/silences", "/api/alertd/v1/rules",
                         "/api/alertd/v1/history?alertname=X"):
                async with http.get(base + path) as resp:
                    assert resp.status == 401, path
                async with http.get(base + path,
                                    headers={"Authorization": "Bearer r-secret"}) as resp:
                    assert resp.status == 200, path
            async with http.post(base + "/api/v2/alerts", json=[],
                                 headers={"Authorization": "Bearer r-secret"}) as resp:
                assert resp.status == 401
            async with http.post(base + "/-/reload") as resp:
                assert resp.status == 401
            async with http.post(base + "/-/reload",
                                 headers={"Authorization": "Bearer w-secret"}) as resp:
                assert resp.status == 200
            async with http.get(base + "/-/healthy") as resp:
                assert resp.status == 200
    finally:
        await daemon.stop()


async def test_a_flapping_alert_is_shown_flapping_while_it_flaps(harness: Harness) -> None:
    async def errors(value: float) -> None:
        harness.clock.advance(60)
        await harness.push([sample("errors", "v1", value)])
        await harness.daemon.run_until_idle()

    async def instance() -> dict[str, Any]:
        rules = await harness.get("/api/alertd/v1/rules")
        (group,) = rules["groups"]
        (errors_high,) = [r for r in group["rules"] if r["name"] == "ErrorsHigh"]
        (found,) = errors_high["instances"]
        return dict(found)

    for n in range(13):  # fires and resolves at every evaluation, ending firing
        await errors(9 if n % 2 == 0 else 3)
    shown = await instance()
    assert shown["flapping"] is True and shown["flapScore"] > 0.5
    assert shown["stateChanges1h"] == 13
    alert = (await harness.firing())["ErrorsHigh/v1"]
    assert alert["annotations"]["flapping"] == "13 state changes in the last hour"

    await errors(3)
    harness.clock.advance(30 * 60)  # quiet: the score falls below the low threshold
    await errors(9)
    shown = await instance()
    assert shown["flapping"] is False and shown["stateChanges1h"] == 15
    assert "flapping" not in (await harness.firing())["ErrorsHigh/v1"]["annotations"]
