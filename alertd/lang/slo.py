"""`slo` blocks: an objective over good and total events, checked into an `SloSpec`.

    slo FraudScoreLatency {
      objective = 99%
      period    = 30d
      good      = fraud_score_latency_seconds_bucket{le="0.15"}   # pushed counters, or
      total     = fraud_score_latency_seconds_count               # prom(`selector`)
      tier ticket { disabled = true }
    }

The events are counters: `good` (or `errors`) and `total`, each a selector of pushed
series or `prom(`selector`)` of Prometheus series, summed over the series they select.
The block expands into one alert per tier (slo_expand.py); this module checks the keys.
Key names follow Sloth (objective, description, page/ticket tiers) and Pyrra (errors,
total); `good` is OpenSLO's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from alertd.durations import format_duration
from alertd.lang import ast
from alertd.lang.ast import Span
from alertd.lang.check_report import Report, settings_by_key
from alertd.lang.format import format_expr
from alertd.suggest import did_you_mean

__all__ = ["DEFAULT_PERIOD", "DEFAULT_TIERS", "INHERITED_KEYS", "SLO_KEYS", "SliQuery",
           "SloSpec", "TierSpec", "WindowPair", "alert_name", "check_slo", "days",
           "increase_query"]

DEFAULT_PERIOD = 30 * 86400.0
LOCAL_RESOLUTION = 300.0  # pushed counters are kept per 5 minutes (sources/slo_windows.py)
# Passed on to the alerts the block expands into, as if written in each.
INHERITED_KEYS = ("owner", "runbook", "dashboard", "labels")
SLO_KEYS = ("objective", "period", "good", "errors", "total", "description", *INHERITED_KEYS)
TIER_KEYS = ("severity", "labels", "disabled")
WINDOW_KEYS = ("long", "short", "factor")
_WORD = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class WindowPair:
    """Burning `factor` times too fast over both windows: the budget share
    `factor * long / period` is gone in `long`, and it still burns (the short window)."""

    long: float
    short: float
    factor: float


@dataclass(frozen=True, slots=True)
class TierSpec:
    name: str  # page, ticket, or the user's
    severity: str
    windows: tuple[WindowPair, ...]
    labels: ast.Setting | None = None  # the tier's own labels, added to the SLO's


# The SRE workbook's multi-window, multi-burn-rate alerts for a 30-day budget: a page when
# 2% is spent in an hour or 5% in six hours, a ticket for 10% in a day or in three days.
DEFAULT_TIERS = (
    TierSpec("page", "page", (WindowPair(3600, 300, 14.4), WindowPair(6 * 3600, 1800, 6))),
    TierSpec("ticket", "ticket", (WindowPair(86400, 7200, 3), WindowPair(3 * 86400, 6 * 3600, 1))),
)


@dataclass(frozen=True, slots=True)
class SliQuery:
    """One counter of the SLI: a selector of pushed series, or a Prometheus selector."""

    selector: ast.Selector | None  # pushed series
    prom: str | None  # a Prometheus series selector, without a range

    @property
    def text(self) -> str:
        return format_expr(self.selector) if self.selector is not None else f"prom(`{self.prom}`)"


@dataclass(frozen=True, eq=False)
class SloSpec:
    name: str
    path: str
    span: Span
    name_span: Span
    objective: float  # 0.999 for 99.9%
    period: float
    total: SliQuery
    good: SliQuery | None = None  # exactly one of good and errors
    errors: SliQuery | None = None
    description: str = ""
    tiers: tuple[TierSpec, ...] = DEFAULT_TIERS
    inherited: tuple[ast.Setting, ...] = ()  # the INHERITED_KEYS settings as written
    group: str = ""
    alert_names: dict[str, str] = field(default_factory=dict)  # tier -> alert name

    @property
    def budget(self) -> float:
        return 1.0 - self.objective

    @property
    def local(self) -> bool:
        return self.total.selector is not None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.name_span.line}:{self.name_span.column}"

    def definition(self) -> str:
        """The events as written: stored buckets of another definition are not used."""
        events = f"good={self.good.text}" if self.good else f"errors={self.errors.text}" \
            if self.errors else ""
        return f"{events} total={self.total.text}"

    def windows(self) -> tuple[float, ...]:
        """Every window of its tiers, shortest first."""
        return tuple(sorted({w for t in self.tiers for p in t.windows for w in (p.long, p.short)}))


def days(seconds: float) -> str:
    """A duration as SLO periods are spoken of: 30d rather than 4w2d."""
    return f"{seconds / 86400:.0f}d" if seconds % 86400 == 0 else format_duration(seconds)


def increase_query(selector: str, window: float) -> str:
    """What Prometheus is asked of a prom() counter for a window."""
    return f"sum(increase({selector}[{days(window)}]))"


def alert_name(slo: str, tier: str) -> str:
    """`FraudScoreLatencyBurnRatePage`: the SLO's name in CamelCase (fraud-latency reads
    FraudLatency), BurnRate, the tier's."""
    return f"{_camel(slo)}BurnRate{_camel(tier)}"


