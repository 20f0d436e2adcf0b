"""What a change did in a replay, against the replay of things as they are.

Both sides are replays (the baseline is the rule and routing as configured), so the
difference is the change's alone, not the replay's approximations.

A page people acted on (acknowledged, found useful, silenced with a comment) is matched
to the baseline page that carried its alert, in the firing that page announced: that
firing's first page is the reference. The changed replay keeps the page when it pages
for the same alert in a firing that overlaps that one; it is delayed by how much later
that page came (a firing that started earlier, under a longer keep_firing_for, was
announced earlier: no delay); it is lost when no such page exists.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo

from alertd.noise.bands import SLEEP, band
from alertd.whatif.replay import Outcome, Page

Span = tuple[float, float | None]


@dataclass(frozen=True, slots=True)
class Actionable:
    """A recorded page that led to a human action: when, and the alerts it carried."""

    at: float
    alerts: frozenset[str]


@dataclass(frozen=True, slots=True)
class Effect:
    pages_before: int
    pages_after: int
    sleep_before: int
    sleep_after: int
    actionable: int
    lost: int
    delayed: int
    max_delay_s: float

    @property
    def pages_saved(self) -> int:
        return self.pages_before - self.pages_after

    @property
    def sleep_pages_saved(self) -> int:
        return self.sleep_before - self.sleep_after

    @property
    def safe(self) -> bool:
        """Never when an actionable page would have been lost."""
        return self.lost == 0


def effect(before: Outcome, after: Outcome, actionable: Sequence[Actionable], *,
           start: float, end: float, where: tzinfo, slack: float) -> Effect:
    """The change from `before` to `after` over [start, end); `slack` is how far a
    recorded page may lie from its replayed one (an evaluation interval)."""
    pages_before = [p for p in before.pages if start <= p.at < end]
    pages_after = [p for p in after.pages if start <= p.at < end]
    lost, delays = 0, []
    for page in actionable:
        delay = _delay(page, before, after, slack)
        if delay is None:
            lost += 1
        elif delay > 0:
            delays.append(delay)
    return Effect(len(pages_before), len(pages_after), _sleeping(pages_before, where),
                  _sleeping(pages_after, where), len(actionable), lost, len(delays),
                  max(delays, default=0.0))


def _sleeping(pages: Sequence[Page], where: tzinfo) -> int:
    return sum(1 for p in pages if band(p.at, where) == SLEEP)


def _delay(page: Actionable, before: Outcome, after: Outcome, slack: float) -> float | None:
    """How much later the changed replay pages for this page's alerts (the least over
    them); None when it never does."""
    found = [d for a in sorted(page.alerts)
             if (d := _alert_delay(a, page.at, before, after, slack)) is not None]
    return min(found, default=None)


def _alert_delay(alert: str, at: float, before: Outcome, after: Outcome,
                 slack: float) -> float | None:
    span = _latest(before.firings.get(alert, ()), at + slack) or (at, at + slack)
    reference = _first_page(before.pages, alert, span) or at
    changed = _overlapping(after.firings.get(alert, ()), span)
    if changed is None:
        return None
    paged = _first_page(after.pages, alert, changed)
    return None if paged is None else max(0.0, paged - reference)


def _latest(spans: Sequence[Span], by: float) -> Span | None:
    """The last firing that started by `by`."""
    started = [s for s in spans if s[0] <= by]
    return started[-1] if started else None


def _overlapping(spans: Sequence[Span], span: Span) -> Span | None:
    lo, hi = span
    for s in spans:
        if (hi is None or s[0] < hi) and (s[1] is None or s[1] > lo):
            return s
    return None


def _first_page(pages: Sequence[Page], alert: str, span: Span) -> float | None:
    lo, hi = span
    # The pages are in time order: those before the span are passed over by bisection.
    for i in range(bisect.bisect_left(pages, lo, key=_at), len(pages)):
        p = pages[i]
        if hi is not None and p.at >= hi:
            return None
        if alert in p.alerts:
            return p.at
    return None


def _at(page: Page) -> float:
    return page.at
