"""The alert state machine, driven one evaluation at a time."""

from __future__ import annotations

import math
from types import MappingProxyType

from alertd.model import Labels, Sample
from alertd.rules.state import (
    RESOLVED_RETENTION,
    Active,
    Health,
    Observation,
    Reason,
    RuleState,
    Status,
    Timing,
    Transition,
    step,
)

A = Labels({"alertname": "X", "model": "a"})
B = Labels({"alertname": "X", "model": "b"})


def seen(at: float, *labels: Labels, value: float = 1.0, clear: list[Sample] | None = None,
         nodata: bool = False) -> Observation:
    active = {lab: Active(lab.without(("alertname",)), value) for lab in labels}
    return Observation(at, MappingProxyType(active), clear, nodata=nodata)


def run(timing: Timing, *observations: Observation) -> tuple[RuleState, list[Transition]]:
    state = RuleState()
    log: list[Transition] = []
    for obs in observations:
        state, transitions = step(timing, state, obs)
        log.extend(transitions)
    return state, log


def statuses(state: RuleState) -> dict[Labels, Status]:
    return {labels: inst.status for labels, inst in state.instances.items()}


def test_for_keeps_an_instance_pending_until_it_has_held_long_enough() -> None:
    timing = Timing(for_=120)
    state, log = run(timing, seen(0, A), seen(60, A))
    assert statuses(state) == {A: Status.PENDING}
    state, more = step(timing, state, seen(120, A))
    assert statuses(state) == {A: Status.FIRING}
    assert [(t.old, t.new, t.at) for t in log + more] == [
        (Status.INACTIVE, Status.PENDING, 0), (Status.PENDING, Status.FIRING, 120)]
    assert state.instances[A].active_at == 0 and state.instances[A].fired_at == 120


def test_zero_for_fires_at_once() -> None:
    state, log = run(Timing(), seen(0, A))
    assert statuses(state) == {A: Status.FIRING}
    assert [(t.old, t.new) for t in log] == [(Status.INACTIVE, Status.FIRING)]


def test_pending_instance_that_disappears_is_forgotten() -> None:
    state, log = run(Timing(for_=300), seen(0, A, B), seen(60, B))
    assert statuses(state) == {B: Status.PENDING}
    assert (Status.PENDING, Status.INACTIVE) in [(t.old, t.new) for t in log]
    # Coming back restarts the `for` clock.
    state, _ = step(Timing(for_=300), state, seen(120, A, B))
    assert state.instances[A].active_at == 120


def test_firing_instance_resolves_and_is_kept_for_notification() -> None:
    state, log = run(Timing(), seen(0, A), seen(60))
    assert statuses(state) == {A: Status.RESOLVED}
    assert log[-1].new is Status.RESOLVED and log[-1].at == 60
    state, _ = step(Timing(), state, seen(60 + RESOLVED_RETENTION))
    assert statuses(state) == {}


def test_resolved_instance_that_returns_starts_over() -> None:
    state, _ = run(Timing(for_=60), seen(0, A), seen(60, A), seen(120), seen(180, A))
    assert statuses(state) == {A: Status.PENDING}
    assert state.instances[A].active_at == 180


def test_keep_firing_for_delays_resolution() -> None:
    timing = Timing(keep_firing_for=120)
    state, _ = run(timing, seen(0, A), seen(60), seen(120))
    assert statuses(state) == {A: Status.FIRING}
    state, log = step(timing, state, seen(180))
    assert statuses(state) == {A: Status.RESOLVED}
    assert log[0].at == 180


def test_keep_firing_for_restarts_when_the_condition_returns() -> None:
    timing = Timing(keep_firing_for=120)
    state, _ = run(timing, seen(0, A), seen(60), seen(120, A), seen(180), seen(240))
    assert statuses(state) == {A: Status.FIRING}


def test_clear_keeps_firing_until_the_clear_condition_holds() -> None:
    timing = Timing(has_clear=True)
    clear_a = [Sample(Labels({"model": "a"}), 0.01)]
    # The condition stops holding but clear does not hold yet: still firing.
    state, _ = run(timing, seen(0, A, B), seen(60, clear=[]))
    assert statuses(state) == {A: Status.FIRING, B: Status.FIRING}
    # clear holds for model="a" only.
    state, log = step(timing, state, seen(120, clear=clear_a))
    assert statuses(state) == {A: Status.RESOLVED, B: Status.FIRING}
    assert [(t.labels, t.new) for t in log] == [(A, Status.RESOLVED)]


def test_clear_element_with_fewer_labels_clears_all_it_matches() -> None:
    timing = Timing(has_clear=True)
    state, _ = run(timing, seen(0, A, B), seen(60, clear=[Sample(Labels(), 0.0)]))
    assert statuses(state) == {A: Status.RESOLVED, B: Status.RESOLVED}


def test_clear_does_not_apply_while_the_condition_still_holds() -> None:
    timing = Timing(has_clear=True)
    state, _ = run(timing, seen(0, A), seen(60, A, clear=[Sample(Labels(), 0.0)]))
    assert statuses(state) == {A: Status.FIRING}


def test_evaluation_error_keeps_alerts_and_reports_health() -> None:
    state, _ = run(Timing(for_=60), seen(0, A, B), seen(60, A, B))
    state, log = step(Timing(for_=60), state, Observation(120, error="prometheus is down"))
    assert log == []
    assert statuses(state) == {A: Status.FIRING, B: Status.FIRING}
    assert state.health is Health.ERROR and state.last_error == "prometheus is down"
    state, _ = step(Timing(for_=60), state, seen(180, A, B))
    assert state.health is Health.OK and state.last_error is None


