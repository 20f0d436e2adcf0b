"""Routes alerts into aggregation groups and flushes the groups when their timers say.

The store announces every alert that changed; each goes down the routing tree and into
one aggregation group per matching route. `flush_due(now)` sends what is due; `run()`
does that forever, sleeping until the next group is due or an alert arrives. Tests call
`flush_due` with a fake clock instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from alertd.alerts.model import Alert
from alertd.clock import Clock
from alertd.dispatch.group import AggregationGroup, group_key
from alertd.dispatch.route import Route
from alertd.notify.pipeline import Pipeline, RouteOptions

log = logging.getLogger("alertd.dispatch")


TimeMute = Callable[[Route, float], "str | None"]
Record = Callable[[str, Alert, Mapping[str, Any], float], None]


@dataclass(frozen=True, slots=True)
class GroupView:
    group: AggregationGroup
    route: Route


class Dispatcher:
    def __init__(self, routes: Route, pipeline: Pipeline, clock: Clock, *,
                 time_mute: TimeMute, record: Record,
                 notify_resolved_after_mute: Callable[[Route], bool] = lambda r: False) -> None:
        self.routes = routes
        self.pipeline = pipeline
        self.clock = clock
        self.time_mute = time_mute
        self.record = record
        self.notify_resolved_after_mute = notify_resolved_after_mute
        self.groups: dict[str, AggregationGroup] = {}
        self._route_of: dict[str, Route] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    # --- routing -----------------------------------------------------------------------
    def on_alerts(self, alerts: Iterable[Alert]) -> None:
        now = self.clock.now()
        for alert in alerts:
            for route in self.routes.match(alert.labels):
                labels = route.group_labels(alert.labels)
                key = group_key(route.key, labels)
                group = self.groups.get(key)
                if group is None:
                    group = self.groups[key] = AggregationGroup(
                        key, route.receiver, labels, route.group_wait,
                        route.group_interval, route.repeat_interval,
                        next_flush=now + route.group_wait)
                    self._route_of[key] = route
                if alert.fingerprint not in group.alerts:
                    self.record("route", alert, {"receiver": route.receiver,
                                                 "route": route.key, "group_key": key}, now)
                group.insert(alert, now)
        self._wake.set()

    def reroute(self, routes: Route, alerts: Iterable[Alert]) -> None:
        """A new routing tree: groups are rebuilt from the alerts; timers of groups that
        keep their key are kept, so a reload neither delays nor repeats notifications."""
        old = self.groups
        self.routes = routes
        self.groups, self._route_of = {}, {}
        self.on_alerts(alerts)
        for key, group in self.groups.items():
            previous = old.get(key)
            if previous is not None:
                group.has_flushed = previous.has_flushed
                group.next_flush = previous.next_flush

    # --- flushing ----------------------------------------------------------------------
    async def flush_due(self, now: float) -> int:
        """Flush every group that is due; returns how many flushed."""
        async with self._lock:
            due = [g for g in self.groups.values() if g.due(now)]
            for group in due:
                route = self._route_of[group.key]
                options = RouteOptions(group.receiver, self.time_mute(route, now),
                                       self.notify_resolved_after_mute(route))
                try:
                    result = await self.pipeline.flush(group, options, now)
                except Exception:  # one broken group must not stop the others
                    log.exception("flushing group %s failed", group.key)
                    group.next_flush = now + group.group_interval
                    continue
                group.flushed(now, result.delivered_resolved)
                if not group.alerts:
                    del self.groups[group.key]
                    self._route_of.pop(group.key, None)
            return len(due)

    def next_due(self) -> float | None:
        return min((g.next_flush for g in self.groups.values()), default=None)

    async def run(self) -> None:
        while True:
            self._wake.clear()
            now = self.clock.now()
            await self.flush_due(now)
            upcoming = self.next_due()
            timeout = None if upcoming is None else max(upcoming - self.clock.now(), 0.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def views(self) -> list[GroupView]:
        return [GroupView(g, self._route_of[g.key]) for g in self.groups.values()]
