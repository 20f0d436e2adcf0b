"""`alertd test`: rule unit tests written as YAML files, run against real rule files."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from alertd.ruletest import run_test_files

Run = Callable[..., tuple[bool, str]]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Write the files into a fresh directory, run the test file, return (ok, output)."""
    monkeypatch.chdir(tmp_path)

    def go(test: str, rules: dict[str, str] | None = None,
           name: str = "x_test.yml") -> tuple[bool, str]:
        for file_name, text in (rules or {}).items():
            path = tmp_path / file_name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(dedent(text))
        (tmp_path / name).write_text(dedent(test))
        out = io.StringIO()
        ok = run_test_files([name], out)
        output = out.getvalue()
        assert "Traceback" not in output
        return ok, output

    return go


LATENCY_QUERY = "histogram_quantile(0.99, sum by (le, version) (rate(lat_bucket[5m])))"

LATENCY_RULES = {
    "churn.rules": """\
        group churn {
          owner = "ml"
          alert P99High {
            when     = prom(`QUERY`) > 100ms
            for      = 5m
            severity = "page"
            summary  = "p99 latency {{ value | duration }} on {{ labels.version }}"
          }
        }
    """.replace("QUERY", LATENCY_QUERY)
}

# p99 of v2 is 50ms for the first 10 minutes, then 200ms; v1 stays at 50ms.
LATENCY_TEST = f"""\
    rule_files: [churn.rules]
    tests:
      - name: latency of v2
        prom_results:
          - query: '{LATENCY_QUERY}'
            series: '{{version="v2"}}'
            values: '0.05x9 0.2x20'
          - query: '{LATENCY_QUERY}'
            series: '{{version="v1"}}'
            values: '0.05x29'
        alert_rule_test:
          - eval_time: 9m
            alertname: P99High
          - eval_time: 15m
            alertname: P99High
            exp_alerts:
              - exp_labels: {{severity: page, owner: ml, version: v2}}
                exp_annotations: {{summary: "p99 latency 200ms on v2"}}
"""


# --- passing and failing ---------------------------------------------------------------


def test_passing_file(run: Run) -> None:
    ok, out = run(LATENCY_TEST, LATENCY_RULES)
    assert ok, out
    assert out.strip() == "x_test.yml: 1 test, 1 passed"


def test_failing_expectation_prints_expected_and_got(run: Run) -> None:
    test = LATENCY_TEST.replace("eval_time: 15m", "eval_time: 20m").replace(
        "version: v2}", "version: v1}")
    ok, out = run(test, LATENCY_RULES)
    assert not ok
    expected_block = dedent("""\
        FAILED x_test.yml, test #1 "latency of v2", alertname P99High at eval_time 20m:
          expected:
            - labels: {alertname="P99High", owner="ml", severity="page", version="v1"}    # missing
              annotations: {summary="p99 latency 200ms on v2"}
          got:
            - labels: {alertname="P99High", owner="ml", severity="page", version="v2"}    # unexp.
              annotations: {summary="p99 latency 200ms on v2"}
        """)
    assert expected_block.replace("# unexp.", "# unexpected") in out
    assert out.splitlines()[-1] == "x_test.yml: 1 test, 0 passed, 1 failed"


def test_no_alert_expected_but_one_fires(run: Run) -> None:
    test = LATENCY_TEST.replace("eval_time: 9m", "eval_time: 25m")
    ok, out = run(test, LATENCY_RULES)
    assert not ok
    assert "alertname P99High at eval_time 25m:\n  expected: (no alerts firing)\n" in out
    assert 'owner="ml", severity="page", version="v2"}    # unexpected' in out


def test_annotation_mismatch(run: Run) -> None:
    test = LATENCY_TEST.replace("p99 latency 200ms on v2", "p99 latency 2s on v2")
    ok, out = run(test, LATENCY_RULES)
    assert not ok
    assert '      annotations: {summary="p99 latency 2s on v2"}\n' in out
    assert '      annotations: {summary="p99 latency 200ms on v2"}    # differs: summary\n' in out
    assert "# missing" not in out and "# unexpected" not in out


