"""Evaluation semantics: what a PromQL user expects from the same expression."""

from __future__ import annotations

import math

import pytest

from alertd.errors import EvalError
from alertd.lang.compile import compile_expr
from alertd.lang.context import EvalContext
from alertd.lang.parse import parse_expr
from alertd.model import Labels, Sample, Vector
from alertd.series import STALE_NAN
from alertd.sources.samples import SeriesStore


def ev(expr: str, store: SeriesStore, at: float, **kw: object) -> object:
    return compile_expr(parse_expr(expr)).eval(EvalContext(at, store, **kw))  # type: ignore[arg-type]


def as_dict(vector: object) -> dict[str, float]:
    assert isinstance(vector, list)
    return {str(s.labels): s.value for s in vector}


@pytest.fixture
def store() -> SeriesStore:
    s = SeriesStore()
    for i in range(11):  # one sample a minute from t=0 to t=600
        t = i * 60.0
        s.add({"__name__": "errors_total", "model": "churn", "version": "v1"}, t, i * 10.0)
        s.add({"__name__": "errors_total", "model": "churn", "version": "v2"}, t, i * 1.0)
        s.add({"__name__": "requests_total", "model": "churn", "version": "v1"}, t, i * 100.0)
        s.add({"__name__": "requests_total", "model": "churn", "version": "v2"}, t, i * 100.0)
        s.add({"__name__": "latency", "model": "fraud", "version": "v1"}, t, 0.2)
    return s


def test_rate_extrapolates_to_the_window_edges(store: SeriesStore) -> None:
    # Samples at 360..600 inside (300, 600]: 40 over 240s, extrapolated by 60s to the start.
    got = as_dict(ev("increase(errors_total[5m])", store, 600))
    assert got == {'{model="churn", version="v1"}': pytest.approx(50.0),
                   '{model="churn", version="v2"}': pytest.approx(5.0)}
    rate = as_dict(ev('rate(errors_total{version="v1"}[5m])', store, 600))
    assert rate == {'{model="churn", version="v1"}': pytest.approx(50.0 / 300)}


def test_rate_handles_counter_resets() -> None:
    s = SeriesStore()
    for t, v in [(0, 10), (60, 20), (120, 5), (180, 15), (240, 25)]:
        s.add({"__name__": "c"}, float(t), float(v))
    # The window (0, 240] holds 20, 5, 15, 25: the drop to 5 is a reset, so the counter
    # grew by 20 before it and 25 after it. The first sample is 60s after the window
    # starts (within 1.1 steps), so the 180s sampled extrapolate to the full 240s.
    got = as_dict(ev("increase(c[4m])", s, 240))
    assert got["{}"] == pytest.approx(25 * 240 / 180)


def test_rate_needs_two_samples(store: SeriesStore) -> None:
    assert ev("rate(errors_total[1m])", store, 600) == []


def test_irate_and_delta() -> None:
    s = SeriesStore()
    for t, v in [(0, 1.0), (30, 4.0), (60, 10.0)]:
        s.add({"__name__": "g"}, float(t), v)
    assert as_dict(ev("irate(g[2m])", s, 60)) == {"{}": pytest.approx(6 / 30)}
    assert as_dict(ev("idelta(g[2m])", s, 60)) == {"{}": pytest.approx(6.0)}


def test_over_time_functions(store: SeriesStore) -> None:
    sel = 'errors_total{version="v1"}[5m]'
    key = '{model="churn", version="v1"}'
    assert as_dict(ev(f"avg_over_time({sel})", store, 600))[key] == pytest.approx(80.0)
    assert as_dict(ev(f"min_over_time({sel})", store, 600))[key] == 60.0
    assert as_dict(ev(f"max_over_time({sel})", store, 600))[key] == 100.0
    assert as_dict(ev(f"sum_over_time({sel})", store, 600))[key] == 400.0
    assert as_dict(ev(f"count_over_time({sel})", store, 600))[key] == 5.0
    assert as_dict(ev(f"quantile_over_time(0.5, {sel})", store, 600))[key] == 80.0
    last = ev(f"last_over_time({sel})", store, 600)
    assert as_dict(last) == {'{__name__="errors_total", model="churn", version="v1"}': 100.0}


def test_instant_selector_looks_back_five_minutes() -> None:
    s = SeriesStore()
    s.add({"__name__": "up", "job": "a"}, 0.0, 1.0)
    assert as_dict(ev("up", s, 299)) == {'{__name__="up", job="a"}': 1.0}
    assert ev("up", s, 300) == []


