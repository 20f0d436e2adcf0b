"""`offset` and `@`: parsed, checked, evaluated at the moved time, and formatted."""

from __future__ import annotations

import pytest

from alertd.errors import RuleError
from alertd.lang import ast
from alertd.lang.check import check_files
from alertd.lang.compile import compile_expr
from alertd.lang.context import EvalContext
from alertd.lang.format import format_expr, format_source
from alertd.lang.parse import parse_expr, parse_file
from alertd.model import Labels, Sample
from alertd.sources.samples import SeriesStore

HOUR = 3600.0
DAY = 86400.0


def ev(expr: str, store: SeriesStore, at: float) -> dict[str, float]:
    value = compile_expr(parse_expr(expr)).eval(EvalContext(at, store))
    assert isinstance(value, list)
    return {str(s.labels): s.value for s in value}


def diags(expr: str) -> list[str]:
    """`col: message` of each diagnostic of `when = expr` (columns within `expr`)."""
    parsed = parse_file(f'alert A {{\n  when = {expr}\n  severity = "page"\n}}\n', "a.rules")
    assert parsed.ok, [d.headline() for d in parsed.diagnostics]
    out = []
    for d in check_files([parsed.file]).diagnostics:
        warning = "warning: " if d.severity == "warning" else ""
        out.append(f"{d.span.column - 9}: {warning}{d.message}")
    return out


@pytest.fixture
def daily() -> SeriesStore:
    """A gauge sampled every 10 minutes for two days: 10 on the first day, 20 on the second."""
    s = SeriesStore()
    for i in range(2 * 144 + 1):
        t = i * 600.0
        s.add({"__name__": "score", "model": "churn"}, t, 10.0 if t < DAY else 20.0)
        s.add({"__name__": "served_total", "model": "churn"}, t, i * 60.0)
    return s


# --- parsing -----------------------------------------------------------------------------


def test_modifiers_attach_to_selectors_ranges_and_subqueries() -> None:
    e = parse_expr("x[1h] offset 1d")
    assert isinstance(e, ast.Modified) and isinstance(e.expr, ast.Subscript)
    assert e.offset is not None and e.offset.seconds == DAY and e.at is None
    e = parse_expr("x @ 1700000000 offset -5m")
    assert isinstance(e, ast.Modified) and isinstance(e.expr, ast.Selector)
    assert e.at is not None and e.at.time == 1_700_000_000
    assert e.offset is not None and e.offset.seconds == -300
    e = parse_expr("max_over_time(rate(x[5m])[1h:5m] offset 1w)")
    assert isinstance(e, ast.Call)
    (arg,) = e.args
    assert isinstance(arg, ast.Modified) and isinstance(arg.expr, ast.Subscript)
    assert arg.expr.subquery


def test_either_order_makes_one_modified_selector() -> None:
    a, b = parse_expr("x offset 5m @ end()"), parse_expr("x @ end() offset 5m")
    for e in (a, b):
        assert isinstance(e, ast.Modified) and isinstance(e.expr, ast.Selector)
        assert e.at is not None and e.at.time is None and e.at.text == "end()"
        assert e.offset is not None and e.offset.seconds == 300


def test_modifier_binds_tighter_than_operators() -> None:
    e = parse_expr("-x offset 1h ^ 2 > 1")
    assert isinstance(e, ast.Binary) and isinstance(e.left, ast.Unary)
    power = e.left.operand
    assert isinstance(power, ast.Binary) and isinstance(power.left, ast.Modified)


def test_offset_is_still_a_name_where_no_modifier_can_be() -> None:
    assert isinstance(parse_expr("offset > 1"), ast.Binary)
    e = parse_expr('sum by (offset) (x{offset="a"})')
    assert isinstance(e, ast.Call) and e.grouping is not None
    assert e.grouping.labels == ("offset",)


def test_a_key_named_offset_after_a_value_is_a_setting() -> None:
    result = parse_file('x {\n  labels = { a = "b" }\n  offset = 7d\n  when = y offset 1h\n}\n',
                        "a.rules")
    assert result.ok, [d.headline() for d in result.diagnostics]
    (block,) = result.file.items
    assert isinstance(block, ast.Block)
    assert [s.key for s in block.settings()] == ["labels", "offset", "when"]
    assert isinstance(block.settings()[2].value, ast.Modified)


@pytest.mark.parametrize(("source", "message", "column"), [
    ("x offset 1h offset 2h", "offset is given twice", 13),
    ("x @ 1 @ 2", '"@" is given twice', 7),
    ("x @ now()", '"@" takes a time in seconds since the epoch, start() or end(), got now()', 5),
    ("x offset 5", 'unexpected number "5", expected one of "+" or "-", a duration', 10),
])
def test_malformed_modifiers_are_syntax_errors_where_they_are(
        source: str, message: str, column: int) -> None:
    with pytest.raises(RuleError) as info:
        parse_expr(source)
    assert info.value.message == message
    assert info.value.span is not None and info.value.span.column == column


