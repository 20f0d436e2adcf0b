"""Functions of time: the calendar functions (`hour()`, `month()`, ...) and `predict_linear`.

Both follow PromQL. A calendar function reads each sample's value as seconds since the
epoch and returns a part of that time in UTC; without an argument it reads the evaluation
time. `predict_linear` fits a least-squares line to each series' window and reads it `t`
seconds after the evaluation time (not after the window's end: with an offset, the line
is extrapolated from the past window across the offset, as Prometheus does).
"""

from __future__ import annotations

import calendar
import math
import time
from collections.abc import Callable, Sequence

from alertd.lang import ast
from alertd.lang.context import EvalContext, Node
from alertd.model import Labels, Sample, Vector

Builder = Callable[[ast.Call, list[Node]], Node]
Part = Callable[[time.struct_time], int]

CALENDAR: dict[str, Part] = {
    "minute": lambda tm: tm.tm_min,
    "hour": lambda tm: tm.tm_hour,
    "day_of_week": lambda tm: (tm.tm_wday + 1) % 7,  # Python counts from Monday, PromQL Sunday
    "day_of_month": lambda tm: tm.tm_mday,
    "day_of_year": lambda tm: tm.tm_yday,
    "days_in_month": lambda tm: calendar.monthrange(tm.tm_year, tm.tm_mon)[1],
    "month": lambda tm: tm.tm_mon,
    "year": lambda tm: tm.tm_year,
}


def calendar_part(part: Part, seconds: float) -> float:
    """`part` of the UTC time `seconds` after the epoch, whole seconds as PromQL takes them;
    NaN for a value that is no time (NaN, infinite, or beyond what the platform knows)."""
    if not math.isfinite(seconds):
        return math.nan
    try:
        return float(part(time.gmtime(int(seconds))))
    except (OverflowError, OSError, ValueError):
        return math.nan


def _calendar(name: str) -> Builder:
    part = CALENDAR[name]

    def build(e: ast.Call, args: list[Node]) -> Node:
        if not args:
            return lambda ctx: [Sample(Labels(), calendar_part(part, ctx.at))]
        (vector,) = args
        return lambda ctx: [Sample(s.labels.without_name(), calendar_part(part, s.value))
                            for s in vector(ctx)]

    return build


def predict_linear(ts: list[float], vs: Sequence[float], lo: int, hi: int, at: float,
                   horizon: float) -> float | None:
    """The least-squares line through the window `[lo, hi)`, read at `at + horizon`."""
    n = hi - lo
    if n < 2:
        return None
    first = vs[lo]
    if all(vs[i] == first for i in range(lo + 1, hi)):
        # A flat line, exactly (the sums below would round); PromQL gives NaN for ±Inf.
        return math.nan if math.isinf(first) else first
    # Times relative to the evaluation time, so that the intercept is the value there.
    xs = [ts[i] - at for i in range(lo, hi)]
    ys = vs[lo:hi]
    sum_x, sum_y = math.fsum(xs), math.fsum(ys)
    cov = math.fsum(x * y for x, y in zip(xs, ys, strict=True)) - sum_x * sum_y / n
    var = math.fsum(x * x for x in xs) - sum_x * sum_x / n
    if var == 0:  # every sample at the same time: no line to fit
        return math.nan
    slope = cov / var
    intercept = sum_y / n - slope * sum_x / n
    return slope * horizon + intercept


def _predict_linear(e: ast.Call, args: list[Node]) -> Node:
    windows, horizon = args

    def run(ctx: EvalContext) -> Vector:
        t, at = horizon(ctx), ctx.at
        out: Vector = []
        for s, lo, hi in windows(ctx):
            value = predict_linear(s.ts, s.vs, lo, hi, at, t)
            if value is not None:
                out.append(Sample(s.plain, value))
        return out

    return run


BUILDERS: dict[str, Builder] = {
    **{name: _calendar(name) for name in CALENDAR},
    "predict_linear": _predict_linear,
}