def test_annotations_are_not_compared_when_not_given(run: Run) -> None:
    test = LATENCY_TEST.replace(
        '\n                exp_annotations: {summary: "p99 latency 200ms on v2"}', "")
    ok, out = run(test, LATENCY_RULES)
    assert ok, out


def test_annotations_given_are_compared_exactly(run: Run) -> None:
    # All keys: an empty mapping expects no annotations at all.
    test = LATENCY_TEST.replace('{summary: "p99 latency 200ms on v2"}', "{}")
    ok, out = run(test, LATENCY_RULES)
    assert not ok
    assert "# differs: summary" in out


def test_for_is_respected(run: Run) -> None:
    rules = {"a.rules": """\
        alert High {
          when = x > 10
          for  = 5m
        }
    """}
    test = """\
        rule_files: [a.rules]
        tests:
          - input_series:
              - series: 'x{job="a"}'
                values: '20x10'
            alert_rule_test:
              - eval_time: 4m
                alertname: High
              - eval_time: 5m
                alertname: High
                exp_alerts:
                  - exp_labels: {job: a}
    """
    ok, out = run(test, rules)
    assert ok, out

    # Expecting it at 4m fails, and the report shows it pending.
    ok, out = run(test.replace("eval_time: 5m", "eval_time: 4m"), rules)
    assert not ok
    assert "alertname High at eval_time 4m:" in out
    assert "  got: (no alerts firing)" in out
    assert "  pending (not compared" in out
    assert '    - labels: {alertname="High", job="a"}    # since 0s' in out


def test_alertname_may_be_given_and_must_then_be_right(run: Run) -> None:
    rules = {"a.rules": "alert High { when = x > 10 }\n"}
    test = """\
        rule_files: [a.rules]
        tests:
          - input_series: [{series: 'x', values: '20'}]
            alert_rule_test:
              - eval_time: 0s
                alertname: High
                exp_alerts: [{exp_labels: {alertname: %s}}]
    """
    ok, out = run(test % "High", rules)
    assert ok, out
    ok, out = run(test % "Low", rules)
    assert not ok
    assert '{alertname="Low"}    # missing' in out


# --- sources ---------------------------------------------------------------------------


def test_prom_results_drive_a_prom_rule(run: Run) -> None:
    # The stub also matches a query written with other whitespace (line breaks in YAML).
    test = LATENCY_TEST.replace(
        f"- query: '{LATENCY_QUERY}'",
        "- query: >-\n"
        "              histogram_quantile(0.99,\n"
        "                sum by (le, version) (rate(lat_bucket[5m])))",
        1)
    assert "histogram_quantile(0.99,\n" in test
    ok, out = run(test, LATENCY_RULES)
    assert ok, out


def test_unknown_query_answers_no_data_and_is_reported(run: Run) -> None:
    test = LATENCY_TEST.replace(f"'{LATENCY_QUERY}'", "'histogram_quantile(0.99, x)'")
    ok, out = run(test, LATENCY_RULES)
    assert not ok
    assert "  got: (no alerts firing)" in out
    assert ("  note: prom() queries without prom_results (answered with no data):\n"
            f"    - {LATENCY_QUERY}\n") in out


def test_prom_stub_behaves_like_an_instant_query(run: Run) -> None:
    # Samples count for less than 5 minutes, and a stale marker ends them at once.
    test = """\
        tests:
          - prom_results:
              - {query: 'up', series: 'up{job="a"}', values: '1 _x10'}
              - {query: 'up', series: 'up{job="b"}', values: '1 stale'}
            promql_expr_test:
              - expr: prom("up")
                eval_time: 0s
                exp_samples:
                  - {labels: 'up{job="a"}', value: 1}
                  - {labels: 'up{job="b"}', value: 1}
              - expr: prom("up")
                eval_time: 4m59s
                exp_samples: [{labels: 'up{job="a"}', value: 1}]
              - expr: prom("up")
                eval_time: 5m
    """
    ok, out = run(test)
    assert ok, out


