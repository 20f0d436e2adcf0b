"""One rule's condition timeline replayed through the daemon's own code: the state machine
and the alert store (alertd.whatif.conditions), then the dispatcher with its aggregation
groups and timers, the notification pipeline with the notification log's dedup, and the
routing tree's time intervals, on a clock that jumps from one event to the next.

What comes out is the notifications the rule's alerts would have caused, and when each
alert fired and resolved. Nothing is sent: the pipeline's `submit` notes the
notification and logs it as sent, as the outbox would once it had delivered.

A group's flushes that would change nothing are skipped. Nothing is silenced nor
inhibited in a replay, so a flush tells every integration of the group's alerts (or the
route's time intervals mute them all) and lets its resolved alerts go; the flushes after
it find the same firing alerts, each integration told of them, and send nothing until an
alert changes (at an evaluation), a notification log entry's repeat interval or
retention runs out, or the time intervals mute or unmute the route. A group that fires
for days would otherwise flush every group_interval: most of a quarter's replay. Tested
against a replay that flushes at every tick (tests/whatif/test_replay_skips.py).

Silences and inhibition are left out, in the baseline and in the changed replay alike:
the replay counts what the rule would page if nobody muted it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from alertd.alerts.model import Alert
from alertd.clock import FakeClock
from alertd.config import Config
from alertd.dispatch.dispatcher import Dispatcher
from alertd.dispatch.flush import Flush, FlushResult
from alertd.dispatch.group import AggregationGroup
from alertd.dispatch.route import Route
from alertd.dispatch.timeintervals import TimeIntervals
from alertd.nflog.log import Entry, NotificationLog, needs_update
from alertd.noise.pages import PAGING_INTEGRATIONS
from alertd.notify.pipeline import Pipeline, build
from alertd.notify.stages import NoDecisions, log_receiver
from alertd.receivers import Notification
from alertd.rules.state import (
    Timing,
)
from alertd.whatif.conditions import Conditions, conditions
from alertd.whatif.episodes import Episode


@dataclass(slots=True)
class Integration:
    """A receiver's integration as the pipeline reads it (name, send_resolved). Nothing
    is delivered: the replay's `submit` takes every notification before delivery."""

    name: str
    send_resolved: bool

    async def notify(self, notification: Notification, reason: str = "") -> str:
        raise AssertionError("a replay never delivers")


@dataclass(frozen=True, slots=True)
class Routing:
    """The routing part of a configuration, as a replay runs it."""

    routes: Route
    intervals: TimeIntervals
    integrations: Mapping[str, tuple[Integration, ...]]
    paging: Mapping[str, bool]

    @classmethod
    def of(cls, config: Config) -> Routing:
        integrations = {
            r.name: tuple(Integration(kind, c.send_resolved)
                          for kind, configs in (("webhook", r.webhook_configs),
                                                ("slack", r.slack_configs),
                                                ("pagerduty", r.pagerduty_configs),
                                                ("mqtt", r.mqtt_configs))
                          for c in configs)
            for r in config.receivers}
        return cls(Route.from_config(config.route),
                   TimeIntervals.from_config(config.time_intervals,
                                             config.mute_time_intervals),
                   MappingProxyType(integrations),
                   MappingProxyType({r.name: r.paging for r in config.receivers}))

    def pages(self, receiver: str, integration: str) -> bool:
        return integration in PAGING_INTEGRATIONS and self.paging.get(receiver, True)


@dataclass(frozen=True, slots=True)
class Page:
    at: float
    receiver: str
    integration: str
    alerts: frozenset[str]  # the firing alerts it carried (fingerprints)


@dataclass(slots=True)
class Outcome:
    pages: list[Page] = field(default_factory=list)
    # Per alert, when it fired and resolved (None: still firing at the end).
    firings: dict[str, list[tuple[float, float | None]]] = field(default_factory=dict)


async def replay(rule: str, episodes: Sequence[Episode], timing: Timing, interval: float,
                 routing: Routing, *, until: float, skip_settled: bool = True) -> Outcome:
    """The notifications of `rule` over its episodes up to `until`, under `timing`
    (evaluated every `interval` seconds) and `routing`. `skip_settled=False` flushes every
    group at every group_interval (what the skipping is tested against)."""
    return await dispatch(conditions(rule, episodes, timing, interval, until), routing,
                          until=until, skip_settled=skip_settled)


async def dispatch(conds: Conditions, routing: Routing, *, until: float,
                   skip_settled: bool = True) -> Outcome:
    """The notifications of the alerts `conds` announces, under `routing`, up to `until`."""
    out = Outcome(firings={fp: list(spans) for fp, spans in conds.firings.items()})
    sim = _Simulation(routing, out, skip_settled=skip_settled)
    for at, alerts in conds.announced:
        # The groups' flushes up to the evaluation first: an evaluation that announces
        # nothing changes no group, and the flushes it would come between happen the same
        # at the next one that does.
        await sim.flush_until(at)
        sim.clock.set(at)
        sim.dispatcher.on_alerts(alerts)
    await sim.flush_until(until)
    return out


