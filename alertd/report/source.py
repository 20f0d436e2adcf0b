"""Where a report comes from: the noise statistics over a store's history.

The renderers only know the report's JSON form; this module is the one place that calls
the statistics (`alertd.noise`), imported when a report is built, so that rendering never
depends on them. A `ReportSource` is what the daemon's routes call; tests give their own.

    source = daemon_source(daemon)              # the running daemon's store and rules
    report = await source(ReportQuery(start, end, owner, now))
    report = await report_from_config(config, query)   # `alertd report`, daemon or not
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from alertd.config import Config
from alertd.config.owners import Owner
from alertd.errors import AlertdError
from alertd.lang.spec import AlertSpec
from alertd.store import Store

if TYPE_CHECKING:
    from alertd.store.notifications import HistoryRepository


class _Flushable(Protocol):
    async def flush(self) -> int: ...


class _RuleGroup(Protocol):
    @property
    def rules(self) -> Sequence[_Rule]: ...


class _Rule(Protocol):
    @property
    def spec(self) -> AlertSpec: ...

    @property
    def interval(self) -> float: ...


class _Rules(Protocol):
    @property
    def groups(self) -> Sequence[_RuleGroup]: ...


class Running(Protocol):
    """What a report reads of the running daemon (alertd.daemon.Daemon), each time."""

    @property
    def store(self) -> Store | None: ...

    @property
    def history(self) -> _Flushable | None: ...

    @property
    def manager(self) -> _Rules: ...

    @property
    def config(self) -> Config: ...

    @property
    def config_path(self) -> str | None: ...


class ReportUnavailable(AlertdError):
    """No report can be built now: the store is missing or not open yet."""


@dataclass(frozen=True, slots=True)
class ReportQuery:
    start: float
    end: float
    owner: str | None
    now: float


ReportSource = Callable[[ReportQuery], Awaitable[dict[str, Any]]]


# A rule as the report needs it: its checked definition and its evaluation interval.
RuleSpec = tuple[AlertSpec, float]


def rule_infos(rules: Iterable[RuleSpec], owners: Sequence[Owner]) -> list[Any]:
    """Each rule's name, owner, runbook and interval; owner and runbook as alerts get them
    at ingest: the rule's own (or its group's), else the first `owners` entry matching
    its static labels."""
    from alertd.noise import RuleInfo

    infos = []
    for alert, interval in rules:
        labels = {**alert.labels, "alertname": alert.name}
        if alert.severity:
            labels["severity"] = alert.severity
        matched = next((o for o in owners if o.matches(labels)), None)
        named = next((o for o in owners if o.name == alert.owner), None) if alert.owner \
            else matched
        owner = alert.owner or (matched.name if matched else None)
        runbook = alert.runbook or (named.runbook_url(alert.name) if named else None)
        infos.append(RuleInfo(alert.name, owner, runbook, interval))
    return infos


async def build(history: HistoryRepository, config: Config, rules: Iterable[RuleSpec],
                query: ReportQuery, config_path: str | None = None) -> dict[str, Any]:
    """The report over `history` in its JSON form, with its recommendations (routing
    changes are written against the configuration file at `config_path`, when given)."""
    from alertd.noise import build_report, settings_for
    from alertd.whatif.judge import Inputs
    from alertd.whatif.recommend import Recommender

    specs = list(rules)
    infos = rule_infos(specs, config.owners)
    paging = {r.name: r.paging for r in config.receivers}
    settings = settings_for(start=query.start, end=query.end, owner=query.owner,
                            rules=infos, owners=config.owners, paging=paging)
    inputs = Inputs(history, settings, config, config_path,
                    {spec.name: (spec, interval) for spec, interval in specs})
    recommender = Recommender(inputs)
    try:
        # The replays of the rules likely recommended on run while the figures are
        # counted (on the other cores, in worker processes).
        guessing = asyncio.create_task(recommender.guess())
        try:
            report = await build_report(
                history, start=query.start, end=query.end, owner=query.owner, rules=infos,
                owners=config.owners, paging=paging, now=query.now)
        finally:
            await guessing
        report = replace(report, recommendations=await recommender.recommend(report))
    finally:
        await recommender.close()
    return dict(report.to_json())


def daemon_source(daemon: Running) -> ReportSource:
    """Reports over the running daemon's store, its current rules and configuration (looked
    up at each request, so a reload applies at once)."""

    async def source(query: ReportQuery) -> dict[str, Any]:
        store = daemon.store
        if store is None:
            raise ReportUnavailable("alertd has not started: no store is open yet")
        if daemon.history is not None:
            await daemon.history.flush()  # the events of the last second count too
        rules = [(rule.spec, rule.interval) for group in daemon.manager.groups
                 for rule in group.rules]
        return await build(store.history, daemon.config, rules, query, daemon.config_path)

    return source


def config_rules(config: Config) -> tuple[list[RuleSpec], int]:
    """The rules of the config's rule files, as `alertd check` reads them, and how many
    errors were found: a file with errors still gives the alerts that have none."""
    from alertd.rules.files import check_paths

    result = check_paths(config.rule_files)
    errors = sum(1 for d in result.diagnostics if d.severity == "error"
                 and "no files match" not in d.message and "no .rules files" not in d.message)
    rules = [(a, a.interval or g.interval or config.evaluation_interval)
             for g in result.groups for a in g.alerts]
    return rules, errors


async def open_store(config: Config) -> Store:
    """The config's store, to read: a SQLite file that does not exist is an error here (the
    daemon would create it; a report would only show an empty one)."""
    url = config.storage_url()
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix):
        path = url[len(prefix):].partition("?")[0]
        if path == ":memory:" or not os.path.isfile(path):
            raise ReportUnavailable(f'storage: no database at "{path}" (has alertd run with '
                                    "this configuration?)")
    return await Store.open(url)


async def report_from_config(config: Config, query: ReportQuery,
                             rules: Sequence[RuleSpec],
                             config_path: str | None = None) -> dict[str, Any]:
    """A report read from the config's store directly, whether the daemon runs or not."""
    store = await open_store(config)
    try:
        return await build(store.history, config, rules, query, config_path)
    finally:
        await store.close()
