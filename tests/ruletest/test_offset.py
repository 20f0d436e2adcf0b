"""`alertd test` of rules that compare with the past (`offset`) and look ahead."""

from __future__ import annotations

import io
from pathlib import Path
from textwrap import dedent

import pytest

from alertd.ruletest import run_test_files

RULES = """\
    group drift {
      interval = 10m
      owner    = "ml"

      alert ScoreShifted {
        when     = avg_over_time(score[1h]) - avg_over_time(score[1h] offset 1d) > 5
        severity = "ticket"
        summary  = "mean score moved by {{ value | humanize }} against the same hour yesterday"
      }

      alert DiskFullSoon {
        when     = predict_linear(disk_free_bytes[1h], 4h) < 0
        severity = "page"
      }
    }
"""

# The score is 10 for the first day and 20 from 24h on, a sample every 10 minutes.
TEST = """\
    rule_files: [drift.rules]
    evaluation_interval: 10m
    tests:
      - name: a score compared with the same hour yesterday
        interval: 10m
        input_series:
          - series: 'score{model="churn"}'
            values: '10x143 20x144'
          - series: 'disk_free_bytes{host="a"}'
            values: '1000-5x288'
        alert_rule_test:
          # Yesterday's window is empty during the first day: nothing to compare.
          - eval_time: 23h
            alertname: ScoreShifted
          - eval_time: 25h
            alertname: ScoreShifted
            exp_alerts:
              - exp_labels: {model: churn, severity: ticket, owner: ml}
                exp_annotations:
                  summary: mean score moved by EXPECTED against the same hour yesterday
          # Losing 5 every 10 minutes, 1000 at 0: below 0 four hours after 29h20m.
          - eval_time: 29h10m
            alertname: DiskFullSoon
          - eval_time: 29h30m
            alertname: DiskFullSoon
            exp_alerts:
              - exp_labels: {host: a, severity: page, owner: ml}
        promql_expr_test:
          - expr: score offset 1d
            eval_time: 25h
            exp_samples:
              - labels: 'score{model="churn"}'
                value: 10
          - expr: hour() + day_of_week()
            eval_time: 25h
            exp_samples:
              - value: 6  # 01:00 on Friday (5) 1970-01-02
"""


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test: str) -> tuple[bool, str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "drift.rules").write_text(dedent(RULES))
    (tmp_path / "drift_test.yml").write_text(dedent(test))
    out = io.StringIO()
    ok = run_test_files(["drift_test.yml"], out)
    return ok, out.getvalue()


def test_offset_and_predict_linear_rules_pass_their_tests(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ok, output = run(tmp_path, monkeypatch, TEST.replace("EXPECTED", "10"))
    assert ok, output
    assert output == "drift_test.yml: 1 test, 1 passed\n"


def test_a_wrong_expectation_about_yesterday_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ok, output = run(tmp_path, monkeypatch, TEST.replace("EXPECTED", "20"))
    assert not ok
    assert "alertname ScoreShifted at eval_time 1d1h" in output
    assert "# differs: summary" in output
