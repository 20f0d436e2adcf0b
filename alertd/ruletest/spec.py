"""The YAML test file of `alertd test`, validated strictly into frozen values.

The layout follows `promtool test rules`:

    rule_files: [churn.rules]       # relative to the test file; globs allowed
    evaluation_interval: 1m         # default 1m
    tests:
      - name: ...                   # optional
        interval: 1m                # spacing of the values of input_series and
                                    # prom_results; default evaluation_interval
        input_series:       # local samples, as pushed by webhook or MQTT
          - {series: 'metric{a="b"}', values: '0+1x10'}
        prom_results:       # stubbed answers of prom("...") queries
          - {query: '...', series: '{a="b"}', values: '1x10'}
        alert_rule_test:
          - eval_time: 5m
            alertname: X
            exp_alerts: [{exp_labels: {a: b}, exp_annotations: {summary: ...}}]
        promql_expr_test:
          - {expr: '...', eval_time: 5m, exp_samples: [{labels: 'x{a="b"}', value: 1}]}

Every problem is reported with its key path (`tests[0].alert_rule_test[2].eval_time`), all
of them at once. Scalars are read as the text they were written as, so `version: 2.10`
stays "2.10" and `code: 500` is the string "500", as promtool reads them.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import yaml

from alertd.errors import AlertdError, RuleError
from alertd.lang import ast
from alertd.lang.check import infer_type
from alertd.lang.compile import CompiledExpr, compile_expr
from alertd.lang.diagnostics import did_you_mean
from alertd.lang.durations import parse_duration
from alertd.lang.parse import parse_expr
from alertd.lang.types import ValueType
from alertd.model import ALERTNAME, METRIC_NAME, Labels
from alertd.ruletest.baselines import TestBaseline, parse_baselines
from alertd.ruletest.notation import NotationError, Value, expand, parse_number
from alertd.yamlfile import StrictLoader

__all__ = [
    "DEFAULT_EVALUATION_INTERVAL",
    "AlertTest",
    "ExpAlert",
    "ExpSample",
    "ExprTest",
    "InputSeries",
    "PromResult",
    "RuleTestCase",
    "RuleTestFile",
    "TestFileError",
    "load_test_file",
    "normalize_query",
    "parse_test_file",
]

DEFAULT_EVALUATION_INTERVAL = 60.0

_LABEL_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_GLOB_CHARS = frozenset("*?[")


class TestFileError(AlertdError):
    """A test file that cannot be used: one line per problem, each naming the file."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, path: str, problems: Sequence[str], *, located: bool = False) -> None:
        self.path = path
        # `located` problems already start with their position (`path:line:col: ...`).
        self.lines = tuple(p if located else f"{path}: {p}" for p in problems)
        super().__init__("\n".join(self.lines))


# --- the values ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InputSeries:
    labels: Labels  # with __name__
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class PromResult:
    query: str  # whitespace collapsed (see normalize_query)
    labels: Labels  # one element of the query's result; __name__ only when given
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class ExpAlert:
    labels: Labels  # alertname added when not given
    annotations: Mapping[str, str] | None  # None: not compared


@dataclass(frozen=True, slots=True)
class AlertTest:
    where: str  # key path, for messages
    eval_time: float
    alertname: str
    exp_alerts: tuple[ExpAlert, ...]


@dataclass(frozen=True, slots=True)
class ExpSample:
    labels: Labels
    value: float


@dataclass(frozen=True, slots=True)
class ExprTest:
    where: str
    expr: str
    compiled: CompiledExpr
    eval_time: float
    exp_samples: tuple[ExpSample, ...]


@dataclass(frozen=True, slots=True)
class RuleTestCase:
    index: int  # 0-based position in `tests`
    name: str | None
    interval: float
    input_series: tuple[InputSeries, ...]
    prom_results: tuple[PromResult, ...]
    alert_rule_tests: tuple[AlertTest, ...]
    promql_expr_tests: tuple[ExprTest, ...]

    @property
    def eval_times(self) -> list[float]:
        return [t.eval_time for t in self.alert_rule_tests] + [
            t.eval_time for t in self.promql_expr_tests]


@dataclass(frozen=True, slots=True)
class RuleTestFile:
    path: str
    rule_files: tuple[str, ...]  # resolved against the test file's directory, globs expanded
    evaluation_interval: float
    tests: tuple[RuleTestCase, ...]
    baselines: tuple[TestBaseline, ...] = ()  # see alertd.ruletest.baselines


def normalize_query(query: str) -> str:
    """A query with runs of whitespace collapsed, so line breaks in YAML do not matter."""
    return " ".join(query.split())


# --- loading -------------------------------------------------------------------------------


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
    v = _Validator(os.path.dirname(path))
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


# --- validation ----------------------------------------------------------------------------

_FILE_KEYS = ("rule_files", "evaluation_interval", "baselines", "tests")
_TEST_KEYS = ("name", "interval", "input_series", "prom_results", "alert_rule_test",
              "promql_expr_test")
