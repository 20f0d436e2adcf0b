"""One rule's condition timeline replayed through the daemon's own code: the state machine
(`rules.state.step`), the alert store, the dispatcher with its aggregation groups and
timers, the notification pipeline with the notification log's dedup, and the routing
tree's time intervals, on a clock that jumps from one event to the next.

What comes out is the notifications the rule's alerts would have caused, and when each
alert fired and resolved. Nothing is sent: the pipeline's `submit` notes the
notification and logs it as sent, as the outbox would once it had delivered.

Evaluations at which no instance can change state (other than an episode's start, the
end of its `for`, its end and the end of its `keep_firing_for`) are skipped: the state
machine would return the same states from each of them.

Silences and inhibition are left out, in the baseline and in the changed replay alike:
the replay counts what the rule would page if nobody muted it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from alertd.alerts.model import Alert
from alertd.alerts.store import AlertStore
from alertd.clock import FakeClock
from alertd.config import Config
from alertd.dispatch.dispatcher import Dispatcher
from alertd.dispatch.route import Route
from alertd.dispatch.timeintervals import TimeIntervals
from alertd.model import Labels
from alertd.nflog.log import Entry, NotificationLog, needs_update
from alertd.noise.pages import PAGING_INTEGRATIONS
from alertd.notify.pipeline import Pipeline
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
                 routing: Routing, *, until: float) -> Outcome:
    """The notifications of `rule` over its episodes up to `until`, under `timing`
    (evaluated every `interval` seconds) and `routing`."""
    out = Outcome()
    if not episodes:
        return out
    sim = _Simulation(rule, routing, out)
    grid = _Grid.of(episodes[0].start, interval)
    state = RuleState()
    for k, active in _evaluations(episodes, grid, timing, until):
        at = grid.time(k)
        await sim.flush_until(at)
        sim.clock.set(at)
        obs = Observation(at, {ep.labels: Active(ep.labels, ep.value) for ep in active})
        state, transitions = step(timing, state, obs)
        if any(t.new in _ANNOUNCED for t in transitions):
            sim.alerts.sync_rule(rule, state.instances.values(), _no_annotations, at)
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
                 until: float) -> Iterator[tuple[int, list[Episode]]]:
    """The evaluations at which something may change (an episode starts, its `for`
    ends, it ends, its keep_firing_for ends), each with the episodes holding then."""
    last = grid.index(until)
    spans: list[tuple[int, int, Episode]] = []
    wanted: set[int] = set()
    margin = (0,) if grid.exact else (0, 1)
    for ep in episodes:
        start = grid.index(ep.start)
        end = last + 1 if ep.end is None else max(grid.index(ep.end), start + 1)
        spans.append((start, end, ep))
        fired = start + grid.steps(timing.for_)
        gone = end + grid.steps(timing.keep_firing_for)
        wanted.update(k for base in (start, fired, end, gone) for m in margin
                      if (k := base + m) <= last)
    spans.sort(key=lambda span: span[0])
    holding: list[tuple[int, int, Episode]] = []
    taken = 0
    for k in sorted(wanted):
        while taken < len(spans) and spans[taken][0] <= k:
            holding.append(spans[taken])
            taken += 1
        holding = [span for span in holding if span[1] > k]
        yield k, [ep for _, _, ep in holding]


class _Simulation:
    """The alert store, notification log, pipeline and dispatcher of one replay."""

    def __init__(self, rule: str, routing: Routing, out: Outcome) -> None:
        self.clock = FakeClock()
        self.routing = routing
        self.out = out
        self.alerts = AlertStore()
        self.nflog = NotificationLog(_NoStore(), self.clock)
        pipeline = _QuietPipeline(
            silences=_NoSilences(), inhibitor=_NoInhibition(), nflog=self.nflog,
            needs_update=needs_update,
            integrations=lambda name: routing.integrations.get(name, ()),
            firing_alerts=self.alerts.active, record=_ignore, submit=self._submit)
        self.dispatcher = Dispatcher(
            routing.routes, pipeline, self.clock, record=_ignore,
            time_mute=lambda route, at: routing.intervals.mute_reason(
                route.mute_time_intervals, route.active_time_intervals, at),
            notify_resolved_after_mute=lambda route: route.notify_resolved_after_mute)
        self.alerts.subscribe(self.dispatcher.on_alerts)

    async def flush_until(self, until: float) -> None:
        """Flush every group whose timer comes before `until`, in time order."""
        while (due := self.dispatcher.next_due()) is not None and due < until:
            self.clock.set(max(due, self.clock.now()))
            await self.dispatcher.flush_due_in_turn(self.clock.now())

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
    decisions repeat (to record each once) was a tenth of a replay's time."""

    def record(self, kind: str, alert: Alert, details: Mapping[str, Any], at: float) -> None:
        return None


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
