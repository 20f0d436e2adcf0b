"""The functions over instant vectors (and the few over ranges that take a parameter):
how each call compiles, given its already compiled arguments, into one closure."""

from __future__ import annotations

import bisect
import math

from alertd.lang import ast
from alertd.lang.context import EvalContext, Node
from alertd.lang.functions import (
    MATH_FUNCTIONS,
    histogram_quantile,
    label_join,
    label_replace,
    quantile_over_time,
    round_to,
    sort_by_value,
)
from alertd.lang.modifiers import unshift
from alertd.lang.time_functions import BUILDERS as TIME_BUILDERS
from alertd.lang.time_functions import Builder
from alertd.model import METRIC_NAME, LabelMatcher, Labels, Sample, Vector


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
    arg, _ = unshift(ast.unparen(e.args[0]))
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


def _one(ctx: EvalContext) -> float:
    return 1.0


def _round(e: ast.Call, args: list[Node]) -> Node:
    vector = args[0]
    to = args[1] if len(args) > 1 else _one
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
    arg, shift = unshift(ast.unparen(e.args[0]))
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


BUILDERS: dict[str, Builder] = {
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
