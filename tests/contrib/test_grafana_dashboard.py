"""The Grafana dashboard in contrib/grafana: a valid dashboard whose every query runs on a
real Prometheus scraping a running alertd, with data in the drift and SLO panels.

alertd runs as a process (real time, one-second intervals) with a drift rule, an SLO and a
rule with a misspelt selector; Prometheus scrapes its /metrics every second. Every wait
polls for a condition with a bound.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.helpers import AlertdProcess, process_in, wait_for
from tests.daemon.rule_texts import checkout_slo, drift_rules, training
from tests.fixtures.prometheus import (  # noqa: F401
    PrometheusServer,
    start_prometheus_fixture,
)

DASHBOARD = Path(__file__).resolve().parents[2] / "contrib" / "grafana" / "alertd.json"

# What Grafana puts in place of each variable when "All" (or the default) is chosen.
VALUES = {"job": ".*", "rule": ".*", "slo": ".*", "method": "psi", "__rate_interval": "1m",
          "__interval": "15s", "__range": "1h"}
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range"}
VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")

FEATURES = ["age", "tenure", "spend", "visits"]
DRIFTED = {"spend", "visits"}
RULES = drift_rules(interval="1s", by="feature", severity="ticket", more='''
  alert ChurnScoresMissing {
    when     = prediction_score{modle="churn"} < 0
    severity = "ticket"
    runbook  = "https://runbooks.example.com/scores"
  }
''') + "\n" + checkout_slo("1s")

# Panels that must show data in this set-up; the rest must at least run.
MUST_HAVE_DATA = ("alertd_drift_score", "alertd_slo_burn_rate",
                  "alertd_slo_error_budget_remaining", "alertd_rule_selectors_matching_nothing",
                  "alertd_rule_evaluations_total")
P_VALUE_METHODS = "ks_pvalue|chi2"  # no such scores here: psi only

_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def load() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return dashboard


def all_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # those of a collapsed row


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of every panel."""
    return [(p["title"], t["expr"]) for p in all_panels(dashboard) if p["type"] != "row"
            for t in p["targets"]]


def variables(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in dashboard["templating"]["list"]}


def used_variables(text: str) -> set[str]:
    return {a or b for a, b in VARIABLE.findall(text)}


def substitute(expr: str) -> str:
    return VARIABLE.sub(lambda m: VALUES[m.group(1) or m.group(2)], expr)


