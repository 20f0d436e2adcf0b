"""PagerDuty Events API v2 bodies: what the incident says, within PagerDuty's limits."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertd.alerts.model import Alert
from alertd.model import Labels
from alertd.receivers import Notification
from alertd.receivers import pagerduty_event as events
from alertd.receivers.page import PageView, page_view

NOW = datetime(2026, 1, 2, 10, 16, 30, 250_000, tzinfo=UTC).timestamp()
MINUTE = 60.0
NAME = "ChurnModelDrift"
KEY = "e93facc04764012d7bfb002500d5d1a6"
GROUP_KEY = '{}:{alertname="ChurnModelDrift"}'
LIMIT = 512_000  # the smaller reading of PagerDuty's "512 KB"


def alert(*, severity: str = "critical", owner: str = "ml-platform",
          started: float = NOW - 12 * MINUTE, ended: float | None = None, summary: str = "",
          value: float | None = None, runbook: str = "", graph: str = "",
          **labels: str) -> Alert:
    base = {"alertname": NAME, "severity": severity, "owner": owner, **labels}
    annotations = {k: v for k, v in (("summary", summary), ("runbook_url", runbook)) if v}
    return Alert(Labels({k: v for k, v in base.items() if v}), annotations, started, ended,
                 started, generator_url=graph, value=value)


def view(*alerts: Alert) -> PageView:
    n = Notification("team-ml/pagerduty", GROUP_KEY, Labels({"alertname": NAME}), alerts, NOW)
    return page_view(n, reason="first notification")


def trigger(page: PageView, **overrides: Any) -> dict[str, Any]:
    return events.trigger(page, routing_key=KEY, dedup_key=events.dedup_key(GROUP_KEY),
                          **overrides)


def size(event: dict[str, Any]) -> int:
    """Bytes on the wire, whatever the JSON encoder's settings (ASCII escapes are longest)."""
    return max(len(json.dumps(event, allow_nan=False).encode()),
               len(json.dumps(event, ensure_ascii=False, allow_nan=False).encode()))


# Severity.

@pytest.mark.parametrize(("label", "level"), [
    *[(s, "critical") for s in ("critical", "page", "p1", "fatal", "emergency", "CRITICAL")],
    *[(s, "error") for s in ("error", "high", "major", "p2", "High")],
    *[(s, "warning") for s in ("warning", "warn", "medium", "minor", "p3", " Warn ")],
    *[(s, "info") for s in ("info", "low", "ticket", "none", "p4", "p5", "TICKET")],
    ("sev9", "error"), ("", "error"),
])
def test_severity_labels_map_to_pagerdutys_four(label: str, level: str) -> None:
    assert events.severity(label) == level


def test_an_unknown_severity_takes_the_default() -> None:
    assert events.severity("whatever", default="warning") == "warning"


def test_the_severity_comes_from_the_label_or_the_override() -> None:
    assert trigger(view(alert(severity="p3")))["payload"]["severity"] == "warning"
    assert trigger(view(alert(severity="")))["payload"]["severity"] == "error"
    # An override outside PagerDuty's four is mapped too, rather than refused by PagerDuty.
    assert trigger(view(alert()), severity="page")["payload"]["severity"] == "critical"
    assert trigger(view(alert()), severity="info")["payload"]["severity"] == "info"


# Dedup keys.

def test_the_dedup_key_is_alertmanagers() -> None:
    assert events.dedup_key(GROUP_KEY) == hashlib.sha256(GROUP_KEY.encode()).hexdigest()
    assert len(events.dedup_key("x" * 10_000)) == 64


def test_acknowledge_and_resolve_name_the_incident() -> None:
    assert events.acknowledge(KEY, "abc") == {
        "routing_key": KEY, "event_action": "acknowledge", "dedup_key": "abc"}
    assert events.resolve(KEY, "abc") == {
        "routing_key": KEY, "event_action": "resolve", "dedup_key": "abc"}


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_a_dedup_key_pagerduty_would_refuse_is_a_caller_bug(key: str) -> None:
    with pytest.raises(ValueError, match="dedup key"):
        events.resolve(KEY, key)
    if key:
        with pytest.raises(ValueError, match="dedup key"):
            events.trigger(view(alert()), routing_key=KEY, dedup_key=key)