# --- checking ----------------------------------------------------------------------------


def test_the_drift_check_is_clean() -> None:
    assert diags("avg_over_time(score[1h]) - avg_over_time(score[1h] offset 1d) > 5") == []
    assert diags("rate(x[5m] offset 1w) > 0 and x @ end() > 0") == []


def test_a_modifier_after_a_call_says_where_it_belongs() -> None:
    expr = "rate(x[5m]) offset 1h > 0"
    assert diags(expr) == [f"{expr.index('offset') + 1}: offset must follow a selector, a "
                           "range selector or a subquery; move it inside the call: "
                           "rate(x[5m] offset 1h)"]
    assert diags("(x) @ end() > 0") == [
        '5: "@" must follow a selector, a range selector or a subquery; write x @ end()']


def test_a_range_after_a_modifier_says_to_swap_them() -> None:
    assert diags("avg_over_time(x offset 1h [5m]) > 0") == [
        "15: the range goes before offset: write x[5m] offset 1h"]


def test_an_infinite_at_time_is_an_error() -> None:
    assert diags("x @ 1e999 > 0") == [
        '3: "@" needs a finite time in seconds since the epoch, got 1e999']


def test_reads_that_cannot_see_pushed_samples_are_warnings() -> None:
    assert diags("x offset -5m > 0") == [
        "3: warning: offset -5m reads after the evaluation time, where no samples are yet: "
        "this selector reads nothing unless it is inside a subquery or pinned with @ to a "
        "fixed time"]
    # Inside a subquery a negative offset still reads before the evaluation time.
    assert diags("max_over_time((x offset -1m)[10m:1m]) > 0") == []
    assert diags("x @ 1700000000 > 0") == [
        '3: warning: "@ 1700000000" pins this selector to a fixed time; pushed samples are '
        "kept only as long as the rules' ranges and offsets need, so it reads nothing once "
        "that time is older"]


# --- evaluation --------------------------------------------------------------------------


def test_drift_against_the_same_hour_yesterday(daily: SeriesStore) -> None:
    expr = "avg_over_time(score[1h]) - avg_over_time(score[1h] offset 1d)"
    # At 36h the last hour is 20 and the same hour yesterday (11h-12h) was 10.
    assert ev(expr, daily, 36 * HOUR) == {'{model="churn"}': 10.0}
    # At 47h yesterday's hour (22h-23h) was 10 as well; an hour after midnight it was 20.
    assert ev(expr, daily, 47 * HOUR) == {'{model="churn"}': 10.0}
    assert ev(expr, daily, DAY + HOUR) == {'{model="churn"}': 10.0}
    # Before a full day of history the offset window is empty, and so is the difference.
    assert ev(expr, daily, 20 * HOUR) == {}


def test_an_instant_selector_reads_the_moved_time_with_its_lookback(daily: SeriesStore) -> None:
    assert ev("score offset 1d", daily, 36 * HOUR) == {
        '{__name__="score", model="churn"}': 10.0}
    # Samples are 10 minutes apart: 9 minutes after one, the lookback (5m) finds nothing.
    assert ev("score offset 1d", daily, 36 * HOUR + 540) == {}


def test_rate_over_an_offset_window_extrapolates_to_its_edges() -> None:
    # Prometheus's own case: rate(x[10m] offset 5m) at 50m over 0+10x10 every 5 minutes.
    s = SeriesStore()
    for i in range(11):
        s.add({"__name__": "c", "x": "a"}, i * 300.0, i * 10.0)
        s.add({"__name__": "c", "x": "b"}, i * 300.0, i * 20.0)
        s.add({"__name__": "g"}, i * 300.0, float(i * i))
    got = ev("rate(c[10m] offset 5m)", s, 3000)
    assert got == {'{x="a"}': pytest.approx(0.03333333333333333),
                   '{x="b"}': pytest.approx(0.06666666666666667)}
    assert ev("rate(c[10m] offset 5m)", s, 3000) == ev("rate(c[10m])", s, 2700)
    # A subquery's window moves the same way, and delta() extrapolates to its moved edges
    # (steps of 4m leave uneven gaps at the edges, so extrapolating to the wrong ones shows).
    assert ev("delta(g[10m:4m] offset 5m)", s, 3000) == ev("delta(g[10m:4m])", s, 2700)


