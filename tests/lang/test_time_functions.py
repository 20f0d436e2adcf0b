"""predict_linear, the calendar functions and sort: PromQL's values, checked calls."""

from __future__ import annotations

import math

import pytest

from alertd.lang.check import check_files
from alertd.lang.compile import compile_expr
from alertd.lang.context import EvalContext
from alertd.lang.parse import parse_expr, parse_file
from alertd.sources.samples import SeriesStore


def ev(expr: str, at: float, store: SeriesStore | None = None) -> list[tuple[str, float]]:
    value = compile_expr(parse_expr(expr)).eval(EvalContext(at, store or SeriesStore()))
    assert isinstance(value, list)
    return [(str(s.labels), s.value) for s in value]


def one(expr: str, at: float = 0.0, store: SeriesStore | None = None) -> float:
    ((_, value),) = ev(expr, at, store)
    return value


def diags(expr: str) -> list[str]:
    parsed = parse_file(f'alert A {{\n  when = {expr}\n  severity = "page"\n}}\n', "t.rules")
    assert parsed.ok
    return [d.headline() for d in check_files([parsed.file]).diagnostics]


@pytest.fixture
def reset_middle() -> SeriesStore:
    """Prometheus's testcounter_reset_middle_total: 0+10x4 0+10x5, every 5 minutes."""
    s = SeriesStore()
    for i, v in enumerate([0, 10, 20, 30, 40, 0, 10, 20, 30, 40, 50]):
        s.add({"__name__": "c"}, i * 300.0, float(v))
    return s


# --- predict_linear ----------------------------------------------------------------------


def test_predict_linear_reads_the_line_after_the_evaluation_time(
        reset_middle: SeriesStore) -> None:
    # The window (0, 50m] holds the 10 samples from 5m: the line reaches 70 an hour on.
    assert one("predict_linear(c[50m], 3600)", 3000, reset_middle) == pytest.approx(70)
    assert one("predict_linear(c[50m], 1h)", 3000, reset_middle) == pytest.approx(70)
    # With @ the window is pinned, but the line is still read from the evaluation time,
    # as Prometheus does: all 11 samples, read at 10m + 1h, 50m + 1h and 70m + 1h.
    expr = "predict_linear(c[55m] @ 3000, 3600)"
    assert one(expr, 3000, reset_middle) == pytest.approx(76.81818181818181)
    assert one(expr, 600, reset_middle) == pytest.approx(51.36363636363637)
    assert one(expr, 4200, reset_middle) == pytest.approx(89.54545454545455)


def test_predict_linear_drops_the_name_and_needs_two_samples(reset_middle: SeriesStore) -> None:
    s = SeriesStore()
    s.add({"__name__": "disk_free", "host": "a"}, 0.0, 100.0)
    s.add({"__name__": "disk_free", "host": "a"}, 60.0, 90.0)
    s.add({"__name__": "disk_free", "host": "b"}, 60.0, 50.0)
    # host a loses 10 a minute: empty 9 minutes after 60s; host b has one sample only.
    assert ev("predict_linear(disk_free[5m], 540)", 60.0, s) == [('{host="a"}', 0.0)]


def test_predict_linear_of_a_flat_series_is_exact() -> None:
    s = SeriesStore()
    for i in range(5):
        s.add({"__name__": "g"}, 1_700_000_000.0 + i * 15, 0.1)
        s.add({"__name__": "h"}, 1_700_000_000.0 + i * 15, math.inf)
    assert one("predict_linear(g[5m], 86400)", 1_700_000_060.0, s) == 0.1
    assert math.isnan(one("predict_linear(h[5m], 60)", 1_700_000_060.0, s))


# --- calendar functions ------------------------------------------------------------------

# 2006-01-02 22:04:05 UTC, a Monday.
MONDAY = 1136239445


@pytest.mark.parametrize(("fn", "value"), [
    ("minute", 4), ("hour", 22), ("day_of_week", 1), ("day_of_month", 2),
    ("day_of_year", 2), ("days_in_month", 31), ("month", 1), ("year", 2006),
])
def test_calendar_functions_of_the_evaluation_time_and_of_values(fn: str, value: float) -> None:
    assert ev(f"{fn}()", MONDAY) == [("{}", value)]
    s = SeriesStore()
    s.add({"__name__": "last_seen", "job": "etl"}, 0.0, MONDAY + 0.9)
    assert ev(f"{fn}(last_seen)", 60.0, s) == [('{job="etl"}', value)]


