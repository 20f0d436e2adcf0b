"""Live flap detection: the noise report's detector, per instance, after each evaluation."""

from __future__ import annotations

from types import MappingProxyType

from alertd.model import Labels
from alertd.noise.flap import FlapDetector
from alertd.noise.flapping import HOUR, FlapTracker, FlapView
from alertd.noise.timeline import follow
from alertd.rules.state import Active, Instance, Observation, RuleState, Status, Timing, step

RULE = "X"
A = Labels({"alertname": RULE, "model": "a"})
STEP = 60.0
T0 = 1_800_000_000.0


class Rule:
    """A rule evaluated every STEP seconds whose expression returns A or not, as told."""

    def __init__(self, tracker: FlapTracker) -> None:
        self.tracker = tracker
        self.state = RuleState()
        self.at = T0

    def evaluate(self, active: bool) -> None:
        self.at += STEP
        seen = {A: Active(A.without(("alertname",)), 1.0)} if active else {}
        self.state, _ = step(Timing(), self.state, Observation(self.at,
                                                              MappingProxyType(seen)))
        self.tracker.observe(RULE, self.state.instances.values(), STEP, self.at)

    def view(self) -> FlapView:
        return self.tracker.view(RULE, A, self.at)


def flapped(rule: Rule, evaluations: int) -> list[FlapView]:
    """Fire, resolve, fire... at every evaluation; the view after each."""
    views = []
    for n in range(evaluations):
        rule.evaluate(n % 2 == 0)
        views.append(rule.view())
    return views


def test_fire_and_resolve_at_every_evaluation_flaps_after_the_high_threshold() -> None:
    rule = Rule(FlapTracker())
    views = flapped(rule, 12)
    # The 9th change takes the weighted share of changes over 0.5.
    assert [v.flapping for v in views] == [False] * 8 + [True] * 4
    assert views[8].score > 0.5 >= views[7].score
    assert views[-1].changes_1h == 12
    assert views[-1].text() == "12 state changes in the last hour"


def test_flapping_stops_only_below_the_low_threshold() -> None:
    rule = Rule(FlapTracker())
    flapped(rule, 12)
    quiet = []
    for _ in range(21):
        rule.evaluate(False)
        quiet.append(rule.view())
    # Hysteresis: still flapping with a score under high, until it falls below low.
    held = [v for v in quiet if v.flapping]
    assert held and any(v.score <= 0.5 for v in held)
    assert all(v.score >= 0.3 for v in held)
    stopped = quiet[len(held)]
    assert not stopped.flapping and stopped.score < 0.3
    assert not any(v.flapping for v in quiet[len(held):])


def test_the_live_view_agrees_with_the_report_replay() -> None:
    """The report sees only the changes and rebuilds the evaluations in between."""
    detector = FlapDetector()
    rule = Rule(FlapTracker(detector))
    pattern = [True, False, True, True, False, False, False, True, False, True, False, True]
    track, last = None, False
    for active in pattern:
        rule.evaluate(active)
        if active != last:
            track, last = follow(detector, track, rule.at, active, STEP), active
    assert track is not None
    assert rule.view().flapping == track.state.flapping
    assert rule.view().score == track.state.score


def test_pending_counts_as_not_firing() -> None:
    tracker = FlapTracker()
    pending = Instance(A, Labels(), Status.PENDING, active_at=T0, value=1.0)
    for n in range(30):
        tracker.observe(RULE, [pending] if n % 2 == 0 else [], STEP, T0 + n * STEP)
    assert tracker.view(RULE, A, T0 + 30 * STEP) == FlapView()
    assert len(tracker) == 0


def test_quiet_instances_are_forgotten_after_an_hour_without_changes() -> None:
    rule = Rule(FlapTracker())
    flapped(rule, 13)  # ends firing
    rule.evaluate(False)
    assert len(rule.tracker) == 1
    # Resolved instances are kept by the state machine for 15 minutes, then dropped;
    # the tracker keeps the instance while its last hour has changes to count.
    while rule.at < T0 + 13 * STEP + HOUR:
        rule.evaluate(False)
        assert len(rule.tracker) == 1
    rule.evaluate(False)
    rule.evaluate(False)
    assert len(rule.tracker) == 0
    assert rule.view() == FlapView()


def test_a_steady_firing_instance_is_kept_but_not_flapping() -> None:
    rule = Rule(FlapTracker())
    for _ in range(200):
        rule.evaluate(True)
    assert len(rule.tracker) == 1
    assert rule.view() == FlapView(False, 0.0, 0)


def test_the_annotation_is_added_while_flapping_only() -> None:
    rule = Rule(FlapTracker())
    flapped(rule, 8)  # 8 changes: not yet
    (inst,) = rule.state.instances.values()
    base = lambda i: {"summary": "s"}  # noqa: E731
    assert dict(rule.tracker.annotator(RULE, base, rule.at)(inst)) == {"summary": "s"}
    flapped(rule, 4)
    (inst,) = rule.state.instances.values()
    annotations = rule.tracker.annotator(RULE, base, rule.at)(inst)
    assert annotations == {"summary": "s", "flapping": "12 state changes in the last hour"}


def test_removed_rules_are_swept() -> None:
    rule = Rule(FlapTracker())
    flapped(rule, 3)
    rule.tracker.sweep(rule.at, {RULE})
    assert len(rule.tracker) == 1
    rule.tracker.sweep(rule.at + 600, set())
    assert len(rule.tracker) == 0
