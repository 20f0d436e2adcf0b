"""Running totals per period and scope (everything, one rule, one owner), and the figures
they come to.

The only values kept one by one are the durations of firings and the times to
acknowledge, for their medians and percentiles, and only up to a bound per tally
(alertd.noise.quantiles): exact for a week of a busy rule, within half a percent past it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from alertd.noise.bands import BUSINESS, OFF, SLEEP
from alertd.noise.pages import Page
from alertd.noise.quantiles import Quantiles
from alertd.noise.report import Feedback, Figures, Interruptions

Scope = tuple[str, str | None]
TOTAL: Scope = ("total", None)


def rule_scope(name: str) -> Scope:
    return ("rule", name)


def owner_scope(owner: str | None) -> Scope:
    return ("owner", owner)


def scopes(rule: str, owner: str | None) -> tuple[Scope, Scope, Scope]:
    """Where something about one alert counts: everything, its rule, its owner."""
    return (TOTAL, ("rule", rule), ("owner", owner))


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(slots=True)
class Tally:
    pages: int = 0
    firings: int = 0
    bands: Counter[str] = field(default_factory=Counter)
    firing_s: float = 0.0
    durations: Quantiles = field(default_factory=Quantiles)  # of firings ended in it
    over_7d: int = 0
    self_resolved: int = 0
    self_judged: int = 0  # firings whose self-resolution is known
    cycles: int = 0  # firing -> resolved
    flapping: int = 0
    acked: int = 0
    ack_waits: Quantiles = field(default_factory=Quantiles)
    ackers: Counter[str] = field(default_factory=Counter)
    useful: int = 0
    noise: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    silenced_s: float = 0.0
    actioned: int = 0
    eval_errors: int = 0
    nodata_s: float = 0.0

    def add(self, other: Tally) -> None:
        """Count `other`'s counts in too (as if everything it counted had been counted
        here)."""
        for name in _SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.bands.update(other.bands)
        self.ackers.update(other.ackers)
        self.reasons.update(other.reasons)
        self.durations.extend(other.durations)
        self.ack_waits.extend(other.ack_waits)


_SUMMED = ("pages", "firings", "firing_s", "over_7d", "self_resolved", "self_judged",
           "cycles", "flapping", "acked", "useful", "noise", "silenced_s", "actioned",
           "eval_errors", "nodata_s")


class Tallies:
    """A tally per (period, scope), made when first counted in."""

    def __init__(self) -> None:
        self._by: dict[tuple[int, Scope], Tally] = {}

    def __call__(self, period: int, scope: Scope) -> Tally:
        found = self._by.get((period, scope))
        if found is None:
            found = self._by[(period, scope)] = Tally()
        return found

    def peek(self, period: int, scope: Scope) -> Tally:
        """The tally, or an empty one (not kept) when nothing was counted."""
        return self._by.get((period, scope)) or Tally()

    def names(self, kind: str) -> set[str | None]:
        return {name for (_, (k, name)) in self._by if k == kind}


class PageFigures:
    """What a page adds to each tally it counts in (but its band), worked out once."""

    __slots__ = ("acker", "actioned", "wait")

    def __init__(self, page: Page) -> None:
        self.wait = None if page.acked_at is None else page.acked_at - page.at
        self.acker = page.acker or ""
        self.actioned = page.actioned

    def add(self, tally: Tally, in_band: str) -> None:
        tally.pages += 1
        tally.bands[in_band] += 1
        if self.wait is not None:
            tally.acked += 1
            tally.ack_waits.append(self.wait)
            tally.ackers[self.acker] += 1
        if self.actioned:
            tally.actioned += 1


def freeze(t: Tally, days: float) -> Figures:
    """The figures of a tally over a period of `days` days."""
    return Figures(
        pages=t.pages, firings=t.firings,
        interruptions=Interruptions(t.bands[BUSINESS], t.bands[OFF], t.bands[SLEEP]),
        time_firing_s=t.firing_s, median_firing_s=t.durations.quantile(0.5),
        firing_over_7d=t.over_7d, self_resolved_share=share(t.self_resolved, t.self_judged),
        flaps_per_day=t.cycles / days, flapping_instances=t.flapping,
        ack_share=share(t.acked, t.pages), ack_p50_s=t.ack_waits.quantile(0.5),
        ack_p95_s=t.ack_waits.quantile(0.95), unacknowledged=t.pages - t.acked,
        ackers=dict(t.ackers),
        feedback=Feedback(t.useful, t.noise, dict(t.reasons)),
        silenced_s=t.silenced_s, actionability=share(t.actioned, t.pages),
        eval_errors=t.eval_errors, nodata_s=t.nodata_s,
    )
