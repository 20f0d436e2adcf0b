"""Routes alerts into aggregation groups and flushes the groups when their timers say.

The store announces every alert that changed; each goes down the routing tree and into
one aggregation group per matching route. `flush_due(now)` sends what is due; `run()`
does that forever, sleeping until the next group is due or an alert arrives. Tests call
`flush_due` with a fake clock instead.

The groups' timers are kept in a heap, so finding what is due costs the due groups, not
all of them: at a thousand new groups a second, scanning every group at every wake-up was
most of the dispatcher's time.

Each due group flushes in a task of its own, and `run()` does not wait for it: a flush
waits for its outbox write, and a group that becomes due meanwhile must not wait behind
it (at a thousand groups a second, that queue was most of a page's latency). A group is
never flushed twice at once: while its flush runs it has no timer, and gets one back when
the flush ends.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from alertd.alerts.model import Alert
from alertd.clock import Clock, wait_woken
from alertd.dispatch.flush import Flush, Flusher
from alertd.dispatch.group import AggregationGroup, group_key
from alertd.dispatch.route import Route
from alertd.errors import AlertdError
from alertd.model import Labels

log = logging.getLogger("alertd.dispatch")


TimeMute = Callable[[Route, float], "str | None"]
Record = Callable[[str, Alert, Mapping[str, Any], float], None]


# How many label sets' routes are remembered (a few megabytes); past that, forgotten
# all at once.
PLACEMENTS_KEPT = 50_000


class _Placement(NamedTuple):
    route: Route
    group_id: str
    group_labels: Labels


@dataclass(frozen=True, slots=True)
class GroupView:
    group: AggregationGroup
    route: Route


class Dispatcher:
    def __init__(self, routes: Route, flusher: Flusher, clock: Clock, *,
                 time_mute: TimeMute, record: Record,
                 notify_resolved_after_mute: Callable[[Route], bool] = lambda r: False) -> None:
        self.routes = routes
        self.flusher = flusher
        self.clock = clock
        self.time_mute = time_mute
        self.record = record
        self.notify_resolved_after_mute = notify_resolved_after_mute
        self.groups: dict[str, AggregationGroup] = {}
        self._route_of: dict[str, Route] = {}
        self._placements: dict[Labels, tuple[_Placement, ...]] = {}
        # (next flush, tie-breaker, group id); an entry whose time is no longer its
        # group's next flush (or whose group is gone) is stale and skipped.
        self._timers: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._flushing: dict[str, asyncio.Task[None]] = {}  # group id -> its flush
        self._running = False  # `run` is flushing groups as they become due
        self._paused = False  # a reroute waits for the flushes under way: start no other
        self._sleeping_until: float | None = None  # when `run` wakes next; None: when woken

    # --- routing -----------------------------------------------------------------------
    def on_alerts(self, alerts: Iterable[Alert]) -> None:
        """Route alerts into their groups. Under `run`, a group due now (group_wait 0, or
        an alert older than group_wait) starts flushing here rather than one turn of the
        loop later, when `run` would have woken."""
        now = self.clock.now()
        self._route(alerts, now)
        if self._running:
            self.start_due(now)
        self._nudge()

    def restore(self, alerts: Iterable[tuple[Alert, float]],
                last_notified: Mapping[str, float]) -> None:
        """Rebuild the groups after a restart from the alerts that were acknowledged, with
        the times they were first received, and take up their timers: a group that never
        flushed waits out the rest of its group_wait, counted from its first alert's
        arrival (or flushes at once if that has passed); a group that did flushes one
        group_interval after its last notification. A timer that passed during the
        restart fires at once; the notification log keeps that from repeating a page."""
        for alert, received_at in sorted(alerts, key=lambda pair: pair[1]):
            self._route((alert,), received_at, record=False)
        for group in self.groups.values():
            last = last_notified.get(group.key)
            if last is not None:
                group.has_flushed = True
                group.next_flush = last + group.group_interval
                self._schedule(group)
        self._nudge()

    def _placed(self, labels: Labels) -> tuple[_Placement, ...]:
        """The routes an alert with `labels` takes, each with its group's id and labels;
        remembered, as an alert is routed again at every change of its state."""
        found = self._placements.get(labels)
        if found is None:
            if len(self._placements) >= PLACEMENTS_KEPT:
                self._placements.clear()
            found = self._placements[labels] = tuple(
                _Placement(route, group_key(route.id, kept), kept)
                for route in self.routes.match(labels)
                for kept in (route.group_labels(labels),))
        return found

    def _route(self, alerts: Iterable[Alert], now: float, *, record: bool = True) -> None:
        for alert in alerts:
            for route, gid, labels in self._placed(alert.labels):
                group = self.groups.get(gid)
                if group is None:
                    key = group_key(route.key, labels)
                    group = self.groups[gid] = AggregationGroup(
                        key, route.receiver, labels, route.group_wait,
                        route.group_interval, route.repeat_interval,
                        next_flush=now + route.group_wait, id=gid)
                    self._route_of[gid] = route
                    self._schedule(group)
                if record and alert.fingerprint not in group.alerts:
                    self.record("route", alert, {"receiver": route.receiver,
                                                 "route": route.key, "group_key": group.key},
                                now)
                before = group.next_flush
                group.insert(alert, now)
                if group.next_flush != before:
                    self._schedule(group)

    async def reroute(self, routes: Route, alerts: Iterable[Alert]) -> None:
        """A new routing tree: groups are rebuilt from the alerts; timers of groups that
        keep their route and labels are kept, so a reload neither delays nor repeats notifications.
        The flushes under way finish first, so that their groups' new timers are the ones
        kept, and no other starts until the tree is swapped (under a steady stream of due
        groups, waiting for "none under way" alone might never end)."""
        self._paused = True
        try:
            await self.wait_flushes()
            self._reroute(routes, alerts)
        finally:
            self._paused = False
            self._wake.set()  # what became due meanwhile

    def _reroute(self, routes: Route, alerts: Iterable[Alert]) -> None:
        old = self.groups
        self.routes = routes
        self._placements.clear()
        self.groups, self._route_of = {}, {}
        self._route(alerts, self.clock.now())
        # By id, else by Alertmanager's group key: a route inserted before its siblings
        # shifts their positions (their ids), not their keys.
        by_key = {g.key: g for g in old.values()}
        for gid, group in self.groups.items():
            previous = old.get(gid) or by_key.get(group.key)
            if previous is not None:
                group.has_flushed = previous.has_flushed
                group.next_flush = previous.next_flush
        self._timers = [(g.next_flush, next(self._seq), k) for k, g in self.groups.items()]
        heapq.heapify(self._timers)

    # --- flushing ----------------------------------------------------------------------
    async def flush_due(self, now: float) -> int:
        """Flush every group that is due and wait for those flushes; returns how many.

        The groups flush concurrently: each waits for its outbox write, and writes that
        wait together are committed together.
        """
        started = self.start_due(now)
        await asyncio.gather(*started)
        return len(started)

    async def flush_due_in_turn(self, now: float) -> int:
        """Flush every group that is due, one after another in the caller's task; returns
        how many. For a caller that owns the clock (a replay of the history): nothing
        runs meanwhile, so a task per group would only cost its turns of the loop."""
        if self._paused:
            return 0
        due = self._pop_due(now)
        for group in due:
            await self._flush(group, now)
        return len(due)

    def start_due(self, now: float) -> list[asyncio.Task[None]]:
        """Start the flush of every group that is due; the tasks, not awaited."""
        if self._paused:
            return []  # they stay due, and start when the reroute is done
        loop = asyncio.get_running_loop()
        started = []
        for group in self._pop_due(now):
            task = loop.create_task(self._flush(group, now))
            self._flushing[group.id] = task
            task.add_done_callback(functools.partial(self._flushed, group.id))
            started.append(task)
        return started

    def _flushed(self, key: str, task: asyncio.Task[None]) -> None:
        del self._flushing[key]
        self._nudge()  # the group has its timer again

    def _nudge(self) -> None:
        """Wake `run` if a timer is earlier than the one it sleeps until. Waking it for
        every alert cost a turn of the loop each, at a thousand alerts a second."""
        if self._timers and (self._sleeping_until is None
                             or self._timers[0][0] < self._sleeping_until):
            self._wake.set()

    async def wait_flushes(self) -> None:
        """Until no flush is under way (at shutdown, before the store closes)."""
        while self._flushing:
            await asyncio.gather(*self._flushing.values(), return_exceptions=True)

    async def _flush(self, group: AggregationGroup, now: float) -> None:
        try:
            route = self._route_of[group.id]
            result = await self.flusher.flush(Flush.of(
                group, now, mute_reason=self.time_mute(route, now),
                notify_resolved_after_mute=self.notify_resolved_after_mute(route)))
        except AlertdError as exc:  # the store, say: tried again at the group's interval
            log.error("flushing group %s failed: %s", group.key, exc)
            group.next_flush = now + group.group_interval
        except Exception:  # one broken group must not stop the others
            log.exception("flushing group %s failed", group.key)
            group.next_flush = now + group.group_interval
        else:
            group.flushed(now, result.delivered_resolved)
        finally:
            # Its timer left the heap when it became due: whatever happened (cancelled
            # too), a group that still has alerts gets one again.
            if group.alerts:
                self._schedule(group)
            elif self.groups.get(group.id) is group:
                del self.groups[group.id]
                self._route_of.pop(group.id, None)

    def route_of(self, group_id: str) -> Route:
        return self._route_of[group_id]

    def postpone(self, group_id: str, at: float) -> None:
        """Move a group's next flush to `at`: for a caller that owns the clock and knows
        that the group's flushes before `at` would change nothing (a replay of the
        history, which would otherwise flush every group at every group_interval)."""
        group = self.groups[group_id]
        group.next_flush = at
        self._schedule(group)  # the timer it had is stale now, and skipped

    def _schedule(self, group: AggregationGroup) -> None:
        heapq.heappush(self._timers, (group.next_flush, next(self._seq), group.id))

    def _current(self, at: float, key: str) -> AggregationGroup | None:
        group = self.groups.get(key)
        return group if group is not None and group.next_flush == at else None

    def _pop_due(self, now: float) -> list[AggregationGroup]:
        due: dict[str, AggregationGroup] = {}
        while self._timers and self._timers[0][0] <= now:
            at, _, key = heapq.heappop(self._timers)
            group = self._current(at, key)
            if group is not None and key not in self._flushing:
                # A group being flushed gets its timer back when the flush ends.
                due[key] = group
        return list(due.values())

    def next_due(self) -> float | None:
        while self._timers:
            at, _, key = self._timers[0]
            if self._current(at, key) is not None:
                return at
            heapq.heappop(self._timers)
        return None

    async def run(self) -> None:
        self._running = True
        try:
            while True:
                self._wake.clear()
                self.start_due(self.clock.now())
                upcoming = self._sleeping_until = self.next_due()
                timeout = None if upcoming is None else max(upcoming - self.clock.now(), 0.0)
                await wait_woken(self._wake, timeout)
        finally:
            self._running = False
            self._sleeping_until = None

    def views(self) -> list[GroupView]:
        return [GroupView(g, self._route_of[g.id]) for g in self.groups.values()]