def test_stale_marker_ends_a_series(run: Run) -> None:
    rules = {"a.rules": "alert High { when = x > 10 }\n"}
    test = """\
        rule_files: [a.rules]
        tests:
          - input_series:
              - {series: 'x{job="gap"}', values: '20 20 _x3'}
              - {series: 'x{job="ended"}', values: '20 20 stale'}
            alert_rule_test:
              - eval_time: 1m
                alertname: High
                exp_alerts: [{exp_labels: {job: gap}}, {exp_labels: {job: ended}}]
              - eval_time: 3m
                alertname: High
                exp_alerts: [{exp_labels: {job: gap}}]
    """
    ok, out = run(test, rules)
    assert ok, out


def test_composite_rule_with_alert_and_on(run: Run) -> None:
    # The composite comes first in the file; the drift rule is still evaluated before it.
    rules = {"churn.rules": """\
        group churn {
          alert ChurnErrorsAndDrift {
            when = rate(prediction_errors_total[5m]) > 0.05
                   and on(version) alert("ChurnFeatureDrift")
            severity = "page"
          }
          alert ChurnFeatureDrift {
            when = feature_psi > 0.25
            severity = "ticket"
          }
        }
    """}
    test = """\
        rule_files: [churn.rules]
        tests:
          - input_series:
              - {series: 'prediction_errors_total{version="v1"}', values: '0+60x20'}
              - {series: 'prediction_errors_total{version="v2"}', values: '0+60x20'}
              - {series: 'feature_psi{version="v2", feature="age"}', values: '0.1x4 0.4x20'}
            alert_rule_test:
              - eval_time: 4m
                alertname: ChurnErrorsAndDrift
              - eval_time: 5m
                alertname: ChurnFeatureDrift
                exp_alerts:
                  - exp_labels: {version: v2, feature: age, severity: ticket}
              - eval_time: 5m
                alertname: ChurnErrorsAndDrift
                exp_alerts:
                  - exp_labels: {version: v2, severity: page}
            promql_expr_test:
              - expr: alert("ChurnFeatureDrift")
                eval_time: 5m
                exp_samples:
                  - labels: >-
                      {alertname="ChurnFeatureDrift", feature="age",
                       version="v2", severity="ticket"}
                    value: 1
    """
    ok, out = run(test, rules)
    assert ok, out


def test_clear_hysteresis(run: Run) -> None:
    rules = {"a.rules": """\
        alert Errors {
          when  = errors > 10
          clear = errors < 5
        }
    """}
    test = """\
        rule_files: [a.rules]
        tests:
          - input_series:
              - {series: 'errors{job="a"}', values: '0 20 8 8 3 3'}
            alert_rule_test:
              - eval_time: 1m
                alertname: Errors
                exp_alerts: [{exp_labels: {job: a}}]
              - eval_time: 3m  # below the threshold, but not yet clear
                alertname: Errors
                exp_alerts: [{exp_labels: {job: a}}]
              - eval_time: 4m
                alertname: Errors
    """
    ok, out = run(test, rules)
    assert ok, out


# --- evaluation times ------------------------------------------------------------------


RULE_WITHOUT_INTERVAL = {"a.rules": "alert High { when = x > 10 }\n"}
JUMP_AT_1M = """\
    rule_files: [a.rules]
    %s
    tests:
      - interval: 1m  # the samples' spacing, which defaults to evaluation_interval
        input_series: [{series: 'x', values: '0 20x20'}]
        alert_rule_test:
          - eval_time: 4m
            alertname: High
            exp_alerts: %s
"""


