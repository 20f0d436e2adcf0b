"""The JSON form of the report: its exact shape, which the renderers are written against."""

from __future__ import annotations

import json

from alertd.history import HistoryEvent
from alertd.noise import RuleInfo, nearest_rank
from tests.noise.timelines import (
    DAY,
    HOUR,
    START,
    acked,
    alert,
    delivered,
    feedback,
    fire,
    report,
    resolve,
)

FIGURES = {"pages", "firings", "interruptions", "time_firing_s", "median_firing_s",
           "firing_over_7d", "self_resolved_share", "flaps_per_day", "flapping_instances",
           "ack_share", "ack_p50_s", "ack_p95_s", "unacknowledged", "ackers", "feedback",
           "silenced_s", "actionability", "eval_errors", "nodata_s"}


def sample() -> list[HistoryEvent]:
    ml, data = alert("Churn", owner="ml"), alert("Drift", owner="data")
    return [
        fire(START + HOUR, ml), delivered(START + HOUR + 30, ml, "d1"),
        acked(START + HOUR + 90, ml, "alice"),
        feedback(START + HOUR + 120, ml, "alice", "noise", reason="too_sensitive"),
        resolve(START + 2 * HOUR, ml),
        fire(START + DAY, data), delivered(START + DAY + 30, data, "d2", receiver="data"),
        resolve(START + DAY + HOUR, data),
    ]


def test_the_json_shape() -> None:
    rules = [RuleInfo("Churn", "ml", "https://runbooks/churn"), RuleInfo("Quiet", None, None)]
    body = report(sample(), rules=rules).to_json()
    json.dumps(body, allow_nan=False)  # plain JSON
    assert list(body) == ["period", "owner", "generated_at", "self_resolve_minutes", "totals",
                          "totals_previous", "rules", "owners", "pages_per_day", "silences",
                          "rule_health", "recommendations"]
    assert body["period"] == {"from": "2026-10-19T00:00:00Z", "to": "2026-10-26T00:00:00Z",
                              "previous_from": "2026-10-12T00:00:00Z",
                              "previous_to": "2026-10-19T00:00:00Z"}
    assert body["owner"] is None and body["generated_at"] == "2026-10-26T00:00:00Z"
    assert body["self_resolve_minutes"] == 5
    assert set(body["totals"]) == FIGURES == set(body["totals_previous"])
    assert set(body["totals"]["interruptions"]) == {"business", "off", "sleep"}
    assert set(body["totals"]["feedback"]) == {"useful", "noise", "reasons"}
    # Rules by pages, most first (ties by firings, then name); every known rule listed.
    assert [r["rule"] for r in body["rules"]] == ["Churn", "Drift", "Quiet"]
    for row in body["rules"]:
        assert set(row) == FIGURES | {"rule", "owner", "previous"}
        assert set(row["previous"]) == FIGURES
    assert [(r["rule"], r["owner"]) for r in body["rules"]] == [
        ("Churn", "ml"), ("Drift", "data"), ("Quiet", None)]
    assert [o["owner"] for o in body["owners"]] == ["data", "ml"]
    for row in body["owners"]:
        assert set(row) == FIGURES | {"owner", "previous"}
    assert len(body["pages_per_day"]) == 7
    # Pages at Monday 01:00:30 and Tuesday 00:00:30 UTC: sleep hours (no time zone given).
    assert body["pages_per_day"][:3] == [
        {"date": "2026-10-19", "business": 0, "off": 0, "sleep": 1},
        {"date": "2026-10-20", "business": 0, "off": 0, "sleep": 1},
        {"date": "2026-10-21", "business": 0, "off": 0, "sleep": 0}]
    assert body["silences"] == {"long_running": [], "matched_nothing": []}
    assert body["rule_health"] == {"without_owner": ["Quiet"], "without_runbook": ["Quiet"],
                                   "never_fired_90d": ["Quiet"]}
    assert body["recommendations"] == []
    churn = body["rules"][0]
    assert churn["ackers"] == {"alice": 1}
    assert churn["feedback"] == {"useful": 0, "noise": 1, "reasons": {"too_sensitive": 1}}
    assert churn["ack_p50_s"] == 60.0


def test_a_report_for_one_owner() -> None:
    got = report(sample(), owner="ml", zones={"ml": "Europe/Berlin"})
    body = got.to_json()
    assert body["owner"] == "ml"
    assert [r["rule"] for r in body["rules"]] == ["Churn"]
    assert [o["owner"] for o in body["owners"]] == ["ml"]
    assert body["totals"]["pages"] == 1
    # 01:00:30 UTC on Monday is 03:00:30 CEST: sleep, on Monday's date in Berlin.
    assert body["pages_per_day"][0] == {"date": "2026-10-19", "business": 0, "off": 0,
                                        "sleep": 1}


def test_an_empty_period() -> None:
    body = report([]).to_json()
    totals = body["totals"]
    assert (totals["pages"], totals["ack_share"], totals["median_firing_s"],
            totals["self_resolved_share"], totals["actionability"]) == (0, None, None, None,
                                                                        None)
    assert body["rules"] == [] and body["owners"] == []
    assert [d["business"] + d["off"] + d["sleep"] for d in body["pages_per_day"]] == [0] * 7


def test_nearest_rank() -> None:
    assert nearest_rank([], 0.5) is None
    assert nearest_rank([5.0], 0.95) == 5.0
    # 20 values 1..20: p95 rank ceil(19.0) = 19 (not 20, from 0.95 * 20 = 19.000000000000004)
    assert nearest_rank([float(v) for v in range(20, 0, -1)], 0.95) == 19.0
    assert nearest_rank([3.0, 1.0, 2.0], 0.5) == 2.0
