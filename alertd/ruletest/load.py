"""Loading the YAML test file of `alertd test` (see spec.py for its layout) into the frozen
values of spec.py, with every problem at once."""

from __future__ import annotations

import glob
import os
from types import MappingProxyType
from typing import Any

import yaml

from alertd.model import ALERTNAME, Labels
from alertd.ruletest.baselines import parse_baselines
from alertd.ruletest.spec import (
    DEFAULT_EVALUATION_INTERVAL,
    AlertTest,
    ExpAlert,
    ExprTest,
    ExpSample,
    InputSeries,
    PromResult,
    RuleTestCase,
    RuleTestFile,
    TestFileError,
    normalize_query,
)
from alertd.ruletest.validate import Validator
from alertd.yamlfile import StrictLoader

__all__ = ["load_test_file", "parse_test_file"]

_GLOB_CHARS = frozenset("*?[")


def load_test_file(path: str) -> RuleTestFile:
    """Read and validate a test file; raises TestFileError listing every problem."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise TestFileError(path, [f"cannot read the file: {reason}"]) from exc
    return parse_test_file(text, path)


def parse_test_file(text: str, path: str) -> RuleTestFile:
    """Validate the text of a test file; rule files are resolved relative to `path`."""
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else path
        problem = exc.problem or exc.context or "syntax error"
        raise TestFileError(path, [f"{where}: invalid YAML: {problem}"], located=True) from exc
    except yaml.YAMLError as exc:
        raise TestFileError(path, [f"invalid YAML: {exc}"]) from exc
    if data is None:
        raise TestFileError(path, ["the file is empty; expected rule_files and tests"])
    v = _FileValidator(os.path.dirname(path))
    result = v.file(data, path)
    if v.problems or result is None:
        raise TestFileError(path, v.problems or ["invalid test file"])
    return result


class _Loader(StrictLoader):
    """Keeps scalars as text (only null is resolved): `version: 2.10` stays "2.10"."""


_KEEP_TAGS = {"tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag in _KEEP_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


_FILE_KEYS = ("rule_files", "evaluation_interval", "baselines", "tests")
_TEST_KEYS = ("name", "interval", "input_series", "prom_results", "alert_rule_test",
              "promql_expr_test")
_SERIES_KEYS = ("series", "values")
_PROM_KEYS = ("query", "series", "values")
_ALERT_TEST_KEYS = ("eval_time", "alertname", "exp_alerts")
_EXP_ALERT_KEYS = ("exp_labels", "exp_annotations")
_EXPR_TEST_KEYS = ("expr", "eval_time", "exp_samples")
_EXP_SAMPLE_KEYS = ("labels", "value")



class _FileValidator(Validator):
    """The structure of a test file, on top of the generic checks."""

    def __init__(self, base_dir: str) -> None:
        super().__init__()
        self.base_dir = base_dir

    def file(self, data: object, path: str) -> RuleTestFile | None:
        top = self.mapping(data, "", _FILE_KEYS, required=("tests",))
        if top is None:
            return None
        rule_files = self.rule_files(top.get("rule_files"))
        baselines = parse_baselines(self, top.get("baselines"))
        interval: float | None = DEFAULT_EVALUATION_INTERVAL
        if top.get("evaluation_interval") is not None:
            interval = self.duration(top["evaluation_interval"], "evaluation_interval")
        raw_tests = self.items(top.get("tests"), "tests")
        tests: list[RuleTestCase] = []
        for i, raw in enumerate(raw_tests or ()):
            case = self.case(raw, i, interval or DEFAULT_EVALUATION_INTERVAL)
            if case is not None:
                tests.append(case)
        if self.problems or rule_files is None or interval is None or raw_tests is None:
            return None
        return RuleTestFile(path, rule_files, interval, tuple(tests), baselines)

    def rule_files(self, value: object) -> tuple[str, ...] | None:
        if isinstance(value, str):  # a single file, written without the list
            value = [value]
        items = self.items(value, "rule_files")
        if items is None:
            return None
        found: list[str] = []
        for i, item in enumerate(items):
            where = f"rule_files[{i}]"
            pattern = self.text(item, where, empty=False)
            if pattern is None:
                continue
            full = os.path.normpath(os.path.join(self.base_dir, pattern))
            if _GLOB_CHARS & set(pattern):
                matches = sorted(m for m in glob.glob(full) if os.path.isfile(m))
                if not matches:
                    self.fail(where, f'"{pattern}" matches no files (looked for {full})')
                found.extend(matches)
            elif not os.path.isfile(full):
                self.fail(where, f'rule file "{pattern}" not found (looked for {full})')
            else:
                found.append(full)
        return tuple(dict.fromkeys(found))

    def case(self, value: object, index: int, default_interval: float) -> RuleTestCase | None:
        where = f"tests[{index}]"
        raw = self.mapping(value, where, _TEST_KEYS)
        if raw is None:
            return None
        before = len(self.problems)
        name = self.text(raw["name"], f"{where}.name") if raw.get("name") is not None else None
        interval: float | None = default_interval
        if raw.get("interval") is not None:
            interval = self.duration(raw["interval"], f"{where}.interval")
        inputs = self.input_series(raw.get("input_series"), f"{where}.input_series")
        stubs = self.prom_results(raw.get("prom_results"), f"{where}.prom_results")
        alert_tests = self.listed(raw.get("alert_rule_test"), f"{where}.alert_rule_test",
                                  self.alert_test)
        expr_tests = self.listed(raw.get("promql_expr_test"), f"{where}.promql_expr_test",
                                 self.expr_test)
        if len(self.problems) > before or interval is None:
            return None
        return RuleTestCase(index, name, interval, tuple(inputs), tuple(stubs),
                            tuple(alert_tests), tuple(expr_tests))

    def listed(self, value: object, where: str, parse: Any) -> list[Any]:
        out: list[Any] = []
        for i, item in enumerate(self.items(value, where) or ()):
            parsed = parse(item, f"{where}[{i}]")
            if parsed is not None:
                out.append(parsed)
        return out

    def input_series(self, value: object, where: str) -> list[InputSeries]:
        out: list[InputSeries] = []
        first: dict[Labels, str] = {}
        for i, item in enumerate(self.items(value, where) or ()):
            at = f"{where}[{i}]"
            raw = self.mapping(item, at, _SERIES_KEYS, required=_SERIES_KEYS)
            if raw is None or not all(k in raw for k in _SERIES_KEYS):
                continue
            labels = self.series(raw["series"], f"{at}.series", name_required=True)
            values = self.values(raw["values"], f"{at}.values")
            if labels is None or values is None:
                continue
            if labels in first:
                self.fail(f"{at}.series", f"series {labels} is already given at {first[labels]}")
                continue
            first[labels] = at
            out.append(InputSeries(labels, values))
        return out

    def prom_results(self, value: object, where: str) -> list[PromResult]:
        out: list[PromResult] = []
        first: dict[tuple[str, Labels], str] = {}
        for i, item in enumerate(self.items(value, where) or ()):
            at = f"{where}[{i}]"
            raw = self.mapping(item, at, _PROM_KEYS, required=_PROM_KEYS)
            if raw is None or not all(k in raw for k in _PROM_KEYS):
                continue
            query = self.text(raw["query"], f"{at}.query", empty=False)
            labels = self.series(raw["series"], f"{at}.series", name_required=False)
            values = self.values(raw["values"], f"{at}.values")
            if query is None or labels is None or values is None:
                continue
            key = (normalize_query(query), labels)
            if key in first:
                self.fail(f"{at}.series",
                          f"series {labels} of this query is already given at {first[key]}")
                continue
            first[key] = at
            out.append(PromResult(key[0], labels, values))
        return out

    def alert_test(self, value: object, where: str) -> AlertTest | None:
        raw = self.mapping(value, where, _ALERT_TEST_KEYS, required=("eval_time", "alertname"))
        if raw is None or "eval_time" not in raw or "alertname" not in raw:
            return None
        eval_time = self.duration(raw["eval_time"], f"{where}.eval_time", zero=True)
        alertname = self.text(raw["alertname"], f"{where}.alertname", empty=False)
        expected: list[ExpAlert] = []
        for i, item in enumerate(self.items(raw.get("exp_alerts"), f"{where}.exp_alerts") or ()):
            at = f"{where}.exp_alerts[{i}]"
            exp = self.mapping(item, at, _EXP_ALERT_KEYS)
            if exp is None:
                continue
            labels = self.label_map(exp.get("exp_labels"), f"{at}.exp_labels")
            annotations = None
            if exp.get("exp_annotations") is not None:
                annotations = self.label_map(exp["exp_annotations"], f"{at}.exp_annotations")
                if annotations is None:
                    continue
            if labels is None or alertname is None:
                continue
            # As in promtool, alertname need not be written; written, it must be right.
            labels.setdefault(ALERTNAME, alertname.strip())
            expected.append(ExpAlert(
                Labels(labels),
                MappingProxyType(annotations) if annotations is not None else None))
        if eval_time is None or alertname is None:
            return None
        return AlertTest(where, eval_time, alertname.strip(), tuple(expected))

    def expr_test(self, value: object, where: str) -> ExprTest | None:
        raw = self.mapping(value, where, _EXPR_TEST_KEYS, required=("expr", "eval_time"))
        if raw is None or "expr" not in raw or "eval_time" not in raw:
            return None
        compiled = self.expression(raw["expr"], f"{where}.expr")
        eval_time = self.duration(raw["eval_time"], f"{where}.eval_time", zero=True)
        expected: list[ExpSample] = []
        for i, item in enumerate(self.items(raw.get("exp_samples"), f"{where}.exp_samples")
                                 or ()):
            at = f"{where}.exp_samples[{i}]"
            exp = self.mapping(item, at, _EXP_SAMPLE_KEYS, required=("value",))
            if exp is None or "value" not in exp:
                continue
            labels: Labels | None = Labels()
            if exp.get("labels") is not None and str(exp["labels"]).strip():
                labels = self.series(exp["labels"], f"{at}.labels", name_required=False)
            number = self.number(exp["value"], f"{at}.value")
            if labels is not None and number is not None:
                expected.append(ExpSample(labels, number))
        if compiled is None or eval_time is None:
            return None
        return ExprTest(where, compiled[0], compiled[1], eval_time, tuple(expected))
