"""Flap detection: the score over a window, the hysteresis, and flapping in the report.

Weights, window 21 (20 places where the state may change, place 0 the oldest):
w_k = 0.8 + 0.4 * k / 19, so w_0 = 0.8, w_19 = 1.2, and the 20 weights sum to 20.
The score is (sum of the weights of the places that changed) / 20.
"""

from __future__ import annotations

import random

import pytest

from alertd.history import HistoryEvent
from alertd.noise import FlapDetector, RuleInfo, flap_score, timeline
from alertd.noise.flap import FlapState
from tests.noise.timelines import DAY, MINUTE, START, alert, fire, report, resolve


def test_score_of_a_state_changing_at_every_observation_is_one() -> None:
    states = [i % 2 == 0 for i in range(21)]
    # 20 changes: every weight, 20 in all -> 20 / 20
    assert flap_score(states) == pytest.approx(1.0)


def test_score_of_a_steady_state_is_zero_and_too_little_history_scores_zero() -> None:
    assert flap_score([True] * 21) == 0.0
    assert flap_score([True, False] * 10) == 0.0  # 20 observations: fewer than 21


def test_recent_changes_weigh_more() -> None:
    newest = [False] * 20 + [True]  # one change, at place 19: 1.2 / 20
    oldest = [True] + [False] * 20  # one change, at place 0: 0.8 / 20
    assert flap_score(newest) == pytest.approx(0.06)
    assert flap_score(oldest) == pytest.approx(0.04)
    # Only the last 21 observations count: of 22, the change between the first two is
    # out of the window.
    assert flap_score([True] + [False] * 20 + [True]) == pytest.approx(0.06)


def feed(detector: FlapDetector, state: FlapState, observations: list[bool]) -> list[FlapState]:
    states = []
    for observation in observations:
        state = detector.step(state, observation)
        states.append(state)
    return states


def test_flapping_starts_above_high_and_stops_below_low() -> None:
    detector = FlapDetector(high=0.5, low=0.3)
    alternating = [i % 2 == 0 for i in range(20)]  # True, False, ... False
    going_up = feed(detector, detector.steady(False), alternating)
    # n alternations change the newest n places, k = 20-n .. 19:
    #   n = 8: 8 * 0.8 + 0.4/19 * (12+...+19 = 124) = 6.4 + 2.6105 = 9.0105 -> 0.4505
    #   n = 9: 9 * 0.8 + 0.4/19 * (11+...+19 = 135) = 7.2 + 2.8421 = 10.0421 -> 0.5021
    assert going_up[7].score == pytest.approx(0.450526, abs=1e-6)
    assert not going_up[7].flapping
    assert going_up[8].score == pytest.approx(0.502105, abs=1e-6)
    assert going_up[8].flapping
    assert going_up[19].score == pytest.approx(1.0)

    # Then steady: after j more observations of the last state, the changes are at the
    # oldest 20 - j places, k = 0 .. 19-j:
    #   j = 10: 10 * 0.8 + 0.4/19 * (0+...+9 = 45) = 8.9474 -> 0.4474 (below high: stays on)
    #   j = 13:  7 * 0.8 + 0.4/19 * (0+...+6 = 21) = 6.0421 -> 0.3021 (still >= low)
    #   j = 14:  6 * 0.8 + 0.4/19 * (0+...+5 = 15) = 5.1158 -> 0.2558 (below low: off)
    going_down = feed(detector, going_up[-1], [False] * 14)
    assert going_down[9].score == pytest.approx(0.447368, abs=1e-6)
    assert going_down[9].flapping
    assert going_down[12].score == pytest.approx(0.302105, abs=1e-6)
    assert going_down[12].flapping
    assert going_down[13].score == pytest.approx(0.255789, abs=1e-6)
    assert not going_down[13].flapping
    # Hysteresis: a detector not flapping does not start at 0.4474, below high.
    assert not detector.step(FlapState((*going_down[9].window[:-1], False)), False).flapping


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValueError, match="low <= high"):
        FlapDetector(high=0.3, low=0.5)
    with pytest.raises(ValueError, match="at least 3"):
        FlapDetector(window=2)


def cycles(rule: str, count: int, every: float, *,
           instance: str = "a") -> list[HistoryEvent]:
    """`count` fire/resolve cycles, a state change every `every` seconds from START + 1d."""
    labels = alert(rule, instance=instance)
    events = []
    at = START + DAY
    for _ in range(count):
        events += [fire(at, labels), resolve(at + every, labels)]
        at += 2 * every
    return events


