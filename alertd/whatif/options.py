"""The changes a what-if tries for a rule, each as a new timing or a new configuration
text, with the edit that makes it (a diff a person can apply)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial

from alertd.dispatch.route import Route
from alertd.durations import format_duration
from alertd.lang.spec import AlertSpec
from alertd.rules.state import Timing
from alertd.whatif.edits import (
    Edit,
    delete_rule,
    override_route,
    set_rule_timing,
    sleep_route,
)

MINUTE = 60.0
# The values tried, each only when longer than the rule's or route's own.
FOR_STEPS = (5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE)
KEEP_FIRING_STEPS = (5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE)
GROUP_WAIT_STEPS = (2 * MINUTE, 5 * MINUTE)
GROUP_INTERVAL_STEPS = (15 * MINUTE, 30 * MINUTE, 60 * MINUTE)

FOR, KEEP_FIRING_FOR, GROUP, SLEEP_ROUTE, DELETE = (
    "for", "keep_firing_for", "group", "sleep_route", "delete")


@dataclass(frozen=True, slots=True)
class Option:
    """One change: its kind, what it says (`for 1m → 10m`), the timing the rule would
    have, and how to make the edit (whose `after` is the configuration replayed, for
    routing changes; making it raises EditError when the file cannot be changed so)."""

    kind: str
    change: str
    timing: Timing
    edit: Callable[[], Edit]
    config_changed: bool = False


def rule_options(spec: AlertSpec, text: str, timing: Timing, *,
                 flapping: bool) -> Iterator[Option]:
    """Longer `for` values; longer keep_firing_for values when the rule flaps."""
    for value in FOR_STEPS:
        if value > timing.for_:
            yield Option(FOR, f"for {_d(timing.for_)} → {_d(value)}",
                         replace(timing, for_=value),
                         partial(set_rule_timing, spec.path, text, spec.name, for_=value))
    if not flapping:
        return
    for value in KEEP_FIRING_STEPS:
        if value > timing.keep_firing_for:
            yield Option(KEEP_FIRING_FOR,
                         f"keep_firing_for {_d(timing.keep_firing_for)} → {_d(value)}",
                         replace(timing, keep_firing_for=value),
                         partial(set_rule_timing, spec.path, text, spec.name,
                                 keep_firing_for=value))


def route_options(rule: str, path: str, text: str, base: Route,
                  timing: Timing) -> Iterator[Option]:
    """The rule's alerts grouped by alertname alone, or waited for longer before their
    first and later notifications: a route of the rule's own with those settings."""
    if base.group_by == "all" or set(base.group_by) - {"alertname"}:
        yield Option(GROUP, f"group_by {_group_by(base)} → [alertname]", timing,
                     partial(override_route, path, text, rule, base, group_by=["alertname"]),
                     True)
    for wait in GROUP_WAIT_STEPS:
        if wait > base.group_wait:
            yield Option(GROUP, f"group_wait {_d(base.group_wait)} → {_d(wait)}", timing,
                         partial(override_route, path, text, rule, base, group_wait=wait),
                         True)
    for interval in GROUP_INTERVAL_STEPS:
        if interval > base.group_interval:
            yield Option(GROUP, f"group_interval {_d(base.group_interval)} → "
                         f"{_d(interval)}", timing,
                         partial(override_route, path, text, rule, base,
                                 group_interval=interval),
                         True)


def sleep_option(rule: str, path: str, text: str, base: Route, timing: Timing, *,
                 tickets: str, zone: str | None) -> Option:
    where = f" {zone}" if zone else " UTC"
    return Option(SLEEP_ROUTE, f"sleep-hour notifications (22:00-08:00{where}) to "
                  f"{tickets} instead of {base.receiver}", timing,
                  partial(sleep_route, path, text, rule, base, ticket_receiver=tickets,
                          zone=zone),
                  True)


def delete_option(spec: AlertSpec, text: str, timing: Timing) -> Option:
    return Option(DELETE, "delete the rule", timing,
                  partial(delete_rule, spec.path, text, spec.name))


def _d(seconds: float) -> str:
    return format_duration(seconds)


def _group_by(route: Route) -> str:
    return "['...']" if route.group_by == "all" else "[" + ", ".join(route.group_by) + "]"
