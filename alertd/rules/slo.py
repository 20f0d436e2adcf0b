"""SLOs as the loaded rules use them: burn rates and budgets from counters or Prometheus.

    burn rate over w  = (bad events / total events over w) / (1 - objective)
    budget remaining  = 1 - (bad / total over the period) / (1 - objective)

Burn rates and budgets are rounded to 10 significant digits, so that they compare with a
factor written in decimal with a relative tolerance of 5e-11: 144 failures in 10,000
requests against 99.9% is a burn rate of 14.4, although 0.0144 / (1 - 0.999) is
14.399999999999984 in binary floating point. The expanded alerts compare with `>=`: a
burn exactly at the factor fires (its share of the budget is spent).

Over pushed counters the events come from per-5-minute buckets (sources/slo_windows.py)
folded in at each evaluation; over Prometheus, from `sum(increase(SELECTOR[w]))` for each
window, queried with the rules' other prom() queries before the evaluation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from alertd.durations import format_duration
from alertd.lang.compile import compile_expr
from alertd.lang.context import EvalContext
from alertd.lang.slo import SliQuery, SloSpec, TierSpec, days, increase_query
from alertd.lang.slo_check import slo_calls
from alertd.lang.slo_eval import SloSource
from alertd.lang.spec import GroupSpec
from alertd.sources.slo_windows import CounterSelector, SloCounters, SloCountersSnapshot

__all__ = ["Slo", "SloFigures", "SloSet", "snap"]

SIGNIFICANT = 10


def snap(value: float) -> float:
    """`value` to SIGNIFICANT significant digits: the tolerance of comparisons."""
    return float(f"{value:.{SIGNIFICANT}g}")


@dataclass(frozen=True, slots=True)
class SloFigures:
    """An SLO at one evaluation: what /metrics and the alerts' annotations show."""

    at: float
    burn_rates: Mapping[float, float | None]  # window -> burn rate (None: no events)
    remaining: float | None  # share of the budget left


class Slo(SloSource):
    def __init__(self, spec: SloSpec, windows: Iterable[float] = ()) -> None:
        self.spec = spec
        # Every window anyone reads: the tiers', those of burn_rate() calls, the period.
        self.windows = tuple(sorted({*spec.windows(), *windows}))
        self.counters: SloCounters | None = None
        if spec.local:
            self.counters = SloCounters(_selector(spec.good or spec.errors),
                                        _selector(spec.total), spec.period, spec.definition())
        self.figures: SloFigures | None = None

    def reset(self) -> None:
        """Forget every event and figure (a new unit test starts from nothing)."""
        if self.counters is not None:
            self.counters = SloCounters(*self.counters.selectors, self.spec.period,
                                        self.spec.definition())
        self.figures = None

    # --- SloSource -----------------------------------------------------------------------

    def burn_rate(self, ctx: EvalContext, window: float) -> float | None:
        self._record(ctx)
        return self._burn(ctx, window)

    def budget_remaining(self, ctx: EvalContext) -> float | None:
        self._record(ctx)
        return self._remaining(ctx)

    # --- Prometheus ----------------------------------------------------------------------

    def queries(self) -> tuple[str, ...]:
        """The Prometheus queries its figures need (none over pushed counters)."""
        if self.spec.local:
            return ()
        return tuple(increase_query(q.prom or "", w) for w in (*self.windows, self.spec.period)
                     for q in self._queries())

    def _queries(self) -> tuple[SliQuery, SliQuery]:
        counted = self.spec.good or self.spec.errors
        assert counted is not None
        return counted, self.spec.total

    # --- figures -------------------------------------------------------------------------

    def _events(self, ctx: EvalContext, window: float) -> tuple[float, float] | None:
        """(bad, total) events over the window ending at ctx.at; None without any."""
        if self.counters is not None:
            now = ctx.at if ctx.eval_time is None else ctx.eval_time
            self.counters.fold(ctx.samples, now)
            counted, total = self.counters.window(ctx.at, window)
        else:
            found = [_sum(ctx.run_query(increase_query(q.prom or "", window)))
                     for q in self._queries()]
            if found[0] is None or found[1] is None:
                return None
            counted, total = found[0], found[1]
        if total <= 0:
            return None
        bad = total - counted if self.spec.good is not None else counted
        return min(max(bad, 0.0), total), total

    def _burn(self, ctx: EvalContext, window: float) -> float | None:
        events = self._events(ctx, window)
        if events is None:
            return None
        return snap(events[0] / events[1] / self.spec.budget)

    def _remaining(self, ctx: EvalContext) -> float | None:
        events = self._events(ctx, self.spec.period)
        if events is None:
            return None
        # The spent share is rounded first: a budget spent exactly is 0 left, not 1e-13.
        return snap(1.0 - snap(events[0] / events[1] / self.spec.budget))

    def _record(self, ctx: EvalContext) -> None:
        """Keep every figure at the evaluation's time, once per evaluation."""
        if ctx.eval_time is not None or (self.figures is not None and self.figures.at == ctx.at):
            return
        self.figures = SloFigures(ctx.at, MappingProxyType(
            {w: self._burn(ctx, w) for w in self.windows}), self._remaining(ctx))

    def annotations(self, tier: TierSpec) -> dict[str, str]:
        """burn_rate, budget_consumed and time_to_exhaustion, from the latest figures."""
        figures = self.figures
        if figures is None:
            return {}
        out: dict[str, str] = {}
        rates = [(w, figures.burn_rates.get(w)) for p in tier.windows for w in (p.long, p.short)]
        out["burn_rate"] = ", ".join(f"{format_duration(w)} {_number(r)}x" for w, r in rates
                                     if r is not None)
        period = days(self.spec.period)
        remaining = figures.remaining
        if remaining is not None:
            out["budget_consumed"] = f"{_percent(1.0 - remaining)} of the {period} error budget"
            out["time_to_exhaustion"] = self._exhaustion(tier, figures, remaining)
        return {k: v for k, v in out.items() if v}

    def _exhaustion(self, tier: TierSpec, figures: SloFigures, remaining: float) -> str:
        if remaining <= 0:
            return "exhausted"
        # The burn that fires (the first pair over its factor), else the fastest long one.
        pairs = [(p, figures.burn_rates.get(p.long), figures.burn_rates.get(p.short))
                 for p in tier.windows]
        firing = [(p, b) for p, b, s in pairs if b is not None and s is not None
                  and b >= p.factor and s >= p.factor]
        window, burn = ((firing[0][0].long, firing[0][1]) if firing else
                        max(((p.long, b) for p, b, _ in pairs if b is not None),
                            key=lambda x: x[1], default=(0.0, None)))
        if not burn:
            return ""
        left = round(remaining * self.spec.period / burn / 60) * 60
        return f"{format_duration(left) if left else 'under a minute'} at the " \
               f"{format_duration(window)} burn rate"


