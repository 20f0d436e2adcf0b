"""The replay against an independent computation of the same timelines.

The independent side is written from the rules as documented, not from the code: an
instance fires once its condition held for `for` (at an evaluation), stays firing while
the condition comes back within keep_firing_for, and resolves at the first evaluation
keep_firing_for after the condition ended. Its group (one per instance: group_by
includes `instance`) flushes group_wait after it was created and every group_interval
after that; a flush pages when the alert fires and the receiver has not been told it
fires, tells the receiver it resolved when it did, and the group goes when its alert
resolved.
"""

from __future__ import annotations

import math
import random

import pytest

from alertd.config.load import parse_config
from alertd.history import transition
from alertd.model import Labels
from alertd.rules.state import Timing
from alertd.whatif.episodes import Episode, episodes
from alertd.whatif.replay import Routing, replay

STEP = 60.0
T0 = 1_790_000_040.0  # an evaluation time
GROUP_WAIT, GROUP_INTERVAL = 30.0, 300.0

CONFIG = """
route:
  receiver: oncall
  group_by: [alertname, instance]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 24h
receivers:
  - name: oncall
    slack_configs:
      - api_url: http://127.0.0.1:9/hook
        channel: "#oncall"
"""


def routing() -> Routing:
    return Routing.of(parse_config(CONFIG))


def labels(instance: int) -> Labels:
    return Labels({"alertname": "Flappy", "instance": f"host-{instance}", "owner": "ml"})


def expected_firings(eps: list[tuple[float, float]], for_: float,
                     keep: float) -> list[tuple[float, float]]:
    """Firing intervals of one instance whose condition held over `eps` (grid times)."""
    fire_after = math.ceil(for_ / STEP) * STEP
    hold = math.ceil(keep / STEP) * STEP
    out: list[tuple[float, float]] = []
    for start, end in eps:
        if out and start <= out[-1][1]:  # back while held: still the same firing
            out[-1] = (out[-1][0], end + hold)
            continue
        if start + fire_after < end:
            out.append((start + fire_after, end + hold))
    return out


def expected_pages(firings: list[tuple[float, float]], until: float) -> list[float]:
    pages: list[float] = []
    told_firing = False
    group_at: float | None = None  # the group's next flush; None: no group
    i = 0
    while True:
        upcoming = firings[i][0] if i < len(firings) else math.inf
        if group_at is None or upcoming < group_at:
            if upcoming >= until:
                return pages
            if group_at is None:
                group_at = upcoming + GROUP_WAIT
            i += 1
            continue
        if group_at >= until:
            return pages
        t = group_at
        firing = any(f <= t < r for f, r in firings)
        if firing and not told_firing:
            pages.append(t)
            told_firing = True
        if not firing:
            told_firing = False
            group_at = None  # its resolved alert left with the flush, and the group too
        else:
            group_at = t + GROUP_INTERVAL


def random_episodes(rng: random.Random) -> list[tuple[float, float]]:
    at, eps = T0, []
    for _ in range(rng.randrange(3, 12)):
        at += STEP * rng.randrange(2, 40)
        length = STEP * rng.randrange(1, 20)
        eps.append((at, at + length))
        at += length
    return eps


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(("for_", "keep"), [(0.0, 0.0), (300.0, 0.0), (0.0, 600.0),
                                            (600.0, 900.0), (120.0, 1800.0)])
async def test_replay_matches_an_independent_computation(seed: int, for_: float,
                                                         keep: float) -> None:
    rng = random.Random(seed)
    per_instance = {i: random_episodes(rng) for i in range(3)}
    timeline = sorted((Episode(labels(i), s, e) for i, eps in per_instance.items()
                       for s, e in eps), key=lambda ep: ep.start)
    until = T0 + 86400.0
    out = await replay("Flappy", timeline, Timing(for_, keep), STEP, routing(), until=until)
    for i, eps in per_instance.items():
        fp = labels(i).fingerprint()
        firings = expected_firings(eps, for_, keep)
        assert out.firings.get(fp, []) == firings
        pages = [p.at for p in out.pages if fp in p.alerts]
        assert pages == expected_pages(firings, until), (i, eps)


def test_episodes_are_rebuilt_from_recorded_transitions() -> None:
    ls = labels(1)
    since = T0 - 3600.0
    recorded = [
        transition(T0, ls, old="inactive", new="pending", value=3.0, rule="Flappy"),
        transition(T0 + 300, ls, old="pending", new="firing", value=4.0, rule="Flappy"),
        transition(T0 + 900, ls, old="firing", new="resolved", value=0.0, rule="Flappy",
                   reason="keep_firing_for_ended"),
        transition(T0 + 1200, ls, old="inactive", new="pending", value=2.0, rule="Flappy"),
        transition(T0 + 1260, ls, old="pending", new="inactive", value=0.0, rule="Flappy",
                   reason="condition_gone"),
        # Firing when the read began: held from `since`.
        transition(T0 + 60, labels(2), old="firing", new="resolved", value=0.0,
                   rule="Flappy", reason="condition_gone"),
        transition(T0 + 2000, labels(3), old="inactive", new="pending", value=9.0,
                   rule="Flappy"),
    ]
    got = episodes(sorted(recorded, key=lambda e: e.at), since=since, for_=300.0,
                   keep_firing_for=600.0)
    assert [(ep.labels["instance"], ep.start, ep.end, ep.value) for ep in got] == [
        ("host-2", since, T0 + 60, 1.0),
        ("host-1", T0, T0 + 300, 3.0),  # resolved at +900 after a 600 s hold
        ("host-1", T0 + 1200, T0 + 1260, 2.0),
        ("host-3", T0 + 2000, None, 9.0),
    ]
