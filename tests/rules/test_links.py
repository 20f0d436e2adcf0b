"""Links on a rule's alerts: the `dashboard` annotation and the generatorURL, by default
the Prometheus graph of a prom() rule's query, through the configured external URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from alertd.alerts.store import AlertStore
from alertd.config import parse_config
from alertd.errors import ConfigError
from alertd.lang.check import check_files
from alertd.lang.parse import parse_file
from alertd.model import Labels, Sample, Vector
from alertd.rules.evaluator import Evaluator, RuleSet
from alertd.rules.links import prometheus_graph_url
from alertd.rules.state import Instance, Status
from alertd.sources.samples import SeriesStore

QUERY = ('histogram_quantile(0.99, sum by (le, model_version) '
         '(rate(predict_latency_seconds_bucket{model="churn"}[5m])))')

RULES = f'''\
group churn {{
  owner = "ml-platform"

  alert ChurnLatencyP99High {{
    when      = prom(`{QUERY}`) > 100ms
    dashboard = "https://grafana.example.com/d/churn?var-version={{{{ labels.model_version }}}}"
  }}

  alert ChurnErrors {{
    when          = errors{{model="churn"}} > 5
    generator_url = "https://grafana.example.com/explore?version={{{{ labels.version }}}}"
    dashboard     = "{{{{ labels.dashboard }}}}"
  }}

  alert ChurnQueue {{
    when = queue{{model="churn"}} > 5
  }}
}}
'''


def load(prometheus_url: str | None = "https://prometheus.example.com") -> RuleSet:
    parsed = parse_file(RULES, "churn.rules")
    result = check_files([parsed.file])
    assert result.ok, result.diagnostics
    return RuleSet.from_groups(result.groups, 60.0, prometheus_url)


def prom(query: str, at: float) -> Vector:
    return [Sample(Labels({"model_version": "v7"}), 0.25)]


def fire(rules: RuleSet, name: str, store: SeriesStore | None = None) -> Evaluator:
    evaluator = Evaluator(rules)
    evaluator.evaluate(rules.by_name[name], 60.0, store or SeriesStore(), prom)
    return evaluator


def test_a_prom_rule_links_to_the_prometheus_graph_of_its_query() -> None:
    rules = load()
    rule = rules.by_name["ChurnLatencyP99High"]
    (instance,) = fire(rules, rule.name).states[rule.name].instances.values()
    url = rule.generator_url_for(instance)
    # As Prometheus builds it: /graph?g0.expr=<query escaped as Go's QueryEscape>&g0.tab=1
    assert url == (
        "https://prometheus.example.com/graph?g0.expr=histogram_quantile%280.99%2C+sum+by+"
        "%28le%2C+model_version%29+%28rate%28predict_latency_seconds_bucket%7Bmodel%3D%22"
        "churn%22%7D%5B5m%5D%29%29%29&g0.tab=1")
    assert parse_qs(urlsplit(url).query) == {"g0.expr": [QUERY], "g0.tab": ["1"]}


def test_without_a_prometheus_url_or_a_prom_query_there_is_no_default_link() -> None:
    rules = load(prometheus_url=None)
    rule = rules.by_name["ChurnLatencyP99High"]
    (instance,) = fire(rules, rule.name).states[rule.name].instances.values()
    assert rule.generator_url_for(instance) == ""
    queue = load().by_name["ChurnQueue"]
    assert queue.default_generator_url == ""


def test_each_prom_query_is_a_panel_of_the_graph() -> None:
    url = prometheus_graph_url("http://prom:9090/", ["up == 0", "rate(x[5m]) > 1"])
    assert url == ("http://prom:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
                   "&g1.expr=rate%28x%5B5m%5D%29+%3E+1&g1.tab=1")


def test_dashboard_is_rendered_per_instance_into_the_dashboard_annotation() -> None:
    rules = load()
    rule = rules.by_name["ChurnLatencyP99High"]
    (instance,) = fire(rules, rule.name).states[rule.name].instances.values()
    assert rule.annotations_for(instance)["dashboard"] == (
        "https://grafana.example.com/d/churn?var-version=v7")


def test_generator_url_template_wins_and_links_that_are_not_urls_are_left_out() -> None:
    rules = load()
    rule = rules.by_name["ChurnErrors"]
    store = SeriesStore()
    store.add({"__name__": "errors", "model": "churn", "version": "v2", "dashboard": "none"},
              60.0, 9.0)
    (instance,) = fire(rules, rule.name, store).states[rule.name].instances.values()
    assert rule.generator_url_for(instance) == (
        "https://grafana.example.com/explore?version=v2")
    # `dashboard` rendered "none": a page would show a button Slack refuses.
    assert "dashboard" not in rule.annotations_for(instance)


def test_an_alert_gets_its_link_when_it_starts_firing_and_keeps_it() -> None:
    rules = load()
    rule = rules.by_name["ChurnErrors"]
    store = SeriesStore()
    labels = {"__name__": "errors", "model": "churn", "version": "v2"}
    store.add(labels, 60.0, 9.0)
    evaluator = fire(rules, rule.name, store)
    alerts = AlertStore()
    calls: list[Labels] = []

    def link(instance: Instance) -> str:
        calls.append(instance.labels)
        return rule.generator_url_for(instance)

    for at in (60.0, 120.0, 180.0):
        store.add(labels, at + 1, 9.0)
        evaluator.evaluate(rule, at, store, prom)
        state = evaluator.states[rule.name]
        alerts.sync_rule(rule.name, state.instances.values(), rule.annotations_for, at, link)
    (alert,) = alerts.alerts()
    assert alert.generator_url == "https://grafana.example.com/explore?version=v2"
    assert len(calls) == 1  # rendered once per firing, not at every evaluation
    assert [i.status for i in evaluator.states[rule.name].instances.values()] == [Status.FIRING]


def test_the_prometheus_external_url_defaults_to_the_query_url() -> None:
    config = parse_config("sources:\n  prometheus:\n    url: http://prometheus:9090/\n",
                          "alertd.yml", env={})
    assert config.sources.prometheus.graph_url() == "http://prometheus:9090"
    config = parse_config(
        "sources:\n  prometheus:\n    url: http://prometheus:9090\n"
        "    external_url: https://prometheus.example.com/\n", "alertd.yml", env={})
    assert config.sources.prometheus.graph_url() == "https://prometheus.example.com"


def test_a_bad_prometheus_external_url_names_its_key() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("sources:\n  prometheus:\n    external_url: prometheus.example.com\n",
                     "alertd.yml", env={})
    assert "sources.prometheus.external_url: invalid URL" in str(info.value)
