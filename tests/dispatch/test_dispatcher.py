"""The dispatcher's flush timers: a new group waits group_wait, then flushes every
group_interval; only due groups flush, in timer order; an old alert makes a group that never
flushed due at once; groups that emptied, failed or were rerouted keep the heap of timers
right (stale entries are skipped). Flushes are driven with `flush_due(now)` and a pipeline
double that records what it is asked to flush.
"""

from __future__ import annotations

import asyncio

import pytest

from alertd.alerts.model import Alert
from alertd.clock import FakeClock
from alertd.config import parse_config
from alertd.dispatch.dispatcher import Dispatcher
from alertd.dispatch.flush import Flush, FlushResult
from alertd.dispatch.route import Route
from alertd.model import Labels

T0 = 1_800_000_000.0
WAIT, INTERVAL, FAST_WAIT = 30.0, 300.0, 5.0

TREE = """\
route:
  receiver: default
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: [team=fast]
      group_wait: 5s
    - matchers: [team=db]
receivers: [{name: default}]
"""

# The same tree without the team=db route.
TREE_WITHOUT_DB = TREE.replace("    - matchers: [team=db]\n", "")


def tree(text: str = TREE) -> Route:
    return Route.from_config(parse_config(text).route)


def alert(name: str, *, starts_at: float = T0, ends_at: float | None = None,
          **labels: str) -> Alert:
    return Alert(Labels({"alertname": name, **labels}), {}, starts_at, ends_at, starts_at)


def key(name: str, team: str | None = None) -> str:
    """The group key of `name` on the root route, or on the team's route."""
    route = "{}" if team is None else f'{{}}/{{team="{team}"}}'
    return f'{route}:{{alertname="{name}"}}'


class FakePipeline:
    """Records (group key, now) per flush; resolved alerts count as delivered."""

    def __init__(self) -> None:
        self.flushes: list[tuple[str, float]] = []
        self.failing: set[str] = set()
        self.hold: asyncio.Event | None = None  # if given, flushes wait until it is set
        self.held: set[str] | None = None  # the groups that wait for `hold`; None: all
        self.entered = asyncio.Event()  # set when a flush reaches the pipeline
        self.count = asyncio.Condition()  # notified at each flush

    async def flush(self, flush: Flush) -> FlushResult:
        self.flushes.append((flush.group_key, flush.now))
        self.entered.set()
        async with self.count:
            self.count.notify_all()
        if self.hold is not None and (self.held is None or flush.group_key in self.held):
            await self.hold.wait()
        if flush.group_key in self.failing:
            raise RuntimeError("outbox down")
        return FlushResult(set(flush.ended))

    async def wait_for(self, flushes: int) -> None:
        async with self.count:
            await self.count.wait_for(lambda: len(self.flushes) >= flushes)

    def take(self) -> list[tuple[str, float]]:
        flushes, self.flushes = self.flushes, []
        return flushes


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def pipeline() -> FakePipeline:
    return FakePipeline()


@pytest.fixture
def d(pipeline: FakePipeline, clock: FakeClock) -> Dispatcher:
    return Dispatcher(tree(), pipeline, clock,
                      time_mute=lambda route, now: None, record=lambda *a: None)


async def test_a_new_group_waits_group_wait_then_flushes_every_group_interval(
        d: Dispatcher, pipeline: FakePipeline, clock: FakeClock) -> None:
    d.on_alerts([alert("A")])
    assert d.next_due() == T0 + WAIT
    clock.set(T0 + 10)
    d.on_alerts([alert("A", instance="2", starts_at=T0 + 10)])  # joins: no delay, no hurry
    assert d.next_due() == T0 + WAIT
    assert await d.flush_due(T0 + WAIT - 0.001) == 0
    assert await d.flush_due(T0 + WAIT) == 1
    assert d.next_due() == T0 + WAIT + INTERVAL
    clock.set(T0 + 100)
    d.on_alerts([alert("A", instance="3", starts_at=T0 + 100)])  # after the first flush
    assert d.next_due() == T0 + WAIT + INTERVAL
    assert await d.flush_due(T0 + WAIT + INTERVAL - 0.001) == 0
    assert await d.flush_due(T0 + WAIT + INTERVAL) == 1
    assert d.next_due() == T0 + WAIT + 2 * INTERVAL
    assert pipeline.take() == [(key("A"), T0 + WAIT), (key("A"), T0 + WAIT + INTERVAL)]


