"""What the statistics are computed over, besides the history: the period, the rules and
the parts of the configuration they need, as plain values (no rule or daemon objects)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from alertd.noise.flap import FlapDetector

DAY = 86400.0
PREVIOUS, CURRENT = 0, 1
PERIODS = (PREVIOUS, CURRENT)
# "Never fired" looks this far back from the period's end.
NEVER_FIRED_WINDOW = 90 * DAY
# A firing or a silence older than this at the period's end is listed as long-running.
LONG_RUNNING = 7 * DAY
# The evaluation interval assumed for alerts of no known rule (posted alerts), as the
# configuration's default evaluation_interval.
DEFAULT_STEP = 60.0


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule as the report knows it. `interval` is its evaluation interval: the flap
    detector takes one observation per evaluation."""

    name: str
    owner: str | None = None
    runbook: str | None = None
    interval: float | None = None


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


def _no_paging() -> Mapping[str, bool]:
    return MappingProxyType({})  # every receiver pages unless it says otherwise


@dataclass(frozen=True, slots=True)
class Settings:
    start: float
    end: float
    owner: str | None = None  # only the alerts of this owner, when given
    rules: tuple[RuleInfo, ...] = ()
    zones: Mapping[str, str] = field(default_factory=_empty)  # owner -> IANA zone
    owner_names: tuple[str, ...] = ()  # the configured owners, listed even when quiet
    paging: Mapping[str, bool] = field(default_factory=_no_paging)
    self_resolve_s: float = 300.0
    flap: FlapDetector = field(default_factory=FlapDetector)

    def __post_init__(self) -> None:
        if not self.end > self.start:
            raise ValueError(f"the report's period is empty: from {self.start} to {self.end}")
        if not self.self_resolve_s > 0:
            raise ValueError(f"self_resolve must be positive, got {self.self_resolve_s}s")

    @property
    def previous_start(self) -> float:
        return self.start - (self.end - self.start)

    def bounds(self, period: int) -> tuple[float, float]:
        return (self.previous_start, self.start) if period == PREVIOUS else (self.start,
                                                                            self.end)

    def period_of(self, at: float) -> int | None:
        """The period `at` falls in; None before the previous period or from the end on."""
        if self.start <= at < self.end:
            return CURRENT
        if self.previous_start <= at < self.start:
            return PREVIOUS
        return None

    @property
    def warmup_start(self) -> float:
        """Where reading starts: early enough to know which rules fired in the last 90
        days and which alerts were already firing when the previous period began."""
        return min(self.end - NEVER_FIRED_WINDOW, self.previous_start)

    def report_zone(self) -> str | None:
        return self.zones.get(self.owner) if self.owner is not None else None
