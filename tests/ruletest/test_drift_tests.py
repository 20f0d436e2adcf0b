"""`alertd test` on drift rules: baselines inline in the test file, or from a file beside it."""

from __future__ import annotations

import io
from pathlib import Path
from textwrap import dedent

import pytest

from alertd.ruletest import run_test_files

RULES = """\
    baseline "scores" {
      prometheus = `prediction_score`
      from       = "2026-05-01"
      to         = "2026-05-08"
    }
    baseline "train" {
      file = "train.csv"
      bins = 4
    }
    alert ScoreDrift {
      when     = psi(prediction_score[1h], baseline="scores") by (feature) > 0.25
      severity = "ticket"
    }
    alert AgeDrift {
      when     = ks(feature_value{feature="age"}[1h], baseline="train") by (feature) > 0.5
      severity = "ticket"
    }
"""

CASE = """\
tests:
  - interval: 1m
    input_series:
      - series: 'prediction_score{feature="score"}'
        values: '0.6+0.01x39'
      - series: 'feature_value{feature="age"}'
        values: '50+1x39'
    alert_rule_test:
      - eval_time: 40m
        alertname: ScoreDrift
        exp_alerts:
          - exp_labels: {feature: score, severity: ticket}
      - eval_time: 40m
        alertname: AgeDrift
        exp_alerts:
          - exp_labels: {feature: age, severity: ticket}
"""


def run(tmp_path: Path, test: str, files: dict[str, str]) -> tuple[bool, str]:
    (tmp_path / "a.rules").write_text(dedent(RULES))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "a_test.yml").write_text(test)
    out = io.StringIO()
    ok = run_test_files([str(tmp_path / "a_test.yml")], out)
    return ok, out.getvalue()


TRAIN = "age\n" + "".join(f"{20 + i % 30}\n" for i in range(60))  # ages 20 to 49


def test_a_baseline_inline_in_the_test_file(tmp_path: Path) -> None:
    test = """\
rule_files: [a.rules]
baselines:
  scores:
    bins: 4
    features:
      score: {values: '0+0.01x99'}     # 0 to 0.99; the window holds 0.6 to 0.99
""" + CASE
    ok, output = run(tmp_path, test, {"train.csv": TRAIN})
    assert ok, output
    assert output.endswith("1 test, 1 passed\n")


def test_a_baseline_from_a_file_beside_the_test(tmp_path: Path) -> None:
    test = "rule_files: [a.rules]\nbaselines:\n  scores: {file: scores.csv, bins: 4}\n" + CASE
    scores = "score\n" + "".join(f"{i / 100}\n" for i in range(100))
    ok, output = run(tmp_path, test, {"train.csv": TRAIN, "scores.csv": scores})
    assert ok, output
    # The same scores as the training data: no drift, and the test says what it got.
    ok, output = run(tmp_path, test.replace("'0.6+0.01x39'", "'0+0.025x39'"),
                     {"train.csv": TRAIN, "scores.csv": scores})
    assert not ok
    assert "alertname ScoreDrift at eval_time 40m" in output
    assert "got: (no alerts firing)" in output


def test_a_prometheus_baseline_must_be_given_by_the_test(tmp_path: Path) -> None:
    test = "rule_files: [a.rules]\n" + CASE
    ok, output = run(tmp_path, test, {"train.csv": TRAIN})
    assert not ok
    assert (f'baseline "scores" comes from prometheus ({tmp_path}/a.rules:1:10): give it under '
            "baselines: in the test file") in output


@pytest.mark.parametrize(("entry", "problem"), [
    ("{features: {score: {values: '1 2'}}}",
     "baselines.scores.features.score.values: too few reference values for 10 bins: 2"),
    ("{file: nope.csv}", "baselines.scores.file: cannot read"),
    ("{features: {score: {buckets: {'1': 5, '2': 3, '+Inf': 9}}}}",
     "cumulative bucket counts must not decrease"),
    ("{features: {score: {values: '1 2', categories: {a: 1}}}}",
     "give one of values, categories or buckets"),
    ("{bins: 1, features: {}}", "bins must be a whole number of at least 2"),
])
def test_mistakes_in_test_baselines(tmp_path: Path, entry: str, problem: str) -> None:
    test = f"rule_files: [a.rules]\nbaselines:\n  scores: {entry}\ntests: []\n"
    ok, output = run(tmp_path, test, {"train.csv": TRAIN})
    assert not ok
    assert problem in output, output


def test_a_test_baseline_needs_a_baseline_block(tmp_path: Path) -> None:
    test = ("rule_files: [a.rules]\nbaselines:\n  scroes: {features: {s: {values: '0+1x20'}}}\n"
            "tests: []\n")
    ok, output = run(tmp_path, test, {"train.csv": TRAIN})
    assert not ok
    assert ('baselines.scroes: no baseline block named "scroes" in the rule files (did you '
            'mean "scores"?)') in output
