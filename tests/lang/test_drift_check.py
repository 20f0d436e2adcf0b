"""`alertd check` on drift functions and baseline blocks: every mistake at its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertd.lang.check import infer_type
from alertd.lang.parse import parse_expr
from alertd.lang.types import ValueType
from alertd.rules.files import check_paths

CSV = "age,income,plan\n" + "".join(f"{20 + i % 50},{1000 + 37 * i},{'ab'[i % 2]}\n"
                                     for i in range(100))


def check(tmp_path: Path, source: str, files: dict[str, str] | None = None) -> list[str]:
    """`line:col: message` of each diagnostic of one rule file beside `files`."""
    for name, text in (files or {"train.csv": CSV}).items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "a.rules"
    path.write_text(source)
    result = check_paths([str(path)])
    return [f"{d.span.line}:{d.span.column}: {d.message}" for d in result.diagnostics]


BASELINE = 'baseline "train" {\n  file = "train.csv"\n  bins = 4\n}\n'


def rule(expr: str) -> str:
    return BASELINE + f"alert Drift {{\n  when = {expr}\n}}\n"


def test_a_drift_rule_with_its_baseline_checks_clean(tmp_path: Path) -> None:
    assert check(tmp_path, rule('psi(fv{feature=~"age|income"}[1h], baseline="train") '
                                "by (model, feature) > 0.25")) == []
    result = check_paths([str(tmp_path / "a.rules")])
    assert [b.name for b in result.baselines] == ["train"]
    assert result.baselines[0].kinds() == {"age": "numeric", "income": "numeric",
                                           "plan": "categorical"}


@pytest.mark.parametrize("expr", [
    'psi(x[1h], baseline="b") by (feature)',
    'ks_pvalue(x[1h], baseline="b")',
    'chi2(increase(x_bucket[1h]), baseline="b")',
    "jsd(sum by (le) (increase(x_bucket[1h])), sum by (le) (increase(y_bucket[1h])))",
])
def test_the_three_forms_are_instant_vectors(expr: str) -> None:
    assert infer_type(parse_expr(expr)) is ValueType.VECTOR


@pytest.mark.parametrize(("expr", "message"), [
    ("psi(fv[1h]) > 1",
     'psi() of a range vector needs baseline = "name", the reference it compares the '
     "values with"),
    ("psi(fv) > 1",
     "psi() of an instant vector compares le buckets: give a second bucket vector (such as "
     'the same with offset 7d) or baseline = "name"'),
    ('psi(fv[1h], other[1h], baseline="train") > 1',
     'psi() compares a range vector of values with a baseline: give baseline = "name", not '
     "a second argument"),
    ('psi(1, baseline="train") > 1',
     "psi() expects a range vector of values (such as x[1h]) or an instant vector of le "
     "buckets as argument 1, got a scalar"),
    ('wasserstein(increase(x_bucket[1h]), baseline="train") > 1',
     "wasserstein() needs raw values (a range vector such as x[1h]): histogram buckets have "
     "no position to measure; use psi, ks, jsd or chi2 on buckets"),
    ('psi(fv[1h], baseline=x) > 1',
     'baseline must be a string such as "churn-training": baselines are resolved when the '
     "rules load"),
    ('psi(fv[1h], baseline="train", bins=10) > 1',
     'unknown keyword argument "bins" for psi()'),
    ('psi(fv[1h], baseline="train", min_samples=0.5) > 1',
     "min_samples must be a whole number of at least 1, such as 100"),
    ('psi(fv[1h], baseline="train") without (feature) > 1',
     "psi() groups with by (...), not without (...)"),
    ("psi(a_bucket, b_bucket[1h]) > 1",
     "psi() expects an instant vector of le buckets as argument 2, got a range vector"),
])
def test_mistakes_in_a_call(tmp_path: Path, expr: str, message: str) -> None:
    found = check(tmp_path, rule(expr))
    assert [m.split(": ", 1)[1] for m in found] == [message]
    assert all(m.startswith("6:") for m in found)  # on the line of the call


def test_an_unknown_baseline_is_named_where_it_is_used(tmp_path: Path) -> None:
    assert check(tmp_path, rule('psi(fv[1h], baseline="trian") by (feature) > 1')) == [
        '6:31: no baseline named "trian" (did you mean "train"?); define it with a '
        "baseline block"]


def test_a_feature_the_baseline_lacks(tmp_path: Path) -> None:
    assert check(tmp_path, rule('psi(fv{feature=~"age|incme"}[1h], baseline="train") '
                                "by (feature) > 1")) == [
        '6:26: baseline "train" has no feature "incme" (did you mean "income"?) (its '
        "features: age, income, plan)"]
    assert check(tmp_path, rule('ks(fv{feature="tenure"}[1h], baseline="train") > 1')) == [
        '6:24: baseline "train" has no feature "tenure" (its features: age, income, plan)']


def test_groups_that_would_mix_features(tmp_path: Path) -> None:
    assert check(tmp_path, rule('psi(fv[1h], baseline="train") by (model) > 1')) == [
        '6:10: psi() groups by (model) without "feature": baseline "train" has 3 features '
        "(age, income, plan) and each group would mix them; add feature to by (...)"]


def test_the_kind_of_the_features(tmp_path: Path) -> None:
    assert check(tmp_path, rule('psi(increase(x_bucket[1h]), baseline="train") by (feature) '
                                "> 1")) == [
        '6:10: psi() compares le buckets, but baseline "train" holds values (age, income, '
        "plan), not buckets: compare it with a range vector"]
    assert check(tmp_path, rule('wasserstein(fv{feature="plan"}[1h], baseline="train") '
                                "by (feature) > 1")) == [
        '6:10: wasserstein() needs numeric values, but the features of baseline "train" are '
        "categories (plan); use psi, jsd or chi2"]


def test_a_missing_file(tmp_path: Path) -> None:
    found = check(tmp_path, 'baseline "b" {\n  file = "nope.csv"\n}\n')
    assert found == [f'2:10: baseline "b": cannot read {tmp_path}/nope.csv: no such file or '
                     "directory"]


def test_no_such_column(tmp_path: Path) -> None:
    found = check(tmp_path, 'baseline "b" {\n  file = "train.csv"\n  columns = "age, tenure"\n'
                            "}\n")
    assert found == [f'2:10: baseline "b": {tmp_path}/train.csv: no such column "tenure" '
                     "(the file has: age, income, plan)"]


def test_too_few_reference_values_for_the_bins(tmp_path: Path) -> None:
    found = check(tmp_path, 'baseline "b" {\n  file = "t.csv"\n  bins = 10\n}\n',
                  {"t.csv": "x\n1\n2\n3\n"})
    assert found == [f'2:10: baseline "b": {tmp_path}/t.csv: column "x": too few reference '
                     "values for 10 bins: 3"]


def test_a_share_of_missing_values(tmp_path: Path) -> None:
    text = "x,y\n" + "".join(f"{i},{i}\n" for i in range(95)) + "NaN,1\n,2\n\nNA,3\n"
    (tmp_path / "t.csv").write_text(text)
    found = check(tmp_path, 'baseline "b" {\n  file = "t.csv"\n}\n', {"t.csv": text})
    assert found == [f'2:10: baseline "b": {tmp_path}/t.csv: column "x": 3 of 98 values (3.1%) '
                     "are missing or NaN, more than max_missing (0.0%): fill or drop them, or "
                     "raise max_missing"]
    assert check(tmp_path, 'baseline "b" {\n  file = "t.csv"\n  max_missing = 5%\n}\n',
                 {"t.csv": text}) == []


def test_mistakes_in_a_baseline_block(tmp_path: Path) -> None:
    source = ('baseline "a" {\n  bins = 1\n  fro = "x"\n  file = "train.csv"\n}\n'
              'baseline "b" {\n  bins = 4\n}\n'
              'baseline "c" {\n  prometheus = "x"\n  from = "yesterday"\n}\n'
              'baseline "d" {\n  captured = true\n  columns = "a"\n}\n'
              'baseline "train" {\n  captured = true\n}\n'
              'baseline "train" {\n  captured = true\n}\n')
    assert check(tmp_path, source) == [
        "2:10: bins must be a whole number of at least 2, such as 10",
        '3:3: unknown key "fro" in baseline (did you mean "from"?)',
        '6:10: baseline "b" needs a source: file = "...", prometheus = "query" (with from '
        "and to), or captured = true",
        "9:10: a prometheus baseline needs to (an RFC 3339 time)",
        '11:10: from must be an RFC 3339 time such as "2026-05-01T00:00:00Z" or a date, got '
        '"yesterday"',
        "15:3: columns is only used with file",
        f'20:10: duplicate baseline "train" (first defined at {tmp_path}/a.rules:17:10)',
    ]


def test_a_broken_baseline_is_reported_once_and_its_rules_left_out(tmp_path: Path) -> None:
    source = rule('psi(fv[1h], baseline="train") by (feature) > 1').replace("bins = 4",
                                                                            "bins = 1")
    assert check(tmp_path, source) == [
        "3:10: bins must be a whole number of at least 2, such as 10"]
    assert check_paths([str(tmp_path / "a.rules")]).groups == ()
