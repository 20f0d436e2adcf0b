"""The YAML test file of `alertd test`: its layout, and the frozen values load.py validates
it into.

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

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alertd.errors import AlertdError
from alertd.lang.compile import CompiledExpr
from alertd.model import Labels
from alertd.ruletest.baselines import TestBaseline
from alertd.ruletest.notation import Value

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
    "normalize_query",
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
