"""Edits of the routing part of `alertd.yml`: a route of its own for one rule's alerts, or
two that send them elsewhere in sleep hours.

The new routes (and time interval) are inserted into the text (see routes_edit.py), never
rewritten. The result is loaded with `parse_config` and compiled into the routing tree, and
the routes the rule's alerts take in it must be the ones asked for, or EditError is raised.

A configuration is loaded with every `${NAME}` it reads set to a placeholder, so that
checking a change never needs (nor reads) the real secrets; `*_file` keys must name
readable files, relative to the configuration's path, as when alertd loads it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import fields, replace
from typing import Literal, TypeVar

import yaml

from alertd.config.matchers import format_matcher
from alertd.config.model import Config
from alertd.dispatch.route import GroupBy, Route, RouteSettings
from alertd.dispatch.timeintervals import TimeIntervals
from alertd.durations import format_duration
from alertd.errors import ConfigError
from alertd.model import LabelMatcher
from alertd.receivers.checks import parse_config
from alertd.whatif import routes_edit, sleep_hours
from alertd.whatif.edit import Edit, cannot
from alertd.whatif.routes_edit import Value

__all__ = ["override_route", "sleep_route"]

_T = TypeVar("_T")


def override_route(path: str, text: str, rule: str, base: Route, *,
                   group_by: Sequence[str] | Literal["all"] | None = None,
                   group_wait: float | None = None,
                   group_interval: float | None = None) -> Edit:
    """`alertd.yml` with a first route under the top-level route that takes the alerts of
    `rule` alone, with the options of `base` (the route they take today) but those given."""
    what = f'give alert "{rule}" a route of its own'
    config, root = _load(text, path, what, changed=False)
    wanted = replace(base.settings(), continue_=False)
    if group_by is not None:
        wanted = replace(wanted, group_by=_group_by(group_by, path, what))
    if group_wait is not None:
        wanted = replace(wanted, group_wait=group_wait)
    if group_interval is not None:
        wanted = replace(wanted, group_interval=group_interval)
    inherited = Route.from_config(config.route).notify_resolved_after_mute
    after = _edited(routes_edit.prepend_routes, text, root,
                    [_route_value(rule, wanted, inherited)], path=path, what=what)
    changed, _ = _load(after, path, what, changed=True)
    _expect_routes(Route.from_config(changed.route), rule, [wanted], path, what)
    return Edit(path, text, after)


def sleep_route(path: str, text: str, rule: str, base: Route, *, ticket_receiver: str,
                zone: str | None, start: str = "22:00", end: str = "08:00") -> Edit:
    """`alertd.yml` sending the notifications of `rule` between `start` and `end` (in the
    IANA `zone`, UTC when None) to `ticket_receiver` instead of `base`'s receiver: a named
    time interval, and two first routes under the top-level route for the rule's alerts,
    one active in those hours (continuing to the next), one muted in them. The two routes
    have the same matchers: the dispatcher keeps aggregation groups per route, so each
    flushes the rule's alerts to its own receiver."""
    what = f'send alert "{rule}" to "{ticket_receiver}" in sleep hours'
    config, root = _load(text, path, what, changed=False)
    hours = sleep_hours.window(start, end, zone, path, what)
    name = sleep_hours.interval_name(zone, start, end)
    interval = sleep_hours.interval(name, hours, zone)
    edited = text
    if not sleep_hours.already_defined(config, interval, path, what):
        edited = _edited(routes_edit.add_last_item, text, root, "time_intervals", interval,
                         path=path, what=what)
    own = replace(base.settings(), continue_=False)
    paging = replace(own, mute_time_intervals=(
        name, *(m for m in own.mute_time_intervals if m != name)))
    inherited = Route.from_config(config.route).notify_resolved_after_mute
    tickets = replace(own, receiver=ticket_receiver, mute_time_intervals=(),
                      active_time_intervals=(name,), notify_resolved_after_mute=inherited,
                      continue_=True)
    items = [_route_value(rule, tickets, inherited), _route_value(rule, paging, inherited)]
    root = _edited(routes_edit.compose, edited, path=path, what=what)
    after = _edited(routes_edit.prepend_routes, edited, root, items, path=path, what=what)
    changed, _ = _load(after, path, what, changed=True)
    taken = _expect_routes(Route.from_config(changed.route), rule, [tickets, paging], path,
                           what)
    intervals = TimeIntervals.from_config(changed.time_intervals, changed.mute_time_intervals)
    sleep_hours.check_routes(intervals, taken, base, hours, zone, path, what)
    return Edit(path, text, after)