def test_evaluation_interval_applies_to_rules_without_one(run: Run) -> None:
    # Evaluated at 0 and 5m only: at 4m the alert seen at 0 is still all there is.
    ok, out = run(JUMP_AT_1M % ("evaluation_interval: 5m", "[]"), RULE_WITHOUT_INTERVAL)
    assert ok, out
    ok, out = run(JUMP_AT_1M % ("", "[{exp_labels: {}}]"), RULE_WITHOUT_INTERVAL)
    assert ok, out


def test_rule_interval_wins_over_evaluation_interval(run: Run) -> None:
    rules = {"a.rules": "group g {\n  interval = 1m\n  alert High { when = x > 10 }\n}\n"}
    ok, out = run(JUMP_AT_1M % ("evaluation_interval: 5m", "[{exp_labels: {}}]"), rules)
    assert ok, out
    rules = {"a.rules": "alert High {\n  when = x > 10\n  interval = 5m\n}\n"}
    ok, out = run(JUMP_AT_1M % ("", "[]"), rules)
    assert ok, out


def test_input_interval_spaces_the_samples(run: Run) -> None:
    test = """\
        tests:
          - interval: 30s
            input_series: [{series: 'x', values: '1 2 3'}]
            promql_expr_test:
              - {expr: x, eval_time: 1m, exp_samples: [{labels: x, value: 3}]}
    """
    ok, out = run(test)
    assert ok, out


# --- promql_expr_test ------------------------------------------------------------------


def test_expression_values_are_compared_with_a_relative_tolerance(run: Run) -> None:
    test = """\
        tests:
          - input_series:
              - {series: 'req_total{job="a"}', values: '0+10x10'}
            promql_expr_test:
              - expr: rate(req_total[5m])
                eval_time: 10m
                exp_samples: [{labels: '{job="a"}', value: %s}]
              - expr: scalar(sum(req_total)) * 2
                eval_time: 1m
                exp_samples: [{value: 20}]
    """
    ok, out = run(test % "0.16666666666667")
    assert ok, out
    ok, out = run(test % "0.1667")
    assert not ok
    assert "expr `rate(req_total[5m])` at eval_time 10m:" in out
    assert '    - {job="a"} 0.1667\n' in out
    assert '    - {job="a"} 0.16666666666666666    # expected 0.1667\n' in out


def test_expression_labels_must_match_exactly(run: Run) -> None:
    test = """\
        tests:
          - input_series: [{series: 'up{job="a"}', values: '1'}]
            promql_expr_test:
              - expr: up
                eval_time: 0s
                exp_samples: [{labels: '{job="a"}', value: 1}]
    """
    ok, out = run(test)
    assert not ok
    assert '    - {job="a"} 1    # missing\n' in out
    assert '    - {__name__="up", job="a"} 1    # unexpected\n' in out


# --- errors in what is tested ----------------------------------------------------------


def test_unknown_alertname_is_an_error(run: Run) -> None:
    test = LATENCY_TEST.replace("alertname: P99High\n            exp",
                                "alertname: P99Hihg\n            exp")
    ok, out = run(test, LATENCY_RULES)
    assert not ok
    assert ('FAILED x_test.yml, test #1 "latency of v2": tests[0].alert_rule_test[1].alertname: '
            'there is no alert rule named "P99Hihg" in the rule files '
            '(did you mean "P99High"?)') in out


def test_rule_evaluation_error_fails_the_test(run: Run) -> None:
    rules = {"a.rules": 'alert Dup { when = label_replace(x, "i", "same", "i", ".*") > 0 }\n'}
    test = """\
        rule_files: [a.rules]
        tests:
          - input_series:
              - {series: 'x{i="1"}', values: '_ 1'}
              - {series: 'x{i="2"}', values: '_ 1'}
            alert_rule_test:
              - {eval_time: 0s, alertname: Dup}
              - {eval_time: 2m, alertname: Dup}
    """
    ok, out = run(test, rules)
    assert not ok
    assert "rule evaluation failed at 1m:\n  Dup: the result holds" in out
    assert "(1 expectation at or after 1m not checked)" in out


