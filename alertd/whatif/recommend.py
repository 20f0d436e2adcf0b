"""Recommendations for the rules that page and are rarely acted on, each with what it
would have saved in the report's period, found by replaying the rule's recorded
condition timeline under the change (alertd.whatif.replay) and comparing with the replay
of things as they are (alertd.whatif.compare).

For each such rule (the MAX_RULES that paged most, at least MIN_PAGES times, with an
actionability under RARELY_ACTED), the changes tried are: longer `for` values, longer
keep_firing_for values when the rule flaps, a route of its own that groups by alertname
or waits longer, its sleep-hour notifications sent to a receiver marked `paging: false`,
and deleting the rule when none of its pages was acted on. Of each kind, the change that
saves most pages without losing an actionable one is kept (the one that saves most when
every change of the kind would lose one: it is then not safe). The recommendations are
ranked by pages saved.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from alertd.config import Config
from alertd.dispatch.route import Route
from alertd.errors import AlertdError
from alertd.history import HistoryEvent
from alertd.noise import HistorySource, Report, Settings
from alertd.noise.bands import zone
from alertd.noise.inputs import CURRENT
from alertd.noise.pages import Page
from alertd.noise.report import RuleRow
from alertd.noise.stats import Aggregator
from alertd.rules.spec import AlertSpec
from alertd.rules.state import Timing
from alertd.whatif import config_edit, options, workers
from alertd.whatif.compare import Actionable, Effect, effect
from alertd.whatif.conditions import Conditions, conditions
from alertd.whatif.edit import Edit
from alertd.whatif.episodes import episodes
from alertd.whatif.options import Option
from alertd.whatif.replay import Outcome, Routing, dispatch

log = logging.getLogger("alertd.whatif")

MAX_RULES = 10
MIN_PAGES = 3
RARELY_ACTED = 0.5
# How far before the period the condition timeline is read: firings that began before it
# are then replayed from their start (a change of `for` moves their first page).
LOOKBACK = 86400.0
RULE_KINDS = ("transition", "delivery", "ack", "feedback", "silenced")


@dataclass(frozen=True, slots=True)
class Inputs:
    history: HistorySource
    settings: Settings
    config: Config
    config_path: str | None  # the configuration file routing changes are written to
    rules: Mapping[str, tuple[AlertSpec, float]]  # name -> definition, interval


@dataclass(frozen=True, slots=True)
class _Tried:
    option: Option
    effect: Effect
    edit: Edit | None  # made before the replay for a routing change; else when chosen


@dataclass(frozen=True, slots=True)
class _Judged:
    option: Option
    diff: str
    path: str
    effect: Effect


async def recommend(inputs: Inputs, report: Report) -> tuple[dict[str, Any], ...]:
    """The recommendations for the report's period, ranked by pages saved."""
    found: list[tuple[RuleRow, _Judged]] = []
    rows = candidates(report, inputs.rules)
    try:
        silences = await _silences(inputs) if rows else []
    except AlertdError as exc:  # a store error, say: the report stands without them
        log.error("recommendations: %s", exc)
        return ()
    jobs: list[_Job] = []
    for row in rows:
        try:
            transitions, actionable = await _read(inputs, row.rule, silences)
        except AlertdError as exc:  # a store error, say: the report stands without it
            log.error("recommendations for %s: %s", row.rule, exc)
            continue
        jobs.append((replace(inputs, history=_NO_HISTORY), row, transitions, actionable))
    results = await workers.run_all(jobs, _judge_job, lambda job: len(job[2]))
    for (_, row, _, _), judged in zip(jobs, results, strict=True):
        if isinstance(judged, AlertdError):  # a rule file that cannot be read, say
            log.error("recommendations for %s: %s", row.rule, judged)
        elif isinstance(judged, BaseException):
            raise judged
        else:
            found += [(row, j) for j in judged]
    found.sort(key=lambda rj: (-rj[1].effect.pages_saved, not rj[1].effect.safe,
                               rj[0].rule, rj[1].option.kind))
    return tuple(_json(row, j) for row, j in found)


