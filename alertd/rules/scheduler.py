"""When rules run: groups on their interval, and streaming rules when samples arrive.

Each group ticks at multiples of its interval plus a stable offset derived from its name,
so groups spread over the interval and keep their phase across restarts. A group that
runs past its interval skips the ticks it missed (counted), it does not queue them.

Rules that read only pushed series are also evaluated as soon as a sample they read
arrives; arrivals are coalesced, so a burst of samples causes one evaluation.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from alertd.clock import Clock
from alertd.drift import Window
from alertd.errors import EvalError
from alertd.lang.context import QueryFn, WindowKey
from alertd.model import Vector
from alertd.rules.manager import Group, RuleManager
from alertd.rules.meta import MetaAlerts
from alertd.rules.rule import AlertRule
from alertd.rules.state import Health, RuleState, Transition
from alertd.sources.windows import SampleWindows

log = logging.getLogger("alertd.rules")

QueryMany = Callable[[Iterable[str], float], Awaitable[Mapping[str, "Vector | EvalError"]]]
SourceStatus = Callable[[], "str | None"]  # the Prometheus source's error, None when up
Persist = Callable[[dict[str, RuleState]], Awaitable[None]]
Publish = Callable[[str, Sequence[Transition], float], None]


def offset_for(name: str, interval: float) -> float:
    """A stable phase within the interval, from the group's name."""
    return (zlib.crc32(name.encode()) % 1_000_000) / 1_000_000 * interval


def next_tick(name: str, interval: float, now: float) -> float:
    offset = offset_for(name, interval)
    return math.floor((now - offset) / interval) * interval + offset + interval


class Scheduler:
    def __init__(self, manager: RuleManager, windows: SampleWindows, meta: MetaAlerts,
                 clock: Clock, *, query_many: QueryMany | None, source_error: SourceStatus,
                 persist: Persist, publish: Publish,
                 on_group_done: Callable[[Group, float, float], None] | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 monotonic: Callable[[], float] = time.perf_counter) -> None:
        self.manager = manager
        self.windows = windows
        self.meta = meta
        self.clock = clock
        self.query_many = query_many
        self.source_error = source_error
        self.persist = persist
        self.publish = publish
        self.on_group_done = on_group_done
        self._sleep = sleep
        self._monotonic = monotonic
        self.overruns: dict[str, int] = {}
        self.streaming_runs = 0
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._by_metric: dict[str | None, set[str]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()  # one evaluation at a time: states are shared
        self.reindex()

    # --- streaming ---------------------------------------------------------------------
    def reindex(self) -> None:
        """Which streamable rules read which metric (None: a selector without a name)."""
        index: dict[str | None, set[str]] = {}
        for group in self.manager.groups:
            for rule in group.streamable:
                for ref in rule.when.selectors:
                    index.setdefault(ref.name, set()).add(rule.name)
        self._by_metric = index

    def samples_arrived(self, metrics: frozenset[str]) -> None:
        hit = set(self._by_metric.get(None, ()))
        for name in metrics:
            hit.update(self._by_metric.get(name, ()))
        if hit:
            self._dirty.update(hit)
            self._wake.set()

    async def run_streaming(self) -> None:
        while True:
            await self._wake.wait()
            await self.evaluate_dirty()

    async def evaluate_dirty(self) -> None:
        self._wake.clear()
        names, self._dirty = self._dirty, set()
        rules = [r for r in self.manager.ruleset.rules if r.name in names]
        if rules:
            self.streaming_runs += 1
            await self.evaluate(rules, self.clock.now(), persist_all=False)

    # --- groups ------------------------------------------------------------------------
    def start(self) -> None:
        self.stop()
        self._tasks = [asyncio.create_task(self.group_loop(g), name=f"group {g.name}")
                       for g in self.manager.groups]
        self._tasks.append(asyncio.create_task(self.run_streaming(), name="streaming"))

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []

    async def group_loop(self, group: Group) -> None:
        while True:
            now = self.clock.now()
            at = next_tick(group.name, group.interval, now)
            await self._sleep(at - now)
            started = self._monotonic()
            try:
                await self.evaluate_group(group, at)
            except Exception:  # a bug in one round must not stop the group for good
                log.exception("evaluation of group %s failed", group.name)
            elapsed = self._monotonic() - started
            if elapsed > group.interval:
                missed = int(elapsed // group.interval)
                self.overruns[group.name] = self.overruns.get(group.name, 0) + missed
                log.warning("group %s took %.1fs, longer than its interval: %d ticks skipped",
                            group.name, elapsed, missed)

    async def evaluate_group(self, group: Group, at: float) -> None:
        started = self._monotonic()
        await self.evaluate(group.rules, at, persist_all=True)
        if self.on_group_done:
            self.on_group_done(group, at, self._monotonic() - started)

    async def evaluate_due(self, now: float, last: float) -> None:
        """Evaluate every group with a tick in (last, now], in time order (for tests)."""
        due = []
        for group in self.manager.groups:
            at = next_tick(group.name, group.interval, last)
            while at <= now:
                due.append((at, group))
                at += group.interval
        for at, group in sorted(due, key=lambda d: d[0]):
            await self.evaluate_group(group, at)

    # --- evaluation --------------------------------------------------------------------
    async def evaluate(self, rules: Sequence[AlertRule], at: float, *, persist_all: bool) -> None:
        async with self._lock:
            query = await self._prefetch(rules, at)
            evaluator = self.manager.evaluator
            changed: dict[str, RuleState] = {}
            cache: dict[tuple[str, float], Vector] = {}
            # Nothing is ingested until the loop ends (no await in it): the rules of the
            # round may share the drift windows they read.
            drift_windows: dict[WindowKey, Window | None] = {}
            for rule in rules:
                before = evaluator.states.get(rule.name)
                transitions = evaluator.evaluate(rule, at, self.windows.store, query, cache,
                                                 drift_windows)
                state = evaluator.states[rule.name]
                if persist_all or transitions or (before and before.health != state.health):
                    changed[rule.name] = state
                error = state.last_error if state.health is Health.ERROR else None
                self.meta.rule_health(rule.name, rule.group, error)
                self.publish(rule.name, transitions, at)
            for name, transitions in self.meta.step(at).items():
                if transitions or persist_all:
                    changed[name] = self.meta.states[name]
                self.publish(name, transitions, at)
            if changed:
                await self.persist(changed)

    async def step_meta(self, at: float) -> None:
        """Advance the meta-alerts alone (a source probe changed what they know)."""
        async with self._lock:
            changed: dict[str, RuleState] = {}
            for name, transitions in self.meta.step(at).items():
                if transitions:
                    changed[name] = self.meta.states[name]
                self.publish(name, transitions, at)
            if changed:
                await self.persist(changed)

    async def _prefetch(self, rules: Sequence[AlertRule], at: float) -> QueryFn:
        """Run every prom() query of these rules once, concurrently, before evaluating."""
        queries = {q for r in rules for q in r.when.prom_queries
                   + (r.clear.prom_queries if r.clear else ())}
        queries |= self.manager.evaluator.slos.queries(s for r in rules for s in r.slos)
        if not queries:
            return _no_prometheus
        if self.query_many is None:
            return _no_prometheus
        results = await self.query_many(queries, at)
        self.meta.source("prometheus", self.source_error())

        def query(q: str, when: float) -> Vector:
            result = results.get(q)
            if result is None:
                raise EvalError(f"prom() query was not run: {q}")
            if isinstance(result, EvalError):
                raise result
            return result

        return query


def _no_prometheus(query: str, at: float) -> Vector:
    raise EvalError("prom() is not available: the Prometheus source is disabled")