def _camel(name: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in _WORD.findall(name))


def check_slo(report: Report, path: str, block: ast.Block, group: str,
              check_expr: Callable[[ast.Expr], object]) -> SloSpec | None:
    """A checked slo block; None when it has errors (reported) or no name. `check_expr`
    types an expression, reporting its problems (a bad regex in a selector)."""
    return _Slo(report, path, block, group, check_expr).run()


class _Checker:
    def __init__(self, report: Report, path: str) -> None:
        self.report = report
        self.path = path
        self.ok = True

    def error(self, span: Span, message: str) -> None:
        self.report.error(self.path, span, message)
        self.ok = False

    def settings(self, block: ast.Block, keys: tuple[str, ...],
                 what: str) -> dict[str, ast.Setting]:
        return settings_by_key(block, keys, what, self.error)

    def duration(self, s: ast.Setting) -> float | None:
        value = s.value
        if not isinstance(value, ast.DurationLit):
            self.error(value.span, f"{s.key} must be a duration such as 1h")
            return None
        if value.seconds is None:
            self.report.silent_error()
            self.ok = False
        elif value.seconds <= 0:
            self.error(value.span, f"{s.key} must be positive, got {value.text}")
            return None
        return value.seconds

    def number(self, s: ast.Setting) -> float | None:
        value = s.value
        if isinstance(value, ast.NumberLit) and value.value > 0:
            return value.value
        self.error(value.span, f"{s.key} must be a positive number such as 14.4")
        return None

    def string(self, s: ast.Setting) -> str | None:
        value = s.value
        if isinstance(value, ast.StringLit) and value.value.strip():
            return value.value
        self.error(value.span, f"{s.key} must be a non-empty string")
        return None

    def flag(self, s: ast.Setting) -> bool | None:
        value = s.value
        if isinstance(value, ast.Selector) and not value.braces and value.name in ("true",
                                                                                   "false"):
            return value.name == "true"
        self.error(value.span, f"{s.key} must be true or false")
        return None


