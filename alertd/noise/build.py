"""The report from the history: `summarize` over events in hand (pure), `build_report` over
the store, streamed.

`build_report` reads two streams from the repository, each in time order and page by page:
the warm-up (state changes, silences and rule health from 90 days before the end, or from
the previous period's start if that is earlier) and then the events of the previous and
the current period that the figures are made of. It reads them with `scan`, which gives
pages of light rows (no labels nor severity) rather than one HistoryEvent at a time, and
reads the next page while this one is counted. Then, from a store, a third stream: the
periods' feedback events in the order of whose verdict on which page they are, so that
verdicts are counted one at a time rather than all kept to the end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from alertd.config.owners import Owner
from alertd.history import HistoryEvent
from alertd.noise.bands import BUSINESS, OFF, SLEEP, dates, zone
from alertd.noise.event import Event
from alertd.noise.figures import TOTAL, Scope, freeze, owner_scope, rule_scope
from alertd.noise.inputs import CURRENT, DAY, PERIODS, PREVIOUS, RuleInfo, Settings
from alertd.noise.report import (
    DayRow,
    Figures,
    OwnerRow,
    Report,
    RuleHealth,
    RuleRow,
    SilenceItem,
)
from alertd.noise.silences import SilenceRecord
from alertd.noise.stats import Aggregator

# What the warm-up needs: which alerts were firing and which silences muted them, which
# silences were active, each rule's health.
WARMUP_KINDS = ("transition", "silenced", "silence", "health")
# What the periods need; route, dedup, inhibited and muted events (one per alert per
# flush, a good share of the history) are not read at all.
PERIOD_KINDS = ("transition", "delivery", "ack", "feedback", "silenced", "silence", "health")


class HistorySource(Protocol):
    """Where the history is read from (alertd.store.notifications.HistoryRepository)."""

    def between(self, since: float, until: float, kinds: Iterable[str] | None = None,
                owner: str | None = None,
                rule: str | None = None) -> AsyncIterator[HistoryEvent]: ...


@runtime_checkable
class HistoryScan(Protocol):
    """Where `build_report` reads the history from best: `between`'s events of some kinds,
    a page at a time (alertd.store.notifications.HistoryRepository)."""

    def scan(self, since: float, until: float,
             kinds: Iterable[str] | None = None) -> AsyncIterator[Iterable[Event]]: ...


@runtime_checkable
class VoterScan(Protocol):
    """A history that gives the feedback events in the order of whose verdict on which page
    they are (alertd.store.notifications.HistoryRepository): verdicts are then counted one
    at a time rather than kept to the end of the report."""

    def feedback_by_voter(self, since: float,
                          until: float) -> AsyncIterator[Iterable[Event]]: ...


def settings_for(*, start: float, end: float, owner: str | None, rules: Sequence[RuleInfo],
                 owners: Sequence[Owner], paging: Mapping[str, bool],
                 self_resolve_minutes: float = 5) -> Settings:
    return Settings(
        start=start, end=end, owner=owner, rules=tuple(rules),
        zones=MappingProxyType({o.name: o.timezone for o in owners if o.timezone}),
        owner_names=tuple(o.name for o in owners), paging=MappingProxyType(dict(paging)),
        self_resolve_s=self_resolve_minutes * 60.0)


async def build_report(repository: HistoryScan | HistorySource, *, start: float, end: float,
                       owner: str | None, rules: Sequence[RuleInfo], owners: Sequence[Owner],
                       paging: Mapping[str, bool], now: float,
                       self_resolve_minutes: float = 5) -> Report:
    """The report of [start, end) and the period of the same length before it, for one
    owner or all; `paging` maps receiver names to their `paging` flag."""
    settings = settings_for(start=start, end=end, owner=owner, rules=rules, owners=owners,
                            paging=paging, self_resolve_minutes=self_resolve_minutes)
    by_voter = isinstance(repository, VoterScan)
    aggregator = Aggregator(settings, verdicts_apart=by_voter)
    feed = aggregator.feed
    if settings.warmup_start < settings.previous_start:
        async for page in _pages(repository, settings.warmup_start, settings.previous_start,
                                 WARMUP_KINDS):
            for e in page:
                feed(e)
    async for page in _pages(repository, settings.previous_start, settings.end,
                             PERIOD_KINDS):
        for e in page:
            feed(e)
    if by_voter:
        assert isinstance(repository, VoterScan)
        async for page in repository.feedback_by_voter(settings.previous_start,
                                                       settings.end):
            for e in page:
                aggregator.feed_verdict(e)
    aggregator.finish()
    return assemble(aggregator, now)


def _pages(repository: HistoryScan | HistorySource, since: float, until: float,
           kinds: Sequence[str]) -> AsyncIterator[Iterable[Event]]:
    if isinstance(repository, HistoryScan):
        return repository.scan(since, until, kinds=kinds)
    return _one_by_one(repository.between(since, until, kinds=kinds))


async def _one_by_one(events: AsyncIterator[HistoryEvent]) -> AsyncIterator[Iterable[Event]]:
    """Events read one at a time (a source without `scan`), as pages of one."""
    async for e in events:
        yield (e,)


def summarize(events: Iterable[Event], settings: Settings, *, now: float) -> Report:
    """The report over events given in time order (warm-up events included)."""
    aggregator = Aggregator(settings)
    for e in events:
        aggregator.feed(e)
    aggregator.finish()
    return assemble(aggregator, now)


def assemble(agg: Aggregator, now: float) -> Report:
    s = agg.settings
    days = {p: (s.bounds(p)[1] - s.bounds(p)[0]) / DAY for p in PERIODS}

    def figures(period: int, scope: Scope) -> Figures:
        return freeze(agg.tallies.peek(period, scope), days[period])

    def rule_row(name: str) -> RuleRow:
        scope = rule_scope(name)
        return RuleRow(name, _rule_owner(agg, name), figures(CURRENT, scope),
                       figures(PREVIOUS, scope))

    def owner_row(name: str | None) -> OwnerRow:
        scope = owner_scope(name)
        return OwnerRow(name, figures(CURRENT, scope), figures(PREVIOUS, scope))

    rules = sorted((rule_row(n) for n in _rule_names(agg)),
                   key=lambda r: (-r.figures.pages, -r.figures.firings, r.rule))
    owners = sorted((owner_row(n) for n in _owner_names(agg)),
                    key=lambda o: (-o.figures.pages, o.owner is None, o.owner or ""))
    return Report(
        start=s.start, end=s.end, previous_start=s.previous_start, owner=s.owner,
        generated_at=now, self_resolve_minutes=s.self_resolve_s / 60.0,
        totals=figures(CURRENT, TOTAL), totals_previous=figures(PREVIOUS, TOTAL),
        rules=tuple(rules), owners=tuple(owners), pages_per_day=_per_day(agg),
        long_running_silences=tuple(
            _item(r, since=True) for r in agg.silences.long_running(s.end, s.owner)),
        silences_matched_nothing=tuple(
            _item(r) for r in agg.silences.matched_nothing(s.start, s.end, s.owner)),
        rule_health=_rule_health(agg),
    )


def _rule_owner(agg: Aggregator, name: str) -> str | None:
    info = agg.rules.get(name)
    if info is not None and info.owner:
        return info.owner
    return agg.seen_owner.get(name)


def _own_rules(agg: Aggregator) -> list[RuleInfo]:
    """The rules the report is about: all, or the owner's."""
    owner = agg.settings.owner
    return [r for r in agg.settings.rules if owner is None or r.owner == owner]


