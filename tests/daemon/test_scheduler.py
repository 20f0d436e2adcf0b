"""Group ticks: stable offsets, and overruns that are counted rather than queued."""

from __future__ import annotations

import asyncio

import pytest

from alertd.clock import FakeClock
from alertd.lang.check import check_files
from alertd.lang.parse import parse_file
from alertd.rules.manager import Group, RuleManager
from alertd.rules.meta import MetaAlerts
from alertd.rules.scheduler import Scheduler, next_tick, offset_for
from alertd.rules.state import RuleState, Transition
from alertd.sources.windows import SampleWindows


def test_ticks_fall_on_a_stable_offset_within_the_interval() -> None:
    offset = offset_for("churn", 30.0)
    assert 0 <= offset < 30 and offset == offset_for("churn", 30.0)
    assert offset_for("fraud", 30.0) != offset
    t = next_tick("churn", 30.0, 1_000_000.0)
    assert 1_000_000.0 < t <= 1_000_030.0
    assert (t - offset) % 30 == pytest.approx(0, abs=1e-6)
    # The next tick from a tick is one interval later: the phase never drifts.
    assert next_tick("churn", 30.0, t) == pytest.approx(t + 30)


def manager_with(rules: str) -> RuleManager:
    result = check_files([parse_file(rules, "t.rules").file])
    assert result.ok, result.diagnostics
    manager = RuleManager(60.0)
    manager.replace(result.groups, 60.0)
    return manager


async def test_a_slow_group_counts_its_missed_ticks() -> None:
    manager = manager_with('group slow {\n  interval = 10s\n  alert A { when = up == 0 }\n}\n')
    clock = FakeClock(1_000_000.0)
    monotonic = FakeClock(0.0)
    rounds: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        clock.advance(max(seconds, 0.0))
        if len(rounds) >= 3:
            await asyncio.Event().wait()  # park the loop: the test is done with it
        await asyncio.sleep(0)

    async def persist(states: dict[str, RuleState]) -> None:
        return None

    def publish(rule: str, transitions: list[Transition], at: float) -> None:
        return None

    scheduler = Scheduler(manager, SampleWindows(), MetaAlerts(), clock, query_many=None,
                          source_error=lambda: None, persist=persist, publish=publish,
                          sleep=fake_sleep, monotonic=monotonic.now)
    real_evaluate = scheduler.evaluate_group

    async def slow_evaluate(group: Group, at: float) -> None:
        rounds.append(at)
        await real_evaluate(group, at)
        monotonic.advance(25.0)  # each round takes 2.5 intervals
        clock.advance(25.0)

    scheduler.evaluate_group = slow_evaluate  # type: ignore[method-assign]
    (group,) = manager.groups
    task = asyncio.create_task(scheduler.group_loop(group))
    for _ in range(200):
        if len(rounds) >= 3:
            break
        await asyncio.sleep(0)
    task.cancel()
    assert len(rounds) == 3
    # Two ticks missed per round; the next round starts at the next tick, not queued.
    assert scheduler.overruns == {"slow": 6}
    assert rounds[1] - rounds[0] == pytest.approx(30.0)
