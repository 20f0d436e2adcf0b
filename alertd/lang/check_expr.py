"""The expression checker: types `when` and `clear` expressions and reports every mistake.

Expressions are typed as in PromQL (scalar, instant vector, range vector, string) bottom-up
without recursion, so that a long generated `a + b + c + ...` cannot exhaust the stack.
Besides the types it checks what the signature table cannot express (regexes, label names,
literal arguments) and collects the alert() references for the cross-file pass.
"""

from __future__ import annotations

import math
import re

from alertd.lang import ast
from alertd.lang.ast import Span
from alertd.lang.check_modifiers import (
    check_future_reads,
    check_modified,
    range_after_modifier,
)
from alertd.lang.check_report import NO_SPAN, Report, article, prefix_span
from alertd.lang.drift_check import check_drift_call
from alertd.lang.slo_check import check_slo_call
from alertd.lang.types import ALERT_STATES, ALL, DRIFT, SLO, FunctionSpec, ValueType
from alertd.regex import Regex, RegexError
from alertd.suggest import did_you_mean

__all__ = ["LABEL_NAME_RE", "MAX_DEPTH", "RANGE_HINT", "ExprChecker", "infer_type"]

S, V, M, STR = ValueType.SCALAR, ValueType.VECTOR, ValueType.MATRIX, ValueType.STRING

LABEL_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RANGE_HINT = "(wrap it in a function such as rate() or avg_over_time())"
_QUANTILE_FUNCS = frozenset({"quantile", "quantile_over_time", "histogram_quantile"})
# Deeper expressions are rejected so that the compiler and the formatter, which recurse,
# stay within the interpreter's stack (the CLI raises Python's recursion limit to fit).
MAX_DEPTH = 2_000


def _depth(expr: ast.Expr) -> int:
    deepest = 0
    stack = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.children(node))
    return deepest


def infer_type(expr: ast.Expr) -> ValueType | None:
    """The type of `expr`; None when it cannot be typed (the checker reports why)."""
    report = Report()
    try:
        return ExprChecker(report, "", NO_SPAN).check(expr)
    except Exception:
        return None


