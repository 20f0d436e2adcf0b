"""The alert state machine: one pure step function per rule evaluation.

    inactive -> pending -> firing -> resolved

An instance is one label set the `when` expression returned. It is pending until it has
been returned for `for`, then firing. A firing instance resolves when the expression stops
returning it, but only once the `clear` expression (if any) holds for its labels and the
`keep_firing_for` time has passed. An evaluation error changes nothing but the health:
alerts are never resolved because a rule could not be evaluated.

A change to resolved (or from pending back to inactive) says why, for the noise report
(`Reason`). One cause is named even when several hold, the first of: the inputs returned
no data at all (nodata), the resolution waited out `keep_firing_for`
(keep_firing_for_ended), `clear` held (clear), the condition no longer held
(condition_gone).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from alertd.lang.spec import NoDataPolicy
from alertd.model import Labels, Vector

if TYPE_CHECKING:
    from alertd.rules.inputs import Input

# A resolved instance is kept this long so that the resolution can be notified.
RESOLVED_RETENTION = 15 * 60.0


class Status(enum.StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class Reason(enum.StrEnum):
    """Why an alert resolved. The state machine gives the first four; the alert store
    gives ends_at_passed (a posted alert whose end passed without an update) and the
    daemon rule_removed (a reload removed the rule)."""

    CONDITION_GONE = "condition_gone"
    CLEAR = "clear"
    KEEP_FIRING_FOR_ENDED = "keep_firing_for_ended"
    NODATA = "nodata"
    ENDS_AT_PASSED = "ends_at_passed"
    RULE_REMOVED = "rule_removed"


class Health(enum.StrEnum):
    UNKNOWN = "unknown"
    OK = "ok"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Instance:
    labels: Labels  # the alert's labels: expression labels, static labels, alertname...
    expr_labels: Labels  # what the expression returned (used to match `clear`)
    status: Status
    active_at: float
    value: float
    fired_at: float | None = None
    resolved_at: float | None = None
    # When the instance stopped meeting its condition while firing (keep_firing_for).
    keep_firing_since: float | None = None
    last_seen: float | None = None
    nodata: bool = False  # raised by the `nodata = "alert"` policy, not by the expression
    # What made a composite rule's instance pending or firing, worked out at that change
    # (rules.inputs); None when not worked out (not a composite, or restored from a save).
    inputs: tuple[Input, ...] | None = None


@dataclass(frozen=True, slots=True)
class Active:
    """One element the `when` expression returned, ready to become an instance."""

    expr_labels: Labels
    value: float
    nodata: bool = False


@dataclass(frozen=True, slots=True)
class Observation:
    """The outcome of one evaluation of a rule, keyed by the instances' alert labels."""

    at: float
    active: Mapping[Labels, Active] = field(default_factory=dict)
    clear: Vector | None = None  # the `clear` expression's result, when the rule has one
    # What the `clear` comparison compares (its left side), to tell "above the clear
    # threshold" from "the series is gone": an instance whose data is gone is cleared.
    clear_basis: Vector | None = None
    nodata: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Timing:
    for_: float = 0.0
    keep_firing_for: float = 0.0
    has_clear: bool = False
    nodata: NoDataPolicy = "ok"


@dataclass(frozen=True, slots=True)
class RuleState:
    instances: Mapping[Labels, Instance] = field(default_factory=lambda: MappingProxyType({}))
    health: Health = Health.UNKNOWN
    last_error: str | None = None
    last_eval: float | None = None
    nodata: bool = False

    def in_status(self, status: Status) -> list[Instance]:
        return [i for i in self.instances.values() if i.status is status]


@dataclass(frozen=True, slots=True)
class Transition:
    labels: Labels
    old: Status
    new: Status
    at: float
    value: float
    reason: Reason | None = None  # for a change to resolved or inactive
    inputs: tuple[Input, ...] | None = None  # for a composite's change to pending or firing