def test_report_counts_flapping_instances_from_their_state_changes() -> None:
    rules = [RuleInfo("Fast", "ml", "r", interval=60), RuleInfo("Edge", "ml", "r", interval=60),
             RuleInfo("Slow", "ml", "r", interval=60), RuleInfo("Hourly", "ml", "r",
                                                                 interval=300)]
    events = (
        # Fast: 5 cycles, a change every evaluation: 10 alternating observations; after the
        # 9th the score is 0.5021 (above): flapping.
        cycles("Fast", 5, 60)
        # Edge: 4 cycles, 8 alternating observations: 0.4505 at most: not flapping.
        + cycles("Edge", 4, 60)
        # Slow: a change every 5 minutes with a 1-minute evaluation: 4 steady evaluations
        # between changes, so at most 4 changes among any 21 observations (<= 0.24).
        + cycles("Slow", 10, 300)
        # Hourly: the same 5-minute changes, but the rule evaluates every 5 minutes: each
        # evaluation is a change, as Fast: flapping.
        + cycles("Hourly", 5, 300)
    )
    got = report(events, rules=rules)
    flapping = {r.rule: r.figures.flapping_instances for r in got.rules}
    assert flapping == {"Fast": 1, "Edge": 0, "Slow": 0, "Hourly": 1}
    assert got.totals.flapping_instances == 2
    # Cycles per day: Fast resolved 5 times in a 7-day week.
    fast = got.rule("Fast")
    assert fast is not None
    assert fast.figures.flaps_per_day == pytest.approx(5 / 7)
    assert fast.figures.firings == 5
    # Ten cycles of Slow, a change every 5 minutes: 10 * 2 * 300 s.
    slow = got.rule("Slow")
    assert slow is not None and slow.figures.time_firing_s == 10 * 300
    assert got.totals.flaps_per_day == pytest.approx((5 + 4 + 10 + 5) / 7)


def test_an_instance_quiet_for_a_window_starts_afresh() -> None:
    # Fast flaps 4 cycles (8 changes: 0.4505), is quiet for a day, then 1 more cycle:
    # the quiet day filled the window with steady observations, so the next 2 changes
    # score w_19 / 20 = 0.06, then (w_18 + w_19) / 20 = (1.1789 + 1.2) / 20 = 0.1189:
    # not flapping (without the quiet day, 10 changes in a row would be).
    labels = alert("Fast", instance="a")
    events = [*cycles("Fast", 4, 60), fire(START + 2 * DAY, labels),
              resolve(START + 2 * DAY + MINUTE, labels)]
    got = report(events, rules=[RuleInfo("Fast", "ml", "r", interval=60)])
    assert got.totals.flapping_instances == 0


def test_holding_a_state_is_stepping_it_again_and_again() -> None:
    detector = FlapDetector(high=0.5, low=0.3)
    rng = random.Random(7)
    for _ in range(200):
        # From a full window (as the report does) or an empty one (a live start).
        state = detector.steady(False) if rng.random() < 0.5 else FlapState()
        for observation in [rng.random() < 0.5 for _ in range(rng.randrange(1, 30))]:
            state = detector.step(state, observation)
        times = rng.randrange(30)
        stepped = state
        for _ in range(times):
            stepped = detector.step(stepped, state.window[-1])
        held = detector.hold(state, times)
        assert (held.window, held.flapping) == (stepped.window, stepped.flapping)
        assert held.score == pytest.approx(stepped.score)


@pytest.mark.parametrize("detector", [FlapDetector(), FlapDetector(high=0.3, low=0.0, window=5),
                                      FlapDetector(high=0.2, low=0.1, window=3)])
def test_a_follower_answers_as_follow_does(detector: FlapDetector,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # The report follows every instance with one Follower, which remembers the detector's
    # answers (and forgets them all past FOLLOWER_MEMORY, made small here): the tracks
    # must be those `follow` makes, quiet stretches of every length included.
    monkeypatch.setattr(timeline, "FOLLOWER_MEMORY", 16)
    follower = timeline.Follower(detector)
    rng = random.Random(11)
    for _ in range(300):
        step = rng.choice([15.0, 60.0])
        remembered: timeline.Track | None = None
        computed: timeline.Track | None = None
        at = 0.0
        for _ in range(rng.randrange(1, 40)):
            at += step * rng.choice([1, 1, 2, 3, detector.window - 1, detector.window + 2])
            firing = rng.random() < 0.5
            remembered = follower(remembered, at, firing, step)
            computed = timeline.follow(detector, computed, at, firing, step)
            assert remembered == computed