class SloSet:
    """The SLOs of the loaded rules, and which alerts each expanded into."""

    def __init__(self, specs: Sequence[SloSpec] = (), groups: Sequence[GroupSpec] = (),
                 previous: SloSet | None = None) -> None:
        windows: dict[str, set[float]] = {}
        for group in groups:
            for alert in group.alerts:
                for expr in (alert.when, alert.clear):
                    for call in slo_calls(expr) if expr is not None else ():
                        if call.slo is not None and call.window is not None:
                            windows.setdefault(call.slo, set()).add(call.window)
        self.by_name = {s.name: Slo(s, windows.get(s.name, ())) for s in specs}
        self.tiers: dict[str, tuple[Slo, TierSpec]] = {
            s.alert_names[t.name]: (self.by_name[s.name], t) for s in specs for t in s.tiers}
        for name, slo in self.by_name.items():
            old = previous.by_name.get(name) if previous is not None else None
            if old is not None and old.counters is not None and slo.counters is not None:
                slo.counters.adopt(old.counters)  # a reload keeps the history

    def reset(self) -> None:
        for slo in self.by_name.values():
            slo.reset()

    @property
    def sources(self) -> Mapping[str, SloSource]:
        return self.by_name

    def queries(self, names: Iterable[str]) -> set[str]:
        return {q for n in names if n in self.by_name for q in self.by_name[n].queries()}

    def annotator(self, alert: str) -> _Annotator | None:
        found = self.tiers.get(alert)
        return _Annotator(*found) if found is not None else None

    def figures(self) -> dict[str, tuple[SloSpec, SloFigures]]:
        return {n: (s.spec, s.figures) for n, s in self.by_name.items() if s.figures}

    def snapshot(self) -> dict[str, SloCountersSnapshot]:
        return {n: s.counters.snapshot() for n, s in self.by_name.items() if s.counters}

    def restore(self, saved: Mapping[str, SloCountersSnapshot]) -> list[str]:
        """Take the stored counters of the SLOs that kept their definition."""
        return [n for n, snap_ in saved.items()
                if (slo := self.by_name.get(n)) is not None and slo.counters is not None
                and slo.counters.restore(snap_)]


@dataclass(frozen=True, slots=True)
class _Annotator:
    slo: Slo
    tier: TierSpec

    def __call__(self) -> Mapping[str, str]:
        return self.slo.annotations(self.tier)


def _selector(query: SliQuery | None) -> CounterSelector:
    assert query is not None and query.selector is not None
    compiled = compile_expr(query.selector).selectors[0]
    return CounterSelector(compiled.name, compiled.matchers)


def _sum(vector: Sequence[object]) -> float | None:
    values = [float(getattr(s, "value", 0.0)) for s in vector]
    values = [v for v in values if v == v]
    return sum(values) if values else None


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def _percent(share: float) -> str:
    return f"{_number(share * 100)}%"
