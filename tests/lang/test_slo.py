"""slo blocks: their mistakes reported where they are, and the alerts they expand into."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from alertd.cli import cli
from alertd.lang.check import CheckResult, check_files
from alertd.lang.parse import parse_file

SLO = '''group checkout {
  owner  = "payments"
  labels = { service = "checkout" }
  slo "checkout-availability" {
    objective = 99.9%
    errors    = http_requests_total{job="checkout", code=~"5.."}
    total     = http_requests_total{job="checkout"}
    runbook   = "https://runbooks.example.com/checkout/slo"
    labels    = { tier = "1" }
    tier ticket { labels = { tier = "2" } }
  }
}
'''


def check(source: str, require: frozenset[str] = frozenset()) -> CheckResult:
    parsed = parse_file(source, "f.rules")
    assert parsed.ok, [d.headline() for d in parsed.diagnostics]
    return check_files([parsed.file], require=require)


def diags(source: str) -> list[str]:
    return [f"{d.span.line}:{d.span.column}: {d.message}" for d in check(source).diagnostics]


def test_an_slo_expands_into_a_page_and_a_ticket_alert_of_its_group() -> None:
    result = check(SLO, require=frozenset({"owner", "runbook"}))
    assert result.ok, [d.headline() for d in result.diagnostics]
    (group,) = result.groups
    page, ticket = group.alerts
    assert (page.name, ticket.name) == ("CheckoutAvailabilityBurnRatePage",
                                         "CheckoutAvailabilityBurnRateTicket")
    assert (page.severity, page.owner, page.runbook) == (
        "page", "payments", "https://runbooks.example.com/checkout/slo")
    assert page.labels == {"service": "checkout", "tier": "1"}
    assert ticket.labels == {"service": "checkout", "tier": "2"}
    (slo,) = result.slos
    assert (slo.objective, slo.period, slo.alert_names["page"]) == (
        0.999, 30 * 86400, "CheckoutAvailabilityBurnRatePage")


def test_check_expand_prints_the_alerts_as_rule_text_and_json(tmp_path: Path) -> None:
    path = tmp_path / "checkout.rules"
    path.write_text(SLO)
    text = CliRunner().invoke(cli, ["check", "--expand", str(path)])
    assert text.exit_code == 0, text.output
    assert "alert CheckoutAvailabilityBurnRatePage {\n  when     = burn_rate(" \
           'slo="checkout-availability", window=1h) >= 14.4\n' in text.output
    assert 'or burn_rate(slo="checkout-availability", window=3d) >= 1\n' in text.output
    as_json = CliRunner().invoke(cli, ["check", "--expand", "--format", "json", str(path)])
    (line,) = as_json.output.splitlines()
    found = json.loads(line)
    assert [(a["name"], a["severity"], a["windows"][0]) for a in found["alerts"]] == [
        ("CheckoutAvailabilityBurnRatePage", "page", {"long": 3600, "short": 300,
                                                      "factor": 14.4}),
        ("CheckoutAvailabilityBurnRateTicket", "ticket", {"long": 86400, "short": 7200,
                                                          "factor": 3}),
    ]


def test_tiers_can_be_changed_disabled_and_added() -> None:
    result = check('''slo s {
  objective = 99%
  good  = ok_total
  total = all_total
  tier page { severity = "critical" }
  tier ticket { disabled = true }
  tier slow {
    window { long = 7d  short = 1d  factor = 1 }
  }
}
''')
    assert result.ok, [d.headline() for d in result.diagnostics]
    alerts = {a.name: a for g in result.groups for a in g.alerts}
    assert sorted(alerts) == ["SBurnRatePage", "SBurnRateSlow"]
    assert alerts["SBurnRatePage"].severity == "critical"
    assert alerts["SBurnRateSlow"].severity == "slow"


def test_mistakes_in_an_slo_are_reported_where_they_are() -> None:
    assert diags('''slo s {
  objective = 99.9
  good   = ok_total
  errors = bad_total
  total  = prom(`all_total[5m]`)
  tier page {
    window { long = 5m  short = 1h  factor = 2 }
  }
  tier fast { }
}
''') == [
        "2:15: objective must be a percentage: write 99.9%",
        '4:3: slo "s" takes good or errors, not both',
        "5:17: total = prom(...) takes a counter's selector without a range: alertd adds "
        "each window itself",
        "7:33: short must be shorter than long",
        '9:8: tier "fast" needs window blocks (only page and ticket have default windows)',
    ]
    assert diags('''slo s {
  objective = 99%
  good  = ok_total
  total = prom(`all_total`)
}
''') == ['3:3: slo "s" mixes pushed series and prom(): its counters must come from the '
              "same source"]


def test_burn_rate_calls_name_an_slo_and_a_window() -> None:
    source = '''slo checkout { objective = 99%  good = ok_total  total = all_total }
alert A { when = burn_rate(slo = "chekout", window = 1h) > 2 }
alert B { when = burn_rate(slo = "checkout") > 2 }
alert C { when = burn_rate(slo = "checkout", window = 1m) > 2 }
alert D { when = error_budget_remaining(slo = "checkout", window = 1h) < 0.5 }
'''
    assert diags(source) == [
        '2:34: no slo named "chekout" (did you mean "checkout"?); define it with an slo block',
        "3:18: burn_rate() needs window = a duration such as 1h",
        '4:55: slo "checkout" is over pushed series, kept per 5 minutes: its windows are 5m '
        "or longer",
        '5:59: unknown keyword argument "window" for error_budget_remaining()',
    ]
    kept = [a.name for g in check(source).groups for a in g.alerts]
    assert kept == ["CheckoutBurnRatePage", "CheckoutBurnRateTicket"]


def test_an_expanded_alert_that_clashes_with_a_written_one_is_reported_at_the_slo() -> None:
    assert diags('''alert SBurnRatePage { when = up == 0 }
slo s { objective = 99%  good = ok_total  total = all_total }
''') == ['2:5: duplicate alert "SBurnRatePage" (first defined at f.rules:1:7)']