def test_rule_files_with_errors_fail_with_their_diagnostics(run: Run) -> None:
    rules = {"rules/bad.rules": """\
        alert High {
          when = rat(x[5m]) > 1
        }
    """}
    test = """\
        rule_files: ['rules/*.rules']
        tests: []
    """
    ok, out = run(test, rules)
    assert not ok
    path = os.path.join("rules", "bad.rules")
    assert f'{path}:2:10: unknown function "rat" (did you mean "rate"?)' in out
    assert "\n    when = rat(x[5m]) > 1\n           ^~~\n" in out
    assert out.splitlines()[-1] == "x_test.yml: the rule files have errors, no tests run"


def test_every_file_is_run_and_reported(run: Run, tmp_path: Path) -> None:
    run(LATENCY_TEST, LATENCY_RULES, name="good_test.yml")
    run("tests: [{}]\n", name="empty_test.yml")
    run("tests: {}\n", name="bad_test.yml")
    out = io.StringIO()
    assert run_test_files(["good_test.yml", "empty_test.yml"], out)
    assert out.getvalue().splitlines() == [
        "good_test.yml: 1 test, 1 passed", "empty_test.yml: 1 test, 1 passed"]
    out = io.StringIO()
    assert not run_test_files(["bad_test.yml", "good_test.yml"], out)
    assert out.getvalue().splitlines()[-1] == "good_test.yml: 1 test, 1 passed"


# --- bad test files --------------------------------------------------------------------


def problems(out: str) -> list[str]:
    lines = out.splitlines()
    assert lines[-1] == "x_test.yml: invalid test file, no tests run"
    return lines[:-1]


def test_unknown_keys_and_wrong_types_name_their_key_path(run: Run) -> None:
    test = """\
        rule_files: [a.rules]
        evaluation_interval: 1x
        extra: 1
        tests:
          - name: t
            input_serie: []
            prom_results: {query: q}
            alert_rule_test:
              - {eval_time: 1m, alertname: A}
              - {eval_time: 1m, alertname: A}
              - eval_time: 10x
                alertname: A
                exp_alerts:
                  - exp_labels: [a]
                    exp_anotations: {}
            promql_expr_test:
              - eval_time: 1.5m
                expr: 'rat(x[5m])'
                exp_samples: [{value: abc}]
          - interval: 0s
            input_series:
              - {series: 'x{a!="b"}', values: '1'}
              - {series: '{a="b"}', values: '1 1+x3'}
              - {series: 'x', values: '1'}
              - {series: 'x', values: '2'}
          - 5
    """
    ok, out = run(test, {"a.rules": "alert A { when = x > 1 }\n"})
    assert not ok
    assert problems(out) == [
        'x_test.yml: extra: unknown key',
        'x_test.yml: evaluation_interval: invalid duration "1x": expected a number followed '
        "by a unit (ms, s, m, h, d, w, y)",
        'x_test.yml: tests[0].input_serie: unknown key (did you mean "input_series"?)',
        "x_test.yml: tests[0].prom_results: expected a list, got a mapping",
        'x_test.yml: tests[0].alert_rule_test[2].eval_time: invalid duration "10x": expected a '
        "number followed by a unit (ms, s, m, h, d, w, y)",
        'x_test.yml: tests[0].alert_rule_test[2].exp_alerts[0].exp_anotations: unknown key '
        '(did you mean "exp_annotations"?)',
        "x_test.yml: tests[0].alert_rule_test[2].exp_alerts[0].exp_labels: expected a mapping "
        "of names to strings, got a list",
        'x_test.yml: tests[0].promql_expr_test[0].expr: unknown function "rat" (at column 1)',
        'x_test.yml: tests[0].promql_expr_test[0].eval_time: invalid duration "1.5m": '
        "fractions are not allowed; write 1h30m rather than 1.5h",
        'x_test.yml: tests[0].promql_expr_test[0].exp_samples[0].value: invalid number "abc"',
        "x_test.yml: tests[1].interval: must be longer than 0s",
        'x_test.yml: tests[1].input_series[0].series: label "a" must be given with "=", '
        'not "!="',
        'x_test.yml: tests[1].input_series[1].series: "{a="b"}" has no metric name; expected a '
        'series such as metric{label="value"}',
        'x_test.yml: tests[1].input_series[1].values: invalid item "1+x3" at position 2',
        'x_test.yml: tests[1].input_series[3].series: series {__name__="x"} is already given at '
        "tests[1].input_series[2]",
        'x_test.yml: tests[2]: expected a mapping, got the string "5"',
    ]


