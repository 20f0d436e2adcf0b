"""The generic checks of a loaded YAML document, each problem told with its key path
(`tests[0].alert_rule_test[2].eval_time`): shapes (mappings, lists, strings), durations,
series values in promtool's notation, series selectors, numbers and expressions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from alertd.durations import parse_duration
from alertd.errors import RuleError
from alertd.lang import ast
from alertd.lang.check import infer_type
from alertd.lang.compile import CompiledExpr, compile_expr
from alertd.lang.parse import parse_expr
from alertd.lang.types import ValueType
from alertd.model import METRIC_NAME, Labels
from alertd.ruletest.notation import NotationError, Value, expand, parse_number
from alertd.suggest import did_you_mean

__all__ = ["Validator", "join"]

_LABEL_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def join(where: str, key: str) -> str:
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


class Validator:
    """Checks the loaded YAML piece by piece; every method returns None after a problem."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}" if where else message)

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
                self.fail(join(where, key), f"unknown key{did_you_mean(key, keys)}")
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
        expr = self._parse(text, where, f'invalid series "{text}": ')
        if expr is None:
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
            text = self.text(item, join(where, key))
            if text is not None:
                out[key] = text
        return out

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
        tree = self._parse(text, where, "")
        if tree is None:
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

    def _parse(self, text: str, where: str, prefix: str) -> ast.Expr | None:
        try:
            return parse_expr(text)
        except RuleError as exc:
            self.fail(where, f"{prefix}{exc.message}{_column(exc.span)}")
            return None


def _column(span: ast.Span | None) -> str:
    if span is None:
        return ""
    if span.line == 1:
        return f" (at column {span.column})"
    return f" (at line {span.line}, column {span.column})"
