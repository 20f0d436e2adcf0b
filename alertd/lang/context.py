"""What an evaluation sees: the time, the local samples, and the outside world as functions.

Evaluation is a pure function of this context. Nothing in it reads a clock or does I/O
except through `query` (Prometheus) and `alerts` (other rules' states), which the caller
provides: the daemon passes real ones, `alertd test` passes stubs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from alertd.errors import EvalError
from alertd.model import LabelMatcher, Vector
from alertd.series import Series

if TYPE_CHECKING:
    from alertd.drift import Window
    from alertd.lang.drift_eval import Baseline, DriftScore
    from alertd.lang.slo_eval import SloSource

DEFAULT_LOOKBACK = 300.0  # PromQL's lookback delta: how old a sample may be and still count
DEFAULT_STEP = 60.0  # subquery resolution when none is written


Node = Callable[["EvalContext"], Any]
"""A compiled expression: a function of the evaluation context, returning a float, an
instant vector, a range vector or a string, as the checker typed it."""

WindowKey = tuple[tuple[Series, int, int], ...]
"""The windows `[lo, hi)` of the series a drift function pools into one current window."""


class SampleSource(Protocol):
    def select(self, name: str | None, matchers: Sequence[LabelMatcher]) -> Sequence[Series]:
        ...


QueryFn = Callable[[str, float], Vector]
"""Runs a PromQL instant query at a time; raises EvalError when the query fails."""

AlertsFn = Callable[[str, str], Vector]
"""The instances of a rule in a state ("firing" or "pending"), each with value 1."""


def no_query(query: str, at: float) -> Vector:
    raise EvalError("prom() is not available: no Prometheus source is configured")


def no_alerts(name: str, state: str) -> Vector:
    return []


class _NoSamples:
    def select(self, name: str | None, matchers: Sequence[LabelMatcher]) -> Sequence[Series]:
        return []


NO_SAMPLES: SampleSource = _NoSamples()


@dataclass(slots=True)
class EvalContext:
    at: float
    samples: SampleSource = NO_SAMPLES
    query: QueryFn = no_query
    alerts: AlertsFn = no_alerts
    lookback: float = DEFAULT_LOOKBACK
    default_step: float = DEFAULT_STEP
    # Identical prom() queries at the same time run once; callers may share this dict
    # across the rules of one evaluation round.
    query_cache: dict[tuple[str, float], Vector] = field(default_factory=dict)
    # Set when any selector or prom() query returned data (for the `nodata` policy).
    saw_data: bool = False
    # The time the rule is evaluated at, when `at` is another one (inside a subquery or
    # an offset): `@ start()` and `@ end()` read at it. None: the same as `at`.
    eval_time: float | None = None
    # The baselines of the drift functions by name, as they were when the rules loaded.
    baselines: Mapping[str, Baseline] = field(default_factory=dict)
    # The scores the drift functions computed in this evaluation (for /metrics).
    drift_scores: list[DriftScore] = field(default_factory=list)
    # The current windows of the drift functions (None: no finite value), made once: the
    # drift rules of a model usually read the same windows with several methods. Callers
    # may share this dict across the rules of one evaluation round, as long as the
    # samples do not change meanwhile (the key is the series and the bounds read).
    drift_windows: dict[WindowKey, Window | None] = field(default_factory=dict)
    # The SLOs that burn_rate() and error_budget_remaining() read, by name.
    slos: Mapping[str, SloSource] = field(default_factory=dict)

    def run_query(self, query: str) -> Vector:
        key = (query, self.at)
        cached = self.query_cache.get(key)
        if cached is None:
            cached = self.query_cache[key] = self.query(query, self.at)
        return cached

    def at_time(self, at: float) -> EvalContext:
        """The same sources seen at another time (for subqueries and offsets)."""
        origin = self.at if self.eval_time is None else self.eval_time
        return EvalContext(at, self.samples, self.query, self.alerts, self.lookback,
                           self.default_step, self.query_cache, self.saw_data, origin,
                           baselines=self.baselines, drift_scores=self.drift_scores,
                           drift_windows=self.drift_windows, slos=self.slos)