def test_stale_marker_ends_a_series() -> None:
    s = SeriesStore()
    s.add({"__name__": "up"}, 0.0, 1.0)
    s.add({"__name__": "up"}, 60.0, STALE_NAN)
    assert as_dict(ev("up", s, 30)) == {'{__name__="up"}': 1.0}
    assert ev("up", s, 90) == []
    # Range functions skip stale markers rather than reading them as NaN.
    assert as_dict(ev("count_over_time(up[5m])", s, 90)) == {"{}": 1.0}


def test_matchers(store: SeriesStore) -> None:
    assert len(ev('errors_total{version=~"v.*"}', store, 600)) == 2  # type: ignore[arg-type]
    assert len(ev('errors_total{version!~"v1"}', store, 600)) == 1  # type: ignore[arg-type]
    assert len(ev('errors_total{version!="v1"}', store, 600)) == 1  # type: ignore[arg-type]
    # Regexes are anchored, as in PromQL.
    assert ev('errors_total{version=~"v"}', store, 600) == []
    assert len(ev('{__name__=~"errors_total|latency"}', store, 600)) == 3  # type: ignore[arg-type]


def test_comparison_filters_and_bool(store: SeriesStore) -> None:
    got = ev("rate(errors_total[5m]) > 0.05", store, 600)
    assert list(as_dict(got)) == ['{model="churn", version="v1"}']
    got = as_dict(ev("rate(errors_total[5m]) > bool 0.05", store, 600))
    assert got == {'{model="churn", version="v1"}': 1.0, '{model="churn", version="v2"}': 0.0}
    # A filter keeps the vector's own value, even with the scalar on the left.
    assert as_dict(ev("0.1 < latency", store, 600)) == {
        '{__name__="latency", model="fraud", version="v1"}': 0.2}
    assert as_dict(ev("latency > 100ms", store, 600))  # durations are seconds


def test_vector_matching_one_to_one(store: SeriesStore) -> None:
    got = as_dict(ev("errors_total / requests_total", store, 600))
    assert got == {'{model="churn", version="v1"}': 0.1, '{model="churn", version="v2"}': 0.01}
    got = as_dict(ev("errors_total / on(version) requests_total", store, 600))
    assert got == {'{version="v1"}': 0.1, '{version="v2"}': 0.01}
    got = as_dict(ev("errors_total / ignoring(model) requests_total", store, 600))
    assert got == {'{version="v1"}': 0.1, '{version="v2"}': 0.01}


def test_group_left_copies_labels() -> None:
    s = SeriesStore()
    s.add({"__name__": "errors", "model": "m", "pod": "a"}, 0.0, 2.0)
    s.add({"__name__": "errors", "model": "m", "pod": "b"}, 0.0, 4.0)
    s.add({"__name__": "info", "model": "m", "owner": "ml"}, 0.0, 1.0)
    got = as_dict(ev("errors * on(model) group_left(owner) info", s, 0))
    assert got == {'{model="m", owner="ml", pod="a"}': 2.0, '{model="m", owner="ml", pod="b"}': 4.0}
    with pytest.raises(EvalError, match="many-to-one matching must be explicit"):
        ev("errors * on(model) info", s, 0)
    with pytest.raises(EvalError, match="duplicate series"):
        ev("info * on(model) errors", s, 0)


def test_set_operators(store: SeriesStore) -> None:
    got = as_dict(ev("errors_total and on(version) requests_total{version=\"v2\"}", store, 600))
    assert got == {'{__name__="errors_total", model="churn", version="v2"}': 10.0}
    got = as_dict(ev("errors_total unless on(version) requests_total{version=\"v2\"}", store, 600))
    assert got == {'{__name__="errors_total", model="churn", version="v1"}': 100.0}
    got = ev('errors_total{version="v1"} or latency', store, 600)
    assert len(got) == 2  # type: ignore[arg-type]


def test_aggregations(store: SeriesStore) -> None:
    assert as_dict(ev("sum(errors_total)", store, 600)) == {"{}": 110.0}
    assert as_dict(ev("sum by (model) (errors_total)", store, 600)) == {'{model="churn"}': 110.0}
    assert as_dict(ev("sum(errors_total) by (model)", store, 600)) == {'{model="churn"}': 110.0}
    assert as_dict(ev("max without (version) (errors_total)", store, 600)) == {
        '{model="churn"}': 100.0}
    assert as_dict(ev("count(errors_total)", store, 600)) == {"{}": 2.0}
    assert as_dict(ev("avg(errors_total)", store, 600)) == {"{}": 55.0}
    assert as_dict(ev("quantile(0.5, errors_total)", store, 600)) == {"{}": 55.0}
    top = as_dict(ev("topk(1, errors_total)", store, 600))
    assert top == {'{__name__="errors_total", model="churn", version="v1"}': 100.0}
    bottom = as_dict(ev("bottomk(1, errors_total)", store, 600))
    assert bottom == {'{__name__="errors_total", model="churn", version="v2"}': 10.0}


