"""The checks that tie the routing sections together, once every key is valid: unique
names, receivers and time intervals that exist, a root route that takes every alert, and
a Slack URL or token for every Slack config. Each problem is `key.path: message`."""

from __future__ import annotations

from collections.abc import Sequence

from alertd.config.owners import Owner
from alertd.config.receivers import GlobalConfig, Receiver
from alertd.config.route import Route
from alertd.config.time_intervals import NamedTimeInterval
from alertd.suggest import did_you_mean

__all__ = ["routing_problems"]

_TIME_INTERVAL_KEYS = ("mute_time_intervals", "active_time_intervals")


def routing_problems(*, route: Route, route_given: bool, receivers: Sequence[Receiver],
                     global_: GlobalConfig, time_intervals: Sequence[NamedTimeInterval],
                     mute_time_intervals: Sequence[NamedTimeInterval],
                     owners: Sequence[Owner]) -> list[str]:
    """`key.path: message` for each broken cross reference, checked as Alertmanager checks
    them: unique names, receivers and time intervals that exist, a root route that takes
    every alert, and a Slack URL for every Slack config."""
    problems: list[str] = []
    receiver_names = _unique(problems, "receiver",
                             [(f"receivers[{i}]", r.name) for i, r in enumerate(receivers)])
    interval_names = _unique(
        problems, "time interval",
        [(f"time_intervals[{i}]", t.name) for i, t in enumerate(time_intervals)]
        + [(f"mute_time_intervals[{i}]", t.name) for i, t in enumerate(mute_time_intervals)])
    _unique(problems, "owner", [(f"owners[{i}]", o.name) for i, o in enumerate(owners)])
    problems += _slack_problems(receivers, global_)
    if not route_given:
        return problems + _default_route_problems(route, receiver_names)
    problems += _root_problems(route)
    for path, node in route.walk():
        problems += _node_problems(path, node, receiver_names, interval_names)
    return problems


def _unique(problems: list[str], kind: str, named: Sequence[tuple[str, str]]) -> list[str]:
    """The names of (key path, name) pairs, in order; a name given twice is a problem."""
    first: dict[str, str] = {}
    for where, name in named:
        if name in first:
            problems.append(f'{where}.name: {kind} "{name}" is defined twice (first at '
                            f"{first[name]})")
        else:
            first[name] = where
    return list(first)


def _slack_problems(receivers: Sequence[Receiver], global_: GlobalConfig) -> list[str]:
    if global_.has_slack():
        return []
    return [f"receivers[{i}].slack_configs[{j}]: set app_token (a bot token) or api_url (an "
            "incoming webhook), here or in global (slack_app_token, slack_api_url, or their "
            "_file keys)"
            for i, receiver in enumerate(receivers)
            for j, slack in enumerate(receiver.slack_configs) if not slack.has_slack()]


def _default_route_problems(route: Route, receiver_names: Sequence[str]) -> list[str]:
    """The default root route (the key left out) sends every alert to one receiver."""
    if route.receiver in receiver_names:
        return []
    return [f"route: required key missing (without it every alert goes to the receiver "
            f'"{route.receiver}", which receivers does not define)']


def _root_problems(route: Route) -> list[str]:
    problems = []
    if not route.receiver:
        problems.append("route.receiver: required key missing (the root route must name the "
                        "receiver of the alerts no other route takes)")
    for key in ("matchers", "match", "match_re"):
        if getattr(route, key):
            problems.append(f"route.{key}: the root route must not have matchers (it takes "
                            "every alert)")
    if route.continue_:
        problems.append("route.continue: the root route cannot have continue")
    for key in _TIME_INTERVAL_KEYS:
        if getattr(route, key):
            problems.append(f"route.{key}: the root route cannot have time intervals; set "
                            "them on a child route")
    return problems


def _node_problems(path: str, node: Route, receiver_names: Sequence[str],
                   interval_names: Sequence[str]) -> list[str]:
    """A route's references to receivers and time intervals that are not defined."""
    problems = []
    if node.receiver and node.receiver not in receiver_names:
        problems.append(f'{path}.receiver: undefined receiver "{node.receiver}"'
                        + did_you_mean(node.receiver, receiver_names))
    for key in _TIME_INTERVAL_KEYS:
        for k, name in enumerate(getattr(node, key)):
            if name not in interval_names:
                problems.append(f'{path}.{key}[{k}]: undefined time interval "{name}"'
                                + did_you_mean(name, interval_names))
    return problems
