"""`alertd explain`: an alert's recorded history as a readable account."""

from __future__ import annotations

import math
from types import MappingProxyType

from alertd import history
from alertd.history import HistoryEvent
from alertd.history.explain import NO_HISTORY, describe, explain_text, number, timestamp
from alertd.model import Labels

T0 = 1_795_683_600.0  # 2026-11-26T09:00:00Z
X = Labels({"alertname": "ChurnLatencyP99High", "owner": "team-ml", "severity": "page"})
Y = X.merged({"model_version": "v2"})
ROUTE = '{}/{severity="page"}'
GROUP = '{}/{severity="page"}:{alertname="ChurnLatencyP99High"}'


def test_an_alerts_story() -> None:
    events = [
        history.transition(T0, X, old="inactive", new="pending", value=0.31,
                           expr="p99_latency > 100ms"),
        history.transition(T0 + 300, X, old="pending", new="firing", value=0.42),
        history.routed(T0 + 300, X, receiver="team-ml", route=ROUTE, group_key=GROUP),
        history.silenced(T0 + 310, X, silences=["8c1f0e2a", "11aa"], until=T0 + 3600),
        history.inhibited(T0 + 320, X, sources=["0123456789abcdef"]),
        history.dedup(T0 + 330, X, receiver="team-ml", group_key=GROUP, send=True,
                      reason="first notification"),
        history.delivery(T0 + 331.25, X, receiver="team-ml", integration="slack", attempt=1,
                         outcome="retry", status=503, error="service unavailable"),
        history.delivery(T0 + 335, X, receiver="team-ml", integration="slack", attempt=2,
                         outcome="ok", status=200),
        history.delivery(T0 + 336, X, receiver="team-ml", integration="webhook", attempt=3,
                         outcome="failed", error="connection refused"),
        history.dedup(T0 + 630, X, receiver="team-ml", group_key=GROUP, send=False,
                      reason="nothing new (last sent 5m ago)"),
        history.ack(T0 + 700, X, by="alice", via="slack"),
        history.feedback(T0 + 800, X, by="alice", verdict="noise", comment="flaky probe"),
        history.transition(T0 + 900, X, old="firing", new="resolved", value=math.nan),
    ]
    assert explain_text(events) == "\n".join([
        f'alert {X.fingerprint()} {{alertname="ChurnLatencyP99High", owner="team-ml", '
        'severity="page"}',
        "2026-11-26T09:00:00Z  pending   value=0.31 (when: p99_latency > 100ms)",
        "2026-11-26T09:05:00Z  firing    value=0.42",
        '2026-11-26T09:05:00Z  routed to team-ml via {}/{severity="page"} in group '
        '{}/{severity="page"}:{alertname="ChurnLatencyP99High"}',
        "2026-11-26T09:05:10Z  silenced by 11aa, 8c1f0e2a until 2026-11-26T10:00:00Z",
        "2026-11-26T09:05:20Z  inhibited by 0123456789abcdef",
        "2026-11-26T09:05:30Z  dedup: sent to team-ml (first notification)",
        "2026-11-26T09:05:31.250Z  delivery to team-ml/slack retrying (503: service unavailable)",
        "2026-11-26T09:05:35Z  delivery to team-ml/slack ok (200), attempt 2",
        "2026-11-26T09:05:36Z  delivery to team-ml/webhook failed (connection refused), attempt 3",
        "2026-11-26T09:10:30Z  dedup: not sent to team-ml (nothing new (last sent 5m ago))",
        "2026-11-26T09:11:40Z  acknowledged by alice via slack",
        "2026-11-26T09:13:20Z  feedback from alice: noise (flaky probe)",
        "2026-11-26T09:15:00Z  resolved  value=NaN",
    ])


def test_events_are_told_in_time_order_same_instant_as_recorded() -> None:
    events = [
        history.transition(T0 + 60, X, old="pending", new="firing", value=1.0),
        history.transition(T0, X, old="inactive", new="pending", value=1.0),
        history.routed(T0 + 60, X, receiver="a", route="{}", group_key="g"),
        history.routed(T0 + 60, X, receiver="b", route="{}", group_key="g"),
    ]
    lines = explain_text(events).splitlines()[1:]
    assert [line.split("  ", 1)[1] for line in lines] == [
        "pending   value=1", "firing    value=1", "routed to a via {} in group g",
        "routed to b via {} in group g"]


def test_several_alerts_name_theirs_on_each_line() -> None:
    events = [history.transition(T0, X, old="inactive", new="firing", value=math.inf),
              history.transition(T0 + 1, Y, old="inactive", new="firing", value=-math.inf)]
    lines = explain_text(events).splitlines()
    assert lines[0] == f"alert {X.fingerprint()} {X}"
    assert lines[1] == f"alert {Y.fingerprint()} {Y}"
    assert lines[2] == f"2026-11-26T09:00:00Z  {X.fingerprint()}  firing    value=+Inf"
    assert lines[3] == f"2026-11-26T09:00:01Z  {Y.fingerprint()}  firing    value=-Inf"


def test_nothing_recorded() -> None:
    assert explain_text([]) == NO_HISTORY


def test_unknown_kinds_and_missing_details_still_read() -> None:
    newer = HistoryEvent(T0, "remediation", X.fingerprint(), "ChurnLatencyP99High", None,
                         "team-ml", "page", X,
                         MappingProxyType({"action": "rollback", "ratio": 0.5, "ok": True}))
    bare = HistoryEvent(T0 + 1, "delivery", X.fingerprint(), "ChurnLatencyP99High", None,
                        None, None, X, MappingProxyType({}))
    multiline = history.delivery(T0 + 2, X, receiver="r", integration="slack", attempt=1,
                                 outcome="failed", status=400, error="bad\nrequest")
    lines = explain_text([newer, bare, multiline]).splitlines()[1:]
    assert lines == [
        '2026-11-26T09:00:00Z  remediation action="rollback" ratio=0.5 ok=true',
        "2026-11-26T09:00:01Z  delivery to ?/? ?",
        "2026-11-26T09:00:02Z  delivery to r/slack failed (400: bad request)",
    ]


def test_number_and_timestamp_formats() -> None:
    assert [number(v) for v in (0.31, 100.0, -2.0, 1e20, 1.5e-7, math.nan, 3, "x", None)] == [
        "0.31", "100", "-2", "1e+20", "1.5e-07", "NaN", "3", "x", "None"]
    assert timestamp(T0) == "2026-11-26T09:00:00Z"
    assert timestamp(T0 + 0.5) == "2026-11-26T09:00:00.500Z"


def test_why_an_alert_resolved_and_a_silences_lifecycle_are_told() -> None:
    resolved = history.transition(T0, X, old="firing", new="resolved", value=0.5,
                                  reason="keep_firing_for_ended")
    assert describe(resolved) == "resolved  value=0.5 (keep firing for ended)"
    created = history.silence(T0, Labels({"alertname": "X"}), action="expired_on_resolve",
                              silence_id="5b1f", by="ana", comment="deploy", via=None,
                              matchers=['alertname="X"'], starts_at=T0 - 60, ends_at=T0)
    assert describe(created) == ('silence 5b1f expired on resolve by ana: alertname="X" '
                                 "until 2026-11-26T09:00:00Z")
    pd_ack = history.ack(T0, X, by="", via="pagerduty")
    assert describe(pd_ack) == "acknowledged by ? via pagerduty"
