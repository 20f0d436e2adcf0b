"""The statistics, in one pass over the history in time order.

Memory follows what is open, not how much happened: the alerts pending or firing now,
the pages whose alerts still fire, the silences active since the previous period began,
the flap detectors of instances that changed state within their last window, one verdict
per person and page, and running totals per period and rule or owner. An event is
forgotten once counted.

Events before the previous period (the warm-up) only set up state: which alerts were
already firing, which silences were active, which rules had fired in the last 90 days.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from datetime import date, tzinfo

from alertd.history import HistoryEvent
from alertd.noise.bands import band, local_date, zone
from alertd.noise.figures import TOTAL, Scope, Tallies, Tally, owner_scope, rule_scope, scopes
from alertd.noise.inputs import (
    CURRENT,
    DEFAULT_STEP,
    LONG_RUNNING,
    NEVER_FIRED_WINDOW,
    PERIODS,
    PREVIOUS,
    Settings,
)
from alertd.noise.pages import Page, PageBook, reaches_person
from alertd.noise.silences import SilenceBook
from alertd.noise.timeline import OpenAlert, Track, covered, follow, overlap
from alertd.noise.verdicts import VERDICTS, Verdict, VerdictBook

FIRING, PENDING = "firing", "pending"
ERROR, NODATA = "error", "nodata"
# How often (in event time) flap detectors of quiet instances and ended silences are
# dropped.
SWEEP_EVERY = 3600.0

Handler = Callable[[HistoryEvent, str, str | None, int | None], None]


class Aggregator:
    def __init__(self, settings: Settings,
                 on_page: Callable[[Page], None] | None = None) -> None:
        """`on_page` is told of each page once it is done (the recommendations' replay
        compares its pages with these)."""
        self.settings = settings
        self.on_page = on_page
        self.tallies = Tallies()
        self.alerts: dict[str, OpenAlert] = {}
        self.tracks: dict[str, Track] = {}
        self.pages = PageBook()
        self.silences = SilenceBook()
        self.verdicts = VerdictBook()
        self.health: dict[str, tuple[str, float, str | None]] = {}  # rule -> state, since
        self.fired_recently: set[str] = set()
        self.seen_owner: dict[str, str | None] = {}  # rule -> owner of its first alert
        self.days: Counter[tuple[date, str]] = Counter()  # pages by local date and band
        self.rules = {r.name: r for r in settings.rules}
        self._zones: dict[str | None, tzinfo] = {}
        self._report_zone = zone(settings.report_zone())
        self._flapping: set[tuple[int, str]] = set()  # (period, fingerprint) counted
        self._previous_done = False
        self._next_sweep = -math.inf
        self._handlers: dict[str, Handler] = {
            "transition": self._transition, "delivery": self._delivery, "ack": self._ack,
            "feedback": self._feedback, "silenced": self._silenced, "health": self._health,
        }

    # --- reading ---------------------------------------------------------------------

    def feed(self, e: HistoryEvent) -> None:
        """Count one event in; events must come in time order."""
        s = self.settings
        if e.at >= s.end:
            return
        self._advance(e.at)
        if e.kind == "silence":
            self.silences.lifecycle(e)
            return
        rule = e.rule or e.alertname
        owner = self._owner(e, rule)
        if (e.kind == "transition" and e.details.get("to") == FIRING
                and e.at >= s.end - NEVER_FIRED_WINDOW):
            self.fired_recently.add(rule)
        if s.owner is not None and owner != s.owner:
            return
        handler = self._handlers.get(e.kind)
        if handler is not None:
            handler(e, rule, owner, s.period_of(e.at))

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
            self._count_page(page)
        for rule, (state, since, owner) in self.health.items():
            if state == NODATA:
                self._add_nodata(rule, owner, since, s.end)
        for verdict in self.verdicts:
            self._count_verdict(verdict)

    def _owner(self, e: HistoryEvent, rule: str) -> str | None:
        if e.owner:
            return e.owner
        info = self.rules.get(rule)
        return info.owner if info is not None and info.owner else None

    def _tally(self, period: int, scope: Scope) -> Tally:
        return self.tallies(period, scope)

    def _advance(self, at: float) -> None:
        if not self._previous_done and at > self.settings.start:
            self._previous_done = True
            self._count_long_firings(PREVIOUS, self.settings.start)
        if at >= self._next_sweep:
            self._sweep(at)
            self._next_sweep = at + SWEEP_EVERY

    def _sweep(self, at: float) -> None:
        detector = self.settings.flap
        quiet = [fp for fp, t in self.tracks.items()
                 if fp not in self.alerts and t.quiet_since(at, detector)]
        for fp in quiet:
            del self.tracks[fp]
        # A silence that ended before the previous period mutes nothing the report counts.
        self.silences.prune(min(at, self.settings.previous_start))

    def _count_long_firings(self, period: int, at: float) -> None:
        for alert in self.alerts.values():
            if alert.firing_since is not None and at - alert.firing_since > LONG_RUNNING:
                for scope in scopes(alert.rule, alert.owner):
                    self._tally(period, scope).over_7d += 1

    # --- alerts ----------------------------------------------------------------------

    def _transition(self, e: HistoryEvent, rule: str, owner: str | None,
                    period: int | None) -> None:
        to = e.details.get("to")
        self.seen_owner.setdefault(rule, owner)
        self._observe(e, rule, owner, period, to == FIRING)
        if to == FIRING:
            self._fire(e, rule, owner, period)
        elif to == PENDING:
            self.alerts.setdefault(e.fingerprint, OpenAlert(rule, owner))
        else:
            self._resolve(e, rule, owner, period)

    def _observe(self, e: HistoryEvent, rule: str, owner: str | None, period: int | None,
                 firing: bool) -> None:
        info = self.rules.get(rule)
        step = info.interval if info is not None and info.interval else DEFAULT_STEP
        track = follow(self.settings.flap, self.tracks.get(e.fingerprint), e.at, firing, step)
        self.tracks[e.fingerprint] = track
        if period is None or not track.state.flapping:
            return
        if (period, e.fingerprint) not in self._flapping:
            self._flapping.add((period, e.fingerprint))
            for scope in scopes(rule, owner):
                self._tally(period, scope).flapping += 1

    def _fire(self, e: HistoryEvent, rule: str, owner: str | None,
              period: int | None) -> None:
        alert = self.alerts.get(e.fingerprint)
        if alert is not None and alert.firing_since is not None:
            return  # firing already: recorded twice (a restart), not a new firing
        self.alerts[e.fingerprint] = OpenAlert(rule, owner, e.at)
        if period is not None:
            for scope in scopes(rule, owner):
                self._tally(period, scope).firings += 1

    def _resolve(self, e: HistoryEvent, rule: str, owner: str | None,
                 period: int | None) -> None:
        if period is not None and e.details.get("from") == FIRING:
            for scope in scopes(rule, owner):
                self._tally(period, scope).cycles += 1
        alert = self.alerts.pop(e.fingerprint, None)
        if alert is not None and alert.firing_since is not None:
            self._close_firing(alert, e.at, resolved=True)
        for page in self.pages.resolved(e.fingerprint):
            self._count_page(page)

    def _close_firing(self, alert: OpenAlert, at: float, *, resolved: bool) -> None:
        since = alert.firing_since
        assert since is not None
        muted = [iv for sid in alert.silences if (iv := self.silences.interval(sid))]
        for period in PERIODS:
            lo, hi = self.settings.bounds(period)
            lo, hi = max(lo, since), min(hi, at)
            if hi <= lo:
                continue
            silenced = covered(muted, lo, hi)
            for scope in scopes(alert.rule, alert.owner):
                tally = self._tally(period, scope)
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
        for scope in scopes(alert.rule, alert.owner):
            if ended_in is not None:
                self._tally(ended_in, scope).durations.append(lasted)
            if started_in is not None and known:
                tally = self._tally(started_in, scope)
                tally.self_judged += 1
                tally.self_resolved += int(by_itself)

    # --- people ----------------------------------------------------------------------

    def _touch(self, fingerprint: str) -> OpenAlert | None:
        alert = self.alerts.get(fingerprint)
        if alert is None or alert.firing_since is None:
            return None
        alert.touched = True
        return alert

    def _delivery(self, e: HistoryEvent, rule: str, owner: str | None,
                  period: int | None) -> None:
        if period is None or not reaches_person(e, self.settings.paging):
            return
        alert = self.alerts.get(e.fingerprint)
        if alert is None or alert.firing_since is None:
            return  # a notification that an alert resolved wakes no one up
        self.pages.delivered(e, period, rule, owner)

    def _ack(self, e: HistoryEvent, rule: str, owner: str | None,
             period: int | None) -> None:
        self._touch(e.fingerprint)
        by = str(e.details.get("by", ""))
        for page in self.pages.about(e.fingerprint, e.at):
            page.acknowledge(e.at, by)

    def _feedback(self, e: HistoryEvent, rule: str, owner: str | None,
                  period: int | None) -> None:
        self._touch(e.fingerprint)
        if period is not None:
            self.verdicts.record(e, period, rule, owner)
        verdict = e.details.get("verdict")
        if verdict in VERDICTS:
            by = str(e.details.get("by", ""))
            for page in self.pages.about(e.fingerprint, e.at):
                page.verdicts[by] = str(verdict)

    def _silenced(self, e: HistoryEvent, rule: str, owner: str | None,
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

    def _health(self, e: HistoryEvent, rule: str, owner: str | None,
                period: int | None) -> None:
        state = str(e.details.get("health", ""))
        before = self.health.get(rule)
        if before is not None and before[0] == NODATA:
            self._add_nodata(rule, before[2], before[1], e.at)
        if state == ERROR and period is not None and (before is None or before[0] != ERROR):
            for scope in scopes(rule, owner):
                self._tally(period, scope).eval_errors += 1
        self.health[rule] = (state, e.at, owner)

    def _add_nodata(self, rule: str, owner: str | None, since: float, until: float) -> None:
        for period in PERIODS:
            lo, hi = self.settings.bounds(period)
            seconds = overlap(since, until, lo, hi)
            if seconds > 0:
                for scope in scopes(rule, owner):
                    self._tally(period, scope).nodata_s += seconds

    # --- counting what is done -------------------------------------------------------

    def _zone(self, owner: str | None) -> tzinfo:
        found = self._zones.get(owner)
        if found is None:
            found = self._zones[owner] = zone(self.settings.zones.get(owner or ""))
        return found

    def _count_page(self, page: Page) -> None:
        """A page whose alerts all resolved (or the period ended): counted once in the
        totals, once for each rule and each owner of the alerts it carried."""
        if self.on_page is not None:
            self.on_page(page)
        owners = sorted(page.owners, key=lambda o: (o is None, o or ""))
        # The band of the totals and of the rules: in the zone of the page's owner (the
        # first by name, when it carried alerts of several).
        main = band(page.at, self._zone(owners[0] if owners else None))
        for scope in (TOTAL, *(rule_scope(r) for r in sorted(page.rules))):
            _add_page(self._tally(page.period, scope), page, main)
        for owner in owners:
            _add_page(self._tally(page.period, owner_scope(owner)), page,
                      band(page.at, self._zone(owner)))
        if page.period == CURRENT:
            self.days[(local_date(page.at, self._report_zone), main)] += 1

    def _count_verdict(self, v: Verdict) -> None:
        targets = (TOTAL, *(rule_scope(r) for r in v.rules),
                   *(owner_scope(o) for o in v.owners))
        for scope in targets:
            tally = self._tally(v.period, scope)
            if v.verdict == "useful":
                tally.useful += 1
            else:
                tally.noise += 1
            if v.reason:
                tally.reasons[v.reason] += 1


def _add_page(tally: Tally, page: Page, in_band: str) -> None:
    tally.pages += 1
    tally.bands[in_band] += 1
    if page.acked_at is not None:
        tally.acked += 1
        tally.ack_waits.append(page.acked_at - page.at)
        tally.ackers[page.acker or ""] += 1
    if page.actioned:
        tally.actioned += 1