def test_nodata_keep_freezes_the_state() -> None:
    timing = Timing(nodata="keep")
    state, _ = run(timing, seen(0, A), seen(60, nodata=True))
    assert statuses(state) == {A: Status.FIRING}
    assert state.nodata


def test_nodata_ok_resolves_like_an_empty_result() -> None:
    state, _ = run(Timing(nodata="ok"), seen(0, A), seen(60, nodata=True))
    assert statuses(state) == {A: Status.RESOLVED}


def test_step_is_pure() -> None:
    timing = Timing(for_=60)
    before, _ = run(timing, seen(0, A))
    snapshot = dict(before.instances)
    step(timing, before, seen(60, A))
    assert dict(before.instances) == snapshot
    assert before.instances[A].status is Status.PENDING


def test_clear_resolves_an_instance_whose_data_is_gone() -> None:
    timing = Timing(has_clear=True)
    basis_b = [Sample(Labels({"model": "b"}), 0.04)]  # b is still above the clear threshold
    # The series of model "a" disappeared: nothing to compare, so it must not fire forever.
    state, _ = run(timing, seen(0, A, B), Observation(60, MappingProxyType({}), [], basis_b))
    assert statuses(state) == {A: Status.RESOLVED, B: Status.FIRING}


def test_nodata_instance_resolves_when_data_returns_despite_clear() -> None:
    timing = Timing(has_clear=True, nodata="alert")
    no_data = Labels({"alertname": "X", "nodata": "true"})
    first = Observation(0, MappingProxyType({no_data: Active(Labels(), float("nan"),
                                                              nodata=True)}), [], nodata=True)
    state, _ = run(timing, first, seen(60, clear=[]))
    assert statuses(state) == {no_data: Status.RESOLVED}


# --- why an instance resolved -----------------------------------------------------------------

def reasons(log: list[Transition]) -> list[tuple[Status, Status, str | None]]:
    return [(t.old, t.new, t.reason) for t in log]


def test_an_instance_the_condition_no_longer_returns_resolves_with_condition_gone() -> None:
    _, log = run(Timing(), seen(0, A), seen(60))
    assert reasons(log) == [(Status.INACTIVE, Status.FIRING, None),
                            (Status.FIRING, Status.RESOLVED, Reason.CONDITION_GONE)]


def test_a_pending_instance_that_goes_away_becomes_inactive_with_condition_gone() -> None:
    _, log = run(Timing(for_=300), seen(0, A), seen(60))
    assert reasons(log)[-1] == (Status.PENDING, Status.INACTIVE, Reason.CONDITION_GONE)


def test_an_instance_resolved_by_its_clear_expression_says_clear() -> None:
    timing = Timing(has_clear=True)
    state, _ = run(timing, seen(0, A), seen(60, clear=[]))
    assert statuses(state) == {A: Status.FIRING}  # not gone until `clear` holds
    _, more = step(timing, state, seen(120, clear=[Sample(Labels({"model": "a"}), 0.01)]))
    assert reasons(more) == [(Status.FIRING, Status.RESOLVED, Reason.CLEAR)]


def test_an_instance_held_by_keep_firing_for_says_so_when_it_resolves() -> None:
    timing = Timing(keep_firing_for=120)
    state, _ = run(timing, seen(0, A), seen(60))
    assert statuses(state) == {A: Status.FIRING}
    _, more = step(timing, state, seen(180))
    assert reasons(more) == [(Status.FIRING, Status.RESOLVED, Reason.KEEP_FIRING_FOR_ENDED)]


def test_keep_firing_for_after_clear_names_keep_firing_for() -> None:
    timing = Timing(keep_firing_for=60, has_clear=True)
    cleared = [Sample(Labels(), 0.0)]
    _, log = run(timing, seen(0, A), seen(60, clear=cleared), seen(120, clear=cleared))
    assert reasons(log)[-1] == (Status.FIRING, Status.RESOLVED, Reason.KEEP_FIRING_FOR_ENDED)


def test_an_instance_whose_inputs_returned_no_data_resolves_with_nodata() -> None:
    _, log = run(Timing(), seen(0, A), seen(60, nodata=True))
    assert reasons(log)[-1] == (Status.FIRING, Status.RESOLVED, Reason.NODATA)
    _, log = run(Timing(for_=300), seen(0, A), seen(60, nodata=True))
    assert reasons(log)[-1] == (Status.PENDING, Status.INACTIVE, Reason.NODATA)


def test_no_data_names_nodata_even_with_clear_or_keep_firing_for() -> None:
    timing = Timing(keep_firing_for=60, has_clear=True)
    cleared = [Sample(Labels(), 0.0)]
    _, log = run(timing, seen(0, A), seen(60, nodata=True, clear=cleared),
                 seen(120, nodata=True, clear=cleared))
    assert reasons(log)[-1] == (Status.FIRING, Status.RESOLVED, Reason.NODATA)


def test_a_nodata_instance_resolves_with_condition_gone_when_data_is_back() -> None:
    timing = Timing(has_clear=True, nodata="alert")
    nodata = Labels({"alertname": "X", "nodata": "true"})
    first = Observation(0, MappingProxyType({nodata: Active(Labels(), math.nan, nodata=True)}),
                        nodata=True)
    _, log = run(timing, first, seen(60, clear=[]))
    assert reasons(log)[-1] == (Status.FIRING, Status.RESOLVED, Reason.CONDITION_GONE)
