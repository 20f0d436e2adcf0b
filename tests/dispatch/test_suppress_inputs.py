"""`suppresses_inputs`: the inhibitions a composite's alert() references generate. Only the
inputs tied to a firing instance of the composite are held back, and never a resolution."""

from __future__ import annotations

from alertd.config import parse_config
from alertd.dispatch.inhibit import Inhibitor, WithGenerated
from alertd.dispatch.suppress import inhibitions
from alertd.lang.check import check_files
from alertd.lang.parse import parse_file
from alertd.model import Labels
from alertd.rules.evaluator import RuleSet

RULES = '''\
group fraud {
  owner  = "risk-ml"
  labels = { service = "fraud" }

  alert Slow { when = latency > 1 }
  alert Failing { when = errors > 1 }
  alert Maintenance { when = maintenance > 0 }

  alert Degraded {
    when              = alert("Slow") and on(model_version) alert("Failing")
                        unless on(model_version) alert("Maintenance")
    severity          = "page"
    suppresses_inputs = true
  }

  alert SlowEverywhere {
    when              = alert("Slow") and alert("Slow", state="pending")
    suppresses_inputs = true
  }

  alert Quiet {
    when = alert("Failing") and on(model_version) alert("Slow")
  }
}
'''


def load() -> RuleSet:
    parsed = parse_file(RULES, "fraud.rules")
    result = check_files([parsed.file])
    assert result.ok, result.diagnostics
    return RuleSet.from_groups(result.groups)


def alert(name: str, version: str, **extra: str) -> Labels:
    return Labels({"alertname": name, "model_version": version, "owner": "risk-ml",
                   "service": "fraud", **extra})


def inhibitor() -> Inhibitor:
    return Inhibitor(inhibitions(load().rules))


def test_each_input_reference_of_a_suppressing_composite_generates_a_rule() -> None:
    generated = inhibitions(load().rules)
    assert sorted((r.generated_by or "", str(r.target_matchers), r.equal, r.shared is not None)
                  for r in generated) == [
        ("Degraded", '(alertname="Failing",)', ("model_version",), False),
        ("Degraded", '(alertname="Slow",)', ("model_version",), False),
        # Joined without on(...): tied by every label both carry. The pending reference
        # is no input that ever paged.
        ("SlowEverywhere", '(alertname="Slow",)', (), True),
    ]


def test_only_the_inputs_tied_to_a_firing_composite_are_held_back() -> None:
    composite = alert("Degraded", "v2", severity="page")
    firing = [composite, alert("Slow", "v2"), alert("Slow", "v3"), alert("Failing", "v2"),
              alert("Maintenance", "v4")]
    index = inhibitor().index(firing)
    assert index.inhibited_by(alert("Slow", "v2")) == [composite]
    assert index.inhibited_by(alert("Failing", "v2")) == [composite]
    assert index.inhibited_by(alert("Slow", "v3")) == []  # another version: pages
    assert index.inhibited_by(composite) == []
    # `unless` is not an input: what stands there is not held back.
    assert index.inhibited_by(alert("Maintenance", "v4")) == []


def test_without_on_every_label_both_carry_ties_them() -> None:
    composite = Labels({"alertname": "SlowEverywhere", "model_version": "v2",
                        "region": "eu", "owner": "risk-ml", "service": "fraud"})
    eu, us = alert("Slow", "v2", region="eu"), alert("Slow", "v2", region="us")
    index = inhibitor().index([composite, eu, us])
    assert index.inhibited_by(eu) == [composite]
    assert index.inhibited_by(us) == []


def test_a_resolved_input_is_never_held_back() -> None:
    composite = alert("Degraded", "v2", severity="page")
    # Slow v2 resolved: it is not among the firing alerts any more.
    index = inhibitor().index([composite, alert("Failing", "v2")])
    assert index.inhibited_by(alert("Slow", "v2")) == []
    assert index.inhibited_by(alert("Failing", "v2")) == [composite]


def test_config_rules_keep_alertmanagers_semantics_alongside() -> None:
    config = parse_config("inhibit_rules:\n  - source_matchers: ['alertname=\"Degraded\"']\n"
                          "    target_matchers: ['alertname=\"Slow\"']\n")
    combined = WithGenerated(lambda: Inhibitor(config.inhibit_rules),
                             lambda: inhibitions(load().rules))
    composite = alert("Degraded", "v2", severity="page")
    # A configured rule holds back a resolved target too, as in Alertmanager.
    index = combined.index([composite])
    assert index.inhibited_by(alert("Slow", "v9")) == [composite]
    assert combined.index([composite, alert("Failing", "v2")]).inhibited_by(
        alert("Failing", "v2")) == [composite]
