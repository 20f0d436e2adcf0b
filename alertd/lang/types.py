"""Value types and the signature of every function the language knows.

The checker reads these tables to type-check calls; the compiler reads them to dispatch;
the docs list them. Implementations live in functions.py and aggregations.py.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class ValueType(enum.Enum):
    SCALAR = "scalar"
    VECTOR = "instant vector"
    MATRIX = "range vector"
    STRING = "string"

    def __str__(self) -> str:
        return self.value


S, V, M, STR = ValueType.SCALAR, ValueType.VECTOR, ValueType.MATRIX, ValueType.STRING


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    params: tuple[ValueType, ...]
    returns: ValueType
    optional: int = 0  # how many trailing params may be left out
    variadic: bool = False  # the last param may repeat
    kwargs: dict[str, ValueType] = field(default_factory=dict)
    grouping: bool = False  # accepts `by (...)` / `without (...)`
    doc: str = ""

    @property
    def min_args(self) -> int:
        return len(self.params) - self.optional

    @property
    def max_args(self) -> int | None:
        return None if self.variadic else len(self.params)


def _specs(*specs: FunctionSpec) -> dict[str, FunctionSpec]:
    return {s.name: s for s in specs}


# Aggregations: `sum by (a) (x)` or `sum(x) by (a)`.
AGGREGATIONS = _specs(
    FunctionSpec("sum", (V,), V, grouping=True, doc="sum over the group"),
    FunctionSpec("avg", (V,), V, grouping=True, doc="mean over the group"),
    FunctionSpec("min", (V,), V, grouping=True, doc="smallest value in the group"),
    FunctionSpec("max", (V,), V, grouping=True, doc="largest value in the group"),
    FunctionSpec("count", (V,), V, grouping=True, doc="number of elements in the group"),
    FunctionSpec("group", (V,), V, grouping=True, doc="1 for each group"),
    FunctionSpec("stddev", (V,), V, grouping=True, doc="population standard deviation"),
    FunctionSpec("stdvar", (V,), V, grouping=True, doc="population variance"),
    FunctionSpec("quantile", (S, V), V, grouping=True, doc="φ-quantile (0 ≤ φ ≤ 1)"),
    FunctionSpec("topk", (S, V), V, grouping=True, doc="k largest elements, labels kept"),
    FunctionSpec("bottomk", (S, V), V, grouping=True, doc="k smallest elements, labels kept"),
)

_RANGE = (M,)

FUNCTIONS = _specs(
    # over a range of samples, per series
    FunctionSpec("rate", _RANGE, V, doc="per-second increase of a counter, extrapolated"),
    FunctionSpec("irate", _RANGE, V, doc="per-second increase from the last two samples"),
    FunctionSpec("increase", _RANGE, V, doc="increase of a counter over the range"),
    FunctionSpec("delta", _RANGE, V, doc="difference between first and last (gauges)"),
    FunctionSpec("idelta", _RANGE, V, doc="difference of the last two samples (gauges)"),
    FunctionSpec("deriv", _RANGE, V, doc="per-second derivative by linear regression"),
    FunctionSpec("changes", _RANGE, V, doc="how many times the value changed"),
    FunctionSpec("resets", _RANGE, V, doc="how many counter resets"),
    FunctionSpec("avg_over_time", _RANGE, V, doc="mean of the samples in the range"),
    FunctionSpec("min_over_time", _RANGE, V, doc="smallest sample in the range"),
    FunctionSpec("max_over_time", _RANGE, V, doc="largest sample in the range"),
    FunctionSpec("sum_over_time", _RANGE, V, doc="sum of the samples in the range"),
    FunctionSpec("count_over_time", _RANGE, V, doc="number of samples in the range"),
    FunctionSpec("last_over_time", _RANGE, V, doc="most recent sample in the range"),
    FunctionSpec("stddev_over_time", _RANGE, V, doc="standard deviation over the range"),
    FunctionSpec("stdvar_over_time", _RANGE, V, doc="variance over the range"),
    FunctionSpec("present_over_time", _RANGE, V, doc="1 for every series with samples"),
    FunctionSpec("quantile_over_time", (S, M), V, doc="φ-quantile of the samples"),
    FunctionSpec("absent_over_time", _RANGE, V, doc="1 when the range selects nothing"),
    # per element
    FunctionSpec("absent", (V,), V, doc="1 when the vector is empty"),
    FunctionSpec("abs", (V,), V, doc="absolute value"),
    FunctionSpec("ceil", (V,), V, doc="round up"),
    FunctionSpec("floor", (V,), V, doc="round down"),
    FunctionSpec("round", (V, S), V, optional=1, doc="round to the nearest multiple"),
    FunctionSpec("sqrt", (V,), V, doc="square root"),
    FunctionSpec("exp", (V,), V, doc="e to the power of the value"),
    FunctionSpec("ln", (V,), V, doc="natural logarithm"),
    FunctionSpec("log2", (V,), V, doc="binary logarithm"),
    FunctionSpec("log10", (V,), V, doc="decimal logarithm"),
    FunctionSpec("sgn", (V,), V, doc="sign: -1, 0 or 1"),
    FunctionSpec("clamp", (V, S, S), V, doc="limit to [min, max]"),
    FunctionSpec("clamp_min", (V, S), V, doc="limit from below"),
    FunctionSpec("clamp_max", (V, S), V, doc="limit from above"),
    FunctionSpec("timestamp", (V,), V, doc="timestamp of each sample, in seconds"),
    FunctionSpec("histogram_quantile", (S, V), V, doc="φ-quantile from `le` buckets"),
    FunctionSpec("label_replace", (V, STR, STR, STR, STR), V,
                 doc="label_replace(v, dst, replacement, src, regex)"),
    FunctionSpec("label_join", (V, STR, STR, STR), V, optional=1, variadic=True,
                 doc="label_join(v, dst, separator, src...)"),
    FunctionSpec("scalar", (V,), S, doc="the value of a one-element vector, else NaN"),
    FunctionSpec("vector", (S,), V, doc="a scalar as a vector without labels"),
    FunctionSpec("time", (), S, doc="evaluation time in seconds since the epoch"),
    # alertd's own
    FunctionSpec("prom", (STR,), V, doc="instant query against Prometheus at evaluation time"),
    FunctionSpec("alert", (STR,), V, kwargs={"state": STR},
                 doc='instances of another rule, value 1; state="firing" (default) or "pending"'),
)

ALL: dict[str, FunctionSpec] = {**AGGREGATIONS, **FUNCTIONS}

ALERT_STATES = ("firing", "pending")