def test_a_dedup_key_of_255_is_fine() -> None:
    assert events.acknowledge(KEY, "k" * 255)["dedup_key"] == "k" * 255


# The trigger event.

def test_a_trigger_says_what_broke_where_and_since_when() -> None:
    group = [alert(summary="churn drifted", instance=f"db{i}", job="churn", team="ml",
                   service="churn-api", value=0.25 * i) for i in range(3)]
    event = trigger(view(*group), client_url="https://alertd.example.com")
    assert event["routing_key"] == KEY and event["event_action"] == "trigger"
    assert event["dedup_key"] == events.dedup_key(GROUP_KEY)
    assert event["client"] == "alertd" and event["client_url"] == "https://alertd.example.com"
    payload = event["payload"]
    assert payload["summary"] == f"[FIRING:3] {NAME} — churn drifted"
    assert payload["source"] == "churn"  # the common job: the instances differ
    assert payload["severity"] == "critical"
    assert payload["timestamp"] == "2026-01-02T10:04:30.250+0000"
    assert payload["component"] == "churn-api"
    assert payload["group"] == "ml"
    assert payload["class"] == NAME
    details = payload["custom_details"]
    assert details["firing"] == 3 and details["resolved"] == 0
    assert details["labels"] == {"job": "churn", "service": "churn-api", "team": "ml"}
    # The worst value, and the alerts worst first.
    assert details["value"] == 0.5 and details["owner"] == "ml-platform"
    assert details["alerts"][1] == {"status": "firing", "labels": {"instance": "db1"},
                                    "value": 0.25, "starts_at": "2026-01-02T10:04:30.250+0000"}
    assert "truncated_alerts" not in details


def test_defaults_when_labels_say_little() -> None:
    payload = trigger(view(alert(summary="")))["payload"]
    assert payload["source"] == "alertd"
    assert payload["group"] == "ml-platform"  # the owner
    assert payload["summary"] == f"[FIRING:1] {NAME}"
    assert "component" not in payload


def test_the_instance_is_the_source() -> None:
    assert trigger(view(alert(instance="db1:9100", job="node")))["payload"]["source"] == "db1:9100"


def test_overrides_win() -> None:
    event = trigger(view(alert(summary="s", instance="db1")), source="db1.example.com",
                    component="mysql", group="prod", class_="disk", summary="Disk full",
                    details={"free space": "1%", "owner": "dba"}, client="Alert daemon")
    payload = event["payload"]
    assert (payload["source"], payload["component"], payload["group"], payload["class"],
            payload["summary"]) == ("db1.example.com", "mysql", "prod", "disk", "Disk full")
    assert payload["custom_details"]["free space"] == "1%"
    assert payload["custom_details"]["owner"] == "dba"
    assert event["client"] == "Alert daemon"


def test_the_summary_is_cut_at_1024() -> None:
    payload = trigger(view(alert(summary="s" * 5000)))["payload"]
    assert len(payload["summary"]) == 1024 and payload["summary"].endswith("…")
    long = trigger(view(alert()), summary="o" * 2000)["payload"]["summary"]
    assert len(long) == 1024 and long.endswith("…")


def test_values_json_cannot_hold_are_written_as_prometheus_does() -> None:
    group = [alert(value=float("nan"), instance="a"), alert(value=float("inf"), instance="b")]
    event = trigger(view(*group))
    json.dumps(event, allow_nan=False)
    details = event["payload"]["custom_details"]
    assert details["value"] == "+Inf"  # the worst; NaN says nothing, so it goes last
    assert [a["value"] for a in details["alerts"]] == ["+Inf", "NaN"]