class ExprChecker:
    """Types an expression bottom-up, reporting every problem; collects alert() references."""

    def __init__(self, report: Report, path: str, fallback: Span) -> None:
        self.report = report
        self.path = path
        self.fallback = fallback
        self.refs: list[tuple[str, Span]] = []
        self.modified = False  # the expression being checked has offset or @

    def error(self, span: Span, message: str) -> None:
        self.report.error(self.path, span, message)

    def check(self, expr: ast.Expr) -> ValueType | None:
        depth = _depth(expr)
        if depth > MAX_DEPTH:
            self.error(expr.span, f"expression is nested {depth} levels deep; "
                                  f"at most {MAX_DEPTH} are allowed")
            return None
        types: dict[int, ValueType | None] = {}
        self.modified = False
        for node in reversed(ast.walk(expr)):  # children before their parents
            types[id(node)] = self._node(node, types)
        if self.modified:  # what a modifier reads depends on the subqueries around it
            check_future_reads(self.report, self.path, expr)
        return types.get(id(expr))

    def _node(self, node: ast.Expr, types: dict[int, ValueType | None]) -> ValueType | None:
        def t(child: ast.Expr) -> ValueType | None:
            return types.get(id(child))

        if isinstance(node, _LEAVES):
            return self._leaf(node)
        if isinstance(node, ast.Paren):
            return t(node.expr)
        if isinstance(node, ast.Subscript):
            return self._subscript(node, t(node.expr))
        if isinstance(node, ast.Modified):
            self.modified = True
            return check_modified(self.report, self.path, node, t(node.expr))
        if isinstance(node, ast.Unary):
            return self._unary(node, t(node.operand))
        if isinstance(node, ast.Binary):
            return self._binary(node, t(node.left), t(node.right))
        if isinstance(node, ast.Call):
            return self._call(node, [t(a) for a in node.args], [t(k.value) for k in node.kwargs])
        self.error(getattr(node, "span", self.fallback), "unsupported expression")
        return None

    def _leaf(self, node: ast.Expr) -> ValueType | None:
        """The type of a literal or a selector: the nodes without sub-expressions."""
        if isinstance(node, ast.DurationLit) and node.seconds is None:
            self.report.silent_error()  # the parser told why
        if isinstance(node, ast.StringLit):
            return STR
        if isinstance(node, ast.Selector):
            self._selector(node)
            return V
        return S

    # selectors ----------------------------------------------------------------------------

    def _selector(self, node: ast.Selector) -> None:
        selective = node.name is not None  # some matcher (or the name) rules out ""
        bad_regex = False
        for m in node.matchers:
            value = m.value.value
            if not LABEL_NAME_RE.fullmatch(m.name):
                self.error(prefix_span(m.span, len(m.name)), f'invalid label name "{m.name}"')
            if m.name == "__name__" and node.name is not None:
                self.error(m.span, f'the metric name is given twice: "{node.name}" and '
                                   "a __name__ matcher")
            if m.op in ("=~", "!~"):
                regex = self._regex(value, m.value.span)
                if regex is None:
                    bad_regex = True
                    continue
                matches_empty = regex.matches("")
                if m.op == "!~":
                    matches_empty = not matches_empty
            elif m.op == "=":
                matches_empty = value == ""
            else:
                matches_empty = value != ""
            selective = selective or not matches_empty
        if not selective and not bad_regex:
            self.error(node.span,
                       "a selector needs a metric name or a matcher that does not match "
                       "the empty string")

    def _regex(self, pattern: str, span: Span) -> Regex | None:
        try:
            return Regex(pattern)
        except RegexError as exc:
            self.error(span, f'invalid regular expression "{pattern}": {exc}')
        return None

    # ranges -------------------------------------------------------------------------------

    def _positive(self, lit: ast.DurationLit, what: str) -> None:
        if lit.seconds is None:
            self.report.silent_error()
        elif lit.seconds <= 0:
            self.error(lit.span, f"{what} must be positive, got {lit.text}")

    def _subscript(self, node: ast.Subscript, inner: ValueType | None) -> ValueType | None:
        self._positive(node.range, "a range")
        if node.step is not None:
            self._positive(node.step, "a subquery step")
        if not node.subquery:
            if isinstance(node.expr, ast.Modified):
                self.error(node.span, range_after_modifier(node))
            elif not isinstance(node.expr, ast.Selector):
                self.error(node.expr.span,
                           "ranges are only allowed on selectors; for a range over an "
                           "expression use a subquery such as [5m:1m]")
        elif inner is not None and inner is not V:
            self.error(node.expr.span, f"a subquery needs an instant vector, got {article(inner)}")
        return M

    # operators ----------------------------------------------------------------------------

    def _unary(self, node: ast.Unary, operand: ValueType | None) -> ValueType | None:
        if operand is M:
            self.error(node.operand.span,
                       f'unary "{node.op}" cannot be applied to a range vector {RANGE_HINT}')
            return None
        if operand is STR:
            self.error(node.operand.span, f'unary "{node.op}" cannot be applied to a string')
            return None
        return operand

    def _binary(
        self, node: ast.Binary, left: ValueType | None, right: ValueType | None
    ) -> ValueType | None:
        op = node.op
        is_cmp = op in ast.COMPARISON_OPS
        is_set = op in ast.SET_OPS
        sound = True
        for side, typ, operand in (("left", left, node.left), ("right", right, node.right)):
            if typ is M:
                self.error(operand.span,
                           f'a range vector cannot be an operand of "{op}" {RANGE_HINT}')
                sound = False
            elif typ is STR:
                self.error(operand.span, f'a string cannot be an operand of "{op}"')
                sound = False
            elif is_set and typ is S:
                self.error(operand.span, f'"{op}" needs instant vectors on both sides, '
                                         f"got a scalar on the {side}")
        if node.return_bool and not is_cmp:
            self.error(node.op_span, f'bool is only allowed on comparisons, not on "{op}"')
        if node.matching is not None:
            self._matching(node, left, right)
        if is_cmp and left is S and right is S and not node.return_bool:
            self.error(node.op_span, "comparisons between scalars must use bool")
        if is_set or V in (left, right):
            return V
        if sound and left is S and right is S:
            return S
        return None

    def _matching(self, node: ast.Binary, left: ValueType | None, right: ValueType | None) -> None:
        m = node.matching
        assert m is not None
        kind = "on" if m.on else "ignoring"
        group = {"many-to-one": "group_left", "one-to-many": "group_right"}.get(m.card)
        if S in (left, right):
            self.error(m.span, f"{kind}(...) is only allowed between two instant vectors")
        elif group is not None and node.op in ast.SET_OPS:
            self.error(m.span, f'{group} is not allowed with "{node.op}"')
        for name in (*m.labels, *m.include):
            if not LABEL_NAME_RE.fullmatch(name):
                self.error(m.span, f'invalid label name "{name}"')
        if m.on and group is not None:
            for name in m.include:
                if name in m.labels:
                    self.error(m.span,
                               f'label "{name}" must not be in both on(...) and {group}(...)')

    # calls --------------------------------------------------------------------------------

    def _call(
        self,
        node: ast.Call,
        arg_types: list[ValueType | None],
        kwarg_types: list[ValueType | None],
    ) -> ValueType | None:
        if node.name in DRIFT:
            return check_drift_call(self.error, node, arg_types, kwarg_types)
        if node.name in SLO:
            return check_slo_call(self.error, node, kwarg_types)
        spec = ALL.get(node.name)
        if spec is None:
            hint = did_you_mean(node.name, ALL)
            self.error(node.name_span, f'unknown function "{node.name}"{hint}')
            return None
        fn = f"{node.name}()"
        self._arg_count(node, spec)
        for i, (arg, actual) in enumerate(zip(node.args, arg_types, strict=False)):
            expected = _param(spec, i)
            if expected is None or actual is None or actual is expected:
                continue
            self.error(arg.span, f"{fn} expects {article(expected)} as argument {i + 1}, "
                                 f"got {article(actual)}{_conversion_hint(expected, actual)}")
        self._kwargs(node, spec, kwarg_types)
        if node.grouping is not None:
            g = node.grouping
            word = "without" if g.without else "by"
            if not spec.grouping:
                self.error(g.span, f"{word} (...) is only allowed on aggregations such as sum, "
                                   f"not on {fn}")
            for name in g.labels:
                if not LABEL_NAME_RE.fullmatch(name):
                    self.error(g.span, f'invalid label name "{name}"')
        self._special(node)
        return spec.returns

    def _arg_count(self, node: ast.Call, spec: FunctionSpec) -> None:
        n, low, high = len(node.args), spec.min_args, spec.max_args
        if low <= n and (high is None or n <= high):
            return
        plural = "argument" if (high if high is not None else low) == 1 else "arguments"
        if high is None:
            wanted = f"at least {low} {plural}"
        elif high == 0:
            wanted = "no arguments"
        elif low == high:
            wanted = f"{low} {plural}"
        elif high == low + 1:
            wanted = f"{low} or {high} arguments"
        else:
            wanted = f"{low} to {high} arguments"
        span = node.name_span
        if high is not None and n > high:
            span = node.args[high].span.to(node.args[-1].span)
        self.error(span, f"{node.name}() takes {wanted}, got {n}")

    def _kwargs(self, node: ast.Call, spec: FunctionSpec, types: list[ValueType | None]) -> None:
        seen: set[str] = set()
        for kw, actual in zip(node.kwargs, types, strict=False):
            name_span = prefix_span(kw.span, len(kw.name))
            expected = spec.kwargs.get(kw.name)
            if expected is None:
                hint = did_you_mean(kw.name, spec.kwargs)
                self.error(name_span,
                           f'unknown keyword argument "{kw.name}" for {node.name}(){hint}')
            elif kw.name in seen:
                self.error(name_span, f'keyword argument "{kw.name}" is given twice')
            elif actual is not None and actual is not expected:
                self.error(kw.value.span, f"{node.name}() expects {article(expected)} "
                                          f"as {kw.name}, got {article(actual)}")
            seen.add(kw.name)

    def _special(self, node: ast.Call) -> None:
        """Checks on literal arguments that the signature table cannot express."""
        first = ast.unparen(node.args[0]) if node.args else None
        if node.name == "prom" and isinstance(first, ast.StringLit) and not first.value.strip():
            self.error(first.span, "prom() needs a query, got an empty string")
        elif node.name == "alert":
            self._alert_call(node, first)
        elif node.name in _QUANTILE_FUNCS and first is not None:
            phi = _constant(node.args[0])
            if phi is not None and not math.isnan(phi) and not 0 <= phi <= 1:
                self.error(node.args[0].span,
                           f"{node.name}() expects φ between 0 and 1, got {phi:g}")
        elif node.name == "label_replace" and len(node.args) >= 5:
            self._label_replace_call(node)

    def _alert_call(self, node: ast.Call, first: ast.Expr | None) -> None:
        if isinstance(first, ast.StringLit):
            if first.value.strip():
                self.refs.append((first.value, first.span))
            else:
                self.error(first.span, "alert() needs a rule name, got an empty string")
        for kw in node.kwargs:
            value = ast.unparen(kw.value)
            if kw.name == "state" and isinstance(value, ast.StringLit) \
                    and value.value not in ALERT_STATES:
                choices = " or ".join(f'"{s}"' for s in ALERT_STATES)
                hint = did_you_mean(value.value, ALERT_STATES)
                self.error(value.span, f'state must be {choices}, got "{value.value}"{hint}')

    def _label_replace_call(self, node: ast.Call) -> None:
        regex = ast.unparen(node.args[4])
        if isinstance(regex, ast.StringLit):
            self._regex(regex.value, regex.span)
        dst = ast.unparen(node.args[1])
        if isinstance(dst, ast.StringLit) and not LABEL_NAME_RE.fullmatch(dst.value):
            self.error(dst.span, f'invalid label name "{dst.value}"')


# The nodes without sub-expressions.
_LEAVES = (ast.NumberLit, ast.PercentLit, ast.DurationLit, ast.StringLit, ast.Selector)


def _param(spec: FunctionSpec, i: int) -> ValueType | None:
    if i < len(spec.params):
        return spec.params[i]
    if spec.variadic and spec.params:
        return spec.params[-1]
    return None


def _conversion_hint(expected: ValueType, actual: ValueType) -> str:
    if expected is M and actual is V:
        return " (add a range such as [5m])"
    if expected is V and actual is M:
        return f" {RANGE_HINT}"
    return ""


def _constant(expr: ast.Expr) -> float | None:
    """The value of a literal number, possibly signed and parenthesised."""
    sign = 1.0
    while True:
        if isinstance(expr, ast.Paren):
            expr = expr.expr
        elif isinstance(expr, ast.Unary):
            sign = -sign if expr.op == "-" else sign
            expr = expr.operand
        else:
            break
    if isinstance(expr, ast.NumberLit | ast.PercentLit):
        return sign * expr.value
    return None