async def test_only_due_groups_flush_and_in_timer_order(
        d: Dispatcher, pipeline: FakePipeline, clock: FakeClock) -> None:
    created = {i: T0 + (i * 7) % 50 for i in range(50)}  # a permutation of T0 .. T0+49
    for i in sorted(created, key=created.__getitem__):
        clock.set(created[i])
        d.on_alerts([alert(f"A{i}", starts_at=created[i])])
    by_time = sorted(created, key=created.__getitem__)

    assert await d.flush_due(T0 + WAIT + 19) == 20
    assert pipeline.take() == [(key(f"A{i}"), T0 + WAIT + 19) for i in by_time[:20]]
    assert d.next_due() == T0 + WAIT + 20
    assert await d.flush_due(T0 + WAIT + 19.5) == 0
    assert await d.flush_due(T0 + WAIT + 49) == 30
    assert pipeline.take() == [(key(f"A{i}"), T0 + WAIT + 49) for i in by_time[20:]]
    assert d.next_due() == T0 + WAIT + 19 + INTERVAL


async def test_a_shorter_group_wait_flushes_first(
        d: Dispatcher, pipeline: FakePipeline, clock: FakeClock) -> None:
    d.on_alerts([alert("Slow")])
    clock.set(T0 + 10)
    d.on_alerts([alert("Fast", team="fast", starts_at=T0 + 10)])
    assert d.next_due() == T0 + 10 + FAST_WAIT
    assert await d.flush_due(T0 + 20) == 1
    assert pipeline.take() == [(key("Fast", "fast"), T0 + 20)]
    assert d.next_due() == T0 + WAIT
    # Both due (Slow since T0+30, Fast since T0+320): the earlier timer goes first.
    assert await d.flush_due(T0 + 400) == 2
    assert pipeline.take() == [(key("Slow"), T0 + 400), (key("Fast", "fast"), T0 + 400)]


async def test_an_alert_older_than_group_wait_makes_a_new_group_due_now(
        d: Dispatcher, clock: FakeClock) -> None:
    clock.set(T0 + 1000)  # as after a restart: the alert fired long ago
    d.on_alerts([alert("A")])
    assert d.next_due() == T0 + 1000
    assert await d.flush_due(T0 + 1000) == 1
    assert d.next_due() == T0 + 1000 + INTERVAL


async def test_an_old_alert_joining_a_waiting_group_makes_it_due_now(
        d: Dispatcher, pipeline: FakePipeline, clock: FakeClock) -> None:
    d.on_alerts([alert("A")])
    clock.set(T0 + 10)
    d.on_alerts([alert("A", instance="old", starts_at=T0 - 100)])
    assert d.next_due() == T0 + 10
    assert await d.flush_due(T0 + 10) == 1
    # The group's first timer (T0+30) is stale now: it neither flushes nor is reported.
    assert d.next_due() == T0 + 10 + INTERVAL
    assert await d.flush_due(T0 + WAIT) == 0
    # Once flushed, an old alert no longer hurries the group.
    clock.set(T0 + 50)
    d.on_alerts([alert("A", instance="older", starts_at=T0 - 1000)])
    assert d.next_due() == T0 + 10 + INTERVAL
    assert pipeline.take() == [(key("A"), T0 + 10)]


