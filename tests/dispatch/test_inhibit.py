"""Inhibition: source and target sides, `equal` labels (missing on both sides is equal),
alerts matching both sides, and the deprecated match maps."""

from __future__ import annotations

from alertd.config import parse_config
from alertd.dispatch.inhibit import Inhibition, Inhibitor
from alertd.model import Labels

RULES = """\
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname, cluster]
  - source_match: {alertname: NodeDown}
    target_match_re: {alertname: 'Node.+'}
    equal: [instance]
  - source_matchers: ['alertname="Maintenance"']
    target_matchers: ['team=~"ml|data"']
"""


def inhibitor() -> Inhibitor:
    return Inhibitor(parse_config(RULES).inhibit_rules)


def L(**labels: str) -> Labels:
    return Labels(labels)


def test_equal_labels_must_have_equal_values() -> None:
    critical = L(alertname="Latency", cluster="eu", severity="critical")
    firing = [critical, L(alertname="Latency", cluster="us", severity="critical")]
    target = L(alertname="Latency", cluster="eu", severity="warning")
    assert inhibitor().inhibited_by(target, firing) == [critical]
    assert inhibitor().inhibited_by(target.merged({"cluster": "ap"}), firing) == []
    assert inhibitor().inhibited_by(target.merged({"alertname": "Errors"}), firing) == []


def test_a_label_missing_on_both_sides_counts_as_equal() -> None:
    source = L(alertname="Latency", severity="critical")
    assert inhibitor().inhibited_by(L(alertname="Latency", severity="warning"), [source]) == [
        source]
    # Missing on one side only is a different value.
    assert inhibitor().inhibited_by(
        L(alertname="Latency", cluster="eu", severity="warning"), [source]) == []


def test_the_target_side_must_match() -> None:
    source = L(alertname="Latency", severity="critical")
    assert inhibitor().inhibited_by(L(alertname="Latency", severity="info"), [source]) == []
    assert inhibitor().inhibited_by(L(alertname="Latency"), [source]) == []


def test_only_firing_sources_given_count() -> None:
    assert inhibitor().inhibited_by(L(alertname="Latency", severity="warning"), []) == []


def test_deprecated_match_maps() -> None:
    down = L(alertname="NodeDown", instance="n1")
    firing = [down, L(alertname="NodeDown", instance="n2")]
    assert inhibitor().inhibited_by(L(alertname="NodeDiskFull", instance="n1"), firing) == [down]
    # The regex is anchored: "Node.+" does not match "MyNodeX".
    assert inhibitor().inhibited_by(L(alertname="MyNodeX", instance="n1"), firing) == []


def test_an_alert_matching_both_sides_does_not_inhibit_itself() -> None:
    # NodeDown matches the source side and, by the regex Node.+, the target side too.
    down = L(alertname="NodeDown", instance="n1")
    assert inhibitor().inhibited_by(down, [down]) == []
    # Nor another alert matching both sides: Alertmanager passes such sources over.
    other = L(alertname="NodeDown", instance="n1", job="node")
    assert inhibitor().inhibited_by(down, [down, other]) == []
    # A source matching only the source side still inhibits it.
    assert Inhibitor(parse_config(
        "inhibit_rules: [{source_matchers: [a=1], target_matchers: [b=1]}]\n").inhibit_rules
    ).inhibited_by(L(a="1", b="1"), [L(a="1"), L(a="1", b="1")]) == [L(a="1")]


def test_a_rule_without_equal_inhibits_across_all_labels() -> None:
    maintenance = L(alertname="Maintenance", cluster="eu")
    assert inhibitor().inhibited_by(L(alertname="Drift", team="ml"), [maintenance]) == [
        maintenance]


def test_every_reason_is_reported_by_rule() -> None:
    maintenance = L(alertname="Maintenance")
    critical = L(alertname="Latency", severity="critical", team="ml")
    target = L(alertname="Latency", severity="warning", team="ml")
    index = inhibitor().index([maintenance, critical, L(alertname="Other")])
    assert index.inhibitions(target) == [Inhibition(0, critical), Inhibition(2, maintenance)]
    assert index.inhibited_by(target) == [critical, maintenance]
    assert index.is_inhibited(target)
    assert not index.is_inhibited(L(alertname="Latency", severity="warning", team="infra",
                                    cluster="x"))


def test_plain_mappings_are_accepted() -> None:
    inhibited = inhibitor().inhibited_by(
        {"alertname": "A", "severity": "warning"}, [{"alertname": "A", "severity": "critical"}])
    assert inhibited == [L(alertname="A", severity="critical")]
