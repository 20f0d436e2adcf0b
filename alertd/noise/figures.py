"""Running totals per period and scope (everything, one rule, one owner), and the figures
they come to.

The only values kept one by one are the durations of firings and the times to
acknowledge, for exact medians and percentiles: 8 bytes each in an array, per firing and
per acknowledged page, never per event.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from alertd.noise.bands import BUSINESS, OFF, SLEEP
from alertd.noise.pages import Page
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


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0 < q <= 1) by the nearest-rank method: the smallest value such
    that a share q of the values are at most it, sorted(values)[ceil(q * n) - 1]. None
    for no values. The median is q = 0.5: of an even number of values, the lower middle
    one (a value that happened, never an average of two)."""
    if not 0 < q <= 1:
        raise ValueError(f"quantile must be in (0, 1], got {q}")
    if not values:
        return None
    ordered = sorted(values)
    # Rounded first: 0.95 * 20 is 19.000000000000004 in floating point, rank 19 not 20.
    rank = max(1, math.ceil(round(q * len(ordered), 9)))
    return ordered[rank - 1]


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _floats() -> array[float]:
    return array("d")


@dataclass(slots=True)
class Tally:
    pages: int = 0
    firings: int = 0
    bands: Counter[str] = field(default_factory=Counter)
    firing_s: float = 0.0
    durations: array[float] = field(default_factory=_floats)  # of firings ended in it
    over_7d: int = 0
    self_resolved: int = 0
    self_judged: int = 0  # firings whose self-resolution is known
    cycles: int = 0  # firing -> resolved
    flapping: int = 0
    acked: int = 0
    ack_waits: array[float] = field(default_factory=_floats)
    ackers: Counter[str] = field(default_factory=Counter)
    useful: int = 0
    noise: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    silenced_s: float = 0.0
    actioned: int = 0
    eval_errors: int = 0
    nodata_s: float = 0.0


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
        time_firing_s=t.firing_s, median_firing_s=nearest_rank(t.durations, 0.5),
        firing_over_7d=t.over_7d, self_resolved_share=share(t.self_resolved, t.self_judged),
        flaps_per_day=t.cycles / days, flapping_instances=t.flapping,
        ack_share=share(t.acked, t.pages), ack_p50_s=nearest_rank(t.ack_waits, 0.5),
        ack_p95_s=nearest_rank(t.ack_waits, 0.95), unacknowledged=t.pages - t.acked,
        ackers=dict(t.ackers),
        feedback=Feedback(t.useful, t.noise, dict(t.reasons)),
        silenced_s=t.silenced_s, actionability=share(t.actioned, t.pages),
        eval_errors=t.eval_errors, nodata_s=t.nodata_s,
    )
