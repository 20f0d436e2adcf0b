"""The report as values, and its JSON form (`Report.to_json()`), which the renderers, the
CLI and the API read. Keys may be added; none is ever renamed.

Times are RFC 3339 in UTC (`2026-11-23T00:00:00Z`); durations are seconds; shares are
from 0 to 1, null when there was nothing to take a share of.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any


def rfc3339(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def _frozen(counts: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))))


@dataclass(frozen=True, slots=True)
class Interruptions:
    business: int = 0
    off: int = 0
    sleep: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"business": self.business, "off": self.off, "sleep": self.sleep}


@dataclass(frozen=True, slots=True)
class Feedback:
    useful: int = 0
    noise: int = 0
    reasons: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "reasons", _frozen(self.reasons))

    def to_json(self) -> dict[str, Any]:
        return {"useful": self.useful, "noise": self.noise, "reasons": dict(self.reasons)}


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures of one rule, one owner or everything, over one period (definitions in
    docs/noise-report.md)."""

    pages: int = 0
    firings: int = 0
    interruptions: Interruptions = Interruptions()
    time_firing_s: float = 0.0
    median_firing_s: float | None = None
    firing_over_7d: int = 0
    self_resolved_share: float | None = None
    flaps_per_day: float = 0.0
    flapping_instances: int = 0
    ack_share: float | None = None
    ack_p50_s: float | None = None
    ack_p95_s: float | None = None
    unacknowledged: int = 0
    ackers: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    feedback: Feedback = Feedback()
    silenced_s: float = 0.0
    actionability: float | None = None
    eval_errors: int = 0
    nodata_s: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "ackers", _frozen(self.ackers))

    def to_json(self) -> dict[str, Any]:
        return {
            "pages": self.pages, "firings": self.firings,
            "interruptions": self.interruptions.to_json(),
            "time_firing_s": self.time_firing_s, "median_firing_s": self.median_firing_s,
            "firing_over_7d": self.firing_over_7d,
            "self_resolved_share": self.self_resolved_share,
            "flaps_per_day": self.flaps_per_day,
            "flapping_instances": self.flapping_instances,
            "ack_share": self.ack_share, "ack_p50_s": self.ack_p50_s,
            "ack_p95_s": self.ack_p95_s, "unacknowledged": self.unacknowledged,
            "ackers": dict(self.ackers), "feedback": self.feedback.to_json(),
            "silenced_s": self.silenced_s, "actionability": self.actionability,
            "eval_errors": self.eval_errors, "nodata_s": self.nodata_s,
        }


@dataclass(frozen=True, slots=True)
class RuleRow:
    rule: str
    owner: str | None
    figures: Figures
    previous: Figures

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "owner": self.owner, **self.figures.to_json(),
                "previous": self.previous.to_json()}


@dataclass(frozen=True, slots=True)
class OwnerRow:
    owner: str | None
    figures: Figures
    previous: Figures

    def to_json(self) -> dict[str, Any]:
        return {"owner": self.owner, **self.figures.to_json(),
                "previous": self.previous.to_json()}


@dataclass(frozen=True, slots=True)
class DayRow:
    date: str  # YYYY-MM-DD in the report's time zone
    business: int = 0
    off: int = 0
    sleep: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"date": self.date, "business": self.business, "off": self.off,
                "sleep": self.sleep}


@dataclass(frozen=True, slots=True)
class SilenceItem:
    id: str
    matchers: Any  # as the silence's lifecycle event gives them (`name="value"` texts)
    by: str
    comment: str
    since: float | None = None  # for long-running silences: when it became active

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.id, "matchers": self.matchers, "by": self.by,
               "comment": self.comment}
        if self.since is not None:
            out["since"] = rfc3339(self.since)
        return out


@dataclass(frozen=True, slots=True)
class RuleHealth:
    without_owner: tuple[str, ...] = ()
    without_runbook: tuple[str, ...] = ()
    never_fired_90d: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"without_owner": list(self.without_owner),
                "without_runbook": list(self.without_runbook),
                "never_fired_90d": list(self.never_fired_90d)}


@dataclass(frozen=True, slots=True)
class Report:
    start: float
    end: float
    previous_start: float
    owner: str | None
    generated_at: float
    self_resolve_minutes: float
    totals: Figures
    totals_previous: Figures
    rules: tuple[RuleRow, ...] = ()
    owners: tuple[OwnerRow, ...] = ()
    pages_per_day: tuple[DayRow, ...] = ()
    long_running_silences: tuple[SilenceItem, ...] = ()
    silences_matched_nothing: tuple[SilenceItem, ...] = ()
    rule_health: RuleHealth = RuleHealth()
    recommendations: tuple[Mapping[str, Any], ...] = ()

    def rule(self, name: str) -> RuleRow | None:
        return next((r for r in self.rules if r.rule == name), None)

    def owner_row(self, owner: str | None) -> OwnerRow | None:
        return next((o for o in self.owners if o.owner == owner), None)

    def to_json(self) -> dict[str, Any]:
        minutes = self.self_resolve_minutes
        return {
            "period": {"from": rfc3339(self.start), "to": rfc3339(self.end),
                       "previous_from": rfc3339(self.previous_start),
                       "previous_to": rfc3339(self.start)},
            "owner": self.owner,
            "generated_at": rfc3339(self.generated_at),
            "self_resolve_minutes": int(minutes) if float(minutes).is_integer() else minutes,
            "totals": self.totals.to_json(),
            "totals_previous": self.totals_previous.to_json(),
            "rules": [r.to_json() for r in self.rules],
            "owners": [o.to_json() for o in self.owners],
            "pages_per_day": [d.to_json() for d in self.pages_per_day],
            "silences": {
                "long_running": [s.to_json() for s in self.long_running_silences],
                "matched_nothing": [s.to_json() for s in self.silences_matched_nothing],
            },
            "rule_health": self.rule_health.to_json(),
            "recommendations": [dict(r) for r in self.recommendations],
        }