async def test_a_group_whose_alerts_resolved_leaves_with_its_timers(
        d: Dispatcher, pipeline: FakePipeline, clock: FakeClock) -> None:
    d.on_alerts([alert("A")])
    assert await d.flush_due(T0 + WAIT) == 1
    clock.set(T0 + 40)
    d.on_alerts([alert("A", ends_at=T0 + 40)])
    clock.set(T0 + 50)
    d.on_alerts([alert("B", starts_at=T0 + 50)])
    assert d.next_due() == T0 + 50 + WAIT
    assert await d.flush_due(T0 + 50 + WAIT) == 1
    assert await d.flush_due(T0 + WAIT + INTERVAL) == 1  # A delivers its resolution
    assert pipeline.take() == [(key("A"), T0 + WAIT), (key("B"), T0 + 50 + WAIT),
                               (key("A"), T0 + WAIT + INTERVAL)]
    assert list(d.groups) == [key("B")]
    # A's next timer (T0+630) is stale: B's is the next one.
    assert d.next_due() == T0 + 50 + WAIT + INTERVAL


async def test_stale_timers_of_a_removed_group_are_skipped(
        d: Dispatcher, pipeline: FakePipeline) -> None:
    # Resolved long ago: the group is due at once (its T0+30 timer goes stale), flushes
    # the resolution and leaves.
    d.on_alerts([alert("A", starts_at=T0 - 100, ends_at=T0 - 10)])
    assert d.next_due() == T0
    assert await d.flush_due(T0) == 1
    assert d.groups == {}
    assert d.next_due() is None
    assert await d.flush_due(T0 + 10 * INTERVAL) == 0
    assert pipeline.take() == [(key("A"), T0)]


async def test_reroute_keeps_the_timers_of_groups_that_keep_their_key(
        d: Dispatcher, pipeline: FakePipeline, clock: FakeClock) -> None:
    a = alert("A")
    db, c = alert("DB", team="db", starts_at=T0 + 100), alert("C", starts_at=T0 + 100)
    d.on_alerts([a])
    assert await d.flush_due(T0 + WAIT) == 1  # A: next at T0+330
    clock.set(T0 + 100)
    d.on_alerts([db, c])  # both due at T0+130
    pipeline.take()

    clock.set(T0 + 110)
    await d.reroute(tree(TREE_WITHOUT_DB), [a, db, c])
    # DB now goes to the root route: a new group, which waits; its old timer is gone.
    assert set(d.groups) == {key("A"), key("DB"), key("C")}
    assert len(d._timers) == 3  # the heap is rebuilt, one timer per group
    assert d.next_due() == T0 + 130  # C kept its timer (not T0+140)
    d.on_alerts([alert("A", instance="2", starts_at=T0)])  # A still counts as flushed
    assert d.next_due() == T0 + 130
    assert await d.flush_due(T0 + 130) == 1
    assert await d.flush_due(T0 + 139) == 0
    assert await d.flush_due(T0 + 140) == 1
    # A had flushed: its old alert does not make it due at the reroute, nor does it wait
    # group_wait again; it flushes at its old timer.
    assert d.next_due() == T0 + WAIT + INTERVAL
    assert await d.flush_due(T0 + WAIT + INTERVAL - 1) == 0
    assert await d.flush_due(T0 + WAIT + INTERVAL) == 1
    assert pipeline.take() == [(key("C"), T0 + 130), (key("DB"), T0 + 140),
                               (key("A"), T0 + WAIT + INTERVAL)]


async def test_groups_whose_route_went_away_leave_next_due(d: Dispatcher) -> None:
    d.on_alerts([alert("DB", team="db")])
    assert d.next_due() == T0 + WAIT
    await d.reroute(tree(TREE_WITHOUT_DB), [])
    assert d.groups == {}
    assert d.next_due() is None
    assert await d.flush_due(T0 + WAIT) == 0