def test_at_pins_the_time_and_start_end_are_the_evaluation_time(daily: SeriesStore) -> None:
    assert ev("score @ 600", daily, 40 * HOUR) == {'{__name__="score", model="churn"}': 10.0}
    # A negative offset with a fixed time reads after that time.
    assert ev("score @ 600 offset -1d", daily, 40 * HOUR) == {
        '{__name__="score", model="churn"}': 20.0}
    # Inside a subquery `t` moves with each step; end() stays the rule's evaluation time:
    # yesterday's steps read today's value.
    expr = "min_over_time((score @ end())[1h:10m] offset 1d)"
    assert ev(expr, daily, 36 * HOUR) == {'{model="churn"}': 20.0}
    expr = "min_over_time(score[1h:10m] offset 1d)"
    assert ev(expr, daily, 36 * HOUR) == {'{model="churn"}': 10.0}
    assert ev("score @ start()", daily, 36 * HOUR) == ev("score", daily, 36 * HOUR)


def test_timestamp_and_absent_see_through_the_modifier(daily: SeriesStore) -> None:
    assert ev("timestamp(score offset 1d)", daily, 36 * HOUR + 60) == {
        '{model="churn"}': 12 * HOUR}
    assert ev('absent(score{model="fraud"} offset 1d)', daily, 36 * HOUR) == {
        '{model="fraud"}': 1.0}
    assert ev('absent_over_time(score{model="fraud"}[1h] offset 1d)', daily, 36 * HOUR) == {
        '{model="fraud"}': 1.0}


def test_data_seen_through_a_modifier_counts_for_nodata(daily: SeriesStore) -> None:
    ctx = EvalContext(36 * HOUR, daily)
    compile_expr(parse_expr("score offset 1d")).eval(ctx)
    assert ctx.saw_data


def test_modifiers_inside_prom_are_prometheus_business() -> None:
    query = "sum(rate(x[5m] offset 1d)) @ end() / sum(rate(x[5m] offset -1h @ 1700000000))"
    asked: list[tuple[str, float]] = []

    def prometheus(q: str, at: float) -> list[Sample]:
        asked.append((q, at))
        return [Sample(Labels(), 1.0)]

    expr = compile_expr(parse_expr(f"prom(`{query}`) > 0"))
    assert expr.prom_queries == (query,) and expr.max_range == 0
    assert diags(f"prom(`{query}`) > 0") == []
    expr.eval(EvalContext(100.0, SeriesStore(), prometheus))
    assert asked == [(query, 100.0)]


@pytest.mark.parametrize(("expr", "history"), [
    ("avg_over_time(score[1h] offset 1d)", DAY + HOUR),
    ("score offset 1d", DAY),
    ("max_over_time((score offset 1h)[2h:10m])", 3 * HOUR),
    ("rate(served_total[5m] offset 1w)", 7 * DAY + 300),
    ("score offset -1h", 0.0),
])
def test_the_history_a_rule_needs_includes_its_offsets(expr: str, history: float) -> None:
    # The daemon keeps this much of every pushed series (plus the lookback).
    assert compile_expr(parse_expr(expr)).max_range == history


# --- formatting --------------------------------------------------------------------------


CANONICAL = [
    "x[1h] offset 1d",
    "x @ 1700000000 offset -5m",
    "rate(x[5m] @ end())",
    "x @ start()",
    'x{a="b"} offset 1h30m',
    "max_over_time(rate(x[5m])[1h:5m] offset 1w)",
    "avg_over_time(x[1h]) - avg_over_time(x[1h] offset 1d)",
    "(x offset 1m)[10m:1m]",
    "x @ -5",
]


@pytest.mark.parametrize("source", CANONICAL)
def test_canonical_text_round_trips(source: str) -> None:
    assert format_expr(parse_expr(source)) == source


@pytest.mark.parametrize(("written", "canonical"), [
    ("x offset 5m @ end()", "x @ end() offset 5m"),
    ("x  offset  90m", "x offset 1h30m"),
    ("x@+5", "x @ 5"),
    ("x[5m]offset -60s", "x[5m] offset -1m"),
])
def test_modifiers_format_canonically(written: str, canonical: str) -> None:
    assert format_expr(parse_expr(written)) == canonical


def test_a_rule_file_with_modifiers_formats_idempotently() -> None:
    source = ('alert Drift {\n  when = avg_over_time(score[1h])-avg_over_time(score[1h]  offset'
              ' 1d)>5\n  severity = "page"\n}\n')
    out = format_source(source, "a.rules")
    assert out == ('alert Drift {\n  when     = avg_over_time(score[1h]) - '
                   'avg_over_time(score[1h] offset 1d) > 5\n  severity = "page"\n}\n')
    assert format_source(out, "a.rules") == out
