"""SLOs evaluated: burn rates at the factor, Prometheus counters, annotations, /metrics."""

from __future__ import annotations

from prometheus_client import generate_latest

from alertd.lang.check import check_files
from alertd.lang.parse import parse_file
from alertd.metrics import Metrics
from alertd.model import Labels, Sample, Vector
from alertd.rules.manager import RuleManager
from alertd.rules.state import Status
from alertd.sources.samples import SeriesStore

LOCAL = '''group checkout {
  owner = "payments"
  slo checkout {
    objective = 99.9%
    errors    = requests_total{code="500"}
    total     = requests_total
    runbook   = "https://runbooks.example.com/checkout/slo"
  }
}
'''
PROM = LOCAL.replace('requests_total{code="500"}', 'prom(`requests_total{code="500"}`)') \
    .replace("total     = requests_total", "total     = prom(`requests_total`)")


def manager(source: str) -> RuleManager:
    result = check_files([parse_file(source, "checkout.rules").file])
    assert result.ok, [d.headline() for d in result.diagnostics]
    rules = RuleManager(60.0)
    rules.replace(result.groups, 60.0, slos=result.slos)
    return rules


def store(errors_per_minute: float, minutes: int = 60) -> SeriesStore:
    """10,000 requests a minute, `errors_per_minute` of them failing."""
    out = SeriesStore()
    for m in range(minutes + 1):
        out.add(Labels({"__name__": "requests_total", "code": "200"}), m * 60.0,
                m * (10_000 - errors_per_minute))
        out.add(Labels({"__name__": "requests_total", "code": "500"}), m * 60.0,
                m * errors_per_minute)
    return out


def fire(rules: RuleManager, samples: SeriesStore, at: float = 3600.0) -> dict[str, str]:
    """The states of the SLO's alerts after an evaluation at `at`."""
    out = {}
    for rule in rules.ruleset:
        rules.evaluator.evaluate(rule, at, samples)
        status = {i.status for i in rules.evaluator.states[rule.name].instances.values()}
        out[rule.name] = "firing" if Status.FIRING in status else "ok"
    return out


FAST_ONLY = LOCAL.replace("    runbook", """    tier page {
      window { long = 1h  short = 5m  factor = 14.4 }
    }
    tier ticket { disabled = true }
    runbook""")


def test_a_burn_exactly_at_the_factor_pages() -> None:
    # 144 of 10,000 failing against 99.9% is 14.4x: 0.0144 / (1 - 0.999) is
    # 14.399999999999984 in floating point, and still pages.
    assert 0.0144 / (1 - 0.999) < 14.4
    assert fire(manager(FAST_ONLY), store(144)) == {"CheckoutBurnRatePage": "firing"}
    assert fire(manager(FAST_ONLY), store(143)) == {"CheckoutBurnRatePage": "ok"}
    assert fire(manager(LOCAL), store(144)) == {"CheckoutBurnRatePage": "firing",
                                                "CheckoutBurnRateTicket": "firing"}


def test_the_page_says_how_fast_and_how_much_budget_is_gone() -> None:
    rules = manager(LOCAL)
    fire(rules, store(144))
    page = rules.ruleset.by_name["CheckoutBurnRatePage"]
    (instance,) = rules.evaluator.states[page.name].instances.values()
    assert instance.labels == Labels({"slo": "checkout", "owner": "payments",
                                      "severity": "page", "alertname": page.name})
    annotations = dict(page.annotations_for(instance))
    assert annotations.pop("because").startswith(
        'burn_rate(slo="checkout", window=1h) = 14.4 >= 14.4')
    assert annotations == {
        "summary": "checkout burns its error budget 14.4x as fast as the objective allows",
        "runbook_url": "https://runbooks.example.com/checkout/slo",
        "burn_rate": "1h 14.4x, 5m 14.4x, 6h 14.4x, 30m 14.4x",
        "budget_consumed": "1440% of the 30d error budget",
        "time_to_exhaustion": "exhausted",
    }


def test_slo_counters_over_prometheus_are_queried_per_window() -> None:
    rules = manager(PROM)
    asked: list[str] = []

    def query(q: str, at: float) -> Vector:
        asked.append(q)
        errors = "code=" in q
        per_window = {"[5m]": 5, "[30m]": 30, "[1h]": 60, "[6h]": 360}
        minutes = next((m for w, m in per_window.items() if w in q), 1440)
        return [Sample(Labels(), minutes * (150.0 if errors else 10_000.0))]

    page = rules.ruleset.by_name["CheckoutBurnRatePage"]
    queries = rules.evaluator.slos.queries(page.slos)
    assert 'sum(increase(requests_total{code="500"}[1h]))' in queries
    assert "sum(increase(requests_total[30d]))" in queries
    rules.evaluator.evaluate(page, 3600.0, SeriesStore(), query)
    assert set(asked) <= queries
    assert [i.value for i in rules.evaluator.states[page.name].instances.values()] == [15.0]


def test_a_reload_keeps_the_counters_and_metrics_show_the_figures() -> None:
    rules = manager(LOCAL)
    samples = store(144)
    fire(rules, samples)
    result = check_files([parse_file(LOCAL, "checkout.rules").file])
    rules.replace(result.groups, 60.0, slos=result.slos)
    # The old samples are gone from the raw windows; the buckets kept what they held.
    page = rules.ruleset.by_name["CheckoutBurnRatePage"]
    rules.evaluator.evaluate(page, 3600.0, SeriesStore())
    metrics = Metrics()
    metrics.watch_slos(lambda: rules.evaluator.slos.figures())
    text = generate_latest(metrics.registry).decode()
    assert 'alertd_slo_burn_rate{slo="checkout",window="1h"} 14.4' in text
    assert 'alertd_slo_error_budget_remaining{slo="checkout"} -13.4' in text
