"""Syntax tree to evaluable closures.

`compile_expr` walks the tree once and returns a `CompiledExpr`: a tree of closures, each
taking an `EvalContext` and returning a value (a float for scalars, a list of samples for
instant vectors, windows of series for range vectors, a str for strings). Evaluation is
then a pure function of the context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from alertd.errors import EvalError, RuleError
from alertd.lang import ast
from alertd.lang.aggregations import aggregate
from alertd.lang.binops import scalar_op, set_op, vector_scalar, vector_vector
from alertd.lang.context import EvalContext, Node
from alertd.lang.drift_eval import compile_drift
from alertd.lang.functions import KEEPS_NAME, RANGE_FUNCTIONS
from alertd.lang.instant_functions import BUILDERS
from alertd.lang.modifiers import Shift, shift_of, shifted, unshift
from alertd.lang.reads import (
    Matrix,
    SelectorUse,
    fused_range_function,
    instant_selector,
    range_function,
    range_selector,
    subquery,
)
from alertd.lang.slo_eval import compile_slo
from alertd.lang.types import AGGREGATIONS, DRIFT, FUNCTIONS, SLO, ValueType
from alertd.model import METRIC_NAME, LabelMatcher, Sample, Vector

__all__ = ["CompiledExpr", "Matrix", "SelectorRef", "SelectorUse", "Value", "compile_expr",
           "evaluate"]

Value = float | Vector | Matrix | str

S, V, M, STR = ValueType.SCALAR, ValueType.VECTOR, ValueType.MATRIX, ValueType.STRING


@dataclass(frozen=True, slots=True)
class SelectorRef:
    """A local series selector an expression reads, with the range it needs."""

    name: str | None
    matchers: tuple[LabelMatcher, ...]
    range: float  # seconds of history needed, including the lookback
    use: SelectorUse = field(default_factory=SelectorUse, compare=False, repr=False)
    in_absent: bool = False  # read by absent(): matching nothing is what it is there for


@dataclass(frozen=True, slots=True)
class CompiledExpr:
    source: ast.Expr
    type: ValueType
    node: Node
    selectors: tuple[SelectorRef, ...]
    prom_queries: tuple[str, ...]
    alert_refs: tuple[str, ...]

    def eval(self, ctx: EvalContext) -> Value:
        return cast(Value, self.node(ctx))

    def eval_vector(self, ctx: EvalContext) -> Vector:
        """Evaluate an instant-vector expression (the checker guarantees the type)."""
        if self.type is not V:
            raise EvalError(f"expression is a {self.type}, not an instant vector")
        return cast(Vector, self.node(ctx))

    @property
    def max_range(self) -> float:
        return max((s.range for s in self.selectors), default=0.0)


def compile_expr(expr: ast.Expr) -> CompiledExpr:
    compiler = _Compiler()
    node, typ = compiler.compile(expr)
    return CompiledExpr(expr, typ, node, tuple(compiler.selectors),
                        tuple(dict.fromkeys(compiler.prom_queries)),
                        tuple(dict.fromkeys(compiler.alert_refs)))


def evaluate(expr: CompiledExpr | ast.Expr, ctx: EvalContext) -> Value:
    compiled = expr if isinstance(expr, CompiledExpr) else compile_expr(expr)
    return compiled.eval(ctx)


class _Compiler:
    def __init__(self) -> None:
        self.selectors: list[SelectorRef] = []
        self.prom_queries: list[str] = []
        self.alert_refs: list[str] = []
        self._range_context = 0.0  # extra history that enclosing subqueries need
        self._absent = 0  # inside absent() or absent_over_time()

    def compile(self, expr: ast.Expr) -> tuple[Node, ValueType]:
        method = getattr(self, "_" + type(expr).__name__.lower())
        return cast(tuple[Node, ValueType], method(expr))

    # literals ---------------------------------------------------------------------------
    def _numberlit(self, e: ast.NumberLit) -> tuple[Node, ValueType]:
        return _const(e.value), S

    def _durationlit(self, e: ast.DurationLit) -> tuple[Node, ValueType]:
        if e.seconds is None:
            raise RuleError(f'invalid duration "{e.text}"', e.span)
        return _const(e.seconds), S

    def _percentlit(self, e: ast.PercentLit) -> tuple[Node, ValueType]:
        return _const(e.value), S

    def _stringlit(self, e: ast.StringLit) -> tuple[Node, ValueType]:
        value = e.value
        return (lambda ctx: value), STR

    def _paren(self, e: ast.Paren) -> tuple[Node, ValueType]:
        return self.compile(e.expr)

    # selectors --------------------------------------------------------------------------
    def _matchers(self, e: ast.Selector) -> tuple[str | None, tuple[LabelMatcher, ...]]:
        name = e.name
        matchers: list[LabelMatcher] = []
        for m in e.matchers:
            if m.name == METRIC_NAME and m.op == "=" and name is None:
                name = m.value.value
                continue
            try:
                matchers.append(LabelMatcher(m.name, m.op, m.value.value))
            except Exception as exc:  # a bad regex; the checker reports it first
                raise RuleError(f"invalid matcher: {exc}", m.span) from exc
        return name, tuple(matchers)

    def _ref(self, name: str | None, matchers: tuple[LabelMatcher, ...],
             rng: float) -> SelectorUse:
        ref = SelectorRef(name, matchers, rng, in_absent=self._absent > 0)
        self.selectors.append(ref)
        return ref.use

    def _selector(self, e: ast.Selector) -> tuple[Node, ValueType]:
        name, matchers = self._matchers(e)
        return instant_selector(name, matchers, self._ref(name, matchers, self._range_context)), V

    def _subscript(self, e: ast.Subscript) -> tuple[Node, ValueType]:
        rng = _seconds(e.range)
        if not e.subquery:
            if not isinstance(e.expr, ast.Selector):
                raise RuleError("ranges are only allowed on selectors", e.span)
            return self._range_selector(e.expr, rng), M
        step_lit = e.step
        outer = self._range_context
        self._range_context = outer + rng
        inner, typ = self.compile(e.expr)
        self._range_context = outer
        if typ is not V:
            raise RuleError("a subquery needs an instant vector", e.span)
        return subquery(inner, rng, _seconds(step_lit) if step_lit else None), M

    def _range_selector(self, e: ast.Selector, rng: float) -> Node:
        name, matchers = self._matchers(e)
        return range_selector(name, matchers, self._ref(name, matchers, rng + self._range_context),
                              rng)

    def _modified(self, e: ast.Modified) -> tuple[Node, ValueType]:
        shift = shift_of(e)
        outer = self._range_context
        self._range_context = outer + shift.history  # what the selectors under it keep
        inner, typ = self.compile(e.expr)
        self._range_context = outer
        return shifted(inner, shift), typ

    # operators --------------------------------------------------------------------------
    def _unary(self, e: ast.Unary) -> tuple[Node, ValueType]:
        operand, typ = self.compile(e.operand)
        if e.op == "+":
            return operand, typ
        if typ is S:
            return (lambda ctx: -operand(ctx)), S
        if typ is not V:
            raise RuleError(f"unary minus needs a scalar or an instant vector, not a {typ}",
                            e.span)

        def negate(ctx: EvalContext) -> Vector:
            return [Sample(s.labels.without_name(), -s.value) for s in operand(ctx)]

        return negate, V

    def _binary(self, e: ast.Binary) -> tuple[Node, ValueType]:
        left, lt = self.compile(e.left)
        right, rt = self.compile(e.right)
        op, matching, return_bool = e.op, e.matching, e.return_bool
        if lt not in (S, V) or rt not in (S, V):
            raise RuleError(f'operator "{op}" needs scalars or instant vectors', e.op_span)
        if op in ast.SET_OPS:
            if lt is not V or rt is not V:
                raise RuleError(f'"{op}" needs instant vectors on both sides', e.op_span)
            return (lambda ctx: set_op(op, left(ctx), right(ctx), matching)), V
        if lt is S and rt is S:
            return (lambda ctx: scalar_op(op, left(ctx), right(ctx))), S
        if lt is V and rt is V:
            return (lambda ctx: vector_vector(op, left(ctx), right(ctx), matching,
                                              return_bool)), V
        if lt is V:
            return (lambda ctx: vector_scalar(op, left(ctx), right(ctx), False, return_bool)), V
        return (lambda ctx: vector_scalar(op, right(ctx), left(ctx), True, return_bool)), V

    # calls ------------------------------------------------------------------------------
    def _call(self, e: ast.Call) -> tuple[Node, ValueType]:
        if e.name in AGGREGATIONS:
            return self._aggregation(e), V
        if e.name in DRIFT:
            return compile_drift(self.compile, e), V
        if e.name in SLO:
            return compile_slo(e), V
        spec = FUNCTIONS.get(e.name)
        if spec is None:
            raise RuleError(f'unknown function "{e.name}"', e.name_span)
        if e.name == "prom":
            return self._prom(e), V
        if e.name == "alert":
            return self._alert(e), V
        absent = e.name in ("absent", "absent_over_time")
        self._absent += absent
        args = [self.compile(a) for a in e.args]
        self._absent -= absent
        nodes = [n for n, _ in args]
        if e.name in RANGE_FUNCTIONS:
            arg, shift = unshift(ast.unparen(e.args[0]))
            if isinstance(arg, ast.Subscript) and not arg.subquery:
                return self._fused_range_function(e.name, arg, shift), V
            return self._range_function(e.name, nodes[0], _range_of(arg), shift), V
        builder = BUILDERS.get(e.name)
        if builder is None:
            raise RuleError(f'function "{e.name}" cannot be compiled', e.name_span)
        return builder(e, nodes), spec.returns

    def _aggregation(self, e: ast.Call) -> Node:
        op, grouping = e.name, e.grouping
        nodes = [self.compile(a)[0] for a in e.args]
        if len(nodes) == 2:
            param, vector = nodes

            def with_param(ctx: EvalContext) -> Vector:
                return aggregate(op, vector(ctx), grouping, param(ctx))

            return with_param
        (only,) = nodes
        return lambda ctx: aggregate(op, only(ctx), grouping)

    def _range_function(self, name: str, windows: Node, rng: float,
                        shift: Shift | None) -> Node:
        return range_function(RANGE_FUNCTIONS[name], name in KEEPS_NAME, windows, rng,
                              shift.end() if shift else None)

    def _fused_range_function(self, name: str, sub: ast.Subscript,
                              shift: Shift | None) -> Node:
        assert isinstance(sub.expr, ast.Selector)
        sel_name, matchers = self._matchers(sub.expr)
        rng = _seconds(sub.range)
        extra = shift.history if shift else 0.0
        use = self._ref(sel_name, matchers, rng + self._range_context + extra)
        return fused_range_function(RANGE_FUNCTIONS[name], name in KEEPS_NAME, sel_name,
                                    matchers, use, rng, shift.end() if shift else None)

    def _prom(self, e: ast.Call) -> Node:
        query = _string_arg(e, "prom() needs a query string")
        self.prom_queries.append(query)

        def run(ctx: EvalContext) -> Vector:
            result = ctx.run_query(query)
            if result:
                ctx.saw_data = True
            return result

        return run

    def _alert(self, e: ast.Call) -> Node:
        name = _string_arg(e, "alert() needs a rule name")
        state = "firing"
        for kw in e.kwargs:
            if kw.name == "state" and isinstance(kw.value, ast.StringLit):
                state = kw.value.value
        self.alert_refs.append(name)
        return lambda ctx: ctx.alerts(name, state)


def _string_arg(e: ast.Call, missing: str) -> str:
    """The string literal `e` takes first (a query, a rule name): the checker requires it."""
    arg = e.args[0] if e.args else None
    if not isinstance(arg, ast.StringLit):
        raise RuleError(missing, e.span)
    return arg.value


def _const(value: float) -> Node:
    return lambda ctx: value


def _seconds(d: ast.DurationLit) -> float:
    if d.seconds is None:
        raise RuleError(f'invalid duration "{d.text}"', d.span)
    return d.seconds


def _range_of(arg: ast.Expr) -> float:
    arg = ast.unparen(arg)
    if not isinstance(arg, ast.Subscript):
        raise RuleError("expected a range such as [5m]", arg.span)
    return _seconds(arg.range)
