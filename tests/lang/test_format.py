"""The canonical formatter: exact layouts, comment placement, idempotency, same meaning."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertd.errors import RuleError
from alertd.lang import ast
from alertd.lang.format import format_expr, format_source
from alertd.lang.parse import parse_expr, parse_file


def text(block: str) -> str:
    """A test file written as an indented triple-quoted string."""
    return textwrap.dedent(block).lstrip("\n")


def comparable(node: object) -> object:
    """A span-free structure of an AST, equal for two trees with the same meaning.

    Quoting style, duration spelling and empty selector braces normalise in the formatter,
    so they are normalised here too; numbers compare by text (nan != nan as a float).
    """
    if isinstance(node, tuple):
        return tuple(comparable(n) for n in node)
    if isinstance(node, ast.StringLit):
        return ("string", node.value)
    if isinstance(node, ast.DurationLit):
        return ("duration", node.seconds if node.seconds is not None else node.text)
    if isinstance(node, ast.NumberLit):
        return ("number", node.text)
    if isinstance(node, ast.Selector):
        braces = node.name is None or bool(node.matchers)
        return ("selector", node.name, comparable(node.matchers), braces)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        fields = [
            (f.name, comparable(getattr(node, f.name)))
            for f in dataclasses.fields(node)
            if f.name != "span" and not f.name.endswith("_span")
        ]
        return (type(node).__name__, tuple(fields))
    return node


def parsed(source: str) -> ast.RuleFile:
    result = parse_file(source, "test.rules")
    assert result.diagnostics == ()
    return result.file


def assert_formats(source: str, expected: str) -> None:
    """`source` formats to `expected`, which is stable and means the same as `source`."""
    out = format_source(source, "test.rules")
    assert out == expected
    assert format_source(out, "test.rules") == out
    assert comparable(parsed(out).items) == comparable(parsed(source).items)
    assert [c.text for c in parsed(out).comments] == [c.text for c in parsed(source).comments]


# --- the example from the design ---------------------------------------------------------

CHURN = text(
    """
    group churn_model {
      interval = 30s
      owner    = "ml-platform"
      labels   = { service = "churn" }

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
        when     = psi(feature_value{model="churn"}[1h], baseline = "churn-training") by (feature) > 0.25
        interval = 1h
        severity = "ticket"
        runbook  = "https://runbooks.example.com/churn/drift"
      }
    }
    """  # noqa: E501
)

# The design's example rule file, as `alertd fmt` writes it.
CHURN_FORMATTED = (Path(__file__).parent.parent / "testdata" / "churn.rules").read_text("utf-8")


def test_design_example() -> None:
    assert_formats(CHURN, CHURN_FORMATTED)


def test_design_example_from_a_squashed_source() -> None:
    """The same rules written on one line, without comments, get the same layout."""
    squashed = " ".join(line.split("#")[0].strip() for line in CHURN.splitlines())
    expected = CHURN_FORMATTED.replace("    # composite: a pushed event stream AND another "
                                       "rule's state, joined on model_version\n", "")
    expected = expected.replace("  # hysteresis", "")
    assert "#" not in squashed and "\n" not in squashed
    assert_formats(squashed, expected)


# --- layout -------------------------------------------------------------------------------


def test_alignment_runs_are_broken_by_blank_lines_comments_and_blocks() -> None:
    source = text(
        """
        group g {
          interval = 30s
          owner = "x"
          a_much_longer_key = 1

          b = 2
          cc = 3
          # own line
          ddd = 4
          e = 5
          alert A { x = 1 }
          f = 6
          gggg = 7
        }
        """
    )
    expected = text(
        """
        group g {
          interval          = 30s
          owner             = "x"
          a_much_longer_key = 1

          b  = 2
          cc = 3
          # own line
          ddd = 4
          e   = 5

          alert A {
            x = 1
          }
          f    = 6
          gggg = 7
        }
        """
    )
    assert_formats(source, expected)


def test_trailing_comments_do_not_break_an_alignment_run() -> None:
    source = 'alert A {\n  for = 5m # wait\n  severity="page"\n}\n'
    expected = 'alert A {\n  for      = 5m  # wait\n  severity = "page"\n}\n'
    assert_formats(source, expected)


def test_blank_lines_collapse_and_top_level_items_are_separated_by_one() -> None:
    source = text(
        """


        group a {


          x = 1



          y = 2


        }
        group b {}



        group c {
          alert A {}
          alert B {}
        }
        """
    )
    expected = text(
        """
        group a {
          x = 1

          y = 2
        }

        group b {}

        group c {
          alert A {}

          alert B {}
        }
        """
    )
    assert_formats(source, expected)


def test_items_on_one_line_are_split_and_indented() -> None:
    source = 'group g { interval = 1m alert A { when = up == 0 for = 5m } }'
    expected = text(
        """
        group g {
          interval = 1m

          alert A {
            when = up == 0
            for  = 5m
          }
        }
        """
    )
    assert_formats(source, expected)


def test_settings_after_a_nested_block_keep_the_source_spacing() -> None:
    source = "group g {\n  alert A {}\n  for = 1m\n\n  alert B {}\n}\n"
    expected = "group g {\n  alert A {}\n  for = 1m\n\n  alert B {}\n}\n"
    assert_formats(source, expected)


def test_top_level_settings_are_items_too() -> None:
    assert_formats("a = 1\nbb = 2\n", "a = 1\n\nbb = 2\n")


def test_block_names_are_bare_when_they_can_be_else_quoted() -> None:
    source = "alert 'my alert' {}\nalert job:rate {}\nalert \"Plain_1\" {}\nslo {}\n"
    expected = 'alert "my alert" {}\n\nalert "job:rate" {}\n\nalert Plain_1 {}\n\nslo {}\n'
    assert_formats(source, expected)


def test_output_ends_with_exactly_one_newline() -> None:
    assert format_source("alert A {}", "a.rules") == "alert A {}\n"
    assert format_source("alert A {}\n\n\n\n", "a.rules") == "alert A {}\n"
    assert format_source("\r\nalert A {\r\n  for = 1m\r\n}\r\n", "a.rules") == (
        "alert A {\n  for = 1m\n}\n"
    )


def test_empty_and_comment_only_files() -> None:
    assert format_source("", "a.rules") == ""
    assert format_source("  \n\n\t\n", "a.rules") == ""
    assert format_source("\n\n# one   \n\n\n   # two\n# three", "a.rules") == (
        "# one\n\n# two\n# three\n"
    )


# --- comments ------------------------------------------------------------------------------


def test_comments_of_every_kind_are_kept_in_place() -> None:
    source = text(
        """
        # file header

        # about a
        group a {  # opening
          # before x
          x = 1  # after x
          # before y

          y = 2
          when = up # middle
             and down
          # closing thoughts
        }  # after a
        alert  # between header and brace
        Foo {
        }
        alert E { # on the brace line of an empty block
        }
        alert F { # opening
        } # closing
        # the end
        """
    )
    expected = text(
        """
        # file header

        # about a
        group a {  # opening
          # before x
          x = 1  # after x
          # before y

          y = 2
          # middle
          when = up and down
          # closing thoughts
        }  # after a

        # between header and brace
        alert Foo {}

        alert E {}  # on the brace line of an empty block

        alert F {  # opening
        }  # closing
        # the end
        """
    )
    assert_formats(source, expected)


def test_comment_on_the_first_item_line_after_the_brace_belongs_to_the_item() -> None:
    source = "alert A { for = 5m  # five\n  severity = 'page'\n}\n"
    expected = 'alert A {\n  for      = 5m  # five\n  severity = "page"\n}\n'
    assert_formats(source, expected)


def test_comments_inside_a_multi_line_value_move_before_the_setting() -> None:
    source = text(
        """
        alert A {
          for = 5m

          when = up == 0   # down
                 or       # or gone
                 absent(up)
          severity = "page"
        }
        """
    )
    expected = text(
        """
        alert A {
          for = 5m

          # down
          # or gone
          when     = up == 0 or absent(up)
          severity = "page"
        }
        """
    )
    assert_formats(source, expected)


def test_comments_before_a_nested_block_go_after_its_separating_blank_line() -> None:
    source = text(
        """
        group g {
          interval = 1m
          # about A
          alert A {}
          # about B

          alert B {}
        }
        """
    )
    expected = text(
        """
        group g {
          interval = 1m

          # about A
          alert A {}

          # about B

          alert B {}
        }
        """
    )
    assert_formats(source, expected)


def test_comment_text_is_right_stripped_but_otherwise_kept() -> None:
    source = "alert A {\n  #no space   \n  for = 1m #\ttab  \n}\n"
    assert format_source(source, "a.rules") == "alert A {\n  #no space\n  for = 1m  #\ttab\n}\n"


def test_a_hash_in_a_string_is_not_a_comment() -> None:
    source = 'alert A { summary = "#1 issue" runbook = `a#b` }\n'
    expected = 'alert A {\n  summary = "#1 issue"\n  runbook = `a#b`\n}\n'
    assert_formats(source, expected)


# --- values --------------------------------------------------------------------------------


def test_short_map_on_one_line() -> None:
    source = "group g {\n  labels = {service='churn',team = \"ml\"}\n  annotations={}\n}\n"
    expected = (
        'group g {\n  labels      = { service = "churn", team = "ml" }\n'
        "  annotations = {}\n}\n"
    )
    assert_formats(source, expected)


def test_map_written_on_several_lines_stays_on_several_lines() -> None:
    source = text(
        """
        alert A {
          labels = { service = "churn",
            tier="1" }  # why
        }
        """
    )
    expected = text(
        """
        alert A {
          labels = {
            service = "churn"
            tier    = "1"
          }  # why
        }
        """
    )
    assert_formats(source, expected)


def test_map_too_long_for_one_line_is_split() -> None:
    value = "x" * 60
    source = f'alert A {{ annotations = {{ summary = "{value}", description = "d" }} }}\n'
    expected = (
        "alert A {\n"
        "  annotations = {\n"
        f'    summary     = "{value}"\n'
        '    description = "d"\n'
        "  }\n"
        "}\n"
    )
    assert_formats(source, expected)


def test_map_with_a_multi_line_raw_string() -> None:
    source = "alert A {\n  annotations = { description = `line one\n  line two` }\n}\n"
    expected = "alert A {\n  annotations = {\n    description = `line one\n  line two`\n  }\n}\n"
    assert_formats(source, expected)


def test_labels_that_are_not_a_map_are_an_expression() -> None:
    assert_formats("alert A { labels = up{a='b'} }\n", 'alert A {\n  labels = up{a="b"}\n}\n')


LONG_AND = text(
    """
    alert A {
      when = rate(prediction_errors_total{model="churn", env="prod"}[5m]) > 0.05 and on(model_version) alert("ChurnFeatureDrift") or absent(up{job="predict"})
    }
    """  # noqa: E501
)


def test_long_when_breaks_before_each_top_level_set_operator() -> None:
    expected = text(
        """
        alert A {
          when = rate(prediction_errors_total{model="churn", env="prod"}[5m]) > 0.05
                 and on(model_version) alert("ChurnFeatureDrift")
                 or absent(up{job="predict"})
        }
        """
    )
    assert_formats(LONG_AND, expected)


def test_long_value_does_not_break_inside_parentheses_or_arguments() -> None:
    inner = "rate(errors_total[5m]) > 0.05 and on(model_version) alert(\"ChurnFeatureDrift\")"
    source = f"alert A {{\n  when = max(({inner} unless rate(requests_total[5m]) < 1))\n}}\n"
    out = format_source(source, "a.rules")
    assert out == f"alert A {{\n  when = max(({inner} unless rate(requests_total[5m]) < 1))\n}}\n"
    assert len(out.splitlines()[1]) > 100


def test_long_value_breaks_only_outside_parentheses() -> None:
    left = "(rate(errors_total{model=\"churn\"}[5m]) > 0.05 and rate(requests_total[5m]) > 1)"
    source = f"alert A {{ when = {left} unless on(model) alert('Maintenance') }}\n"
    expected = (
        f"alert A {{\n  when = {left}\n"
        '         unless on(model) alert("Maintenance")\n}\n'
    )
    assert_formats(source, expected)


def test_continuation_lines_align_with_the_padded_value() -> None:
    long = 'sum by (model) (rate(prediction_errors_total{model="churn", env="production"}[5m]))'
    source = f"alert A {{\n  for = 5m\n  severity = 'page'\n  when = {long} or vector(0)\n}}\n"
    expected = (
        "alert A {\n"
        "  for      = 5m\n"
        '  severity = "page"\n'
        f"  when     = {long}\n"
        "             or vector(0)\n"
        "}\n"
    )
    assert_formats(source, expected)


def test_a_line_of_exactly_one_hundred_columns_fits() -> None:
    def source(width: int) -> str:
        pad = "x" * (width - len("  when = up and "))
        return f"alert A {{\n  when = up and {pad}\n}}\n"

    assert len(source(100).splitlines()[1]) == 100
    assert format_source(source(100), "a.rules") == source(100)
    broken = format_source(source(101), "a.rules").splitlines()
    assert broken[1:3] == ["  when = up", "         and " + "x" * 85]


def test_a_map_of_exactly_one_hundred_columns_stays_on_one_line() -> None:
    def source(width: int) -> str:
        pad = "v" * (width - len('  labels = { a = "" }'))
        return f'alert A {{\n  labels = {{ a = "{pad}" }}\n}}\n'

    assert format_source(source(100), "a.rules") == source(100)
    assert format_source(source(101), "a.rules").splitlines()[1] == "  labels = {"


def test_short_value_written_on_several_lines_is_joined() -> None:
    source = "alert A {\n  when = up == 0\n         and\n         on(job) foo\n}\n"
    assert_formats(source, "alert A {\n  when = up == 0 and on(job) foo\n}\n")


def test_raw_strings_with_newlines_stay_exactly() -> None:
    # The raw string's own indentation and trailing spaces are part of its value.
    query = "prom(`\n    sum(rate(x[5m]))   \n\t> 1`)"
    source = f"alert A {{\n      when = {query} > 0 # why\n  for = 5m\n}}\n"
    expected = f"alert A {{\n  when = {query} > 0  # why\n  for  = 5m\n}}\n"
    assert_formats(source, expected)


def test_long_value_with_a_raw_string_breaks_outside_it() -> None:
    # Each physical line is measured: here the one after the raw string is too long.
    query = "prom(`\nsum by (model) (rate(prediction_errors_total[5m]))\n`)"
    selector = 'errors_total{model="churn", env="production", zone="europe-west1-bc"}'
    long = f"absent_over_time({selector}[1h])"
    source = f"alert A {{ when = {query} > 1 or {long} }}\n"
    expected = f"alert A {{\n  when = {query} > 1\n         or {long}\n}}\n"
    assert len(f"`) > 1 or {long}") > 100
    assert_formats(source, expected)


def test_strings_are_double_quoted_with_minimal_escaping() -> None:
    source = r"""alert A {
  a = 'it\'s "quoted"'
  b = "tab\there\\ \u00e9 \x01 \a"
  c = 'line\nbreak\r'
  d = `raw \n "kept"`
}
"""
    expected = r"""alert A {
  a = "it's \"quoted\""
  b = "tab\there\\ é \x01 \x07"
  c = "line\nbreak\r"
  d = `raw \n "kept"`
}
"""
    assert_formats(source, expected)


def test_durations_are_canonical_and_numbers_keep_their_text() -> None:
    source = "alert A { for = 90s\n interval = 3600s\n x = 1e3 + .5 + 1.0 * 99.9% }\n"
    expected = (
        "alert A {\n  for      = 1m30s\n  interval = 1h\n"
        "  x        = 1e3 + .5 + 1.0 * 99.9%\n}\n"
    )
    assert_formats(source, expected)


# --- expressions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("a>0.05", "a > 0.05"),
        ("a  and  on ( x )  b", "a and on(x) b"),
        ("a/ignoring(b)group_left(c)y", "a / ignoring(b) group_left(c) y"),
        ("a * on(x, y) group_right b", "a * on(x, y) group_right() b"),
        ("a * on(x) group_left() (b)", "a * on(x) group_left() (b)"),
        ("x>bool 1", "x > bool 1"),
        ("a atan2 b", "a atan2 b"),
        ("a unless ignoring() b", "a unless ignoring() b"),
        ("- x", "-x"),
        ("+ x", "+x"),
        ("- - 1", "--1"),
        ("rate( x [ 5m ] )", "rate(x[5m])"),
        ("alert( 'Other' )", 'alert("Other")'),
        ("alerts(state = 'pending')", 'alerts(state="pending")'),
        ("psi(x[1h], baseline = 'b', bins=10)", 'psi(x[1h], baseline="b", bins=10)'),
        ("sum by(le,model_version)(rate(x[5m]))", "sum by (le, model_version) (rate(x[5m]))"),
        ("sum(rate(x[5m]))by(le)", "sum(rate(x[5m])) by (le)"),
        ("count without () (x)", "count without () (x)"),
        ("quantile(0.9, x) without (a)", "quantile(0.9, x) without (a)"),
        ("x{a='b',c=~\"d\"}", 'x{a="b", c=~"d"}'),
        ("x{a!=`b`, c!~'d',}", 'x{a!=`b`, c!~"d"}'),
        ("{a='b'}", '{a="b"}'),
        ("x{}", "x"),
        ("inf{}", "inf{}"),
        ("{}", "{}"),
        ("x[ 300s ]", "x[5m]"),
        ("x[5m : 1m]", "x[5m:1m]"),
        ("rate(x[5m])[1h:]", "rate(x[5m])[1h:]"),
        ("((a + b)) * c", "((a + b)) * c"),
        ("a + b * c", "a + b * c"),
        ("(a + b) * c", "(a + b) * c"),
        ("a - (b - c)", "a - (b - c)"),
        ("-a ^ b", "-a ^ b"),
        ("a or b and c unless d", "a or b and c unless d"),
        ("f()", "f()"),
        ("NaN + Inf", "NaN + Inf"),
    ],
)
def test_format_expr(written: str, canonical: str) -> None:
    assert format_expr(parse_expr(written)) == canonical
    assert format_expr(parse_expr(canonical)) == canonical
    assert comparable(parse_expr(canonical)) == comparable(parse_expr(written))


def test_raw_string_keeps_the_backtick_form_in_matchers() -> None:
    assert format_expr(parse_expr("x{a=`b\\d+`}")) == "x{a=`b\\d+`}"


# --- errors --------------------------------------------------------------------------------


def test_a_file_that_does_not_parse_raises_the_first_error() -> None:
    source = "alert A {\n  when = rate(x[5m] > 1\n}\n\nalert B {\n  for = \n}\n"
    with pytest.raises(RuleError) as info:
        format_source(source, "bad.rules")
    first = parse_file(source, "bad.rules").diagnostics[0]
    assert info.value.message == first.message
    assert info.value.span == first.span
    assert info.value.message == 'unexpected "}", expected one of ")", ","'
    assert info.value.span is not None and (info.value.span.line, info.value.span.column) == (3, 1)


def test_an_invalid_duration_is_an_error_not_a_format() -> None:
    with pytest.raises(RuleError, match="invalid duration"):
        format_source("alert A { for = 1.5h }\n", "a.rules")


# --- properties ----------------------------------------------------------------------------

_METRICS = [
    "up",
    "errors_total",
    "job:requests:rate5m",
    "prediction_errors_total_by_model_version_and_feature",
]
_LABELS = ["job", "model", "le", "by", "on"]
_KEYS = ["when", "for", "clear", "severity", "summary", "interval", "a_rather_long_key"]
_FUNCS = ["rate", "increase", "abs", "alert", "prom", "vector", "histogram_quantile"]
_AGGS = ["sum", "max", "count", "topk", "quantile"]
_GROUPINGS = ["", " by (job)", " without (le, model)", " by ()"]
_COMMENT_CHARS = st.characters(
    codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="\n\r\x85"
)


@st.composite
def comments(draw: st.DrawFn) -> str:
    return "#" + draw(st.text(_COMMENT_CHARS, max_size=12))


@st.composite
def gaps(draw: st.DrawFn) -> str:
    """Whitespace between two tokens of a value, possibly with line breaks and comments."""
    return draw(
        st.one_of(
            st.just(" "),
            st.just("  "),
            st.just("\n        "),
            comments().map(lambda c: f"  {c}\n      "),
        )
    )


@st.composite
def strings(draw: st.DrawFn) -> str:
    body = draw(st.text(st.sampled_from("ab #{}\"'\\`\t\n\x01é"), max_size=8))
    style = draw(st.sampled_from(["double", "single", "raw"]))
    if style == "raw":
        return "`" + body.replace("`", "") + "`"
    quote = '"' if style == "double" else "'"
    escaped = body.replace("\\", "\\\\").replace(quote, "\\" + quote)
    for char, escape in (("\n", "\\n"), ("\t", "\\t"), ("\x01", "\\x01")):
        escaped = escaped.replace(char, escape)
    return quote + escaped + quote


@st.composite
def selectors(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(["", *_METRICS]))
    count = draw(st.integers(0 if name else 1, 2))
    matchers = [
        f"{draw(st.sampled_from(_LABELS))}{draw(st.sampled_from(['=', '!=', '=~', '!~']))}"
        f"{draw(strings())}"
        for _ in range(count)
    ]
    if not matchers and draw(st.booleans()):
        return name
    return name + "{" + ", ".join(matchers) + "}"


@st.composite
def leaves(draw: st.DrawFn) -> str:
    return draw(
        st.one_of(
            st.sampled_from(["0.05", "1", "1e3", ".5", "100ms", "90s", "1h30m", "99.9%", "Inf"]),
            strings(),
            selectors(),
            selectors().map(lambda s: s + "[5m]"),
        )
    )


def expressions(depth: int = 3) -> st.SearchStrategy[str]:
    if depth == 0:
        return leaves()
    sub = expressions(depth - 1)
    return st.one_of(
        leaves(),
        st.tuples(sub, st.sampled_from(["+", "*", ">", "== bool", "^", "atan2"]), gaps(), sub)
        .map(lambda t: f"{t[0]} {t[1]}{t[2]}{t[3]}"),
        st.tuples(sub, st.sampled_from(["and", "or", "unless", "and on(job)", "or ignoring(le)"]),
                  gaps(), sub)
        .map(lambda t: f"{t[0]}{t[2]}{t[1]} {t[3]}"),
        st.tuples(st.sampled_from(_FUNCS), st.lists(sub, max_size=2))
        .map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(st.sampled_from(_AGGS), sub, st.sampled_from(_GROUPINGS), st.booleans())
        .map(lambda t: f"{t[0]}{t[2]} ({t[1]})" if t[3] else f"{t[0]}({t[1]}){t[2]}"),
        sub.map(lambda e: f"( {e} )"),
        sub.map(lambda e: f"-({e})"),
        sub.map(lambda e: f"f(x, k = {e})"),
        sub.map(lambda e: f"({e})[1h:5m]"),
    )


@st.composite
def set_chains(draw: st.DrawFn) -> str:
    """Long `and` / `or` / `unless` chains, so that values get broken over lines."""
    operands = draw(st.lists(st.one_of(expressions(1), selectors()), min_size=2, max_size=5))
    out = operands[0]
    for operand in operands[1:]:
        op = draw(st.sampled_from(["and", "or", "unless", "and on(job, model)", "or ignoring()"]))
        out += f"{draw(gaps())}{op} {operand}"
    return out


@st.composite
def maps(draw: st.DrawFn) -> str:
    entries = draw(st.lists(st.tuples(st.sampled_from(_LABELS), strings()), max_size=3))
    sep = draw(st.sampled_from([", ", ",\n    ", " ", "\n    "]))
    return "{" + sep.join(f"{k} = {v}" for k, v in entries) + "}"


@st.composite
def settings_(draw: st.DrawFn, indent: str) -> str:
    if draw(st.integers(0, 5)) == 0:
        key = draw(st.sampled_from(["labels", "annotations"]))
        value = draw(maps())
    else:
        key = draw(st.sampled_from(_KEYS))
        value = draw(st.one_of(expressions(), set_chains()))
    eq = draw(st.sampled_from([" = ", "=", "   =  "]))
    return f"{indent}{key}{eq}{value}"


@st.composite
def items(draw: st.DrawFn, depth: int) -> str:
    indent = "  " * depth
    if depth < 2 and draw(st.integers(0, 3)) == 0:
        return draw(blocks(depth))
    return draw(settings_(indent))


@st.composite
def bodies(draw: st.DrawFn, depth: int) -> str:
    """Items of a block or file, with blank lines and comments of every kind around them."""
    parts: list[str] = []
    for item in draw(st.lists(items(depth), max_size=4)):
        if draw(st.booleans()):
            parts.append("\n" * draw(st.integers(1, 3)))
        if draw(st.booleans()):
            parts.append("  " * depth + draw(comments()) + "\n")
        parts.append(item)
        separators = ["\n", "\n\n"]
        if draw(st.booleans()):
            parts.append("  " + draw(comments()))
        else:
            separators.append(" ")  # the next item on the same line
        parts.append(draw(st.sampled_from(separators)))
    if draw(st.booleans()):
        parts.append(draw(comments()) + "\n")
    return "".join(parts)


@st.composite
def blocks(draw: st.DrawFn, depth: int) -> str:
    kind = draw(st.sampled_from(["group", "alert", "slo"]))
    name = draw(st.sampled_from(["", " churn_model", ' "with space"', " 'q\\'d'", " a:b", " on"]))
    opening = draw(st.sampled_from([" {", " {\n", "  # opening\n{\n", " { # opening\n"]))
    return f"{kind}{name}{opening}{draw(bodies(depth + 1))}}}"


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(bodies(0))
def test_formatting_is_stable_keeps_meaning_and_comments(source: str) -> None:
    original = parse_file(source, "gen.rules")
    assert original.diagnostics == (), source
    out = format_source(source, "gen.rules")
    assert format_source(out, "gen.rules") == out
    again = parsed(out)
    assert comparable(again.items) == comparable(original.file.items)
    assert [c.text for c in again.comments] == [c.text for c in original.file.comments]
    assert out == "" or (out.endswith("\n") and not out.endswith("\n\n"))


def test_links_and_flags_format_like_any_setting() -> None:
    source = text(
        """
        alert FraudModelDegraded {
          when = alert("FraudScoreLatencyHigh") and on(model_version) alert("FraudErrorRateHigh")
          dashboard='https://grafana.example.com/d/fraud?v={{ labels.model_version }}'
              suppresses_inputs=true
          generator_url = `https://grafana.example.com/explore`
        }
        """
    )
    assert_formats(source, text(
        """
        alert FraudModelDegraded {
          when              = alert("FraudScoreLatencyHigh")
                              and on(model_version) alert("FraudErrorRateHigh")
          dashboard         = "https://grafana.example.com/d/fraud?v={{ labels.model_version }}"
          suppresses_inputs = true
          generator_url     = `https://grafana.example.com/explore`
        }
        """
    ))
