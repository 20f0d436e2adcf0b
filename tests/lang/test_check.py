"""The checker: every mistake reported at once, at its place; clean files become GroupSpecs."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertd.lang import ast
from alertd.lang.ast import Span
from alertd.lang.check import CheckResult, check_files, infer_type
from alertd.lang.parse import parse_expr, parse_file
from alertd.lang.types import ValueType
from alertd.rules.files import check_paths


def check(*sources: str, paths: tuple[str, ...] = (), require: frozenset[str] = frozenset()
          ) -> CheckResult:
    names = paths or tuple(f"f{i}.rules" for i in range(len(sources)))
    files = []
    for source, path in zip(sources, names, strict=True):
        parsed = parse_file(source, path)
        assert parsed.ok, [d.headline() for d in parsed.diagnostics]
        files.append(parsed.file)
    return check_files(files, require=require)


def diags(*sources: str, require: frozenset[str] = frozenset()) -> list[str]:
    """`line:col: message` of every diagnostic of a single file (`warning: ` for warnings)."""
    result = check(*sources, require=require)
    return [
        f"{d.span.line}:{d.span.column}: {'warning: ' if d.severity == 'warning' else ''}"
        f"{d.message}"
        for d in result.diagnostics
    ]


def when(expr: str) -> list[tuple[int, str]]:
    """Diagnostics of `when = expr`, as (1-based position within `expr`, message)."""
    result = check(f"alert A {{\n  when = {expr}\n}}\n")
    out = []
    for d in result.diagnostics:
        assert d.span.line == 2, d.headline()
        out.append((d.span.column - 9, d.message))
    return out


def pos(expr: str, needle: str, nth: int = 0) -> int:
    """1-based position of the `nth` occurrence of `needle` in `expr`."""
    i = -1
    for _ in range(nth + 1):
        i = expr.index(needle, i + 1)
    return i + 1


def only_alert(result: CheckResult) -> list[str]:
    return [a.name for g in result.groups for a in g.alerts]


# --- blocks --------------------------------------------------------------------------------


def test_unknown_block_type_with_suggestion() -> None:
    assert diags("grup g {\n}\n") == ['1:1: unknown block type "grup" (did you mean "group"?)']
    assert diags("widget w {}\n") == ['1:1: unknown block type "widget"']


def test_an_slo_block_says_what_it_lacks() -> None:
    assert diags("\n  slo x { a = 1 }\n") == [
        '2:7: slo "x" has no objective (such as objective = 99.9%)',
        '2:7: slo "x" needs good (or errors) and total: the counters of good (failed) events '
        "and of all events",
        '2:7: slo "x" needs total, the counter of all events',
        '2:11: unknown key "a" in slo',
    ]


def test_blocks_need_names() -> None:
    assert diags("alert { when = up == 0 }\n") == ["1:1: alert needs a name"]
    assert diags('group {\n  alert A { when = up == 0 }\n}\n') == ["1:1: group needs a name"]
    assert diags('alert "" { when = up == 0 }\n') == ["1:7: alert needs a name"]


def test_setting_at_top_level() -> None:
    assert diags("interval = 30s\n") == [
        '1:1: setting "interval" must be inside a block such as group or alert'
    ]


def test_nested_blocks() -> None:
    source = (
        "group g {\n"
        "  group h { }\n"
        "  alrt A { when = up == 0 }\n"
        "  alert B {\n"
        "    when = up == 0\n"
        "    alert C { when = up == 0 }\n"
        "  }\n"
        "}\n"
    )
    assert diags(source) == [
        '2:3: "group" blocks cannot be inside a group; only alert and slo blocks can',
        '3:3: unknown block type "alrt" in group (did you mean "alert"?)',
        '6:5: "alert" blocks cannot be inside an alert (is the "}" of alert B missing '
        'before it?)',
    ]


def test_empty_group_is_a_warning() -> None:
    result = check("group g {\n  owner = \"x\"\n}\n")
    assert [d.headline() for d in result.diagnostics] == [
        'f0.rules:1:7: warning: group "g" has no alerts'
    ]
    assert result.ok
    assert [(g.name, g.alerts) for g in result.groups] == [("g", ())]


def test_top_level_alerts_form_an_implicit_group_named_after_the_file() -> None:
    result = check(
        "alert A { when = up == 0 }\ngroup g { alert B { when = up == 0 } }\n"
        "alert C { when = up == 1 }\n",
        paths=("rules/team/latency.rules",),
    )
    assert result.ok
    assert [(g.name, g.implicit, [a.name for a in g.alerts]) for g in result.groups] == [
        ("latency", True, ["A", "C"]),
        ("g", False, ["B"]),
    ]
    implicit = result.groups[0]
    assert implicit.interval is None
    assert implicit.alerts[0].group == "latency"
    assert (implicit.span.line, implicit.span.end_line) == (1, 3)


# --- keys ----------------------------------------------------------------------------------


def test_unknown_keys_with_suggestions() -> None:
    source = (
        "group g {\n"
        "  intervall = 1m\n"
        "  when = up == 0\n"
        "  alert A {\n"
        "    when = up == 0\n"
        "    fro = 5m\n"
        "    colour = \"red\"\n"
        "  }\n"
        "}\n"
    )
    assert diags(source) == [
        '2:3: unknown key "intervall" in group (did you mean "interval"?)',
        '3:3: unknown key "when" in group (when belongs in an alert block)',
        '6:5: unknown key "fro" in alert (did you mean "for"?)',
        '7:5: unknown key "colour" in alert',
    ]


def test_duplicate_key_names_the_first_line() -> None:
    source = "alert A {\n  when = up == 0\n  for = 1m\n\n  for = 2m\n}\n"
    assert diags(source) == ['5:3: duplicate key "for" in alert (first set on line 3)']


def test_alert_without_when() -> None:
    assert diags('alert Lonely {\n  severity = "page"\n}\n') == ['1:7: alert "Lonely" has no when']


def test_durations() -> None:
    source = (
        "alert A {\n"
        "  when = up == 0\n"
        "  for = 300\n"
        '  keep_firing_for = "5m"\n'
        "  interval = 0s\n"
        "}\n"
        "alert B {\n"
        "  when = up == 0\n"
        "  for = -5m\n"
        "  keep_firing_for = 0s\n"
        "  interval = up\n"
        "}\n"
    )
    assert diags(source) == [
        "3:9: for must be a duration such as 5m, got 300",
        '4:21: keep_firing_for must be a duration such as 5m, got "5m"',
        "5:14: interval must be positive, got 0s",
        "9:9: for must not be negative, got -5m",
        "11:14: interval must be a duration such as 5m, got up",
    ]


def test_invalid_duration_is_reported_once_and_the_alert_left_out() -> None:
    source = "alert A {\n  when = up == 0\n  for = 1h30\n}\nalert B { when = up == 0 }\n"
    parsed = parse_file(source, "d.rules")
    assert [d.message for d in parsed.diagnostics] == [
        'invalid duration "1h30": expected a number followed by a unit (ms, s, m, h, d, w, y)'
    ]
    result = check_files([parsed.file])
    assert result.diagnostics == ()
    assert only_alert(result) == ["B"]


def test_invalid_duration_inside_an_expression_leaves_the_alert_out() -> None:
    parsed = parse_file("alert A { when = rate(x[1h30]) > 0 }\n", "d.rules")
    assert len(parsed.diagnostics) == 1
    result = check_files([parsed.file])
    assert result.diagnostics == ()
    assert result.groups == ()


def test_nodata() -> None:
    source = (
        'alert A { when = up == 0 nodata = "alert" }\n'
        "alert B { when = up == 0 nodata = keep }\n"
        "alert C { when = up == 0 nodata = alrt }\n"
        'alert D { when = up == 0 nodata = "fail" }\n'
        "alert E { when = up == 0 nodata = 1 }\n"
    )
    result = check(source)
    assert [d.headline() for d in result.diagnostics] == [
        'f0.rules:3:35: nodata must be one of "ok", "alert", "keep", got "alrt" '
        '(did you mean "alert"?)',
        'f0.rules:4:35: nodata must be one of "ok", "alert", "keep", got "fail"',
        'f0.rules:5:35: nodata must be one of "ok", "alert", "keep", got 1',
    ]
    assert [(a.name, a.nodata) for g in result.groups for a in g.alerts] == [
        ("A", "alert"), ("B", "keep")
    ]


def test_string_keys() -> None:
    source = (
        "alert A {\n"
        "  when = up == 0\n"
        "  severity = 5\n"
        "  owner = ml\n"
        '  runbook = ""\n'
        "  summary = 1m\n"
        "}\n"
    )
    assert diags(source) == [
        "3:14: severity must be a string, got 5",
        '4:11: owner must be a string, got ml (did you mean "ml"?)',
        "5:13: runbook must not be empty",
        "6:13: summary must be a string, got 1m",
    ]


# --- labels and annotations ----------------------------------------------------------------


def test_labels_must_be_a_map() -> None:
    assert diags('alert A {\n  when = up == 0\n  labels = "team=ml"\n}\n') == [
        '3:12: labels must be a map such as { team = "ml" }, got "team=ml"'
    ]
    assert diags('alert A {\n  when = up == 0\n  labels = x{a="b"}\n}\n') == [
        '3:12: labels must be a map such as { team = "ml" }, got a selector'
    ]


def test_label_entries() -> None:
    source = (
        "alert A {\n"
        "  when = up == 0\n"
        '  labels = { team = "ml", a:b = "c", d =~ "e", team = "x", __meta = "y" }\n'
        "}\n"
    )
    assert diags(source) == [
        '3:27: invalid label name "a:b"',
        '3:38: labels entries are set with "=", got "=~"',
        '3:48: duplicate label "team" in labels (first set on line 3)',
        '3:60: label names starting with "__" are reserved',
    ]


def test_reserved_labels_name_the_key_to_use() -> None:
    source = (
        "group g {\n"
        '  labels = { severity = "page" }\n'
        "  alert A {\n"
        "    when = up == 0\n"
        '    labels = { alertname = "B", severity = "page", owner = "me" }\n'
        "  }\n"
        "}\n"
    )
    assert diags(source) == [
        '2:14: label "severity" is not allowed in labels; use the severity key of each alert',
        "5:16: label \"alertname\" is not allowed in labels; it is always the alert's name",
        '5:33: label "severity" is not allowed in labels; use the severity key',
        '5:52: label "owner" is not allowed in labels; use the owner key',
    ]


def test_template_in_label_value_is_a_warning() -> None:
    assert diags('alert A {\n  when = up == 0\n  labels = { v = "{{ value }}" }\n}\n') == [
        '3:18: warning: label "v" looks like a template, but label values are not expanded'
    ]


def test_annotations() -> None:
    source = (
        "alert A {\n"
        "  when = up == 0\n"
        '  summary = "s"\n'
        '  runbook = "https://rb"\n'
        '  annotations = { summary = "x", runbook_url = "y", dashboard = "{{ vaule }}" }\n'
        "}\n"
    )
    assert diags(source) == [
        '5:19: annotation "summary" conflicts with the summary key; set only one',
        '5:34: annotation "runbook_url" conflicts with the runbook key; set only one',
        '5:69: unknown template variable "vaule" (did you mean "value"?)',
    ]


# --- templates -----------------------------------------------------------------------------


def test_template_problems_point_into_the_string() -> None:
    source = (
        "alert A {\n"
        "  when = up == 0\n"
        '  summary = "p99 {{ value | duration }} on {{ labels.model }} by {{ ownr }}"\n'
        "  description = `first line\n"
        "    second {{ vaue | humanise }}\n"
        "    third`\n"
        '  runbook = "{{ oops"\n'
        "}\n"
    )
    assert diags(source) == [
        '3:69: unknown template variable "ownr" (did you mean "owner"?)',
        '5:15: unknown template variable "vaue" (did you mean "value"?)',
        '5:22: unknown template filter "humanise" (did you mean "humanize"?)',
        "7:13: template syntax error: unexpected end of template, expected 'end of print "
        "statement'",
    ]
    assert check(source).groups == ()


def test_template_syntax_error_in_a_raw_string_points_at_its_line() -> None:
    source = "alert A {\n  when = up == 0\n  description = `ok\n   {% if value %}\n   x`\n}\n"
    (message,) = diags(source)
    assert message.startswith("4:4: template syntax error: ")


# --- expressions: types ----------------------------------------------------------------------


def test_when_and_clear_must_be_instant_vectors() -> None:
    assert when("1") == [(1, "when must be an instant vector, got a scalar")]
    assert when('"up"') == [(1, "when must be an instant vector, got a string")]
    assert when("up[5m]") == [(1, "when must be an instant vector, got a range vector "
                                  "(wrap it in a function such as rate() or avg_over_time())")]
    assert diags("alert A {\n  when = up == 0\n  clear = 1 > bool 0\n}\n") == [
        "3:11: clear must be an instant vector, got a scalar"
    ]


@pytest.mark.parametrize(
    ("expr", "typ"),
    [
        ("1", ValueType.SCALAR),
        ("5m", ValueType.SCALAR),
        ("99.9%", ValueType.SCALAR),
        ('"s"', ValueType.STRING),
        ("up", ValueType.VECTOR),
        ("up[5m]", ValueType.MATRIX),
        ("rate(up[5m])[1h:1m]", ValueType.MATRIX),
        ("(up)", ValueType.VECTOR),
        ("-up", ValueType.VECTOR),
        ("1 + 2 * 3", ValueType.SCALAR),
        ("1 + up", ValueType.VECTOR),
        ("up > bool 1", ValueType.VECTOR),
        ("1 > bool 2", ValueType.SCALAR),
        ("up and on(a) down", ValueType.VECTOR),
        ("scalar(up)", ValueType.SCALAR),
        ("time()", ValueType.SCALAR),
        ("sum by (a) (up)", ValueType.VECTOR),
        ("nope(up)", None),
        ('"a" + 1', None),
    ],
)
def test_infer_type(expr: str, typ: ValueType | None) -> None:
    assert infer_type(parse_expr(expr)) == typ


def test_ranges_only_on_selectors() -> None:
    message = ("ranges are only allowed on selectors; for a range over an expression use a "
               "subquery such as [5m:1m]")
    expr = "rate((up)[5m]) > 0"
    assert when(expr) == [(pos(expr, "(up)"), message)]
    expr = "rate(sum(up)[5m]) > 0"
    assert when(expr) == [(pos(expr, "sum"), message)]


def test_subqueries() -> None:
    assert when("max_over_time(rate(x[5m])[1h:1m]) > 0") == []
    assert when("max_over_time(rate(x[5m])[1h:]) > 0") == []
    expr = "max_over_time(x[5m][1h:1m]) > 0"
    assert when(expr) == [
        (pos(expr, "x[5m]"), "a subquery needs an instant vector, got a range vector")
    ]
    expr = "max_over_time(x[0s]) > 0 or max_over_time(x[5m:0s]) > 0"
    assert when(expr) == [
        (pos(expr, "0s"), "a range must be positive, got 0s"),
        (pos(expr, "0s", 1), "a subquery step must be positive, got 0s"),
    ]


def test_unary() -> None:
    expr = '-"a" + up'
    assert when(expr) == [(2, 'unary "-" cannot be applied to a string')]
    expr = "-up[5m] > 0"
    assert when(expr) == [(2, 'unary "-" cannot be applied to a range vector '
                              "(wrap it in a function such as rate() or avg_over_time())")]


def test_binary_operators() -> None:
    expr = "up * (1 > 2)"
    assert when(expr) == [(pos(expr, ">"), "comparisons between scalars must use bool")]
    assert when("up * (1 > bool 2)") == []
    expr = "up + bool 1"
    assert when(expr) == [(pos(expr, "+"), 'bool is only allowed on comparisons, not on "+"')]
    expr = "up and 1"
    assert when(expr) == [(pos(expr, "1"), '"and" needs instant vectors on both sides, '
                                           "got a scalar on the right")]
    expr = "1 unless up"
    assert when(expr) == [(1, '"unless" needs instant vectors on both sides, '
                              "got a scalar on the left")]
    expr = "up[5m] + 1 > 0"
    assert when(expr) == [(1, 'a range vector cannot be an operand of "+" '
                              "(wrap it in a function such as rate() or avg_over_time())")]
    expr = 'up + "a"'
    assert when(expr) == [(pos(expr, '"a"'), 'a string cannot be an operand of "+"')]


def test_vector_matching() -> None:
    expr = "up + on(a) 1"
    assert when(expr) == [(pos(expr, "on"), "on(...) is only allowed between two instant vectors")]
    expr = "up > ignoring(a) 1"
    assert when(expr) == [
        (pos(expr, "ignoring"), "ignoring(...) is only allowed between two instant vectors")
    ]
    expr = "up and on(a) group_left down"
    assert when(expr) == [(pos(expr, "on"), 'group_left is not allowed with "and"')]
    expr = "up * on(a) group_right(a) down"
    assert when(expr) == [
        (pos(expr, "on"), 'label "a" must not be in both on(...) and group_right(...)')
    ]
    assert when("up * on(a) group_left(b) down > 1") == []
    assert when("up * ignoring(a) down > 1 unless on(a) other") == []


# --- expressions: calls --------------------------------------------------------------------


def test_unknown_function() -> None:
    expr = "rat(x[5m]) > 1"
    assert when(expr) == [(1, 'unknown function "rat" (did you mean "rate"?)')]
    expr = "pis(x[1h]) > 0.25"
    assert when(expr) == [(1, 'unknown function "pis" (did you mean "psi"?)')]


def test_unknown_function_still_checks_its_arguments() -> None:
    expr = "rat(abs(x[5m])) > 1"
    assert [m for _, m in when(expr)] == [
        'unknown function "rat" (did you mean "rate"?)',
        "abs() expects an instant vector as argument 1, got a range vector "
        "(wrap it in a function such as rate() or avg_over_time())",
    ]


def test_argument_counts() -> None:
    expr = "rate(x[5m], y[5m]) > 1"
    assert when(expr) == [(pos(expr, "y"), "rate() takes 1 argument, got 2")]
    expr = "round(x, 1, 2) > 1"
    assert when(expr) == [(pos(expr, "2"), "round() takes 1 or 2 arguments, got 3")]
    expr = 'label_join(x, "d") > 1'
    assert when(expr) == [(1, "label_join() takes at least 3 arguments, got 2")]
    expr = "up * time(1)"
    assert when(expr) == [(pos(expr, "1"), "time() takes no arguments, got 1")]
    expr = "clamp(x) > 1"
    assert when(expr) == [(1, "clamp() takes 3 arguments, got 1")]
    assert when("round(x) > 1 and round(x, 5) > 1") == []
    assert when('label_join(x, "d", ",", "a", "b", "c") > 1') == []


def test_argument_types() -> None:
    expr = "rate(x) > 1"
    assert when(expr) == [(6, "rate() expects a range vector as argument 1, got an instant vector "
                              "(add a range such as [5m])")]
    expr = "abs(x[5m]) > 1"
    assert when(expr) == [(5, "abs() expects an instant vector as argument 1, got a range vector "
                              "(wrap it in a function such as rate() or avg_over_time())")]
    expr = "clamp_min(x, y) > 1"
    assert when(expr) == [
        (pos(expr, "y"), "clamp_min() expects a scalar as argument 2, got an instant vector")
    ]
    expr = 'label_replace(x, 1, "$1", "a", "(.*)") > 1'
    assert when(expr) == [
        (pos(expr, "1"), "label_replace() expects a string as argument 2, got a scalar")
    ]
    expr = 'label_join(x, "d", ",", "a", 5) > 1'
    assert when(expr) == [
        (pos(expr, "5"), "label_join() expects a string as argument 5, got a scalar")
    ]


def test_scalar_arguments_accept_scalar_expressions() -> None:
    assert when("clamp_min(x, scalar(y) * 2) > 1") == []
    assert when("topk(3 + 2, x) > 1") == []
    assert when("quantile(0.9, x) > 1") == []
    assert when("quantile(99%, x) > 1") == []


def test_keyword_arguments() -> None:
    source = (
        'alert A { when = alert("B", stat = "firing") and rate(x[5m], foo = 1) > 0 '
        'and alert("B", state = "pending", state = "firing") and alert("B", state = 1) }\n'
        "alert B { when = up == 0 }\n"
    )
    line = source.splitlines()[0]
    assert diags(source) == [
        f'1:{pos(line, "stat")}: unknown keyword argument "stat" for alert() '
        '(did you mean "state"?)',
        f'1:{pos(line, "foo")}: unknown keyword argument "foo" for rate()',
        f'1:{pos(line, "state", 1)}: keyword argument "state" is given twice',
        f'1:{pos(line, "1) }")}: alert() expects a string as state, got a scalar',
    ]


def test_grouping_only_on_aggregations() -> None:
    expr = "rate(x[5m]) by (a) > 1"
    assert when(expr) == [(pos(expr, "by"), "by (...) is only allowed on aggregations such as "
                                            "sum, not on rate()")]
    expr = "abs without (a) (x) > 1"
    assert when(expr) == [(pos(expr, "without"), "without (...) is only allowed on aggregations "
                                                 "such as sum, not on abs()")]
    assert when("sum by (a) (x) > 1 and sum(x) without (b) > 1") == []


def test_prom() -> None:
    assert when("prom(`up == 0`)") == []
    assert when('prom("")') == [(6, "prom() needs a query, got an empty string")]
    assert when("prom(up)") == [
        (6, "prom() expects a string as argument 1, got an instant vector")
    ]
    assert when('prom("a", "b")') == [(11, "prom() takes 1 argument, got 2")]
    assert when("prom()") == [(1, "prom() takes 1 argument, got 0")]


def test_alert_function() -> None:
    source = (
        'alert A { when = alert("") and alert(B) and alert("B", state = "fire") }\n'
        "alert B { when = up == 0 }\n"
    )
    line = source.splitlines()[0]
    assert diags(source) == [
        f'1:{pos(line, chr(34) * 2)}: alert() needs a rule name, got an empty string',
        f"1:{pos(line, 'B)')}: alert() expects a string as argument 1, got an instant vector",
        f'1:{pos(line, chr(34) + "fire")}: state must be "firing" or "pending", got "fire" '
        '(did you mean "firing"?)',
    ]


def test_quantile_phi() -> None:
    expr = "quantile(1.5, x) > 1"
    assert when(expr) == [(10, "quantile() expects φ between 0 and 1, got 1.5")]
    expr = "quantile_over_time(-0.1, x[5m]) > 1"
    assert when(expr) == [(20, "quantile_over_time() expects φ between 0 and 1, got -0.1")]
    expr = "histogram_quantile((99), x) > 1"
    assert when(expr) == [(20, "histogram_quantile() expects φ between 0 and 1, got 99")]
    assert when("histogram_quantile(0, x) > 1 and histogram_quantile(1, x) > 1") == []


# --- expressions: selectors ----------------------------------------------------------------


def test_selectors_need_a_selective_matcher() -> None:
    message = ("a selector needs a metric name or a matcher that does not match the empty "
               "string")
    assert when('{a=""}') == [(1, message)]
    assert when('{a=~".*"}') == [(1, message)]
    assert when('{a!~".+"}') == [(1, message)]
    assert when('{a=~".*", b!=""}') == []
    assert when('{a=~".+"}') == []
    assert when('{__name__="up"}') == []
    assert when('up{a=""}') == []


def test_bad_regex_is_reported_at_the_value() -> None:
    expr = 'up{a=~"(", b!~"[z-a]"}'
    assert when(expr) == [
        (pos(expr, '"('), 'invalid regular expression "(": missing ): `(`'),
        (pos(expr, '"[z'), 'invalid regular expression "[z-a]": invalid character class '
                           "range: `z-a`"),
    ]
    expr = 'label_replace(up, "dst", "$1", "src", "(") > 1'
    assert when(expr) == [
        (pos(expr, '"("'), 'invalid regular expression "(": missing ): `(`')
    ]


def test_matcher_label_names() -> None:
    expr = 'up{a:b="x"}'
    assert when(expr) == [(4, 'invalid label name "a:b"')]
    expr = 'up{__name__="x"}'
    assert when(expr) == [(4, 'the metric name is given twice: "up" and a __name__ matcher')]


# --- cross-file checks ---------------------------------------------------------------------


def test_duplicate_alerts_across_files() -> None:
    result = check("alert A { when = up == 0 }\n",
                   "\n\ngroup g {\n  alert A { when = up == 1 }\n}\n",
                   paths=("a.rules", "b.rules"))
    assert [d.headline() for d in result.diagnostics] == [
        'b.rules:4:9: duplicate alert "A" (first defined at a.rules:1:7)'
    ]
    assert [(g.name, [a.name for a in g.alerts]) for g in result.groups] == [
        ("a", ["A"]), ("g", [])
    ]


def test_duplicate_groups() -> None:
    result = check("group g { alert A { when = up == 0 } }\n",
                   "group g { alert B { when = up == 0 } }\n",
                   paths=("a.rules", "b.rules"))
    assert [d.headline() for d in result.diagnostics] == [
        'b.rules:1:7: duplicate group "g" (first defined at a.rules:1:7)'
    ]
    assert only_alert(result) == ["A"]


def test_implicit_group_clashing_with_a_named_group() -> None:
    result = check("group churn { alert A { when = up == 0 } }\nalert B { when = up == 0 }\n",
                   paths=("churn.rules",))
    assert [d.headline() for d in result.diagnostics] == [
        'churn.rules:2:7: duplicate group "churn" (first defined at churn.rules:1:7); alerts '
        "outside a group form a group named after the file"
    ]


def test_alert_reference_to_unknown_rule() -> None:
    result = check('alert Churn { when = up == 0 }\n',
                   '\nalert B {\n  when = up and alert("Chrn")\n}\n',
                   paths=("a.rules", "b.rules"))
    assert [d.headline() for d in result.diagnostics] == [
        'b.rules:3:23: alert("Chrn") names no rule (did you mean "Churn"?)'
    ]
    assert only_alert(result) == ["Churn"]


def test_alert_reference_across_files_is_fine() -> None:
    result = check('alert A { when = up and alert("B", state = "pending") }\n',
                   "alert B { when = up == 0 }\n")
    assert result.ok and result.diagnostics == ()
    assert sorted(only_alert(result)) == ["A", "B"]


def test_reference_cycles() -> None:
    result = check(
        'alert A { when = alert("B") }\n'
        'alert B { when = up and alert("A") }\n'
        'alert Self { when = alert("Self") }\n',
        'alert X { when = alert("Y") }\nalert Y { when = alert("Z") }\n'
        'alert Z { when = alert("X") or alert("A") }\n'
        'alert Fine { when = up == 0 }\n',
        paths=("a.rules", "b.rules"),
    )
    assert [d.headline() for d in result.diagnostics] == [
        "a.rules:1:24: alert reference cycle: A -> B -> A",
        "a.rules:3:27: alert reference cycle: Self -> Self",
        "b.rules:1:24: alert reference cycle: X -> Y -> Z -> X",
    ]
    assert only_alert(result) == ["Fine"]


def test_alert_referring_to_a_broken_alert_is_left_out_without_an_error() -> None:
    result = check('alert A { when = up and alert("B") }\nalert B { when = rat(x[5m]) > 1 }\n')
    assert [d.message for d in result.diagnostics] == [
        'unknown function "rat" (did you mean "rate"?)'
    ]
    assert result.groups == ()


def test_require_owner_and_runbook() -> None:
    source = (
        'group g {\n  owner = "team"\n  alert A { when = up == 0 }\n}\n'
        "alert B { when = up == 0 }\n"
        'alert C { when = up == 0 owner = "me" runbook = "https://rb" }\n'
        'alert D { when = up == 0 owner = "me" annotations = { runbook_url = "https://rb" } }\n'
    )
    assert diags(source) == []
    assert diags(source, require=frozenset({"owner"})) == [
        '5:7: alert "B" has no owner (set owner in the alert or its group)'
    ]
    assert diags(source, require=frozenset({"owner", "runbook"})) == [
        '3:9: alert "A" has no runbook (set runbook in the alert)',
        '5:7: alert "B" has no owner (set owner in the alert or its group)',
        '5:7: alert "B" has no runbook (set runbook in the alert)',
    ]
    result = check(source, require=frozenset({"owner", "runbook"}))
    assert only_alert(result) == ["C", "D"]


# --- whole files -----------------------------------------------------------------------------


CHURN = '''\
group churn_model {
  interval = 30s
  owner    = "ml-platform"
  labels   = { service = "churn", tier = "1" }

  alert ChurnLatencyP99High {
    when     = prom(`histogram_quantile(0.99, sum by (le, model_version) (rate(predict_latency_seconds_bucket[5m])))`) > 100ms
    for      = 5m
    severity = "page"
    runbook  = "https://runbooks.example.com/churn/latency"
    summary  = "p99 latency {{ value | duration }} on {{ labels.model_version }}"
  }

  alert ChurnErrorsAndDrift {
    # composite: a pushed event stream AND another rule's state, joined on model_version
    when  = rate(prediction_errors_total{model="churn"}[5m]) > 0.05
            and on(model_version) alert("ChurnFeatureDrift")
    for   = 2m
    clear = rate(prediction_errors_total{model="churn"}[5m]) < 0.02   # hysteresis
    severity = "page"
    runbook  = "https://runbooks.example.com/churn/errors"
  }

  alert ChurnFeatureDrift {
    when     = max_over_time(feature_psi{model="churn"}[1h]) > 0.25
    interval = 1h
    severity = "ticket"
    owner    = "data-science"
    nodata   = keep
    keep_firing_for = 10m
    labels   = { tier = "2", drift = "psi" }
    description = `feature {{ labels.feature }}
      drifted: {{ value | humanize }}`
    annotations = { dashboard = "https://grafana/d/churn?var={{ labels.feature }}" }
    runbook  = "https://runbooks.example.com/churn/drift"
  }
}
'''  # noqa: E501


def test_clean_realistic_file_builds_specs() -> None:
    result = check(CHURN, paths=("rules/churn.rules",), require=frozenset({"owner", "runbook"}))
    assert result.diagnostics == ()
    assert result.ok
    (group,) = result.groups
    assert (group.name, group.path, group.interval, group.implicit) == (
        "churn_model", "rules/churn.rules", 30.0, False)
    latency, errors, drift = group.alerts

    assert latency.name == "ChurnLatencyP99High"
    assert (latency.name_span.line, latency.name_span.column) == (6, 9)
    assert latency.group == "churn_model"
    assert latency.labels == {"service": "churn", "tier": "1"}
    assert latency.owner == "ml-platform"
    assert latency.severity == "page"
    assert latency.for_ == 300.0
    assert latency.interval is None
    assert latency.runbook == "https://runbooks.example.com/churn/latency"
    assert latency.annotations == {
        "summary": "p99 latency {{ value | duration }} on {{ labels.model_version }}"
    }
    assert isinstance(latency.when, ast.Binary)

    assert errors.for_ == 120.0
    assert isinstance(errors.clear, ast.Binary) and errors.clear.op == "<"
    assert errors.annotations == {}
    assert errors.nodata == "ok"

    assert drift.owner == "data-science"
    assert drift.labels == {"service": "churn", "tier": "2", "drift": "psi"}
    assert drift.interval == 3600.0
    assert drift.nodata == "keep"
    assert drift.keep_firing_for == 600.0
    assert drift.annotations == {
        "description": "feature {{ labels.feature }}\n      drifted: {{ value | humanize }}",
        "dashboard": "https://grafana/d/churn?var={{ labels.feature }}",
    }
    assert drift.runbook == "https://runbooks.example.com/churn/drift"


def test_many_errors_are_all_reported_in_one_run() -> None:
    source = '''\
grup x {}
y = 1
alert A {
  when = rat(x[5m]) > 1
  fro = 5m
  for = 300
  severity = 5
  nodata = fail
  labels = { severity = "x" }
  summary = "{{ vaue }}"
}
alert B { when = abs(x[5m]) + rate(y) > 2 and alert("Chrn") and {a=~"("} }
alert C { when = alert("D") }
alert D { when = alert("C") and 1 }
alert B { for = 1m }
slo s {}
'''
    result = check(source, paths=("many.rules",))
    assert [f"{d.span.line}:{d.span.column}: {d.message}" for d in result.diagnostics] == [
        '1:1: unknown block type "grup" (did you mean "group"?)',
        '2:1: setting "y" must be inside a block such as group or alert',
        '4:10: unknown function "rat" (did you mean "rate"?)',
        '5:3: unknown key "fro" in alert (did you mean "for"?)',
        "6:9: for must be a duration such as 5m, got 300",
        "7:14: severity must be a string, got 5",
        '8:12: nodata must be one of "ok", "alert", "keep", got "fail"',
        '9:14: label "severity" is not allowed in labels; use the severity key',
        '10:17: unknown template variable "vaue" (did you mean "value"?)',
        "12:22: abs() expects an instant vector as argument 1, got a range vector "
        "(wrap it in a function such as rate() or avg_over_time())",
        "12:36: rate() expects a range vector as argument 1, got an instant vector "
        "(add a range such as [5m])",
        '12:53: alert("Chrn") names no rule',
        '12:69: invalid regular expression "(": missing ): `(`',
        "13:24: alert reference cycle: C -> D -> C",
        '14:33: "and" needs instant vectors on both sides, got a scalar on the right',
        '15:7: alert "B" has no when',
        '15:7: duplicate alert "B" (first defined at many.rules:12:7)',
        '16:5: slo "s" has no objective (such as objective = 99.9%)',
        '16:5: slo "s" needs good (or errors) and total: the counters of good (failed) '
        "events and of all events",
        '16:5: slo "s" needs total, the counter of all events',
    ]
    assert result.groups == ()
    assert not result.ok


def test_deeply_nested_expressions_do_not_exhaust_the_stack() -> None:
    expr = " + ".join(["up"] * 1900) + " > 1"
    assert when(expr) == []
    expr = "(" * 1500 + "up" + ")" * 1500
    assert when(expr) == []
    expr = " + ".join(["up"] * 3000) + " > 1"
    assert when(expr) == [(1, "expression is nested 3001 levels deep; at most 2000 are allowed")]


def test_malformed_trees_never_raise() -> None:
    span = Span(1, 1, 1, 2, 0, 1)
    odd_call = ast.Call("rate", span, (None, 3), (), None, False, span)  # type: ignore[arg-type]
    odd_block = ast.Block("alert", span, "A", span,
                          (ast.Setting("when", span, odd_call, span),), span)
    odd_items = (odd_block, "junk", ast.Setting("x", span, object(), span))  # type: ignore[arg-type]
    broken = ast.RuleFile("odd.rules", "", odd_items, ())  # type: ignore[arg-type]
    result = check_files([broken, object()])  # type: ignore[list-item]
    assert not result.ok
    assert all(d.span.line >= 1 and d.span.column >= 1 for d in result.diagnostics)
    assert infer_type(object()) is None  # type: ignore[arg-type]


# --- robustness on arbitrary input ---------------------------------------------------------

TOKENS = [
    "group", "alert", "slo", "baseline", "g", "A", "B", "when", "for", "clear", "labels",
    "annotations", "summary", "owner", "severity", "nodata", "interval", "{", "}", "(", ")",
    "[", "]", "=", "==", "!=", "=~", "!~", ">", "<", ">=", "and", "or", "unless", "on",
    "ignoring", "group_left", "bool", "by", "without", ",", ":", "+", "-", "*", "/", "^", "1",
    "0.5", "5m", "1h30", "0s", "99%", '"page"', '"{{ value }}"', '"{{ vaue"', '"("', "`x`",
    "rate", "sum", "prom", "alert", "abs", "quantile", "up", "x", "#c", "\n", " ", "\t",
    "state", '"A"', '"B"', '""', "ok", "keep",
]


def _check_tree(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, data in files.items():
            p = Path(tmp) / name
            p.write_bytes(data)
            paths.append(str(p))
        result = check_paths(paths, require=frozenset({"owner", "runbook"}))
    for d in result.diagnostics:
        assert d.span.line >= 1 and d.span.column >= 1, d
        assert d.span.end_line >= d.span.line
        assert not d.message.startswith(("internal error", "unsupported expression")), d


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=3))
def test_random_bytes_never_raise(blobs: list[bytes]) -> None:
    _check_tree({f"f{i}.rules": b for i, b in enumerate(blobs)})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.sampled_from(TOKENS), max_size=80).map(" ".join),
                min_size=1, max_size=3))
def test_random_token_soup_never_raises(texts: list[str]) -> None:
    _check_tree({f"f{i}.rules": t.encode() for i, t in enumerate(texts)})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join))
def test_random_expressions_in_a_valid_block_never_raise(expr: str) -> None:
    _check_tree({"e.rules": f"alert A {{\n  when = {expr}\n}}\n".encode()})


# Expressions that mostly parse, so that the checker (not the parser) sees odd combinations.
_ATOMS = st.sampled_from([
    "up", "x", '{a=""}', '{a=~".*"}', 'x{a=~"("}', 'up{a="b", c!~"d"}', "1", "0.5", "-2",
    "5m", "0s", "99%", '"s"', '""', "`q`", "ok", "inf", 'x{__name__="y"}',
])
_FUNCS = st.sampled_from([
    "rate", "abs", "sum", "quantile", "histogram_quantile", "prom", "alert", "time", "round",
    "label_join", "label_replace", "scalar", "vector", "clamp", "topk", "rat", "psi",
    "max_over_time", "quantile_over_time", "absent",
])
_OPS = st.sampled_from([
    "+", "-", "*", "/", "^", "==", ">", "< bool", "and", "or", "unless", "and on(a)",
    "* on(a) group_left(b)", "+ ignoring(a) group_right", "or on(a) group_left", "> bool",
    "atan2",
])


def _compose(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, _OPS, children).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(_FUNCS, st.lists(children, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(_FUNCS, children).map(lambda t: f"{t[0]} by (a) ({t[1]})"),
        st.tuples(children, st.sampled_from(["[5m]", "[5m:1m]", "[1h:]", "[0s]"])).map(
            lambda t: f"{t[0]}{t[1]}"),
        children.map(lambda c: f"({c})"),
        children.map(lambda c: f"-{c}"),
        children.map(lambda c: f'alert("A", state = {c})'),
    )


EXPRS = st.recursive(_ATOMS, _compose, max_leaves=12)
VALUES = st.one_of(EXPRS, st.sampled_from([
    '{ a = "b" }', '{ severity = "x", a:b = "c" }', '"{{ vaue }}"', '"{{ value | duration }}"',
    '`a\n{{ x |`', "5m", "-5m", "keep", '"alert"',
]))
KEYS = st.sampled_from([
    "when", "for", "keep_firing_for", "clear", "interval", "nodata", "severity", "owner",
    "runbook", "summary", "description", "labels", "annotations", "fro",
])


@st.composite
def rule_files(draw: st.DrawFn) -> str:
    blocks = []
    for _ in range(draw(st.integers(1, 4))):
        settings_text = "\n".join(
            f"  {draw(KEYS)} = {draw(VALUES)}" for _ in range(draw(st.integers(0, 5))))
        name = draw(st.sampled_from(["A", "B", '"A"', "", "C"]))
        alert = f"alert {name} {{\n{settings_text}\n}}"
        if draw(st.booleans()):
            alert = f"group {draw(st.sampled_from(['g', 'h']))} {{\n  owner = \"o\"\n{alert}\n}}"
        blocks.append(alert)
    return "\n".join(blocks) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rule_files(), min_size=1, max_size=2))
def test_random_wellformed_rules_never_raise(texts: list[str]) -> None:
    _check_tree({f"f{i}.rules": t.encode() for i, t in enumerate(texts)})
