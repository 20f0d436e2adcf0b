"""What a replay skips changes no answer: it pages exactly as a replay that flushes
every group at every group_interval, whatever the grouping, repeat interval, time
intervals and resolution settings, and its alerts fire and resolve exactly as the state
machine stepped over every instance at every evaluation says."""

from __future__ import annotations

import random

import pytest

from alertd.config.load import parse_config
from alertd.model import Labels
from alertd.rules.state import Active, Observation, RuleState, Status, Timing, step
from alertd.whatif.episodes import Episode
from alertd.whatif.replay import Outcome, Routing, replay

STEP = 60.0
T0 = 1_790_000_040.0  # an evaluation time, a Monday
HOUR, DAY = 3600.0, 86400.0

RECEIVERS = """
receivers:
  - name: oncall
    slack_configs:
      - api_url: http://127.0.0.1:9/hook
        channel: "#oncall"
        send_resolved: {send_resolved}
    pagerduty_configs:
      - routing_key: key
        url: http://127.0.0.1:9/pd
time_intervals:
  - name: office
    time_intervals:
      - times:
          - start_time: "08:00"
            end_time: "18:00"
        weekdays: ["monday:friday"]
        location: Europe/Berlin
"""

ROUTES = {
    "one group per rule": """
route:
  receiver: oncall
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
""",
    "one group per instance": """
route:
  receiver: oncall
  group_by: [alertname, instance]
  group_wait: 10s
  group_interval: 2m
  repeat_interval: 3h
""",
    "repeat sooner than the interval": """
route:
  receiver: oncall
  group_by: [alertname]
  group_wait: 0s
  group_interval: 10m
  repeat_interval: 4m
""",
    "office hours only": """
route:
  receiver: oncall
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['alertname="Busy"']
      active_time_intervals: [office]
""",
    "muted in office hours, resolutions told": """
route:
  receiver: oncall
  group_by: [alertname]
  group_wait: 30s
  group_interval: 7m
  repeat_interval: 2h
  routes:
    - matchers: ['alertname="Busy"']
      mute_time_intervals: [office]
      notify_resolved_after_mute: true
""",
}


def routing(route: str, send_resolved: bool) -> Routing:
    text = ROUTES[route] + RECEIVERS.format(send_resolved=str(send_resolved).lower())
    return Routing.of(parse_config(text))


def timeline(rng: random.Random) -> list[Episode]:
    """Instances that flap for minutes and hold for hours or days, over four days."""
    out = []
    for instance in range(4):
        labels = Labels({"alertname": "Busy", "instance": f"host-{instance}"})
        at = T0 + STEP * rng.randrange(0, 60)
        while at < T0 + 4 * DAY:
            length = STEP * rng.choice((1, 3, 12, 90, 600, 2000))
            out.append(Episode(labels, at, at + length, 1.0))
            at += length + STEP * rng.randrange(1, 400)
    return sorted(out, key=lambda ep: ep.start)


def pages(out: Outcome) -> list[tuple[float, str, str, tuple[str, ...]]]:
    return [(p.at, p.receiver, p.integration, tuple(sorted(p.alerts))) for p in out.pages]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("send_resolved", [True, False])
async def test_skipping_quiet_flushes_changes_no_page(seed: int, route: str,
                                                     send_resolved: bool) -> None:
    eps = timeline(random.Random(seed))
    config = routing(route, send_resolved)
    timing = Timing(120.0, 0.0)
    until = T0 + 5 * DAY
    every = await replay("Busy", eps, timing, STEP, config, until=until, skip_settled=False)
    skipping = await replay("Busy", eps, timing, STEP, config, until=until)
    assert len(every.pages) > 10  # repeats and new alerts both happen
    assert pages(skipping) == pages(every)
    assert skipping.firings == every.firings


async def test_a_group_firing_for_days_repeats_at_its_repeat_interval() -> None:
    """The skipped flushes still bring the repeat notification on time: a rule firing
    for a day repeats every hour to both integrations, at the first group_interval tick
    after the hour."""
    labels = Labels({"alertname": "Busy", "instance": "host-1"})
    eps = [Episode(labels, T0, T0 + DAY, 1.0)]
    out = await replay("Busy", eps, Timing(0.0, 0.0), STEP,
                       routing("one group per rule", True), until=T0 + DAY)
    slack = [p.at - T0 for p in out.pages if p.integration == "slack"]
    # First at group_wait (30 s), then at each 5-minute tick one hour or more later.
    assert slack[:3] == [30.0, 30.0 + 3600.0, 30.0 + 7200.0]
    assert len(slack) == 24


def overlapping(rng: random.Random) -> list[Episode]:
    """Episodes of three instances over a day, some of one instance overlapping (a
    history can hold those: an instance recorded firing again while it fired)."""
    out = []
    for instance in range(3):
        labels = Labels({"alertname": "Busy", "instance": f"host-{instance}"})
        for _ in range(rng.randrange(4, 15)):
            start = T0 + STEP * rng.randrange(0, 1400)
            out.append(Episode(labels, start, start + STEP * rng.randrange(1, 240), 1.0))
    return sorted(out, key=lambda ep: ep.start)


def every_evaluation(eps: list[Episode], timing: Timing,
                     until: float) -> dict[str, list[tuple[float, float | None]]]:
    """The state machine stepped over every instance at every evaluation: what the
    replay's stepping of the changing instances alone must agree with."""
    state, firings = RuleState(), {}
    at = T0
    while at < until:
        active = {ep.labels: Active(ep.labels, ep.value) for ep in eps
                  if ep.start <= at and (ep.end is None or at < ep.end)}
        state, transitions = step(timing, state, Observation(at, active))
        for t in transitions:
            spans = firings.setdefault(t.labels.fingerprint(), [])
            if t.new is Status.FIRING:
                spans.append((at, None))
            elif t.new is Status.RESOLVED:
                spans[-1] = (spans[-1][0], at)
        at += STEP
    return firings


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("timing", [Timing(0.0, 0.0), Timing(300.0, 0.0),
                                    Timing(120.0, 900.0)])
async def test_stepping_the_changing_instances_agrees_with_stepping_all(
        seed: int, timing: Timing) -> None:
    eps = overlapping(random.Random(seed))
    until = T0 + 2 * DAY
    out = await replay("Busy", eps, timing, STEP, routing("one group per rule", True),
                       until=until)
    assert out.firings == every_evaluation(eps, timing, until)