def test_the_dashboard_is_well_formed() -> None:
    dashboard = load()
    assert dashboard["title"] and dashboard["uid"]
    assert 36 <= dashboard["schemaVersion"] <= 41
    found = variables(dashboard)
    assert found["datasource"]["type"] == "datasource"
    assert found["datasource"]["query"] == "prometheus"
    panels = list(all_panels(dashboard))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    assert {p["title"] for p in panels if p["type"] == "row"} == {
        "Drift", "SLOs", "alertd health"}
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["title"] and panel.get("description"), panel["id"]
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for source in [panel["datasource"]] + [t["datasource"] for t in panel["targets"]]:
            # The data source chosen in the variable, never one of the author's Grafana.
            assert source == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
    for variable in found.values():
        if variable["type"] == "query":
            assert variable["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    titles = {p["title"] for p in panels}
    assert {"Top 5 drifting features", "Top 5 drifting features over time",
            "Drift score per feature", "Burn rate per window", "Error budget remaining",
            "Rules in error", "Outbox backlog", "Selectors matching nothing",
            "History events dropped (1h)"} <= titles
    top5 = [expr for title, expr in queries(dashboard) if title.startswith("Top 5")]
    assert top5 and all(expr.startswith("topk(5, ") for expr in top5)
    # Every variable a query uses is defined on the dashboard or built into Grafana.
    texts = [expr for _, expr in queries(dashboard)] + [
        v["definition"] for v in found.values() if v["type"] == "query"]
    for text in texts:
        assert used_variables(text) <= set(found) | GRAFANA_BUILTINS, text
        assert used_variables(text) <= set(VALUES) | {"datasource"}, text


# --- against a real Prometheus scraping a running alertd --------------------------------


def query(prometheus: PrometheusServer, expr: str) -> dict[str, Any]:
    """The whole answer of /api/v1/query, including a rejected query's error."""
    url = f"{prometheus.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with _HTTP.open(url, timeout=5) as resp:
            body: dict[str, Any] = json.load(resp)
    except urllib.error.HTTPError as e:
        body = json.load(e)
    return body


def label_values(prometheus: PrometheusServer, definition: str) -> list[str]:
    """What Grafana's label_values(selector, label) asks Prometheus for."""
    match = re.fullmatch(r"label_values\((.+), (\w+)\)", definition)
    assert match, definition
    selector, label = match.groups()
    url = f"{prometheus.url}/api/v1/label/{label}/values?" + urllib.parse.urlencode(
        {"match[]": substitute(selector)})
    with _HTTP.open(url, timeout=5) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    values: list[str] = body["data"]
    return values


def features() -> list[dict[str, Any]]:
    return [{"metric": "feature_value", "labels": {"model": "churn", "feature": f},
             "values": [float(i + (150 if f in DRIFTED else 0)) for i in range(200)]}
            for f in FEATURES]


def requests(n: int) -> list[dict[str, Any]]:
    """Counters after `n` pushes: 100 requests each time, 5 of them failing."""
    return [{"metric": "requests_total", "labels": {"code": "200"}, "value": 95.0 * n},
            {"metric": "requests_total", "labels": {"code": "500"}, "value": 5.0 * n}]


@pytest.fixture
def alertd(tmp_path: Path) -> Iterator[AlertdProcess]:
    proc = process_in(tmp_path / "alertd",
                      {"ml.rules": RULES, "train.csv": training(FEATURES)})
    try:
        yield proc
    finally:
        proc.stop()


def metrics_text(alertd: AlertdProcess) -> str:
    with _HTTP.open(alertd.url + "/metrics", timeout=5) as resp:
        text: str = resp.read().decode()
        return text


def test_every_query_runs_on_prometheus_scraping_alertd(
        alertd: AlertdProcess, start_prometheus: Callable[..., PrometheusServer]) -> None:
    dashboard = load()
    alertd.start()
    prometheus = start_prometheus(targets=[f"127.0.0.1:{alertd.port}"])
    pushes = 0

    def push_and_check() -> bool:
        nonlocal pushes
        pushes += 1
        alertd.push(features() + requests(pushes))
        text = metrics_text(alertd)
        return ("alertd_drift_score{" in text and "alertd_slo_burn_rate{" in text
                and "alertd_slo_error_budget_remaining{" in text)

    wait_for(push_and_check, timeout=15, what="drift scores and SLO figures on /metrics")
    prometheus.wait_for_scrape(timeout=20)
    # Two scrapes with the figures, so that rate() and increase() have two points.
    prometheus.wait_for_value(
        'count_over_time(alertd_slo_error_budget_remaining{slo="checkout"}[1m]) >= 2',
        timeout=15)

    for variable in variables(dashboard).values():
        if variable["type"] == "query":
            assert label_values(prometheus, variable["definition"]), variable["name"]

    results: dict[str, dict[str, Any]] = {}
    for title, expr in queries(dashboard):
        answer = query(prometheus, substitute(expr))
        assert answer["status"] == "success", (title, expr, answer)
        results[expr] = answer
    for title, expr in queries(dashboard):
        if any(name in expr for name in MUST_HAVE_DATA) and P_VALUE_METHODS not in expr:
            assert results[expr]["data"]["result"], f"{title}: no data for {expr}"

    top5 = next(expr for title, expr in queries(dashboard)
                if title == "Top 5 drifting features")
    rows = results[top5]["data"]["result"]
    assert {r["metric"]["feature"] for r in rows} == set(FEATURES)  # only four features
    ranked = sorted(rows, key=lambda r: -float(r["value"][1]))
    assert {r["metric"]["feature"] for r in ranked[:2]} == DRIFTED
    assert all(r["metric"]["rule"] == "FeatureDrift" for r in rows)
    burn = next(expr for title, expr in queries(dashboard) if title == "Burn rate now")
    windows = {r["metric"]["window"] for r in results[burn]["data"]["result"]}
    assert {"5m", "1h"} <= windows
    selectors = next(expr for title, expr in queries(dashboard)
                     if title == "Selectors matching nothing, by rule")
    assert [r["metric"]["rule"] for r in results[selectors]["data"]["result"]] == [
        "ChurnScoresMissing"]