class _Slo(_Checker):
    def __init__(self, report: Report, path: str, block: ast.Block, group: str,
                 check_expr: Callable[[ast.Expr], object]) -> None:
        super().__init__(report, path)
        self.block = block
        self.group = group
        self.check_expr = check_expr

    def run(self) -> SloSpec | None:
        block = self.block
        name = (block.name or "").strip()
        at = block.name_span or block.kind_span
        if not name:
            self.error(at, "slo needs a name")
        s = self.settings(block, SLO_KEYS, "slo")
        objective = self._objective(s["objective"]) if "objective" in s else None
        if "objective" not in s:
            self.error(at, f'slo "{name}" has no objective (such as objective = 99.9%)')
        period = self.duration(s["period"]) if "period" in s else DEFAULT_PERIOD
        events: dict[str, SliQuery | None] = {
            k: self._query(s[k]) for k in ("good", "errors", "total") if k in s}
        self._events(s, events, at, name)
        description = self.string(s["description"]) if "description" in s else ""
        tiers = self._tiers(period)
        if not self.ok or not name or objective is None or period is None:
            return None
        total = events.get("total")
        assert total is not None
        spec = SloSpec(name, self.path, block.span, at, objective, period, total,
                       events.get("good"), events.get("errors"), description or "", tiers,
                       tuple(s[k] for k in INHERITED_KEYS if k in s), self.group,
                       {t.name: alert_name(name, t.name) for t in tiers})
        self._resolution(spec, s)
        return spec if self.ok else None

    def _objective(self, s: ast.Setting) -> float | None:
        value = s.value
        if isinstance(value, ast.PercentLit) and 0 < value.value < 1:
            return value.value
        if isinstance(value, ast.NumberLit) and 1 < value.value < 100:
            self.error(value.span, f"objective must be a percentage: write {value.text}%")
            return None
        self.error(value.span, "objective must be a percentage between 0% and 100% (not "
                               "included), such as 99.9%")
        return None

    def _query(self, s: ast.Setting) -> SliQuery | None:
        value = s.value
        while isinstance(value, ast.Paren):
            value = value.expr
        if isinstance(value, ast.Selector) and value.name is not None:
            self.check_expr(value)  # bad regexes and label names
            return SliQuery(value, None)
        if isinstance(value, ast.Call) and value.name == "prom" and len(value.args) == 1 \
                and not value.kwargs and isinstance(value.args[0], ast.StringLit):
            query = value.args[0].value.strip()
            if not query:
                self.error(value.args[0].span, "prom() needs a counter's selector")
            elif "[" in query:
                self.error(value.args[0].span, f"{s.key} = prom(...) takes a counter's "
                           "selector without a range: alertd adds each window itself")
            else:
                return SliQuery(None, query)
            return None
        self.error(s.value.span, f"{s.key} must be a counter: a selector of pushed series "
                                 "such as requests_total{code!~\"5..\"}, or prom(`selector`) "
                                 "for Prometheus series")
        return None

    def _events(self, s: dict[str, ast.Setting], events: dict[str, SliQuery | None],
                at: Span, name: str) -> None:
        if "good" in s and "errors" in s:
            self.error(s["errors"].key_span, f'slo "{name}" takes good or errors, not both')
        elif "good" not in s and "errors" not in s:
            self.error(at, f'slo "{name}" needs good (or errors) and total: the counters of '
                           "good (failed) events and of all events")
        if "total" not in s:
            self.error(at, f'slo "{name}" needs total, the counter of all events')
        found = [q for q in events.values() if q is not None]
        if len({q.selector is None for q in found}) > 1:
            key = next(k for k in ("good", "errors", "total") if k in s)
            self.error(s[key].key_span, f'slo "{name}" mixes pushed series and prom(): '
                                        "its counters must come from the same source")

    def _tiers(self, period: float | None) -> tuple[TierSpec, ...]:
        tiers = {t.name: t for t in DEFAULT_TIERS}
        for child in self.block.blocks():
            if child.kind != "tier":
                self.error(child.kind_span, f'"{child.kind}" blocks cannot be inside an slo; '
                                            "only tier blocks can"
                                            f"{did_you_mean(child.kind, ('tier',))}")
                continue
            tier = self._tier(child, tiers.get(child.name or ""))
            if tier is None:
                tiers.pop(child.name or "", None)
            else:
                tiers[tier.name] = tier
        for tier in tiers.values():
            for pair in tier.windows:
                if period is not None and pair.long > period:
                    self.error(self.block.name_span or self.block.kind_span,
                               f'tier "{tier.name}": a window is longer than the period')
        return tuple(tiers.values())

    def _tier(self, block: ast.Block, default: TierSpec | None) -> TierSpec | None:
        name = (block.name or "").strip()
        if not name:
            self.error(block.kind_span, "tier needs a name, such as page or ticket")
            return None
        s = self.settings(block, TIER_KEYS, "tier")
        if "disabled" in s and self.flag(s["disabled"]):
            return None
        windows: list[WindowPair] = []
        for child in block.blocks():
            if child.kind != "window":
                self.error(child.kind_span, f'"{child.kind}" blocks cannot be inside a tier; '
                                            "only window blocks can")
                continue
            pair = self._window(child)
            if pair is not None:
                windows.append(pair)
        if not windows and default is None and not block.blocks():
            self.error(block.name_span or block.kind_span,
                       f'tier "{name}" needs window blocks (only page and ticket have '
                       "default windows)")
        severity = self.string(s["severity"]) if "severity" in s else (
            default.severity if default else name)
        return TierSpec(name, severity or name,
                        tuple(windows) or (default.windows if default else ()),
                        s.get("labels"))

    def _window(self, block: ast.Block) -> WindowPair | None:
        s = self.settings(block, WINDOW_KEYS, "window")
        at = block.kind_span
        for key in WINDOW_KEYS:
            if key not in s:
                self.error(at, f"window needs {key} (such as window {{ long = 1h  short = 5m "
                               "factor = 14.4 }})")
        if len(s) != len(WINDOW_KEYS):
            return None
        long, short, factor = (self.duration(s["long"]), self.duration(s["short"]),
                               self.number(s["factor"]))
        if long is None or short is None or factor is None:
            return None
        if short >= long:
            self.error(s["short"].value.span, "short must be shorter than long")
            return None
        return WindowPair(long, short, factor)

    def _resolution(self, spec: SloSpec, s: dict[str, ast.Setting]) -> None:
        if not spec.local:
            return
        short = min(spec.windows(), default=LOCAL_RESOLUTION)
        if short < LOCAL_RESOLUTION:
            self.error(spec.name_span, f'slo "{spec.name}" over pushed series has a window '
                                       "shorter than 5m, the resolution its counters are kept "
                                       "at")