_SERIES_KEYS = ("series", "values")
_PROM_KEYS = ("query", "series", "values")
_ALERT_TEST_KEYS = ("eval_time", "alertname", "exp_alerts")
_EXP_ALERT_KEYS = ("exp_labels", "exp_annotations")
_EXPR_TEST_KEYS = ("expr", "eval_time", "exp_samples")
_EXP_SAMPLE_KEYS = ("labels", "value")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _describe(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return f'the string "{value}"'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"


class _Validator:
    """Checks the loaded YAML piece by piece; every method returns None after a problem."""

    def __init__(self, base_dir: str) -> None:
        self.base_dir = base_dir
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}" if where else message)

    # generic shapes ---------------------------------------------------------------------

    def mapping(self, value: object, where: str, keys: Sequence[str],
                required: Sequence[str] = ()) -> dict[str, Any] | None:
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.fail(where, f"expected a mapping, got {_describe(value)}")
            return None
        for key in value:
            if not isinstance(key, str):
                self.fail(where, f"keys must be strings, got {_describe(key)}")
            elif key not in keys:
                self.fail(_join(where, key), f"unknown key{did_you_mean(key, keys)}")
        for key in required:
            if key not in value:
                self.fail(where, f'missing required key "{key}"')
        return value

    def items(self, value: object, where: str) -> list[Any] | None:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(where, f"expected a list, got {_describe(value)}")
            return None
        return value

    def text(self, value: object, where: str, *, empty: bool = True) -> str | None:
        if not isinstance(value, str):
            self.fail(where, f"expected a string, got {_describe(value)}")
            return None
        if not empty and not value.strip():
            self.fail(where, "must not be empty")
            return None
        return value

    def duration(self, value: object, where: str, *, zero: bool = False) -> float | None:
        text = self.text(value, where)
        if text is None:
            return None
        text = text.strip()
        if zero and text == "0":
            return 0.0
        seconds, why = parse_duration(text)
        if seconds is None:
            self.fail(where, f'invalid duration "{text}": {why}')
            return None
        if seconds == 0 and not zero:
            self.fail(where, "must be longer than 0s")
            return None
        return seconds

    def values(self, value: object, where: str) -> tuple[Value, ...] | None:
        text = self.text(value, where)
        if text is None:
            return None
        try:
            return tuple(expand(text))
        except NotationError as exc:
            self.fail(where, str(exc))
            return None

    def series(self, value: object, where: str, *, name_required: bool) -> Labels | None:
        text = self.text(value, where, empty=False)
        if text is None:
            return None
        try:
            expr = parse_expr(text)
        except RuleError as exc:
            self.fail(where, f'invalid series "{text}": {exc.message}{_column(exc.span)}')
            return None
        example = 'such as metric{label="value"}' if name_required else 'such as {label="value"}'
        if not isinstance(expr, ast.Selector):
            self.fail(where, f'expected a series {example}, got "{text}"')
            return None
        labels: dict[str, str] = {}
        if expr.name is not None:
            labels[METRIC_NAME] = expr.name
        ok = True
        for m in expr.matchers:
            if m.op != "=":
                self.fail(where, f'label "{m.name}" must be given with "=", not "{m.op}"')
                ok = False
            elif m.name in labels:
                self.fail(where, f'label "{m.name}" is given twice')
                ok = False
            else:
                labels[m.name] = m.value.value
        if not ok:
            return None
        if name_required and not labels.get(METRIC_NAME):
            self.fail(where, f'"{text}" has no metric name; expected a series {example}')
            return None
        # As in Prometheus, a label with an empty value is no label at all.
        return Labels({k: v for k, v in labels.items() if v != ""})

    def label_map(self, value: object, where: str) -> dict[str, str] | None:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(where, f"expected a mapping of names to strings, got {_describe(value)}")
            return None
        out: dict[str, str] = {}
        for key, item in value.items():
            if not isinstance(key, str) or not _LABEL_NAME_RE.fullmatch(key):
                self.fail(where, f'invalid name "{key}"')
                continue
            text = self.text(item, _join(where, key))
            if text is not None:
                out[key] = text
        return out

    # the file ---------------------------------------------------------------------------

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

    def number(self, value: object, where: str) -> float | None:
        text = self.text(value, where, empty=False)
        if text is None:
            return None
        number = parse_number(text.strip())
        if number is None:
            self.fail(where, f'invalid number "{text}"')
        return number

    def expression(self, value: object, where: str) -> tuple[str, CompiledExpr] | None:
        text = self.text(value, where, empty=False)
        if text is None:
            return None
        try:
            tree = parse_expr(text)
        except RuleError as exc:
            self.fail(where, f"{exc.message}{_column(exc.span)}")
            return None
        typ = infer_type(tree)
        try:
            compiled = compile_expr(tree)
        except RuleError as exc:
            self.fail(where, f"{exc.message}{_column(exc.span)}")
            return None
        if typ is None:
            self.fail(where, f'"{text}" is not a valid expression (alertd check on a rule '
                             "using it says why)")
            return None
        if typ not in (ValueType.SCALAR, ValueType.VECTOR):
            self.fail(where, f"the expression is a {typ}; expected an instant vector or a "
                             "scalar")
            return None
        return text, compiled


def _column(span: ast.Span | None) -> str:
    if span is None:
        return ""
    if span.line == 1:
        return f" (at column {span.column})"
    return f" (at line {span.line}, column {span.column})"
