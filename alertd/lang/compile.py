"""Syntax tree to evaluable closures.

`compile_expr` walks the tree once and returns a `CompiledExpr`: a tree of closures, each
taking an `EvalContext` and returning a value (a float for scalars, a list of samples for
instant vectors, windows of series for range vectors, a str for strings). Evaluation is
then a pure function of the context.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from alertd.errors import EvalError, RuleError
from alertd.lang import ast
from alertd.lang.aggregations import aggregate
from alertd.lang.binops import scalar_op, set_op, vector_scalar, vector_vector
from alertd.lang.context import EvalContext
from alertd.lang.drift_eval import compile_drift
from alertd.lang.functions import (
    KEEPS_NAME,
    MATH_FUNCTIONS,
    RANGE_FUNCTIONS,
    histogram_quantile,
    label_join,
    label_replace,
    quantile_over_time,
    round_to,
    sort_by_value,
)
from alertd.lang.modifiers import Shift, shift_of, shifted, unshift
from alertd.lang.slo_eval import compile_slo
from alertd.lang.time_functions import BUILDERS as TIME_BUILDERS
from alertd.lang.types import AGGREGATIONS, DRIFT, FUNCTIONS, SLO, ValueType
from alertd.model import METRIC_NAME, LabelMatcher, Labels, Sample, Vector
from alertd.series import Series, is_stale

Matrix = list[tuple[Series, int, int]]
"""A range vector: each series with the index bounds [lo, hi) of its window."""

Value = float | Vector | Matrix | str
Node = Callable[[EvalContext], Any]

S, V, M, STR = ValueType.SCALAR, ValueType.VECTOR, ValueType.MATRIX, ValueType.STRING


class SelectorUse:
    """What a selector found since it was compiled (since its rule loaded): a label name
    or value misspelt in it matches no series, ever, and the rule silently never fires."""

    __slots__ = ("empty", "matched")

    def __init__(self) -> None:
        self.matched = False  # it selected some series at least once
        self.empty = False  # it selected none at least once


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
        use = self._ref(name, matchers, self._range_context)

        def instant(ctx: EvalContext) -> Vector:
            at = ctx.at
            oldest = at - ctx.lookback
            out: Vector = []
            selected = ctx.samples.select(name, matchers)
            _note(use, selected)
            for s in selected:
                ts = s.ts
                i = bisect.bisect_right(ts, at) - 1
                if i < 0 or ts[i] <= oldest:
                    continue
                value = s.vs[i]
                if value != value and is_stale(value):
                    continue  # the series ended
                out.append(Sample(s.labels, value))
            if out:
                ctx.saw_data = True
            return out

        return instant, V

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
        return self._subquery(inner, rng, _seconds(step_lit) if step_lit else None), M

    def _range_selector(self, e: ast.Selector, rng: float) -> Node:
        name, matchers = self._matchers(e)
        use = self._ref(name, matchers, rng + self._range_context)

        def windows(ctx: EvalContext) -> Matrix:
            at = ctx.at
            out: Matrix = []
            selected = ctx.samples.select(name, matchers)
            _note(use, selected)
            for s in selected:
                if s.stale_count:
                    s = s.without_stale()
                ts = s.ts
                # The window is left-open, (at - range, at], as in Prometheus 3.
                lo = bisect.bisect_right(ts, at - rng)
                hi = bisect.bisect_right(ts, at, lo)
                if hi > lo:
                    out.append((s, lo, hi))
            if out:
                ctx.saw_data = True
            return out

        return windows

    def _modified(self, e: ast.Modified) -> tuple[Node, ValueType]:
        shift = shift_of(e)
        outer = self._range_context
        self._range_context = outer + shift.history  # what the selectors under it keep
        inner, typ = self.compile(e.expr)
        self._range_context = outer
        return shifted(inner, shift), typ

    def _subquery(self, inner: Node, rng: float, step: float | None) -> Node:
        def windows(ctx: EvalContext) -> Matrix:
            every = step or ctx.default_step
            # Steps are aligned to multiples of the step, as Prometheus does.
            t = math.floor((ctx.at - rng) / every) * every
            if t <= ctx.at - rng:
                t += every
            series: dict[Labels, Series] = {}
            while t <= ctx.at:
                sub = ctx.at_time(t)
                for labels, value in cast(Vector, inner(sub)):
                    found = series.get(labels)
                    if found is None:
                        found = series[labels] = Series(labels)
                    found.append(t, value)
                ctx.saw_data = ctx.saw_data or sub.saw_data
                t += every
            return [(s, 0, len(s.ts)) for s in series.values()]

        return windows

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
            arg, shift = unshift(_unparen(e.args[0]))
            if isinstance(arg, ast.Subscript) and not arg.subquery:
                return self._fused_range_function(e.name, arg, shift), V
            return self._range_function(e.name, nodes[0], _range_of(arg), shift), V
        builder = _INSTANT_BUILDERS.get(e.name)
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
        fn = RANGE_FUNCTIONS[name]
        keep_name = name in KEEPS_NAME
        end = shift.end() if shift else None  # the window ends there, not at ctx.at

        def apply(ctx: EvalContext) -> Vector:
            at = ctx.at if end is None else end(ctx)
            out: Vector = []
            for s, lo, hi in windows(ctx):
                value = fn(s.ts, s.vs, lo, hi, at, rng)
                if value is not None:
                    out.append(Sample(s.labels if keep_name else s.plain, value))
            return out

        return apply

    def _fused_range_function(self, name: str, sub: ast.Subscript,
                              shift: Shift | None) -> Node:
        """`rate(x[5m])` and friends straight over the store: the most common shape of
        all, so it runs as one loop without building the range vector first."""
        assert isinstance(sub.expr, ast.Selector)
        sel_name, matchers = self._matchers(sub.expr)
        rng = _seconds(sub.range)
        extra = shift.history if shift else 0.0
        use = self._ref(sel_name, matchers, rng + self._range_context + extra)
        fn = RANGE_FUNCTIONS[name]
        keep_name = name in KEEPS_NAME
        right = bisect.bisect_right
        end = shift.end() if shift else None

        def apply(ctx: EvalContext) -> Vector:
            at = ctx.at if end is None else end(ctx)
            start = at - rng
            out: Vector = []
            selected = ctx.samples.select(sel_name, matchers)
            _note(use, selected)
            for s in selected:
                if s.stale_count:
                    s = s.without_stale()
                ts = s.ts
                lo = right(ts, start)
                hi = right(ts, at, lo)
                if hi > lo:
                    ctx.saw_data = True
                    value = fn(ts, s.vs, lo, hi, at, rng)
                    if value is not None:
                        out.append(Sample(s.labels if keep_name else s.plain, value))
            return out

        return apply

    def _prom(self, e: ast.Call) -> Node:
        arg = e.args[0] if e.args else None
        if not isinstance(arg, ast.StringLit):
            raise RuleError("prom() needs a query string", e.span)
        query = arg.value
        self.prom_queries.append(query)

        def run(ctx: EvalContext) -> Vector:
            result = ctx.run_query(query)
            if result:
                ctx.saw_data = True
            return result

        return run

    def _alert(self, e: ast.Call) -> Node:
        arg = e.args[0] if e.args else None
        if not isinstance(arg, ast.StringLit):
            raise RuleError("alert() needs a rule name", e.span)
        name = arg.value
        state = "firing"
        for kw in e.kwargs:
            if kw.name == "state" and isinstance(kw.value, ast.StringLit):
                state = kw.value.value
        self.alert_refs.append(name)
        return lambda ctx: ctx.alerts(name, state)


def _note(use: SelectorUse, selected: Sequence[Series]) -> None:
    # One attribute write per evaluation: the cost of knowing a selector matches nothing.
    if selected:
        use.matched = True
    else:
        use.empty = True


def _const(value: float) -> Node:
    return lambda ctx: value


def _seconds(d: ast.DurationLit) -> float:
    if d.seconds is None:
        raise RuleError(f'invalid duration "{d.text}"', d.span)
    return d.seconds


def _unparen(expr: ast.Expr) -> ast.Expr:
    while isinstance(expr, ast.Paren):
        expr = expr.expr
    return expr


def _range_of(arg: ast.Expr) -> float:
    arg = _unparen(arg)
    if not isinstance(arg, ast.Subscript):
        raise RuleError("expected a range such as [5m]", arg.span)
    return _seconds(arg.range)


# --- instant-vector functions --------------------------------------------------------------

Builder = Callable[[ast.Call, list[Node]], Node]


def _math(name: str) -> Builder:
    fn = MATH_FUNCTIONS[name]

    def build(e: ast.Call, args: list[Node]) -> Node:
        (vector,) = args
        return lambda ctx: [Sample(s.labels.without_name(), fn(s.value)) for s in vector(ctx)]

    return build


def _absent(e: ast.Call, args: list[Node]) -> Node:
    (vector,) = args
    labels = _absent_labels(e.args[0])
    return lambda ctx: [] if vector(ctx) else [Sample(labels, 1.0)]


def _absent_over_time(e: ast.Call, args: list[Node]) -> Node:
    (windows,) = args
    arg, _ = unshift(_unparen(e.args[0]))
    labels = _absent_labels(arg.expr if isinstance(arg, ast.Subscript) else arg)
    return lambda ctx: [] if windows(ctx) else [Sample(labels, 1.0)]


def _absent_labels(arg: ast.Expr) -> Labels:
    """absent() reports the labels its selector pinned with equality matchers."""
    while isinstance(arg, ast.Paren | ast.Modified):
        arg = arg.expr
    if not isinstance(arg, ast.Selector):
        return Labels()
    pinned: dict[str, str] = {}
    repeated: set[str] = set()
    for m in arg.matchers:
        if m.op == "=" and m.name != METRIC_NAME:
            if m.name in pinned:
                repeated.add(m.name)
            pinned[m.name] = m.value.value
    return Labels({k: v for k, v in pinned.items() if k not in repeated})


def _round(e: ast.Call, args: list[Node]) -> Node:
    vector = args[0]
    to = args[1] if len(args) > 1 else _const(1.0)
    return lambda ctx: [Sample(s.labels.without_name(), round_to(s.value, to(ctx)))
                        for s in vector(ctx)]


def _clamp(e: ast.Call, args: list[Node]) -> Node:
    vector, lo, hi = args

    def run(ctx: EvalContext) -> Vector:
        low, high = lo(ctx), hi(ctx)
        if low > high:
            return []
        return [Sample(s.labels.without_name(), max(low, min(high, s.value)))
                for s in vector(ctx)]

    return run


def _clamp_min(e: ast.Call, args: list[Node]) -> Node:
    vector, lo = args
    return lambda ctx: [Sample(s.labels.without_name(), max(lo(ctx), s.value))
                        for s in vector(ctx)]


def _clamp_max(e: ast.Call, args: list[Node]) -> Node:
    vector, hi = args
    return lambda ctx: [Sample(s.labels.without_name(), min(hi(ctx), s.value))
                        for s in vector(ctx)]


def _timestamp(e: ast.Call, args: list[Node]) -> Node:
    # Local samples keep their timestamps; the arg is re-read to get them.
    arg, shift = unshift(_unparen(e.args[0]))
    (vector,) = args
    if not isinstance(arg, ast.Selector):
        return lambda ctx: [Sample(s.labels.without_name(), ctx.at) for s in vector(ctx)]
    end = shift.end() if shift else None  # `timestamp(x offset 1h)` looks an hour back

    def run(ctx: EvalContext) -> Vector:
        at = ctx.at if end is None else end(ctx)
        out: Vector = []
        selected = {s.labels: s for s in vector(ctx)}
        for labels in selected:
            out.append(Sample(labels.without_name(), _last_timestamp(ctx, labels, at)))
        return out

    return run


def _last_timestamp(ctx: EvalContext, labels: Labels, at: float) -> float:
    matchers = [LabelMatcher(k, "=", v) for k, v in labels.items() if k != METRIC_NAME]
    for s in ctx.samples.select(labels.name() or None, matchers):
        if s.labels == labels:
            i = bisect.bisect_right(s.ts, at) - 1
            if i >= 0:
                return s.ts[i]
    return ctx.at


def _histogram_quantile(e: ast.Call, args: list[Node]) -> Node:
    q, vector = args
    return lambda ctx: histogram_quantile(q(ctx), vector(ctx))


def _label_replace(e: ast.Call, args: list[Node]) -> Node:
    vector, dst, repl, src, regex = args
    return lambda ctx: label_replace(vector(ctx), dst(ctx), repl(ctx), src(ctx), regex(ctx))


def _label_join(e: ast.Call, args: list[Node]) -> Node:
    vector, dst, sep, *srcs = args
    return lambda ctx: label_join(vector(ctx), dst(ctx), sep(ctx), [s(ctx) for s in srcs])


def _scalar(e: ast.Call, args: list[Node]) -> Node:
    (vector,) = args

    def run(ctx: EvalContext) -> float:
        values = vector(ctx)
        return float(values[0].value) if len(values) == 1 else math.nan

    return run


def _vector(e: ast.Call, args: list[Node]) -> Node:
    (scalar,) = args
    return lambda ctx: [Sample(Labels(), scalar(ctx))]


def _time(e: ast.Call, args: list[Node]) -> Node:
    return lambda ctx: ctx.at


def _quantile_over_time(e: ast.Call, args: list[Node]) -> Node:
    q, windows = args

    def run(ctx: EvalContext) -> Vector:
        fn = quantile_over_time(q(ctx))
        out: Vector = []
        for s, lo, hi in windows(ctx):
            value = fn(s.ts, s.vs, lo, hi, ctx.at, 0.0)
            if value is not None:
                out.append(Sample(s.plain, value))
        return out

    return run


def _sort(descending: bool) -> Builder:
    def build(e: ast.Call, args: list[Node]) -> Node:
        (vector,) = args
        return lambda ctx: sort_by_value(vector(ctx), descending)

    return build


_INSTANT_BUILDERS: dict[str, Builder] = {
    **{name: _math(name) for name in MATH_FUNCTIONS},
    "absent": _absent,
    "absent_over_time": _absent_over_time,
    "round": _round,
    "clamp": _clamp,
    "clamp_min": _clamp_min,
    "clamp_max": _clamp_max,
    "timestamp": _timestamp,
    "histogram_quantile": _histogram_quantile,
    "label_replace": _label_replace,
    "label_join": _label_join,
    "scalar": _scalar,
    "vector": _vector,
    "time": _time,
    "quantile_over_time": _quantile_over_time,
    "sort": _sort(False),
    "sort_desc": _sort(True),
    **TIME_BUILDERS,
}