def test_a_resolved_alert_in_the_group_says_when_it_ended() -> None:
    group = [alert(instance="a"), alert(instance="b", ended=NOW - MINUTE)]
    details = trigger(view(*group))["payload"]["custom_details"]
    assert details["resolved"] == 1
    assert details["alerts"][1]["status"] == "resolved"
    assert details["alerts"][1]["ends_at"] == "2026-01-02T10:15:30.250+0000"


# Links and images.

def test_links_only_when_present() -> None:
    assert "links" not in trigger(view(alert()))
    assert "images" not in trigger(view(alert()))


def test_runbook_and_graph_come_first_then_configured_links() -> None:
    event = trigger(view(alert(runbook="https://rb.example.com/churn",
                               graph="https://prom.example.com/graph")),
                    links=[{"href": "https://grafana.example.com/d/1", "text": "Dashboard"},
                           {"href": "", "text": "nowhere"}])
    assert event["links"] == [
        {"href": "https://rb.example.com/churn", "text": "Runbook"},
        {"href": "https://prom.example.com/graph", "text": "Graph"},
        {"href": "https://grafana.example.com/d/1", "text": "Dashboard"}]


def test_images_only_over_https() -> None:
    event = trigger(view(alert()), images=[
        {"src": "http://example.com/a.png"},
        {"src": "https://example.com/b.png", "href": "https://example.com", "alt": "graph"}])
    assert event["images"] == [
        {"src": "https://example.com/b.png", "href": "https://example.com", "alt": "graph"}]


# The size limit.

def test_a_huge_group_stays_under_the_limit_and_says_how_many_were_left_out() -> None:
    group = [alert(instance=f"host-{i}", summary=f"{i}: " + "drift ✨ " * 250, value=i / 3)
             for i in range(1000)]
    event = trigger(view(*group))
    assert size(event) <= LIMIT
    details = event["payload"]["custom_details"]
    kept = len(details["alerts"])
    assert 0 < kept < 1000 and details["truncated_alerts"] == 1000 - kept
    assert details["alerts"][0]["labels"] == {"instance": "host-999"}  # the worst ones kept
    assert details["firing"] == 1000
    assert size(event) > LIMIT - 20_000  # as many as fit, not a few


def test_huge_details_are_cut_not_refused() -> None:
    event = trigger(view(alert()), details={"log": "l" * 2_000_000, "n": 1})
    assert size(event) <= LIMIT
    assert event["payload"]["custom_details"]["n"] == 1
    assert event["payload"]["custom_details"]["log"].endswith("…")


def test_an_event_huge_everywhere_still_pages() -> None:
    many = {f"k{i}": "v" * 100 for i in range(20_000)}
    event = trigger(view(alert()), details=many, source="s" * 1_000_000,
                    links=[{"href": "https://x/" + "y" * 600_000, "text": "big"}])
    assert size(event) <= LIMIT
    payload = event["payload"]
    assert payload["severity"] == "critical" and payload["summary"].startswith("[FIRING:1]")
    assert payload["custom_details"]["truncated"] is True
    assert event["dedup_key"] == events.dedup_key(GROUP_KEY)


@st.composite
def _alerts(draw: Callable[..., Any]) -> list[Alert]:
    texts = st.one_of(st.text(max_size=30), st.text(max_size=20_000))
    count = draw(st.integers(1, 60))
    return [alert(summary=draw(texts), value=draw(st.one_of(st.none(), st.floats())),
                  ended=draw(st.sampled_from([None, NOW - MINUTE])),
                  **draw(st.dictionaries(st.from_regex(r"l_[a-z_]{1,12}", fullmatch=True),
                                         texts, max_size=4)), n=str(i))
            for i in range(count)]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(alerts=_alerts())
def test_any_trigger_is_within_pagerdutys_limits(alerts: list[Alert]) -> None:
    event = trigger(view(*alerts))
    assert size(event) <= LIMIT
    assert 0 < len(event["payload"]["summary"]) <= 1024
    assert event["payload"]["severity"] in ("critical", "error", "warning", "info")
    assert len(event["dedup_key"]) <= 255