def step(timing: Timing, state: RuleState, obs: Observation) -> tuple[RuleState, list[Transition]]:
    """The next state of a rule after an evaluation, and the transitions it caused."""
    if obs.error is not None:
        return replace(state, health=Health.ERROR, last_error=obs.error, last_eval=obs.at), []
    if obs.nodata and timing.nodata == "keep":
        return replace(state, health=Health.OK, last_error=None, last_eval=obs.at,
                       nodata=True), []

    at = obs.at
    instances: dict[Labels, Instance] = {}
    transitions: list[Transition] = []

    for labels, active in obs.active.items():
        prev = state.instances.get(labels)
        inst = _still_active(timing, prev, labels, active, at)
        instances[labels] = inst
        old = prev.status if prev and prev.status is not Status.RESOLVED else Status.INACTIVE
        if inst.status is not old:
            transitions.append(Transition(labels, old, inst.status, at, inst.value))

    for labels, prev in state.instances.items():
        if labels in obs.active:
            continue
        kept = _gone(timing, prev, obs, at)
        if kept is None:
            if prev.status is Status.PENDING:
                transitions.append(Transition(labels, Status.PENDING, Status.INACTIVE, at,
                                              prev.value, _reason(timing, prev, obs)))
            continue
        instances[labels] = kept
        if kept.status is not prev.status:
            transitions.append(Transition(labels, prev.status, kept.status, at, kept.value,
                                          _reason(timing, prev, obs)))

    new_state = RuleState(MappingProxyType(instances), Health.OK, None, at, obs.nodata)
    return new_state, transitions


def _still_active(timing: Timing, prev: Instance | None, labels: Labels, active: Active,
                  at: float) -> Instance:
    if prev is None or prev.status is Status.RESOLVED:
        status, active_at, fired_at, inputs = Status.PENDING, at, None, None
    else:
        status, active_at, fired_at, inputs = (prev.status, prev.active_at, prev.fired_at,
                                               prev.inputs)
    if status is Status.PENDING and at - active_at >= timing.for_:
        status, fired_at = Status.FIRING, at
    # Built directly rather than with dataclasses.replace: this runs for every instance
    # of every rule at every evaluation.
    return Instance(labels, active.expr_labels, status, active_at, active.value, fired_at,
                    None, None, at, active.nodata, inputs)


def _gone(timing: Timing, prev: Instance, obs: Observation, at: float) -> Instance | None:
    """What becomes of an instance the expression no longer returns (None: forget it)."""
    if prev.status is Status.PENDING:
        return None
    if prev.status is Status.RESOLVED:
        if prev.resolved_at is not None and at - prev.resolved_at >= RESOLVED_RETENTION:
            return None
        return prev
    # Firing: hysteresis first (a "no data" alert clears when data is back), then
    # keep_firing_for.
    if timing.has_clear and not prev.nodata and not _clear_holds(prev, obs.clear,
                                                                 obs.clear_basis):
        return replace(prev, keep_firing_since=None)
    since = prev.keep_firing_since if prev.keep_firing_since is not None else at
    if at - since < timing.keep_firing_for:
        return replace(prev, keep_firing_since=since)
    return replace(prev, status=Status.RESOLVED, resolved_at=at, keep_firing_since=None)


def _reason(timing: Timing, prev: Instance, obs: Observation) -> Reason:
    """Why an instance the expression no longer returns stopped (see the module's
    docstring for the order)."""
    if obs.nodata:
        return Reason.NODATA
    if prev.status is Status.PENDING:
        return Reason.CONDITION_GONE
    if timing.keep_firing_for > 0:
        # A firing instance is always held at least one evaluation when it is set.
        return Reason.KEEP_FIRING_FOR_ENDED
    if timing.has_clear and not prev.nodata:
        return Reason.CLEAR
    return Reason.CONDITION_GONE


def _clear_holds(inst: Instance, clear: Vector | None, basis: Vector | None) -> bool:
    """`clear` holds for an instance when it returned an element whose labels all match it.

    An element with fewer labels (say `sum by (model) (...)`) clears every instance that
    shares those labels; an element without labels clears them all. When the data the
    clear condition compares no longer has the instance at all (a retired model version),
    the instance is cleared too: otherwise it would fire forever.
    """
    if _matched(inst, clear):
        return True
    return basis is not None and not _matched(inst, basis)


def _matched(inst: Instance, vector: Vector | None) -> bool:
    if not vector:
        return False
    labels = inst.expr_labels
    return any(all(labels.get(k) == v for k, v in sample.labels.without_name().items())
               for sample in vector)
