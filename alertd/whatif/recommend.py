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
every change of the kind would lose one: it is then not safe; alertd.whatif.judge). The
recommendations are ranked by pages saved.

The replays are what takes time (a second or two per rule over a busy quarter): they run
in worker processes (alertd.whatif.workers), and those of the rules most likely chosen
start while the report's figures are still being counted (Recommender.guess).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from alertd.errors import AlertdError
from alertd.history import HistoryEvent
from alertd.noise import Report
from alertd.noise.build import assemble
from alertd.noise.inputs import CURRENT
from alertd.noise.pages import Page
from alertd.noise.report import RuleRow
from alertd.noise.stats import Aggregator
from alertd.whatif import judge, workers
from alertd.whatif.compare import Actionable
from alertd.whatif.judge import LOOKBACK, Inputs

log = logging.getLogger("alertd.whatif")

MAX_RULES = 10
# How many more rules than MAX_RULES are guessed (those the figures do not choose are
# called off before they begin, most often).
GUESSED_MORE = 0
MIN_PAGES = 3
RARELY_ACTED = 0.5
RULE_KINDS = ("transition", "delivery", "ack", "feedback", "silenced")


@runtime_checkable
class PagedRules(Protocol):
    """A history that counts pages (alertd.store.notifications.HistoryRepository)."""

    async def paged_rules(self, since: float, until: float, *, owner: str | None = None,
                          quiet: Sequence[str] = (),
                          limit: int = 10) -> list[tuple[str, int]]: ...


async def recommend(inputs: Inputs, report: Report) -> tuple[dict[str, Any], ...]:
    """The recommendations for the report's period, ranked by pages saved."""
    recommender = Recommender(inputs)
    try:
        return await recommender.recommend(report)
    finally:
        await recommender.close()


@dataclass(frozen=True, slots=True)
class _Started:
    job: judge.Job
    future: asyncio.Future[list[judge.Judged]]


class Recommender:
    """The recommendations of a report, whose replays can start before the report's figures
    are known: `guess` starts those of the rules that paged most (the store counts
    them in a moment), which are most often the rules recommended on; then
    `recommend` keeps the replays of the rules the figures chose (each done for the rule's
    own owner and figures, else done again), calls off the others, and starts the rest.
    The recommendations are the same either way; only their time differs."""

    def __init__(self, inputs: Inputs) -> None:
        self.inputs = inputs
        self._workers: workers.Workers[judge.Job, list[judge.Judged]] | None = None
        self._started: dict[str, _Started] = {}
        self._silences: list[HistoryEvent] | None = None

    async def guess(self) -> None:
        """Start the replays of the rules most likely recommended on (those that paged
        most); a history that cannot count (or fails to) starts none."""
        if not isinstance(self.inputs.history, PagedRules):
            return
        s = self.inputs.settings
        quiet = [name for name, paging in s.paging.items() if not paging]
        try:
            paged = await self.inputs.history.paged_rules(
                s.start, s.end, owner=s.owner, quiet=quiet, limit=MAX_RULES + GUESSED_MORE)
            rules = [(name, n) for name, n in paged if name in self.inputs.rules]
            pool = self._open(workers.parallel(sum(n for _, n in rules)))
            for name, _ in rules:
                job = await self._job(name, None)
                if job is not None:
                    self._started[name] = _Started(job, await pool.submit(job))
        except AlertdError as exc:  # the figures will say which rules: no harm done
            log.info("recommendations: no rules guessed: %s", exc)

    async def recommend(self, report: Report) -> tuple[dict[str, Any], ...]:
        """The recommendations for the report's period, ranked by pages saved."""
        rows = candidates(report, self.inputs.rules)
        kept = {row.rule: started for row in rows
                if (started := self._started.get(row.rule)) is not None
                and judge.facts(started.job[1]) == judge.facts(row)}
        for rule, started in self._started.items():
            if kept.get(rule) is not started:
                started.future.cancel()
        try:
            read = [(row, job) for row in rows if row.rule not in kept
                    if (job := await self._job(row.rule, row)) is not None]
        except AlertdError as exc:  # a store error, say: the report stands without them
            log.error("recommendations: %s", exc)
            return ()
        pool = self._open(workers.parallel(sum(len(job[2]) for _, job in read)))
        for row, job in read:
            kept[row.rule] = _Started(job, await pool.submit(job))
        found: list[tuple[RuleRow, judge.Judged]] = []
        for row in rows:
            found += [(row, j) for j in await self._result(row, kept[row.rule])]
        found.sort(key=lambda rj: (-rj[1].effect.pages_saved, not rj[1].effect.safe,
                                   rj[0].rule, rj[1].option.kind))
        return tuple(_json(row, j) for row, j in found)

    async def close(self) -> None:
        if self._workers is not None:
            await self._workers.close()

    def _open(self, processes: int) -> workers.Workers[judge.Job, list[judge.Judged]]:
        if self._workers is None:
            self._workers = workers.Workers(judge.judge_job, processes)
        return self._workers

    async def _job(self, rule: str, row: RuleRow | None) -> judge.Job | None:
        """The rule's replays as a job, its history read: for `row`, else for the rule's
        own figures (those of its events alone; None when it has none)."""
        if self._silences is None:
            self._silences = await _silences(self.inputs)
        transitions, actionable, own = await _read(self.inputs, rule, self._silences)
        chosen = row or own
        if chosen is None:
            return None
        return replace(self.inputs, history=judge.NO_HISTORY), chosen, transitions, actionable

    async def _result(self, row: RuleRow, started: _Started) -> list[judge.Judged]:
        assert self._workers is not None
        judged = await self._workers.result(started.job, started.future)
        if isinstance(judged, AlertdError):  # a rule file that cannot be read, say
            log.error("recommendations for %s: %s", row.rule, judged)
            return []
        if isinstance(judged, BaseException):
            raise judged
        return judged


def candidates(report: Report, rules: Mapping[str, object]) -> list[RuleRow]:
    """The rules of the configuration that paged at least MIN_PAGES times and were rarely
    acted on, those that paged most first."""
    rows = [r for r in report.rules if r.rule in rules and r.figures.pages >= MIN_PAGES
            and (r.figures.actionability or 0.0) < RARELY_ACTED]
    return rows[:MAX_RULES]  # report.rules is ordered by pages


async def _silences(inputs: Inputs) -> list[HistoryEvent]:
    """The silences' lifecycle, which every rule's pages are judged with."""
    s = inputs.settings
    return [e async for e in inputs.history.between(s.warmup_start, s.end,
                                                    kinds=("silence",))]


async def _read(inputs: Inputs, rule: str, silences: list[HistoryEvent]
                ) -> tuple[list[HistoryEvent], list[Actionable], RuleRow | None]:
    """The rule's transitions from LOOKBACK before the period, its pages of the period
    that people acted on (the report's own definition: its aggregator, fed the rule's
    events and the silences' lifecycle), and the figures of those events."""
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
    own = next((r for r in assemble(aggregator, s.end).rules if r.rule == rule), None)
    return transitions, sorted(acted, key=lambda a: a.at), own


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


def _json(row: RuleRow, j: judge.Judged) -> dict[str, Any]:
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