def candidates(report: Report, rules: Mapping[str, object]) -> list[RuleRow]:
    """The rules of the configuration that paged at least MIN_PAGES times and were rarely
    acted on, those that paged most first."""
    rows = [r for r in report.rules if r.rule in rules and r.figures.pages >= MIN_PAGES
            and (r.figures.actionability or 0.0) < RARELY_ACTED]
    return rows[:MAX_RULES]  # report.rules is ordered by pages


# What a rule's replays need: everything but the history, which was read already.
_Job = tuple["Inputs", RuleRow, list[HistoryEvent], list[Actionable]]


class _NoHistory:
    """The history of a job: read before it was handed to a thread or a worker."""

    def between(self, since: float, until: float, kinds: Iterable[str] | None = None,
                owner: str | None = None, rule: str | None = None
                ) -> AsyncIterator[HistoryEvent]:
        raise AssertionError("a rule's replays read no history")


_NO_HISTORY = _NoHistory()


def _judge_job(job: _Job) -> list[_Judged]:
    """`_judge` in a loop of its own (the replays' dispatcher and clock are made in it),
    in a thread or a worker process (alertd.whatif.workers)."""
    return asyncio.run(_judge(*job))


async def _judge(inputs: Inputs, row: RuleRow, transitions: list[HistoryEvent],
                 actionable: list[Actionable]) -> list[_Judged]:
    """The best change of each kind for the rule, from its recorded transitions and the
    pages people acted on."""
    s = inputs.settings
    spec, interval = inputs.rules[row.rule]
    timeline = episodes(transitions, since=s.start - LOOKBACK, for_=spec.for_,
                        keep_firing_for=spec.keep_firing_for)
    timing = Timing(spec.for_, spec.keep_firing_for)
    routing = Routing.of(inputs.config)
    # The state machine's half of a replay, once per timing: every routing change keeps
    # the rule's own.
    alerts: dict[Timing, Conditions] = {}

    def under(t: Timing) -> Conditions:
        if t not in alerts:
            alerts[t] = conditions(row.rule, timeline, t, interval, s.end)
        return alerts[t]

    baseline = await dispatch(under(timing), routing, until=s.end)
    where = zone(s.zones.get(row.owner or ""))
    tried: list[_Tried] = []
    for option in _options(inputs, row, spec, timing, routing, timeline):
        edit, changed = None, routing
        if option.config_changed:  # the replay runs the changed configuration
            try:
                edit = option.edit()
                changed = Routing.of(config_edit.parsed(edit.after, edit.path))
            except AlertdError as exc:
                log.info("recommendations for %s: %s left out: %s", row.rule, option.change,
                         exc)
                continue
        after = Outcome() if option.kind == options.DELETE else await dispatch(
            under(option.timing), changed, until=s.end)
        result = effect(baseline, after, actionable, start=s.start, end=s.end, where=where,
                        slack=interval)
        if result.pages_saved > 0:
            tried.append(_Tried(option, result, edit))
    return _best_of_each_kind(tried, row.rule)


def _options(inputs: Inputs, row: RuleRow, spec: AlertSpec, timing: Timing,
             routing: Routing, timeline: Sequence[Any]) -> Iterator[Option]:
    text = _read_text(spec.path)
    if text is not None:
        yield from options.rule_options(spec, text, timing,
                                        flapping=row.figures.flaps_per_day > 0)
        if row.figures.actionability in (None, 0.0):
            yield options.delete_option(spec, text, timing)
    path = inputs.config_path
    config_text = _read_text(path) if path else None
    base = _only_route(routing.routes, (ep.labels for ep in timeline))
    if path is None or config_text is None or base is None:
        return
    yield from options.route_options(row.rule, path, config_text, base, timing)
    tickets = _ticket_receiver(inputs.config, base.receiver)
    if tickets is not None:
        yield options.sleep_option(row.rule, path, config_text, base, timing,
                                   tickets=tickets,
                                   zone=inputs.settings.zones.get(row.owner or ""))


def _only_route(routes: Route, labels: Iterable[Mapping[str, str]]) -> Route | None:
    """The route every alert of the rule takes, when they all take the same one."""
    taken = {tuple(routes.match(ls)) for ls in labels}
    if len(taken) != 1:
        return None
    (only,) = taken
    return only[0] if len(only) == 1 else None


