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
    FunctionSpec("predict_linear", (M, S), V,
                 doc="value t seconds after the evaluation time, by linear regression"),
    FunctionSpec("sort", (V,), V, doc="elements by ascending value (NaN last)"),
    FunctionSpec("sort_desc", (V,), V, doc="elements by descending value (NaN last)"),
    # calendar, in UTC: of each value read as a time, or of the evaluation time
    *(FunctionSpec(name, (V,), V, optional=1, doc=doc) for name, doc in (
        ("minute", "minute of the hour, 0-59"),
        ("hour", "hour of the day, 0-23"),
        ("day_of_week", "day of the week, 0-6 (0 is Sunday)"),
        ("day_of_month", "day of the month, 1-31"),
        ("day_of_year", "day of the year, 1-366"),
        ("days_in_month", "number of days in the month, 28-31"),
        ("month", "month of the year, 1-12"),
        ("year", "year"),
    )),
    # alertd's own
    FunctionSpec("prom", (STR,), V, doc="instant query against Prometheus at evaluation time"),
    FunctionSpec("alert", (STR,), V, kwargs={"state": STR},
                 doc='instances of another rule, value 1; state="firing" (default) or "pending"'),
)

# Drift against a baseline (alertd.lang.drift_check types their forms):
#   f(range_vector, baseline = "name") by (...)        raw values per group
#   f(instant_vector, baseline = "name") by (...)      `le` buckets against buckets captured
#   f(current_buckets, reference_buckets) by (...)     two `le` bucket vectors
_DRIFT_KWARGS = {"baseline": STR, "min_samples": S}
DRIFT = _specs(*(
    FunctionSpec(name, (M, V), V, optional=1, kwargs=_DRIFT_KWARGS, grouping=True, doc=doc)
    for name, doc in (
        ("psi", "population stability index against the reference"),
        ("ks", "two-sample Kolmogorov-Smirnov statistic D"),
        ("ks_pvalue", "p-value of the KS statistic (raw values only)"),
        ("jsd", "Jensen-Shannon distance, base 2"),
        ("wasserstein", "earth mover's distance, in the unit of the values (raw values only)"),
        ("wasserstein_normed", "wasserstein over the reference's standard deviation"),
        ("chi2", "p-value of a chi-square goodness of fit to the reference"),
    )
))

# SLOs (alertd.lang.slo_check checks their arguments): the instant vector {slo="name"}.
SLO = _specs(
    FunctionSpec("burn_rate", (), V, kwargs={"slo": STR, "window": S},
                 doc="how many times faster than its objective allows the SLO spends its "
                     "error budget over the window"),
    FunctionSpec("error_budget_remaining", (), V, kwargs={"slo": STR},
                 doc="share of the SLO's error budget left over its period (below 0: overspent)"),
)

ALL: dict[str, FunctionSpec] = {**AGGREGATIONS, **FUNCTIONS, **DRIFT, **SLO}

ALERT_STATES = ("firing", "pending")
