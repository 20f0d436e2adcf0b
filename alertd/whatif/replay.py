"""One rule's condition timeline replayed through the daemon's own code: the state machine
(`rules.state.step`), the alert store, the dispatcher with its aggregation groups and
timers, the notification pipeline with the notification log's dedup, and the routing
tree's time intervals, on a clock that jumps from one event to the next.

What comes out is the notifications the rule's alerts would have caused, and when each
alert fired and resolved. Nothing is sent: the pipeline's `submit` notes the
notification and logs it as sent, as the outbox would once it had delivered.

Evaluations at which no instance can change state (other than an episode's start, the
end of its `for`, its end and the end of its `keep_firing_for`) are skipped: the state
machine would return the same states from each of them. So are a group's flushes that
would change nothing. Nothing is silenced nor inhibited in a replay, so a flush tells
every integration of the group's alerts (or the route's time intervals mute them all)
and lets its resolved alerts go; the flushes after it find the same firing alerts, each
integration told of them, and send nothing until an alert changes (at an evaluation),
a notification log entry's repeat interval or retention runs out, or the time intervals
mute or unmute the route. A group that fires for days would otherwise flush every
group_interval: most of a quarter's replay. Tested against a replay that flushes at
every tick (tests/whatif/test_replay_skips.py).

Silences and inhibition are left out, in the baseline and in the changed replay alike:
the replay counts what the rule would page if nobody muted it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from alertd.alerts.model import Alert
from alertd.alerts.store import AlertStore
from alertd.clock import FakeClock
from alertd.config import Config
from alertd.dispatch.dispatcher import Dispatcher
from alertd.dispatch.group import AggregationGroup
from alertd.dispatch.route import Route
from alertd.dispatch.timeintervals import TimeIntervals
from alertd.model import Labels
from alertd.nflog.log import Entry, NotificationLog, needs_update
from alertd.noise.pages import PAGING_INTEGRATIONS
from alertd.notify.pipeline import FlushResult, Pipeline, RouteOptions
from alertd.receivers import Notification
from alertd.rules.state import (
    Active,
    Instance,
    Observation,
    RuleState,
    Status,
    Timing,
    step,
)
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
    out = Outcome()
    if not episodes:
        return out
    sim = _Simulation(rule, routing, out, skip_settled=skip_settled)
    grid = _Grid.of(episodes[0].start, interval)
    # Each instance is stepped only at the evaluations where it may change: instances
    # never affect one another in the state machine, and stepping the few that change
    # rather than every one held was most of a replay's time.
    instances: dict[Labels, Instance] = {}
    for k, changes in _evaluations(episodes, grid, timing, until):
        at = grid.time(k)
        before = RuleState(MappingProxyType({labels: inst for labels in changes
                                             if (inst := instances.get(labels))}))
        after, transitions = step(timing, before, Observation(
            at, {labels: active for labels, active in changes.items() if active}))
        for labels in changes:
            if (inst := after.instances.get(labels)) is not None:
                instances[labels] = inst
            else:
                instances.pop(labels, None)
        if any(t.new in _ANNOUNCED for t in transitions):
            # The groups' flushes up to now first: an evaluation that announces nothing
            # changes no group, and the flushes it would come between happen the same at
            # the next one that does.
            await sim.flush_until(at)
            sim.clock.set(at)
            sim.alerts.sync_rule(rule, instances.values(), _no_annotations, at)
            # Told once: to the state machine and the store a resolved instance is as
            # good as gone from here on.
            for t in transitions:
                if t.new is Status.RESOLVED:
                    del instances[t.labels]
        for t in transitions:
            _note_firing(out, t.labels.fingerprint(), t.new, at)
    await sim.flush_until(until)
    return out


# The changes the alert store announces to the dispatcher; a change to pending is not one.
_ANNOUNCED = (Status.FIRING, Status.RESOLVED)


def _no_annotations(instance: Instance) -> Mapping[str, str]:
    return {}


def _note_firing(out: Outcome, fingerprint: str, new: Status, at: float) -> None:
    spans = out.firings.setdefault(fingerprint, [])
    if new is Status.FIRING:
        spans.append((at, None))
    elif new is Status.RESOLVED and spans and spans[-1][1] is None:
        spans[-1] = (spans[-1][0], at)


@dataclass(frozen=True, slots=True)
class _Grid:
    """Evaluation times: `origin + k * interval`, phased on the first recorded change.

    With a whole origin and interval (as evaluation intervals are), every time and every
    difference of two is exact, so `for` and keep_firing_for end exactly at the
    evaluation they should; otherwise the evaluation after is looked at too."""

    origin: float
    interval: float

    @classmethod
    def of(cls, first: float, interval: float) -> _Grid:
        return cls(float(round(first)) if interval.is_integer() else first, interval)

    @property
    def exact(self) -> bool:
        return self.interval.is_integer()

    def index(self, at: float) -> int:
        return round((at - self.origin) / self.interval)

    def time(self, k: int) -> float:
        return self.origin + k * self.interval

    def steps(self, seconds: float) -> int:
        return math.ceil(seconds / self.interval - 1e-9)


def _evaluations(episodes: Sequence[Episode], grid: _Grid, timing: Timing,
                 until: float) -> Iterator[tuple[int, dict[Labels, Active | None]]]:
    """The evaluations at which something may change (an episode starts, its `for`
    ends, it ends, its keep_firing_for ends), each with the instances that may change
    then and what the expression returns for each (None: nothing, its episodes are
    over), made once per episode into what the state machine reads."""
    last = grid.index(until)
    spans: list[tuple[int, int, Labels, Active]] = []
    wanted: dict[int, set[Labels]] = {}
    margin = (0,) if grid.exact else (0, 1)
    for ep in episodes:
        start = grid.index(ep.start)
        end = last + 1 if ep.end is None else max(grid.index(ep.end), start + 1)
        spans.append((start, end, ep.labels, Active(ep.labels, ep.value)))
        fired = start + grid.steps(timing.for_)
        gone = end + grid.steps(timing.keep_firing_for)
        for k in {base + m for base in (start, fired, end, gone) for m in margin}:
            if k <= last:
                wanted.setdefault(k, set()).add(ep.labels)
    spans.sort(key=lambda span: span[0])
    # Per instance, the episodes begun and not yet over: a history can hold episodes of
    # one instance that overlap, and it is active while any of them holds (with the
    # value of the latest begun).
    holding: dict[Labels, list[tuple[int, Active]]] = {}
    taken = 0
    for k in sorted(wanted):
        while taken < len(spans) and spans[taken][0] <= k:
            _, end, labels, active = spans[taken]
            holding.setdefault(labels, []).append((end, active))
            taken += 1
        yield k, {labels: _held(holding, labels, k) for labels in wanted[k]}


def _held(holding: dict[Labels, list[tuple[int, Active]]], labels: Labels,
          k: int) -> Active | None:
    """What the expression returns for the instance at evaluation k, forgetting the
    episodes that are over."""
    spans = holding.get(labels)
    if not spans:
        return None
    spans[:] = [span for span in spans if span[0] > k]
    return spans[-1][1] if spans else None


class _Simulation:
    """The alert store, notification log, pipeline and dispatcher of one replay."""

    def __init__(self, rule: str, routing: Routing, out: Outcome, *,
                 skip_settled: bool) -> None:
        self.clock = FakeClock()
        self.routing = routing
        self.out = out
        self.alerts = AlertStore()
        self.nflog = NotificationLog(_NoStore(), self.clock)
        self.pipeline = pipeline = _QuietPipeline(
            note_settled=skip_settled, silences=_NoSilences(), inhibitor=_NoInhibition(),
            nflog=self.nflog, needs_update=needs_update,
            integrations=lambda name: routing.integrations.get(name, ()),
            firing_alerts=self.alerts.active, record=_ignore, submit=self._submit)
        self.dispatcher = Dispatcher(
            routing.routes, pipeline, self.clock, record=_ignore,
            time_mute=lambda route, at: routing.intervals.mute_reason(
                route.mute_time_intervals, route.active_time_intervals, at),
            notify_resolved_after_mute=lambda route: route.notify_resolved_after_mute)
        self.alerts.subscribe(self.dispatcher.on_alerts)

    async def flush_until(self, until: float) -> None:
        """Flush every group whose timer comes before `until`, in time order; a group
        that settled next flushes when something may change."""
        while (due := self.dispatcher.next_due()) is not None and due < until:
            now = max(due, self.clock.now())
            self.clock.set(now)
            await self.dispatcher.flush_due_in_turn(now)
            for group, mute in self.pipeline.take_settled():
                if group.alerts and self.dispatcher.groups.get(group.id) is group:
                    self.dispatcher.postpone(group.id, self._news(group, mute, until))

    def _news(self, group: AggregationGroup, mute: str | None, until: float) -> float:
        """The group's first flush time after it settled at which a flush may do
        something: at or after `until` (the next evaluation), once a notification log
        entry's repeat interval or retention has run out, or once the route's time
        intervals say otherwise than `mute`. Stepped as the dispatcher steps it (`now +
        group_interval`, in floating point), and each condition tested as the pipeline
        and the log test it."""
        route = self.dispatcher.route_of(group.id)
        timed = bool(route.mute_time_intervals or route.active_time_intervals)
        entries = [e for i, integration in enumerate(
            self.routing.integrations.get(group.receiver, ()))
            if (e := self.nflog.query(group.key, f"{group.receiver}/{integration.name}/{i}"))]
        tick, repeat = group.next_flush, group.repeat_interval
        # While the route is muted the log is not read: a repeat that came due waits for
        # the mute to end. Until a second before the earliest entry could come due, the
        # exact tests below cannot hold (they are made from then on, as the log makes
        # them): most ticks are passed with one comparison.
        due = min((min(e.at + repeat, e.expires_at) for e in entries), default=math.inf) \
            - 1.0 if mute is None else math.inf
        while tick < until:
            if tick >= due and any(e.at <= tick - repeat or e.expired(tick)
                                   for e in entries):
                break
            if timed and self.routing.intervals.mute_reason(
                    route.mute_time_intervals, route.active_time_intervals, tick) != mute:
                break
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


class _QuietPipeline(Pipeline):
    """The pipeline without its history: a replay records nothing, and working out which
    decisions repeat (to record each once) was a tenth of a replay's time. It notes the
    groups that settled: after their flush they hold no resolved alert."""

    def __init__(self, *, note_settled: bool, **parts: Any) -> None:
        super().__init__(**parts)
        self.note_settled = note_settled
        self._settled: list[tuple[AggregationGroup, str | None]] = []

    def record(self, kind: str, alert: Alert, details: Mapping[str, Any], at: float) -> None:
        return None

    async def flush(self, group: AggregationGroup, options: RouteOptions,
                    now: float) -> FlushResult:
        result = await super().flush(group, options, now)
        # The group lets go of the resolved alerts in delivered_resolved once this returns.
        gone = result.delivered_resolved
        if self.note_settled and all(f in gone for f, a in group.alerts.items()
                                     if a.resolved(now)):
            self._settled.append((group, options.mute_reason))
        return result

    def _unmuted(self, group: AggregationGroup, alerts: Sequence[Alert], ended: AbstractSet[str],
                 options: RouteOptions, now: float) -> tuple[list[Alert], list[Alert]]:
        # Nothing is silenced nor inhibited in a replay: every alert goes on.
        return list(alerts), []

    def take_settled(self) -> list[tuple[AggregationGroup, str | None]]:
        """The groups that settled since the last call, with the mute each flush found."""
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


class _NoSilences:
    def mutes(self, labels: Labels, now: float) -> list[str]:
        return []


class _NoInhibitIndex:
    def inhibited_by(self, target: Mapping[str, str]) -> list[Labels]:
        return []


class _NoInhibition:
    def index(self, firing: object) -> _NoInhibitIndex:
        return _NoInhibitIndex()