def _ticket_receiver(config: Config, current: str) -> str | None:
    """A receiver nobody is woken by (`paging: false`) that sends somewhere; one named
    like a ticket queue first."""
    quiet = [r.name for r in config.receivers if not r.paging and r.name != current
             and (r.webhook_configs or r.slack_configs or r.pagerduty_configs
                  or r.mqtt_configs)]
    quiet.sort(key=lambda name: ("ticket" not in name.lower(), name))
    return quiet[0] if quiet else None


def _best_of_each_kind(tried: Sequence[_Tried], rule: str) -> list[_Judged]:
    """Of each kind, the change that saves most pages safely (else the one that saves
    most), the smaller change first among equals, whose edit can be made: a rule-file
    edit (a rule file can be long to check) is made only for the change chosen, and the
    next is taken when it cannot be."""
    kinds: dict[str, list[tuple[int, _Tried]]] = {}
    for order, t in enumerate(tried):  # in the order tried: the smaller change first
        kinds.setdefault(t.option.kind, []).append((order, t))
    best: list[_Judged] = []
    for ranked in kinds.values():
        ranked.sort(key=lambda ot: (not ot[1].effect.safe, -ot[1].effect.pages_saved, ot[0]))
        for _, t in ranked:
            try:
                edit = t.edit or t.option.edit()
            except AlertdError as exc:
                log.info("recommendations for %s: %s left out: %s", rule, t.option.change,
                         exc)
                continue
            best.append(_Judged(t.option, edit.diff, edit.path, t.effect))
            break
    return best


async def _silences(inputs: Inputs) -> list[HistoryEvent]:
    """The silences' lifecycle, which every rule's pages are judged with."""
    s = inputs.settings
    return [e async for e in inputs.history.between(s.warmup_start, s.end,
                                                    kinds=("silence",))]


async def _read(inputs: Inputs, rule: str, silences: list[HistoryEvent]
                ) -> tuple[list[HistoryEvent], list[Actionable]]:
    """The rule's transitions from LOOKBACK before the period, and its pages of the
    period that people acted on (the report's own definition: its aggregator, fed the
    rule's events and the silences' lifecycle)."""
    s = inputs.settings
    since = s.start - LOOKBACK
    transitions: list[HistoryEvent] = []
    acted: list[Actionable] = []

    def on_page(page: Page) -> None:
        if page.period == CURRENT and page.actioned:
            acted.append(Actionable(page.at, frozenset(page.alerts)))

    aggregator = Aggregator(s, on_page=on_page)
    events = inputs.history.between(since, s.end, kinds=RULE_KINDS, rule=rule)
    async for e in _merged(silences, events):
        if e.kind == "transition":
            transitions.append(e)
        aggregator.feed(e)
    aggregator.finish()
    return transitions, sorted(acted, key=lambda a: a.at)


async def _merged(first: list[HistoryEvent],
                  rest: AsyncIterator[HistoryEvent]) -> AsyncIterator[HistoryEvent]:
    """Both streams in time order (`first` in hand, `rest` read as it comes)."""
    pending = [(e.at, i, e) for i, e in enumerate(first)]
    heapq.heapify(pending)
    async for e in rest:
        while pending and pending[0][0] <= e.at:
            yield heapq.heappop(pending)[2]
        yield e
    while pending:
        yield heapq.heappop(pending)[2]


def _read_text(path: str | None) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8") if path else None
    except (OSError, UnicodeDecodeError) as exc:
        log.info("recommendations: cannot read %s: %s", path, exc)
        return None


def _json(row: RuleRow, j: _Judged) -> dict[str, Any]:
    e = j.effect
    return {
        "rule": row.rule, "owner": row.owner, "kind": j.option.kind,
        "change": j.option.change, "file": j.path, "diff": j.diff,
        "pages_recorded": row.figures.pages,
        "pages_before": e.pages_before, "pages_after": e.pages_after,
        "pages_saved": e.pages_saved, "sleep_pages_saved": e.sleep_pages_saved,
        "actionable_pages": e.actionable, "actionable_lost": e.lost,
        "actionable_delayed": e.delayed, "max_delay_s": e.max_delay_s, "safe": e.safe,
    }