def test_missing_rule_file(run: Run) -> None:
    ok, out = run("rule_files: [nope.rules, 'r/*.rules']\ntests: []\n")
    assert not ok
    assert problems(out) == [
        'x_test.yml: rule_files[0]: rule file "nope.rules" not found (looked for nope.rules)',
        'x_test.yml: rule_files[1]: "r/*.rules" matches no files (looked for '
        f"{os.path.join('r', '*.rules')})",
    ]


def test_missing_required_keys(run: Run) -> None:
    test = """\
        tests:
          - input_series: [{values: '1'}]
            prom_results: [{series: 'x', values: '1'}]
            alert_rule_test: [{alertname: A}]
            promql_expr_test: [{eval_time: 1m}]
    """
    ok, out = run(test)
    assert not ok
    assert problems(out) == [
        'x_test.yml: tests[0].input_series[0]: missing required key "series"',
        'x_test.yml: tests[0].prom_results[0]: missing required key "query"',
        'x_test.yml: tests[0].alert_rule_test[0]: missing required key "eval_time"',
        'x_test.yml: tests[0].promql_expr_test[0]: missing required key "expr"',
    ]
    ok, out = run("rule_files: []\n")
    assert problems(out) == ['x_test.yml: missing required key "tests"']


def test_eval_time_accepts_a_bare_zero_but_no_other_number(run: Run) -> None:
    test = "tests:\n  - promql_expr_test: [{expr: '1', eval_time: %s, exp_samples: [{value: 1}]}]\n"
    assert run(test % "0")[0]
    ok, out = run(test % "60")
    assert not ok
    assert 'tests[0].promql_expr_test[0].eval_time: invalid duration "60"' in out


def test_yaml_syntax_error_has_line_and_column(run: Run) -> None:
    test = """\
        tests:
          - name: a
           alert_rule_test: []
    """
    ok, out = run(test)
    assert not ok
    first = problems(out)[0]
    assert first.startswith("x_test.yml:3:")
    assert "invalid YAML:" in first


def test_duplicate_yaml_keys_are_errors(run: Run) -> None:
    ok, out = run("tests: []\ntests: []\n")
    assert not ok
    assert problems(out) == ['x_test.yml:2:1: invalid YAML: duplicate key "tests"']


def test_scalars_are_read_as_written(run: Run) -> None:
    # `2.10` would be the float 2.1 to a plain YAML loader; label values keep their text.
    test = """\
        tests:
          - input_series: [{series: 'x{v="2.10", ok="yes"}', values: '1'}]
            promql_expr_test:
              - expr: x{v="2.10"}
                eval_time: 0
                exp_samples: [{labels: 'x{v="2.10", ok="yes"}', value: 1.0}]
    """
    ok, out = run(test)
    assert ok, out


def test_unreadable_file(tmp_path: Path) -> None:
    out = io.StringIO()
    assert not run_test_files([str(tmp_path / "missing.yml")], out)
    assert "cannot read the file: No such file or directory" in out.getvalue()