@pytest.mark.parametrize(("expr", "value"), [
    ("day_of_week()", 4),  # 1970-01-01 was a Thursday
    ("day_of_year()", 1),
    ("month(vector(1456790399)) + day_of_month(vector(1456790399)) / 100", 2.29),
    ("month(vector(1456790400)) + day_of_month(vector(1456790400)) / 100", 3.01),
    ("day_of_year(vector(1483191420))", 366),  # 2016-12-31, a leap year
    ("day_of_year(vector(1672493820))", 365),
    ("days_in_month(vector(1454284800))", 29),  # February 2016
    ("days_in_month(vector(1485907200))", 28),  # February 2017
    ("year(vector(-1))", 1969),
])
def test_calendar_values_match_prometheus(expr: str, value: float) -> None:
    assert one(expr) == pytest.approx(value)


def test_a_value_that_is_no_time_gives_nan() -> None:
    assert math.isnan(one("hour(vector(NaN))"))
    assert math.isnan(one("year(vector(Inf))"))
    assert math.isnan(one("year(vector(1e300))"))


def test_business_hours_in_a_rule() -> None:
    # 09:30 UTC on a Wednesday.
    wednesday = 1_700_040_600.0 - 1_700_040_600.0 % 86400 + 9.5 * 3600
    expr = "vector(1) and on() (hour() >= 9 < 17) and on() (day_of_week() > 0 < 6)"
    assert ev(expr, wednesday) == [("{}", 1.0)]
    assert ev(expr, wednesday + 8 * 3600) == []


# --- sort --------------------------------------------------------------------------------


def test_sort_and_sort_desc_order_by_value_with_nan_last() -> None:
    s = SeriesStore()
    for name, value in [("a", 3.0), ("b", math.nan), ("c", 1.0), ("d", 2.0)]:
        s.add({"__name__": "x", "k": name}, 0.0, value)
    assert [labels for labels, _ in ev("sort(x)", 0.0, s)] == [
        '{__name__="x", k="c"}', '{__name__="x", k="d"}', '{__name__="x", k="a"}',
        '{__name__="x", k="b"}']
    assert [labels for labels, _ in ev("sort_desc(x)", 0.0, s)] == [
        '{__name__="x", k="a"}', '{__name__="x", k="d"}', '{__name__="x", k="c"}',
        '{__name__="x", k="b"}']


# --- checking ----------------------------------------------------------------------------


@pytest.mark.parametrize(("expr", "message"), [
    ("predict_linear(x, 3600) > 0",
     "t.rules:2:25: predict_linear() expects a range vector as argument 1, got an instant "
     "vector (add a range such as [5m])"),
    ("predict_linear(x[1h]) > 0", "t.rules:2:10: predict_linear() takes 2 arguments, got 1"),
    ('predict_linear(x[1h], "1h") > 0',
     "t.rules:2:32: predict_linear() expects a scalar as argument 2, got a string"),
    ("hour(x[5m]) > 0",
     "t.rules:2:15: hour() expects an instant vector as argument 1, got a range vector "
     "(wrap it in a function such as rate() or avg_over_time())"),
    ("day_of_week(x, x) > 0", "t.rules:2:25: day_of_week() takes 0 or 1 arguments, got 2"),
    ("sort_desc(1) > 0",
     "t.rules:2:20: sort_desc() expects an instant vector as argument 1, got a scalar"),
    ("days_in_mnth() > 0",
     't.rules:2:10: unknown function "days_in_mnth" (did you mean "days_in_month"?)'),
])
def test_calls_are_type_checked_at_their_place(expr: str, message: str) -> None:
    assert diags(expr) == [message]


def test_well_typed_calls_are_clean() -> None:
    assert diags("predict_linear(disk_free[6h], 4h) < 0") == []
    assert diags("sort_desc(rate(x[5m])) > 1 and on() hour() > 8") == []