async def test_a_failing_group_does_not_stop_the_others_and_is_retried(
        d: Dispatcher, pipeline: FakePipeline) -> None:
    d.on_alerts([alert("A"), alert("B"), alert("C")])
    pipeline.failing = {key("B")}
    assert await d.flush_due(T0 + WAIT) == 3
    assert {k for k, _ in pipeline.take()} == {key("A"), key("B"), key("C")}
    assert set(d.groups) == {key("A"), key("B"), key("C")}
    assert d.next_due() == T0 + WAIT + INTERVAL
    pipeline.failing = set()
    assert await d.flush_due(T0 + WAIT + INTERVAL) == 3
    assert {k for k, _ in pipeline.take()} == {key("A"), key("B"), key("C")}


async def test_a_single_failing_group_is_retried_after_group_interval(
        d: Dispatcher, pipeline: FakePipeline) -> None:
    d.on_alerts([alert("A")])
    pipeline.failing = {key("A")}
    assert await d.flush_due(T0 + WAIT) == 1
    assert d.next_due() == T0 + WAIT + INTERVAL
    assert await d.flush_due(T0 + WAIT + INTERVAL - 1) == 0
    assert await d.flush_due(T0 + WAIT + INTERVAL) == 1
    assert pipeline.take() == [(key("A"), T0 + WAIT), (key("A"), T0 + WAIT + INTERVAL)]


async def test_a_reroute_during_a_flush_does_not_repeat_it(
        d: Dispatcher, pipeline: FakePipeline, clock: FakeClock) -> None:
    a = alert("A")
    d.on_alerts([a])
    pipeline.hold = asyncio.Event()
    clock.set(T0 + WAIT)
    flushing = asyncio.create_task(d.flush_due(T0 + WAIT))
    await pipeline.entered.wait()  # the flush now waits in the pipeline (its outbox write)
    assert pipeline.flushes == [(key("A"), T0 + WAIT)]
    rerouting = asyncio.create_task(d.reroute(tree(), [a]))  # a reload, same tree
    await asyncio.sleep(0)
    assert not rerouting.done()  # it waits for the flush under way
    pipeline.hold.set()
    assert await flushing == 1
    await rerouting
    assert d.next_due() == T0 + WAIT + INTERVAL
    assert await d.flush_due(T0 + WAIT + 1) == 0


async def test_a_group_keeps_its_timer_when_deciding_its_mute_fails(
        pipeline: FakePipeline, clock: FakeClock) -> None:
    # Its timer leaves the heap when it becomes due; a failure before the pipeline (here
    # the time-interval check) must not leave the group without one.
    failures = [RuntimeError("time intervals broken")]

    def time_mute(route: object, now: float) -> str | None:
        if failures:
            raise failures.pop()
        return None

    d = Dispatcher(tree(), pipeline, clock, time_mute=time_mute,
                   record=lambda *a: None)
    d.on_alerts([alert("A")])
    assert await d.flush_due(T0 + WAIT) == 1
    assert pipeline.take() == []
    assert d.next_due() == T0 + WAIT + INTERVAL
    assert await d.flush_due(T0 + WAIT + INTERVAL) == 1
    assert pipeline.take() == [(key("A"), T0 + WAIT + INTERVAL)]


async def test_a_group_due_while_another_waits_for_its_outbox_flushes_at_once(
        d: Dispatcher, pipeline: FakePipeline, clock: FakeClock) -> None:
    d.on_alerts([alert("A")])
    pipeline.hold, pipeline.held = asyncio.Event(), {key("A")}
    [first] = d.start_due(T0 + WAIT)
    await pipeline.entered.wait()  # A's flush waits (its outbox write)
    clock.set(T0 + WAIT + 1)
    d.on_alerts([alert("B", starts_at=T0 + WAIT + 1)])
    assert await d.flush_due(T0 + 2 * WAIT + 1) == 1  # B does not queue behind A
    assert pipeline.flushes == [(key("A"), T0 + WAIT), (key("B"), T0 + 2 * WAIT + 1)]
    assert not first.done()
    pipeline.hold.set()
    await first
    assert d.next_due() == T0 + WAIT + INTERVAL


