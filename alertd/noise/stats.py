"""The statistics, in one pass over the history in time order.

Memory follows what is open, not how much happened: the alerts pending or firing now,
the pages whose alerts still fire, the silences active since the previous period began,
the flap detectors of instances that changed state within their last window, one verdict
per person and page, and running totals per period and rule or owner. An event is
forgotten once counted.

Events before the previous period (the warm-up) only set up state: which alerts were
already firing, which silences were active, which rules had fired in the last 90 days.

A report reads a million events, so the paths every event takes are kept short: the
period bounds are looked up once, not per event; an alert counts in one tally, its rule
and owner's, which counts in the three it stands for (everything, the rule, the owner)
once the period is over; and the flap detector's answers are remembered
(timeline.Follower).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from alertd.noise.event import Event
from alertd.noise.figures import (
    Tallies,
    Tally,
    scopes,
)
from alertd.noise.inputs import (
    CURRENT,
    DEFAULT_STEP,
    LONG_RUNNING,
    NEVER_FIRED_WINDOW,
    PERIODS,
    PREVIOUS,
    Settings,
)
from alertd.noise.page_count import PageCounter
from alertd.noise.pages import Page, PageBook, reaches_person
from alertd.noise.silences import SilenceBook
from alertd.noise.timeline import Follower, OpenAlert, Track, covered, overlap
from alertd.noise.verdicts import VERDICTS, Verdict, VerdictBook, count_verdict

FIRING, PENDING = "firing", "pending"
ERROR, NODATA = "error", "nodata"
# How often (in event time) flap detectors of quiet instances and ended silences are
# dropped.
SWEEP_EVERY = 3600.0

Handler = Callable[[Event, str, str | None, int | None], None]


class Aggregator:
    def __init__(self, settings: Settings,
                 on_page: Callable[[Page], None] | None = None, *,
                 verdicts_apart: bool = False) -> None:
        """`on_page` is told of each page once it is done (the recommendations' replay
        compares its pages with these). With `verdicts_apart`, verdicts are not taken
        from the feedback events `feed` is given but from those given to `feed_verdict`,
        in the order of whose verdict on which page they are."""
        self.settings = settings
        self.tallies = Tallies()
        self.alerts: dict[str, OpenAlert] = {}
        self.tracks: dict[str, Track] = {}
        # The instances with a track whose alert is not open (the only ones whose tracks
        # _sweep may drop), in the order of their last change: fingerprint -> its time.
        self._closed: dict[str, float] = {}
        self.pages = PageBook()
        self.silences = SilenceBook()
        self._verdicts_apart = verdicts_apart
        self.verdicts = VerdictBook(self._count_verdict, key_order=verdicts_apart)
        self.health: dict[str, tuple[str, float, str | None]] = {}  # rule -> state, since
        self.fired_recently: set[str] = set()
        self.seen_owner: dict[str, str | None] = {}  # rule -> owner of its first alert
        self.rules = {r.name: r for r in settings.rules}
        self._flapping: set[tuple[int, str]] = set()  # (period, fingerprint) counted
        self._previous_done = False
        self._next_sweep = -math.inf
        self._next_advance = -math.inf  # the earliest time _advance has something to do
        self._follow = Follower(settings.flap)
        self._steps: dict[str, float] = {}  # rule -> evaluation interval
        self._shortest_step = min([DEFAULT_STEP, *(r.interval for r in settings.rules
                                                   if r.interval)])
        self._owners: dict[str, str | None] = {}  # rule -> its owner in the configuration
        # (period, rule, owner) -> its tally (see _cell)
        self._cells: dict[tuple[int, str, str | None], Tally] = {}
        self._paged = PageCounter(settings, self.tallies, self._cell, on_page)
        self.days = self._paged.days  # pages by local date and band
        self._recent_from = settings.end - NEVER_FIRED_WINDOW
        self._previous_start = settings.previous_start
        self._bounds = tuple((p, *settings.bounds(p)) for p in PERIODS)
        self._handlers: dict[str, Handler] = {
            "transition": self._transition, "delivery": self._delivery, "ack": self._ack,
            "feedback": self._feedback, "silenced": self._silenced, "health": self._health,
        }

    # --- reading ---------------------------------------------------------------------

    def feed(self, e: Event) -> None:
        """Count one event in; events must come in time order."""
        s = self.settings
        at = e.at
        if at >= s.end:
            return
        if at >= self._next_advance:
            self._advance(at)
        kind = e.kind
        if kind == "silence":
            self.silences.lifecycle(e)
            return
        rule = e.rule or e.alertname
        owner = e.owner or self._rule_owner(rule)
        if (kind == "transition" and at >= self._recent_from
                and e.details.get("to") == FIRING):
            self.fired_recently.add(rule)
        if s.owner is not None and owner != s.owner:
            return
        handler = self._handlers.get(kind)
        if handler is not None:
            # s.period_of(at), knowing that at < s.end
            period = CURRENT if at >= s.start else PREVIOUS if at >= self._previous_start \
                else None
            handler(e, rule, owner, period)

    def feed_verdict(self, e: Event) -> None:
        """Count one feedback event's verdict in; events must come in the order of their
        verdict key (alertd.noise.verdicts.verdict_key), then of time."""
        s = self.settings
        if not s.previous_start <= e.at < s.end:
            return
        rule = e.rule or e.alertname
        owner = e.owner or self._rule_owner(rule)
        if s.owner is None or owner == s.owner:
            self.verdicts.record(e, CURRENT if e.at >= s.start else PREVIOUS, rule, owner)

    def finish(self) -> None:
        """The end of the period: what is still open is counted up to it."""
        s = self.settings
        self._advance(s.end)
        self._count_long_firings(CURRENT, s.end)
        for alert in self.alerts.values():
            if alert.firing_since is not None:
                self._close_firing(alert, s.end, resolved=False)
        self.alerts.clear()
        for page in self.pages.close_all():
            self._paged.count(page)
        for rule, (state, since, owner) in self.health.items():
            if state == NODATA:
                self._add_nodata(rule, owner, since, s.end)
        self.verdicts.close()
        self._fold()

    def _rule_owner(self, rule: str) -> str | None:
        """The owner of an event that names none: its rule's, if configured."""
        try:
            return self._owners[rule]
        except KeyError:
            info = self.rules.get(rule)
            owner = self._owners[rule] = info.owner if info is not None and info.owner \
                else None
            return owner

    def _cell(self, period: int, rule: str, owner: str | None) -> Tally:
        """The tally something about one alert (or a page of one rule and owner) counts
        in: that of its rule and owner, which counts in everything, its rule and its
        owner (`scopes`) once the period is over (`_fold`): one tally to count in per
        event rather than three."""
        key = (period, rule, owner)
        found = self._cells.get(key)
        if found is None:
            found = self._cells[key] = Tally()
        return found

    def _fold(self) -> None:
        """Each rule and owner's tally counted into everything, its rule and its owner."""
        for (period, rule, owner), cell in self._cells.items():
            for scope in scopes(rule, owner):
                self.tallies(period, scope).add(cell)
        self._cells.clear()

    def _advance(self, at: float) -> None:
        start = self.settings.start
        if not self._previous_done and at > start:
            self._previous_done = True
            self._count_long_firings(PREVIOUS, start)
        if at >= self._next_sweep:
            self._sweep(at)
            self._next_sweep = at + SWEEP_EVERY
        self._next_advance = self._next_sweep if self._previous_done else min(
            self._next_sweep, start)

    def _sweep(self, at: float) -> None:
        detector = self.settings.flap
        # In the order of their last change: from the first that changed within a window
        # of the shortest interval on, none is quiet.
        recent = detector.window * self._shortest_step
        quiet = []
        for fp, changed in self._closed.items():
            if at - changed <= recent:
                break
            if self.tracks[fp].quiet_since(at, detector):
                quiet.append(fp)
        for fp in quiet:
            del self.tracks[fp]
            del self._closed[fp]
        # A silence that ended before the previous period mutes nothing the report counts.
        self.silences.prune(min(at, self.settings.previous_start))

    def _count_long_firings(self, period: int, at: float) -> None:
        for alert in self.alerts.values():
            if alert.firing_since is not None and at - alert.firing_since > LONG_RUNNING:
                self._cell(period, alert.rule, alert.owner).over_7d += 1

    # --- alerts ----------------------------------------------------------------------

    def _transition(self, e: Event, rule: str, owner: str | None,
                    period: int | None) -> None:
        to = e.details.get("to")
        if rule not in self.seen_owner:
            self.seen_owner[rule] = owner
        self._observe(e, rule, owner, period, to == FIRING)
        fingerprint = e.fingerprint
        if to == FIRING:
            self._fire(e, rule, owner, period)
        elif to == PENDING:
            if fingerprint not in self.alerts:
                self.alerts[fingerprint] = OpenAlert(rule, owner)
        else:
            self._resolve(e, rule, owner, period)
        self._closed.pop(fingerprint, None)
        if fingerprint not in self.alerts:
            self._closed[fingerprint] = e.at

    def _observe(self, e: Event, rule: str, owner: str | None, period: int | None,
                 firing: bool) -> None:
        step = self._steps.get(rule)
        if step is None:
            info = self.rules.get(rule)
            step = self._steps[rule] = info.interval if info is not None and info.interval \
                else DEFAULT_STEP
        fingerprint = e.fingerprint
        track = self._follow(self.tracks.get(fingerprint), e.at, firing, step)
        self.tracks[fingerprint] = track
        if period is None or not track.state.flapping:
            return
        if (period, fingerprint) not in self._flapping:
            self._flapping.add((period, fingerprint))
            self._cell(period, rule, owner).flapping += 1

    def _fire(self, e: Event, rule: str, owner: str | None,
              period: int | None) -> None:
        alert = self.alerts.get(e.fingerprint)
        if alert is not None and alert.firing_since is not None:
            return  # firing already: recorded twice (a restart), not a new firing
        self.alerts[e.fingerprint] = OpenAlert(rule, owner, e.at)
        if period is not None:
            self._cell(period, rule, owner).firings += 1

    def _resolve(self, e: Event, rule: str, owner: str | None,
                 period: int | None) -> None:
        if period is not None and e.details.get("from") == FIRING:
            self._cell(period, rule, owner).cycles += 1
        alert = self.alerts.pop(e.fingerprint, None)
        if alert is not None and alert.firing_since is not None:
            self._close_firing(alert, e.at, resolved=True)
        for page in self.pages.resolved(e.fingerprint):
            self._paged.count(page)

    def _close_firing(self, alert: OpenAlert, at: float, *, resolved: bool) -> None:
        since = alert.firing_since
        assert since is not None
        muted = [iv for sid in alert.silences if (iv := self.silences.interval(sid))] \
            if alert.silences else None
        for period, lo, hi in self._bounds:
            lo, hi = (since if since > lo else lo), (at if at < hi else hi)  # max(), min()
            if hi <= lo:
                continue
            silenced = covered(muted, lo, hi) if muted else 0.0
            tally = self._cell(period, alert.rule, alert.owner)
            tally.firing_s += hi - lo
            tally.silenced_s += silenced
        self._judge(alert, since, at, resolved)

    def _judge(self, alert: OpenAlert, since: float, at: float, resolved: bool) -> None:
        """The firing's length (when it ended in a period) and whether it resolved on its
        own (counted in the period it started in, once that is known)."""
        s = self.settings
        lasted = at - since
        ended_in = s.period_of(at) if resolved else None
        started_in = s.period_of(since)
        known = resolved or lasted > s.self_resolve_s
        by_itself = resolved and lasted <= s.self_resolve_s and not alert.touched
        if ended_in is not None:
            self._cell(ended_in, alert.rule, alert.owner).durations.append(lasted)
        if started_in is not None and known:
            tally = self._cell(started_in, alert.rule, alert.owner)
            tally.self_judged += 1
            tally.self_resolved += int(by_itself)

    # --- people ----------------------------------------------------------------------

    def _touch(self, fingerprint: str) -> OpenAlert | None:
        alert = self.alerts.get(fingerprint)
        if alert is None or alert.firing_since is None:
            return None
        alert.touched = True
        return alert

    def _delivery(self, e: Event, rule: str, owner: str | None,
                  period: int | None) -> None:
        if period is None or not reaches_person(e, self.settings.paging):
            return
        alert = self.alerts.get(e.fingerprint)
        if alert is None or alert.firing_since is None:
            return  # a notification that an alert resolved wakes no one up
        self.pages.delivered(e, period, rule, owner)

    def _ack(self, e: Event, rule: str, owner: str | None,
             period: int | None) -> None:
        self._touch(e.fingerprint)
        by = str(e.details.get("by", ""))
        for page in self.pages.about(e.fingerprint, e.at):
            page.acknowledge(e.at, by)

    def _feedback(self, e: Event, rule: str, owner: str | None,
                  period: int | None) -> None:
        self._touch(e.fingerprint)
        if period is not None and not self._verdicts_apart:
            self.verdicts.record(e, period, rule, owner)
        verdict = e.details.get("verdict")
        if verdict in VERDICTS:
            by = str(e.details.get("by", ""))
            for page in self.pages.about(e.fingerprint, e.at):
                page.verdicts[by] = str(verdict)

    def _silenced(self, e: Event, rule: str, owner: str | None,
                  period: int | None) -> None:
        named = e.details.get("silences")
        ids = [str(i) for i in named] if isinstance(named, list) else []
        self.silences.muted(ids, e.at, e.details.get("until"), period)
        alert = self._touch(e.fingerprint)
        if alert is not None:
            alert.silences.update(ids)
        if any(self.silences.commented(sid) for sid in ids):
            for page in self.pages.about(e.fingerprint, e.at):
                page.silenced_with_comment = True

    # --- rules -----------------------------------------------------------------------

    def _health(self, e: Event, rule: str, owner: str | None,
                period: int | None) -> None:
        state = str(e.details.get("health", ""))
        before = self.health.get(rule)
        if before is not None and before[0] == NODATA:
            self._add_nodata(rule, before[2], before[1], e.at)
        if state == ERROR and period is not None and (before is None or before[0] != ERROR):
            self._cell(period, rule, owner).eval_errors += 1
        self.health[rule] = (state, e.at, owner)

    def _add_nodata(self, rule: str, owner: str | None, since: float, until: float) -> None:
        for period in PERIODS:
            lo, hi = self.settings.bounds(period)
            seconds = overlap(since, until, lo, hi)
            if seconds > 0:
                self._cell(period, rule, owner).nodata_s += seconds

    def _count_verdict(self, v: Verdict) -> None:
        count_verdict(v, self.tallies)
