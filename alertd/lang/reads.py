"""Reading the local sample store: the closures a compiled selector becomes.

An instant selector takes each series' latest sample within the lookback; a range
selector takes each series' window `(at - range, at]`; a subquery evaluates its inner
expression at aligned steps; and a range function over a plain selector (`rate(x[5m])`)
runs as one loop over the store. Each notes in its `SelectorUse` whether it matched.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import cast

from alertd.lang.context import EvalContext, Node
from alertd.lang.functions import RangeFn
from alertd.lang.modifiers import TimeFn
from alertd.model import LabelMatcher, Labels, Sample, Vector
from alertd.series import Series, is_stale

Matrix = list[tuple[Series, int, int]]
"""A range vector: each series with the index bounds [lo, hi) of its window."""

Matchers = tuple[LabelMatcher, ...]


class SelectorUse:
    """What a selector found since it was compiled (since its rule loaded): a label name
    or value misspelt in it matches no series, ever, and the rule silently never fires."""

    __slots__ = ("empty", "matched")

    def __init__(self) -> None:
        self.matched = False  # it selected some series at least once
        self.empty = False  # it selected none at least once


def _select(ctx: EvalContext, name: str | None, matchers: Matchers,
            use: SelectorUse) -> Sequence[Series]:
    selected = ctx.samples.select(name, matchers)
    # One attribute write per evaluation: the cost of knowing a selector matches nothing.
    if selected:
        use.matched = True
    else:
        use.empty = True
    return selected


def instant_selector(name: str | None, matchers: Matchers, use: SelectorUse) -> Node:
    def instant(ctx: EvalContext) -> Vector:
        at = ctx.at
        oldest = at - ctx.lookback
        out: Vector = []
        for s in _select(ctx, name, matchers, use):
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

    return instant


def range_selector(name: str | None, matchers: Matchers, use: SelectorUse,
                   rng: float) -> Node:
    def windows(ctx: EvalContext) -> Matrix:
        at = ctx.at
        out: Matrix = []
        for s in _select(ctx, name, matchers, use):
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


def subquery(inner: Node, rng: float, step: float | None) -> Node:
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


def range_function(fn: RangeFn, keep_name: bool, windows: Node, rng: float,
                   end: TimeFn | None) -> Node:
    """`fn` over each window of a range vector; `end` is where the windows end when a
    modifier moved them (else the evaluation time)."""

    def apply(ctx: EvalContext) -> Vector:
        at = ctx.at if end is None else end(ctx)
        out: Vector = []
        for s, lo, hi in windows(ctx):
            value = fn(s.ts, s.vs, lo, hi, at, rng)
            if value is not None:
                out.append(Sample(s.labels if keep_name else s.plain, value))
        return out

    return apply


def fused_range_function(fn: RangeFn, keep_name: bool, name: str | None, matchers: Matchers,
                         use: SelectorUse, rng: float, end: TimeFn | None) -> Node:
    """`rate(x[5m])` and friends straight over the store: the most common shape of
    all, so it runs as one loop without building the range vector first."""
    right = bisect.bisect_right

    def apply(ctx: EvalContext) -> Vector:
        at = ctx.at if end is None else end(ctx)
        start = at - rng
        out: Vector = []
        for s in _select(ctx, name, matchers, use):
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
