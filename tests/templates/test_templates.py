from __future__ import annotations

import math

import pytest

from alertd.errors import AlertdError
from alertd.templates import TemplateError, check_template, compile_template
from alertd.templates.filters import duration, humanize, percent


def render(text: str, value: float = 1.0, labels: dict[str, str] | None = None,
           owner: str = "ml-platform", runbook: str = "https://rb.example/x") -> str:
    return compile_template(text).render(value, labels or {}, owner, runbook)


# --- filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.15, "150ms"),
        (0.0015, "1.5ms"),
        (0.000002, "2us"),
        (1, "1s"),
        (12.3, "12.3s"),
        (59.999, "60s"),
        (330, "5m 30s"),
        (3723, "1h 2m 3s"),
        (3600, "1h 0m 0s"),
        (2 * 86400 + 3 * 3600 + 4 * 60 + 5, "2d 3h 4m 5s"),
        (-330, "-5m 30s"),
        (-12.3, "-12.3s"),
        (math.nan, "NaN"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
    ],
)
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("ratio", "text"),
    [
        (0.1234, "12.34%"),
        (0.5, "50%"),
        (0.123456, "12.35%"),
        (0.999, "99.9%"),
        (1, "100%"),
        (0, "0%"),
        (-0.25, "-25%"),
        (-0.000001, "0%"),
        (math.nan, "NaN"),
        (math.inf, "+Inf"),
    ],
)
def test_percent(ratio: float, text: str) -> None:
    assert percent(ratio) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (1, "1"),
        (999, "999"),
        (1234, "1.234k"),
        (1234567, "1.235M"),
        (2.5e9, "2.5G"),
        (0.0012, "1.2m"),
        (0.5, "500m"),
        (0.000003, "3u"),
        (-1234, "-1.234k"),
        (math.nan, "NaN"),
        (-math.inf, "-Inf"),
    ],
)
def test_humanize(value: float, text: str) -> None:
    assert humanize(value) == text


def test_filters_accept_numeric_strings() -> None:
    assert duration("90") == "1m 30s"
    assert render("{{ labels.x | humanize }}", labels={"x": "1500"}) == "1.5k"


# --- rendering -----------------------------------------------------------------------------


def test_render_context() -> None:
    text = "p99 {{ value | duration }} on {{ labels.model_version }} for {{ owner }}: {{ runbook }}"
    out = render(text, 0.15, {"model_version": "v3"})
    assert out == "p99 150ms on v3 for ml-platform: https://rb.example/x"


def test_filters_in_templates() -> None:
    assert render("{{ value | percent }} {{ value | humanize }}", 0.1234) == "12.34% 123.4m"


def test_missing_label_renders_empty() -> None:
    assert render("[{{ labels.nope }}]") == "[]"
    assert render("[{{ labels.nope.deeper }}]") == "[]"
    assert render('[{{ labels.get("nope") }}]') == "[]"


def test_label_named_like_a_dict_method_reads_the_label() -> None:
    assert render("{{ labels.values }}/{{ labels.items }}", labels={"values": "v", "items": "i"}) \
        == "v/i"
    assert render("{% for k, v in labels.items() %}{{ k }}={{ v }};{% endfor %}",
                  labels={"a": "1", "b": "2"}) == "a=1;b=2;"


def test_no_trailing_newline_kept_and_no_escaping() -> None:
    assert render("<{{ labels.x }}>\n", labels={"x": "&"}) == "<&>"


def test_runtime_error_renders_as_error_text() -> None:
    out = render("{{ labels.x | duration }}", labels={"x": "abc"})
    assert out.startswith("<error expanding template: ")
    assert 'cannot convert "abc" to a number' in out
    assert render("{{ 1 / 0 }}").startswith("<error expanding template:")


def test_sandbox_blocks_unsafe_access_and_mutation() -> None:
    assert render("{{ value.__class__ }}") == ""
    out = render("{{ labels.update({'a': 'b'}) }}", labels={"x": "y"})
    assert out.startswith("<error expanding template:")


def test_compile_is_cached() -> None:
    assert compile_template("{{ value }}") is compile_template("{{ value }}")


# --- compile errors ------------------------------------------------------------------------


def test_syntax_error_raises_with_line() -> None:
    with pytest.raises(TemplateError) as info:
        compile_template("line one\n{{ value ")
    assert info.value.line == 2
    assert info.value.message.startswith("template syntax error: ")
    assert isinstance(info.value, AlertdError)


def test_unknown_filter_raises_even_inside_a_condition() -> None:
    with pytest.raises(TemplateError) as info:
        compile_template('{% if value > 1 %}\n{{ value | durtion }}{% endif %}')
    assert info.value.line == 2
    assert info.value.message == 'unknown template filter "durtion" (did you mean "duration"?)'


def test_unknown_variable_does_not_raise_at_compile() -> None:
    assert compile_template("{{ vaue }}").render(1.0, {}, "", "") == ""


# --- check_template ------------------------------------------------------------------------


def test_check_clean_template() -> None:
    text = ("{% set v = value | humanize %}{{ v }} {{ labels.a }} {{ owner }} {{ runbook }}"
            "{% for k in labels %}{{ k }}{{ loop.index }}{% endfor %}{{ range(2) | list }}")
    assert check_template(text) == []


def test_check_unknown_variable_with_suggestion() -> None:
    assert check_template("a\n{{ vaue }}") == [
        (2, 'unknown template variable "vaue" (did you mean "value"?)')
    ]
    assert check_template("{{ lables.x }}") == [
        (1, 'unknown template variable "lables" (did you mean "labels"?)')
    ]
    assert check_template("{{ zzz }}") == [(1, 'unknown template variable "zzz"')]


def test_check_reports_every_problem() -> None:
    text = "{{ vaue }}\n{{ value | durtion }}\n{{ value is odd }}{{ value is oddd }}"
    assert check_template(text) == [
        (1, 'unknown template variable "vaue" (did you mean "value"?)'),
        (2, 'unknown template filter "durtion" (did you mean "duration"?)'),
        (3, 'unknown template test "oddd" (did you mean "odd"?)'),
    ]


def test_check_syntax_error() -> None:
    problems = check_template("ok\n{% if value %}")
    assert len(problems) == 1
    line, message = problems[0]
    assert line == 2
    assert message.startswith("template syntax error: ")
