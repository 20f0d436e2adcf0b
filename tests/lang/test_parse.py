"""Parsing: the syntax tree a rule file becomes, and positioned syntax errors."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertd.errors import RuleError
from alertd.lang import ast
from alertd.lang.diagnostics import render
from alertd.lang.parse import parse_expr, parse_file

CHURN = '''\
group churn_model {
  interval = 30s
  owner    = "ml-platform"
  labels   = { service = "churn" }

  alert ChurnErrorsAndDrift {
    # composite: a pushed event stream AND another rule's state
    when  = rate(prediction_errors_total{model="churn"}[5m]) > 0.05
            and on(model_version) alert("ChurnFeatureDrift")
    for   = 2m
    clear = rate(prediction_errors_total{model="churn"}[5m]) < 0.02   # hysteresis
  }
}
'''


def errors(source: str) -> list[str]:
    result = parse_file(source, "x.rules")
    return [d.headline() for d in result.diagnostics]


def test_blocks_settings_and_spans() -> None:
    result = parse_file(CHURN, "churn.rules")
    assert result.ok
    (group,) = result.file.items
    assert isinstance(group, ast.Block)
    assert (group.kind, group.name) == ("group", "churn_model")
    assert [s.key for s in group.settings()] == ["interval", "owner", "labels"]
    (alert,) = group.blocks()
    assert alert.name == "ChurnErrorsAndDrift"
    when = alert.settings()[0]
    assert when.key == "when" and (when.key_span.line, when.key_span.column) == (8, 5)
    assert isinstance(when.value, ast.Binary) and when.value.op == "and"
    assert when.value.matching is not None and when.value.matching.labels == ("model_version",)
    assert (when.value.span.line, when.value.span.end_line) == (8, 9)
    assert [c.text for c in result.file.comments] == [
        "# composite: a pushed event stream AND another rule's state", "# hysteresis"]


def test_precedence_follows_promql() -> None:
    e = parse_expr("a + b * c > 1 and d or e unless f")
    # or binds loosest; and/unless bind tighter, left to right.
    assert isinstance(e, ast.Binary) and e.op == "or"
    assert isinstance(e.right, ast.Binary) and e.right.op == "unless"
    left = e.left
    assert isinstance(left, ast.Binary) and left.op == "and"
    cmp = left.left
    assert isinstance(cmp, ast.Binary) and cmp.op == ">"
    assert isinstance(cmp.left, ast.Binary) and cmp.left.op == "+"
    power = parse_expr("2 ^ 3 ^ 2")
    assert isinstance(power, ast.Binary) and isinstance(power.right, ast.Binary)  # right assoc


def test_literals() -> None:
    assert parse_expr("1h30m") == ast.DurationLit(5400.0, "1h30m", parse_expr("1h30m").span)
    d = parse_expr("100ms")
    assert isinstance(d, ast.DurationLit) and d.seconds == pytest.approx(0.1)
    p = parse_expr("99.9%")
    assert isinstance(p, ast.PercentLit) and p.value == pytest.approx(0.999)
    m = parse_expr("5 % 2")
    assert isinstance(m, ast.Binary) and m.op == "%"
    s = parse_expr('"a\\"b\\n"')
    assert isinstance(s, ast.StringLit) and s.value == 'a"b\n'
    raw = parse_expr("`a\\nb`")
    assert isinstance(raw, ast.StringLit) and raw.raw and raw.value == "a\\nb"
    inf = parse_expr("Inf")
    assert isinstance(inf, ast.NumberLit) and inf.value == float("inf")


def test_aggregation_grouping_either_side() -> None:
    before = parse_expr("sum by (le, model_version) (rate(x[5m]))")
    after = parse_expr("sum(rate(x[5m])) by (le, model_version)")
    for e, first in ((before, True), (after, False)):
        assert isinstance(e, ast.Call) and e.grouping is not None
        assert e.grouping.labels == ("le", "model_version") and e.grouping_first is first


def test_keyword_arguments_and_subqueries() -> None:
    e = parse_expr('alert("Drift", state="pending")')
    assert isinstance(e, ast.Call) and e.kwargs[0].name == "state"
    sq = parse_expr("max_over_time(rate(x[1m])[1h:5m])")
    assert isinstance(sq, ast.Call)
    inner = sq.args[0]
    assert isinstance(inner, ast.Subscript) and inner.subquery
    assert inner.range.seconds == 3600 and inner.step and inner.step.seconds == 300


def test_group_left_and_bool() -> None:
    e = parse_expr("a / ignoring(pod) group_left(owner) b > bool 0.5")
    assert isinstance(e, ast.Binary) and e.return_bool
    inner = e.left
    assert isinstance(inner, ast.Binary) and inner.matching is not None
    assert inner.matching.card == "many-to-one" and inner.matching.include == ("owner",)


def test_syntax_error_says_what_was_expected() -> None:
    assert errors("alert A {\n  when = rate(x[5m]\n  for = 5m\n}\n") == [
        'x.rules:3:3: unexpected name "for", expected one of ")", ","']


def test_every_broken_block_is_reported() -> None:
    source = (
        "alert A {\n  when = rate(x[5m]\n}\n"
        "alert B {\n  when = x >\n}\n"
        "alert C {\n  when = up == 0\n}\n"
        "alert D {\n  when = x{a=\"b\" > 1\n}\n"
    )
    result = parse_file(source, "x.rules")
    lines = [d.span.line for d in result.diagnostics]
    assert lines == [3, 6, 11]
    # The good block still reaches the checker.
    assert [i.name for i in result.file.items if isinstance(i, ast.Block)] == ["C"]


def test_invalid_durations_are_named() -> None:
    assert errors("alert A { for = 1.5h }") == [
        'x.rules:1:17: invalid duration "1.5h": fractions are not allowed; '
        "write 1h30m rather than 1.5h"]
    assert errors("alert A { for = 30m1h }") == [
        'x.rules:1:17: invalid duration "30m1h": units must go from largest to smallest, '
        "each at most once"]
    assert errors("alert A { for = 5mb }")[0].startswith('x.rules:1:17: invalid duration "5mb"')


UNITS = "expected a number followed by a unit (ms, s, m, h, d, w, y)"


@pytest.mark.parametrize(("source", "expected"), [
    # An unknown unit was a number and a name, rejected only at the next line's "=".
    ('alert A {\n  for = 5x\n  severity = "page"\n}\n',
     f'x.rules:2:9: invalid duration "5x": {UNITS}'),
    ('alert A {\n  when = rate(x[5x]) > 1\n}\n',
     f'x.rules:2:17: invalid duration "5x": {UNITS}'),
    ('alert A {\n  keep_firing_for = 10 m\n  severity = "page"\n}\n',
     'x.rules:2:21: invalid duration "10 m": no space is allowed between a number and its '
     "unit; write 10m"),
    ('alert A {\n  when = x offset 1 d\n}\n',
     'x.rules:2:19: invalid duration "1 d": no space is allowed between a number and its '
     "unit; write 1d"),
    ('alert A {\n  when = x[5m:1M]\n}\n', f'x.rules:2:15: invalid duration "1M": {UNITS}'),
])
def test_a_malformed_duration_is_reported_where_it_is(source: str, expected: str) -> None:
    assert errors(source) == [expected]


def test_numbers_next_to_names_are_still_numbers_where_they_can_be() -> None:
    assert isinstance(parse_expr("x > 1e3"), ast.Binary)
    assert isinstance(parse_expr("x > 2.5E-3"), ast.Binary)
    # A one-letter metric after an operator is a selector, not a unit.
    expr = parse_expr("x > 5 and m")
    assert isinstance(expr, ast.Binary) and isinstance(expr.right, ast.Selector)


def test_unterminated_string_and_stray_characters() -> None:
    assert errors('alert A {\n  summary = "oops\n}\n') == ["x.rules:2:13: unterminated string"]
    assert errors("alert A { when = x ? 5 }") == ['x.rules:1:20: unexpected character "?"']


def test_missing_brace_at_end_of_file() -> None:
    assert errors("group g {\n  alert A {\n    when = up\n  }\n") == [
        'x.rules:1:1: this block is never closed: group g needs a "}"']


UNCLOSED_IN_GROUP = """\
group g {
  labels = { service = "x" }

  alert A {
    when = rate(foo{a="b"}[5m]) > 0
    summary = "{ not a brace }"  # nor this {

  alert B {
    when = up == 0
  }
}
"""


def test_an_unclosed_alert_is_reported_where_it_opens() -> None:
    result = parse_file(UNCLOSED_IN_GROUP, "x.rules")
    assert not result.ok
    assert [d.headline() for d in result.diagnostics] == [
        'x.rules:4:3: this block is never closed: alert A needs a "}", probably before '
        "alert B on line 8"]
    (diag,) = result.diagnostics
    assert render(diag, UNCLOSED_IN_GROUP).splitlines()[1:] == ["    alert A {",
                                                                "    ^~~~~~~~~"]
    # B is not taken for a part of A.
    assert result.file.items == ()


def test_an_unclosed_top_level_alert_still_lets_the_next_one_through() -> None:
    result = parse_file("alert A {\n  when = up == 0\n\nalert B {\n  when = up\n}\n",
                        "x.rules")
    assert [d.headline() for d in result.diagnostics] == [
        'x.rules:1:1: this block is never closed: alert A needs a "}", probably before '
        "alert B on line 4"]
    assert [i.name for i in result.file.items if isinstance(i, ast.Block)] == ["B"]


def test_the_last_unclosed_alert_of_a_group_is_blamed_not_the_group() -> None:
    source = "group g {\n  alert A {\n    when = up\n  }\n  alert B {\n    when = up\n}\n"
    assert errors(source) == [
        'x.rules:5:3: this block is never closed: alert B needs a "}", probably before '
        'the "}" on line 7']


def test_error_rendering_has_source_line_and_caret() -> None:
    source = "alert A {\n  when = x > > 1\n}\n"
    (diag,) = parse_file(source, "x.rules").diagnostics
    assert render(diag, source) == (
        'x.rules:2:14: unexpected ">", expected an expression\n'
        "    when = x > > 1\n"
        "               ^"
    )


def test_parse_expr_raises_positioned_rule_error() -> None:
    with pytest.raises(RuleError) as info:
        parse_expr("rate(x[5m]")
    assert info.value.span is not None and info.value.span.column == 10


TOKENS = st.sampled_from([
    "group", "alert", "g", "A", "when", "=", "{", "}", "(", ")", "[", "]", ",", ":", "5m",
    "1h30m", "0.5", "99%", '"s"', "`raw`", "rate", "x", "sum", "by", "on", "and", "or",
    "unless", "bool", ">", "<", "==", "!=", "=~", "!~", "+", "-", "*", "/", "%", "^", "#c\n",
    "\n", " ", "labels", "group_left", "alert(", '"', "`", "1.5h", "\x00", "é", "\\",
])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(TOKENS, max_size=60).map(" ".join)))
def test_any_input_parses_or_gives_positioned_errors(source: str) -> None:
    result = parse_file(source, "fuzz.rules")
    line_count = source.count("\n") + 1
    for d in result.diagnostics:
        assert d.message
        assert 1 <= d.span.line <= line_count
        assert d.span.column >= 1
        assert 0 <= d.span.start <= len(source)
    if result.ok:
        assert all(isinstance(i, ast.Block | ast.Setting) for i in result.file.items)