async def test_a_group_is_not_flushed_again_while_its_flush_runs(
        d: Dispatcher, pipeline: FakePipeline, clock: FakeClock) -> None:
    d.on_alerts([alert("A")])
    pipeline.hold = asyncio.Event()
    [first] = d.start_due(T0 + WAIT)
    await pipeline.entered.wait()
    # The wall clock steps back, and an alert older than group_wait joins the group that
    # has not flushed yet: its timer moves to "now", before the flush under way.
    clock.set(T0 + 10)
    d.on_alerts([alert("A", instance="2", starts_at=T0 - 600)])
    assert d.next_due() == T0 + 10
    assert await asyncio.wait_for(d.flush_due(T0 + 10), 5) == 0  # not held: none started
    pipeline.hold.set()
    await first
    assert pipeline.take() == [(key("A"), T0 + WAIT)]
    assert d.next_due() == T0 + WAIT + INTERVAL


async def test_run_takes_up_the_timer_a_finished_flush_gives_back(
        d: Dispatcher, pipeline: FakePipeline, clock: FakeClock) -> None:
    # While A flushes it has no timer and `run` has nothing to wait for; when the flush
    # ends (here failing, so A is due again after group_interval, which has passed by
    # then), `run` must wake and flush it again.
    d.on_alerts([alert("A", starts_at=T0 - 600)])  # due at once
    pipeline.hold, pipeline.failing = asyncio.Event(), {key("A")}
    running = asyncio.create_task(d.run())
    try:
        await pipeline.entered.wait()
        clock.set(T0 + INTERVAL + 1)
        pipeline.hold.set()
        await asyncio.wait_for(pipeline.wait_for(2), 5)
        assert pipeline.take() == [(key("A"), T0), (key("A"), T0 + INTERVAL + 1)]
    finally:
        running.cancel()


async def test_reroute_waits_for_every_flush_under_way(
        d: Dispatcher, pipeline: FakePipeline, clock: FakeClock) -> None:
    a, b = alert("A"), alert("B")
    d.on_alerts([a, b])
    pipeline.hold = asyncio.Event()
    flushes = d.start_due(T0 + WAIT)
    await pipeline.wait_for(2)
    rerouting = asyncio.create_task(d.reroute(tree(), [a, b]))
    await asyncio.sleep(0)
    assert not rerouting.done()
    pipeline.hold.set()
    await asyncio.gather(*flushes)
    await rerouting
    assert d.next_due() == T0 + WAIT + INTERVAL
    assert await d.flush_due(T0 + WAIT + 1) == 0


async def test_under_run_a_group_due_on_arrival_flushes_and_a_reload_does_not_repeat_it(
        d: Dispatcher, pipeline: FakePipeline, clock: FakeClock) -> None:
    running = asyncio.create_task(d.run())
    try:
        await asyncio.sleep(0)  # run is waiting: nothing is due
        a = alert("A", starts_at=T0 - 600)  # older than group_wait: due on arrival
        d.on_alerts([a])
        await asyncio.wait_for(pipeline.wait_for(1), 5)
        # A reload re-routes every alert into new groups; A's group keeps its timer
        # (flushed, next in group_interval) instead of flushing again as a new group.
        await d.reroute(tree(), [a])
        d.on_alerts([alert("B", starts_at=T0 - 600)])
        await asyncio.wait_for(pipeline.wait_for(2), 5)
        assert pipeline.take() == [(key("A"), T0), (key("B"), T0)]
        assert d.next_due() == T0 + INTERVAL
    finally:
        running.cancel()