def _route_value(rule: str, options: RouteSettings, inherited: bool) -> dict[str, Value]:
    """A route taking the alerts of `rule`. Every option they get is written out, so that a
    later change to a parent route does not change it; `notify_resolved_after_mute`, which
    Alertmanager does not know, only when it differs from what the route would inherit."""
    matcher = format_matcher(LabelMatcher("alertname", "=", rule))
    route: dict[str, Value] = {"matchers": [matcher], "receiver": options.receiver}
    if options.continue_:
        route["continue"] = True
    if options.group_by:
        route["group_by"] = ["..."] if options.group_by == "all" else list(options.group_by)
    for key in ("group_wait", "group_interval", "repeat_interval"):
        route[key] = format_duration(getattr(options, key))
    for key in ("mute_time_intervals", "active_time_intervals"):
        if getattr(options, key):
            route[key] = list(getattr(options, key))
    if options.notify_resolved_after_mute != inherited:
        route["notify_resolved_after_mute"] = options.notify_resolved_after_mute
    return route


def _load(text: str, path: str, what: str, *, changed: bool) -> tuple[Config, yaml.MappingNode]:
    try:
        root = _composed(text)
    except ValueError as exc:
        raise cannot(path, what, str(exc)) from None
    if routes_edit.top_level(root, "route") is None:
        raise cannot(path, what, 'the file has no top-level "route:" (every alert goes to '
                     "the default receiver); add one first")
    try:
        config = parsed(text, path)
    except ConfigError as exc:
        state = "the changed file does not load" if changed else "the file does not load"
        raise cannot(path, what, f"{state}:\n{exc}") from None
    return config, root


# Remembered for a few texts: every change tried for a rule starts from the same file,
# and the file a change makes is loaded again to replay it.
@functools.lru_cache(maxsize=8)
def _composed(text: str) -> yaml.MappingNode:
    return routes_edit.compose(text)


@functools.lru_cache(maxsize=8)
def parsed(text: str, path: str) -> Config:
    """The configuration `text` as it loads, its `${NAME}` secrets taken as set (a change
    is checked and replayed without them); raises ConfigError."""
    return parse_config(text, path, env=routes_edit.placeholder_env(_composed(text)))


def _edited(change: Callable[..., _T], *args: object, path: str, what: str) -> _T:
    """What `change` makes of the text, its ValueError said as what could not be changed."""
    try:
        return change(*args)
    except ValueError as exc:
        raise cannot(path, what, str(exc)) from None


def _group_by(value: Sequence[str] | Literal["all"], path: str, what: str) -> GroupBy:
    if value == "all" or list(value) == ["..."]:
        return "all"
    if isinstance(value, str):
        raise cannot(path, what, f'group_by must be "all" or a list of labels, not "{value}"')
    return tuple(value)


def _expect_routes(tree: Route, rule: str, wanted: list[RouteSettings], path: str,
                   what: str) -> list[Route]:
    """The routes the rule's alerts take in the changed tree, which must be `wanted`."""
    taken = tree.match({"alertname": rule})
    if len(taken) != len(wanted):
        paths = ", ".join(r.path for r in taken)
        raise cannot(path, what, f"in the changed file its alerts take {len(taken)} routes "
                     f"({paths}) instead of {len(wanted)}")
    for route, options in zip(taken, wanted, strict=True):
        if route.settings() != options:
            raise cannot(path, what, f"in the changed file {route.path} has "
                         + _differences(route.settings(), options))
    return taken


def _differences(found: RouteSettings, wanted: RouteSettings) -> str:
    """`group_wait 30s instead of 2m, ...`: how `found` differs from `wanted`."""
    def shown(value: object) -> str:
        if isinstance(value, float):
            return format_duration(value)
        return f"[{', '.join(value)}]" if isinstance(value, tuple) else repr(value)

    return ", ".join(
        f"{f.name.rstrip('_')} {shown(getattr(found, f.name))} instead of "
        f"{shown(getattr(wanted, f.name))}"
        for f in fields(found) if getattr(found, f.name) != getattr(wanted, f.name))