class _Simulation:
    """The notification log, pipeline and dispatcher of one replay."""

    def __init__(self, routing: Routing, out: Outcome, *, skip_settled: bool) -> None:
        self.clock = FakeClock()
        self.routing = routing
        self.out = out
        self.nflog = NotificationLog(_NoStore(), self.clock)
        # Nothing is silenced nor inhibited in a replay, and nothing is recorded.
        self.pipeline = pipeline = _Settling(build(
            muters=(), nflog=self.nflog, needs_update=needs_update,
            integrations=lambda name: routing.integrations.get(name, ()),
            decisions=NoDecisions(), submit=self._submit), note=skip_settled)
        self.dispatcher = Dispatcher(
            routing.routes, pipeline, self.clock, record=_ignore,
            time_mute=lambda route, at: routing.intervals.mute_reason(
                route.mute_time_intervals, route.active_time_intervals, at),
            notify_resolved_after_mute=lambda route: route.notify_resolved_after_mute)

    async def flush_until(self, until: float) -> None:
        """Flush every group whose timer comes before `until`, in time order; a group
        that settled next flushes when something may change."""
        while (due := self.dispatcher.next_due()) is not None and due < until:
            now = max(due, self.clock.now())
            self.clock.set(now)
            await self.dispatcher.flush_due_in_turn(now)
            for group_id, mute in self.pipeline.take_settled():
                group = self.dispatcher.groups.get(group_id)
                if group is not None and group.alerts:
                    self.dispatcher.postpone(group_id, self._news(group, mute, until))

    def _news(self, group: AggregationGroup, mute: str | None, until: float) -> float:
        """The group's first flush time after it settled at which a flush may do
        something: at or after `until` (the next evaluation), once a notification log
        entry's repeat interval or retention has run out, or once the route's time
        intervals say otherwise than `mute`. Stepped as the dispatcher steps it (`now +
        group_interval`, in floating point), and each condition tested as the pipeline
        and the log test it."""
        route = self.dispatcher.route_of(group.id)
        timed = bool(route.mute_time_intervals or route.active_time_intervals)
        logged = [log_receiver(group.receiver, integration.name, i) for i, integration
                  in enumerate(self.routing.integrations.get(group.receiver, ()))]
        entries = [e for name in logged if (e := self.nflog.query(group.key, name))]
        tick, repeat = group.next_flush, group.repeat_interval
        # While the route is muted the log is not read: a repeat that came due waits for
        # the mute to end. Until a second before the earliest entry could come due, the
        # exact tests below cannot hold (they are made from then on, as the log makes
        # them): most ticks are passed with one comparison.
        due = min((min(e.at + repeat, e.expires_at) for e in entries), default=math.inf) \
            - 1.0 if mute is None else math.inf
        # The time intervals answer as they did until they may change: asked again then.
        names = (*route.mute_time_intervals, *route.active_time_intervals)
        intervals = self.routing.intervals
        ask = tick if timed else math.inf
        while tick < until:
            if tick >= due and any(e.at <= tick - repeat or e.expired(tick)
                                   for e in entries):
                break
            if tick >= ask:
                if intervals.mute_reason(route.mute_time_intervals,
                                         route.active_time_intervals, tick) != mute:
                    break
                ask = intervals.next_change(names, tick)
            tick += group.group_interval
        return tick

    async def _submit(self, notification: Notification, reason: str, receiver: str,
                      index: int, firing: set[str], resolved: set[str]) -> None:
        at = notification.now
        self.nflog.remember(self.nflog.entry(notification.group_key, receiver, firing,
                                             resolved, at))
        integration = receiver.split("/")[-2]
        if firing and self.routing.pages(notification.receiver, integration):
            self.out.pages.append(Page(at, notification.receiver, integration,
                                       frozenset(firing)))


def _ignore(kind: str, alert: Alert, details: Mapping[str, Any], at: float) -> None:
    return None


class _Settling:
    """The replay's pipeline, noting the groups that settled: after their flush they
    hold no resolved alert."""

    def __init__(self, pipeline: Pipeline, *, note: bool) -> None:
        self.pipeline = pipeline
        self.note = note
        self._settled: list[tuple[str, str | None]] = []

    async def flush(self, flush: Flush) -> FlushResult:
        result = await self.pipeline.flush(flush)
        # The group lets go of the resolved alerts in delivered_resolved once this returns.
        if self.note and flush.ended <= result.delivered_resolved:
            self._settled.append((flush.group_id, flush.mute_reason))
        return result

    def take_settled(self) -> list[tuple[str, str | None]]:
        """The groups (ids) that settled since the last call, with the mute each flush
        found."""
        settled, self._settled = self._settled, []
        return settled


class _NoStore:
    async def save(self, entry: Entry) -> None:
        return None

    async def load_all(self) -> list[Entry]:
        return []

    async def forget(self, group_key: str, receiver: str, at: float) -> bool:
        return False

    async def delete_expired(self, now: float) -> int:
        return 0