def _rule_names(agg: Aggregator) -> set[str]:
    seen = {n for n in agg.tallies.names("rule") if n is not None}
    return seen | {r.name for r in _own_rules(agg)}


def _owner_names(agg: Aggregator) -> set[str | None]:
    wanted = agg.settings.owner
    configured = {n for n in agg.settings.owner_names if wanted is None or n == wanted}
    return agg.tallies.names("owner") | configured


def _per_day(agg: Aggregator) -> tuple[DayRow, ...]:
    s = agg.settings
    return tuple(DayRow(d.isoformat(), agg.days[(d, BUSINESS)], agg.days[(d, OFF)],
                        agg.days[(d, SLEEP)])
                 for d in dates(s.start, s.end, zone(s.report_zone())))


def _item(r: SilenceRecord, *, since: bool = False) -> SilenceItem:
    return SilenceItem(r.id, r.matchers, r.by, r.comment, r.starts_at if since else None)


def _rule_health(agg: Aggregator) -> RuleHealth:
    mine = _own_rules(agg)
    return RuleHealth(
        without_owner=tuple(sorted(r.name for r in mine if not r.owner)),
        without_runbook=tuple(sorted(r.name for r in mine if not r.runbook)),
        never_fired_90d=tuple(sorted(r.name for r in mine
                                     if r.name not in agg.fired_recently)),
    )
