"""One rule's replays: under each change tried, what it would have saved, and of each
kind of change the best (alertd.whatif.recommend chooses the rules).

A rule's replays are a job of their own, everything they need in hand (the history was
read before), made to run in a thread or a worker process (alertd.whatif.workers).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alertd.config import Config
from alertd.dispatch.route import Route
from alertd.errors import AlertdError
from alertd.history import HistoryEvent
from alertd.lang.spec import AlertSpec
from alertd.noise import HistorySource, Settings
from alertd.noise.bands import zone
from alertd.noise.report import RuleRow
from alertd.rules.state import Timing
from alertd.whatif import config_edit, options
from alertd.whatif.compare import Actionable, Effect, effect
from alertd.whatif.conditions import Conditions, conditions
from alertd.whatif.edit import Edit
from alertd.whatif.episodes import episodes
from alertd.whatif.options import Option
from alertd.whatif.replay import Outcome, Routing, dispatch

log = logging.getLogger("alertd.whatif")

# How far before the period the condition timeline is read: firings that began before it
# are then replayed from their start (a change of `for` moves their first page).
LOOKBACK = 86400.0


@dataclass(frozen=True, slots=True)
class Inputs:
    history: HistorySource
    settings: Settings
    config: Config
    config_path: str | None  # the configuration file routing changes are written to
    rules: Mapping[str, tuple[AlertSpec, float]]  # name -> definition, interval


@dataclass(frozen=True, slots=True)
class Tried:
    option: Option
    effect: Effect
    edit: Edit | None  # made before the replay for a routing change; else when chosen


@dataclass(frozen=True, slots=True)
class Judged:
    option: Option
    diff: str
    path: str
    effect: Effect


# What a rule's replays need: everything but the history, which was read already.
Job = tuple["Inputs", RuleRow, list[HistoryEvent], list[Actionable]]


class NoHistory:
    """The history of a job: read before it was handed to a thread or a worker."""

    def between(self, since: float, until: float, kinds: Iterable[str] | None = None,
                owner: str | None = None, rule: str | None = None
                ) -> AsyncIterator[HistoryEvent]:
        raise AssertionError("a rule's replays read no history")


NO_HISTORY = NoHistory()


def judge_job(job: Job) -> list[Judged]:
    """`_judge` in a loop of its own (the replays' dispatcher and clock are made in it),
    in a thread or a worker process (alertd.whatif.workers)."""
    return asyncio.run(_judge(*job))


async def _judge(inputs: Inputs, row: RuleRow, transitions: list[HistoryEvent],
                 actionable: list[Actionable]) -> list[Judged]:
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
    tried: list[Tried] = []
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
            tried.append(Tried(option, result, edit))
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


def _best_of_each_kind(tried: Sequence[Tried], rule: str) -> list[Judged]:
    """Of each kind, the change that saves most pages safely (else the one that saves
    most), the smaller change first among equals, whose edit can be made: a rule-file
    edit (a rule file can be long to check) is made only for the change chosen, and the
    next is taken when it cannot be."""
    kinds: dict[str, list[tuple[int, Tried]]] = {}
    for order, t in enumerate(tried):  # in the order tried: the smaller change first
        kinds.setdefault(t.option.kind, []).append((order, t))
    best: list[Judged] = []
    for ranked in kinds.values():
        ranked.sort(key=lambda ot: (not ot[1].effect.safe, -ot[1].effect.pages_saved, ot[0]))
        for _, t in ranked:
            try:
                edit = t.edit or t.option.edit()
            except AlertdError as exc:
                log.info("recommendations for %s: %s left out: %s", rule, t.option.change,
                         exc)
                continue
            best.append(Judged(t.option, edit.diff, edit.path, t.effect))
            break
    return best


def facts(row: RuleRow) -> tuple[object, ...]:
    """What a rule's replays read of its report row (alertd.whatif.recommend._judge)."""
    return (row.rule, row.owner, row.figures.flaps_per_day > 0,
            row.figures.actionability in (None, 0.0))


def _read_text(path: str | None) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8") if path else None
    except (OSError, UnicodeDecodeError) as exc:
        log.info("recommendations: cannot read %s: %s", path, exc)
        return None