def test_arithmetic_follows_ieee(store: SeriesStore) -> None:
    assert ev("1 / 0", store, 0) == math.inf
    assert math.isnan(ev("0 / 0", store, 0))  # type: ignore[arg-type]
    assert ev("2 ^ 3 * 2", store, 0) == 16.0
    assert ev("-2 ^ 2", store, 0) == -4.0
    assert ev("99.9%", store, 0) == pytest.approx(0.999)
    assert ev("1h30m", store, 0) == 5400.0
    assert as_dict(ev("-latency", store, 600)) == {'{model="fraud", version="v1"}': -0.2}


def test_absent(store: SeriesStore) -> None:
    assert as_dict(ev('absent(nothing{job="api", env=~"p.*"})', store, 600)) == {
        '{job="api"}': 1.0}
    assert ev("absent(latency)", store, 600) == []
    assert as_dict(ev('absent_over_time(nothing{job="x"}[5m])', store, 600)) == {
        '{job="x"}': 1.0}


def test_histogram_quantile_over_local_buckets() -> None:
    s = SeriesStore()
    for le, count in [("0.1", 50.0), ("0.5", 90.0), ("1", 100.0), ("+Inf", 100.0)]:
        s.add({"__name__": "lat_bucket", "le": le, "job": "a"}, 0.0, count)
    got = as_dict(ev("histogram_quantile(0.9, lat_bucket)", s, 0))
    assert got == {'{job="a"}': pytest.approx(0.5)}
    got = as_dict(ev("histogram_quantile(0.7, lat_bucket)", s, 0))
    assert got == {'{job="a"}': pytest.approx(0.1 + 0.4 * (20 / 40))}


def test_subquery_evaluates_at_aligned_steps(store: SeriesStore) -> None:
    got = as_dict(ev('max_over_time(rate(errors_total{version="v1"}[2m])[5m:1m])', store, 600))
    assert got == {'{model="churn", version="v1"}': pytest.approx(10 / 60)}


def test_label_replace_and_join(store: SeriesStore) -> None:
    got = ev('label_replace(latency, "v", "$1", "version", "v(.*)")', store, 600)
    assert as_dict(got) == {'{__name__="latency", model="fraud", v="1", version="v1"}': 0.2}
    got = ev('label_join(latency, "id", "/", "model", "version")', store, 600)
    assert as_dict(got) == {'{__name__="latency", id="fraud/v1", model="fraud", version="v1"}': 0.2}


def test_prom_queries_are_run_once_per_time() -> None:
    calls: list[tuple[str, float]] = []

    def query(q: str, at: float) -> Vector:
        calls.append((q, at))
        return [Sample(Labels({"model_version": "v2"}), 0.3)]

    ctx = EvalContext(120.0, SeriesStore(), query)
    expr = compile_expr(parse_expr('prom(`q`) > 100ms and prom(`q`) < 1'))
    got = expr.eval(ctx)
    assert as_dict(got) == {'{model_version="v2"}': 0.3}
    assert calls == [("q", 120.0)]
    assert ctx.saw_data


def test_alert_reference_reads_other_rules() -> None:
    def alerts(name: str, state: str) -> Vector:
        assert name == "Drift"
        return [Sample(Labels({"alertname": "Drift", "model_version": "v2"}), 1.0)] \
            if state == "firing" else []

    s = SeriesStore()
    s.add({"__name__": "err", "model_version": "v2"}, 0.0, 1.0)
    s.add({"__name__": "err", "model_version": "v1"}, 0.0, 1.0)
    got = ev('err and on(model_version) alert("Drift")', s, 0, alerts=alerts)
    assert as_dict(got) == {'{__name__="err", model_version="v2"}': 1.0}
    assert ev('err and on(model_version) alert("Drift", state="pending")', s, 0,
              alerts=alerts) == []


def test_selector_refs_know_the_range_they_need() -> None:
    expr = compile_expr(parse_expr("max_over_time(rate(a[5m])[1h:1m]) > b"))
    ranges = {ref.name: ref.range for ref in expr.selectors}
    assert ranges == {"a": 3900.0, "b": 0.0}


def test_percentages_are_exact() -> None:
    assert ev("0.999 >= bool 99.9%", SeriesStore(), 0) == 1.0