async def test_run_wakes_for_a_new_group_earlier_than_its_next_timer(
        d: Dispatcher, pipeline: FakePipeline, clock: FakeClock) -> None:
    d.on_alerts([alert("Slow")])  # due in 30s
    running = asyncio.create_task(d.run())
    try:
        await asyncio.sleep(0)  # run now sleeps until Slow is due: 30 seconds
        d.on_alerts([alert("Fast", team="fast")])  # due in 5s: run must wake to see it
        clock.set(T0 + FAST_WAIT)
        await asyncio.wait_for(pipeline.wait_for(1), 5)  # not 30 s later
        assert pipeline.take() == [(key("Fast", "fast"), T0 + FAST_WAIT)]
    finally:
        running.cancel()


async def test_no_flush_starts_while_a_reroute_waits_for_those_under_way(
        d: Dispatcher, pipeline: FakePipeline, clock: FakeClock) -> None:
    # Under a steady stream of due groups, waiting until no flush is under way could last
    # for ever; the reroute holds new flushes back instead.
    a = alert("A")
    d.on_alerts([a])
    pipeline.hold, pipeline.held = asyncio.Event(), {key("A")}
    [first] = d.start_due(T0 + WAIT)
    await pipeline.entered.wait()
    b = alert("B", starts_at=T0 - 600)  # due at once
    d.on_alerts([b])
    rerouting = asyncio.create_task(d.reroute(tree(), [a, b]))
    await asyncio.sleep(0)
    assert not rerouting.done()
    assert d.start_due(T0 + WAIT) == []  # held back
    pipeline.hold.set()
    await first
    await rerouting
    assert await d.flush_due(T0 + WAIT) == 1  # B, now
    assert pipeline.take() == [(key("A"), T0 + WAIT), (key("B"), T0 + WAIT)]


async def test_a_restart_takes_the_groups_timers_up_where_they_were(
        pipeline: FakePipeline, clock: FakeClock) -> None:
    # Before the restart: A arrived at T0 (group_wait runs to T0+30); B's group was last
    # notified at T0-100 (its next flush: T0+200); C arrived long ago and never flushed.
    # The process comes back at T0+10.
    clock.set(T0 + 10)
    routed: list[str] = []
    d = Dispatcher(tree(), pipeline, clock, time_mute=lambda route, now: None,
                   record=lambda kind, a, details, at: routed.append(kind))
    d.restore([(alert("A"), T0), (alert("B", starts_at=T0 - 400), T0 - 400),
               (alert("C", starts_at=T0 - 900), T0 - 900)], {key("B"): T0 - 100})
    assert routed == []  # routed when they first arrived: not recorded again
    assert await d.flush_due(T0 + 10) == 1  # C: its group_wait passed during the restart
    assert await d.flush_due(T0 + WAIT - 0.001) == 0  # A waits out the rest of its wait
    assert await d.flush_due(T0 + WAIT) == 1
    assert await d.flush_due(T0 + 199) == 0  # B: one interval after its last notification
    assert await d.flush_due(T0 + 200) == 1
    assert pipeline.take() == [(key("C"), T0 + 10), (key("A"), T0 + WAIT),
                               (key("B"), T0 + 200)]


SIBLINGS = """\
route:
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: [team=db]
      receiver: tickets
      continue: true
    - matchers: [team=db]
receivers: [{name: default}, {name: tickets}]
"""


async def test_routes_with_the_same_matchers_keep_groups_of_their_own(
        pipeline: FakePipeline, clock: FakeClock) -> None:
    # As Alertmanager keeps groups per route: the `continue` route and its sibling with the
    # same matchers each flush the alert to their own receiver.
    d = Dispatcher(tree(SIBLINGS), pipeline, clock,
                   time_mute=lambda route, now: None, record=lambda *a: None)
    d.on_alerts([alert("DiskFull", team="db")])
    assert sorted(g.group.receiver for g in d.views()) == ["default", "tickets"]
    clock.advance(WAIT)
    await d.flush_due(clock.now())
    assert pipeline.take() == [(key("DiskFull", "db"), T0 + WAIT)] * 2
