"""The routing tree compiled from the `route` section, with Alertmanager's semantics.

An alert enters at the root, which takes every alert. At each route it tries the children
in order, depth first: a child whose matchers all match takes the alert, and the search
stops there unless that child has `continue: true`. A route none of whose children takes
the alert is itself a match. Options a route leaves out (receiver, group_by and the three
timers) are its parent's; `mute_time_intervals` and `active_time_intervals` are not
inherited, as in Alertmanager.

`Route.key` is Alertmanager's route key (`{}/{severity="page"}/...`, the matchers of each
route from the root) and `Route.id` adds the route's position among its siblings, so that
two routes with the same matchers stay apart; both are stable across reloads of the same
tree and suit aggregation-group keys.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Literal

from alertd.config import route as config_route
from alertd.config.matchers import format_matcher
from alertd.durations import format_duration
from alertd.model import LabelMatcher, Labels

__all__ = ["GroupBy", "Route", "RouteSettings"]

# The labels an aggregation group is keyed by: some label names, or "all" (`['...']`).
GroupBy = tuple[str, ...] | Literal["all"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteSettings:
    """What a compiled route does with an alert it takes: its effective options."""

    receiver: str
    group_by: GroupBy
    group_wait: float
    group_interval: float
    repeat_interval: float
    mute_time_intervals: tuple[str, ...]
    active_time_intervals: tuple[str, ...]
    notify_resolved_after_mute: bool = False
    continue_: bool = False

    def settings(self) -> RouteSettings:
        """These settings alone (of a Route: without its place in the tree), to compare or
        change."""
        return RouteSettings(**{f.name: getattr(self, f.name) for f in fields(RouteSettings)})


@dataclass(frozen=True, eq=False, kw_only=True)
class Route(RouteSettings):
    """A compiled route: its matchers, its effective options and its children."""

    path: str  # where it is written: "route", "route.routes[1].routes[0]"
    matchers: tuple[LabelMatcher, ...]
    key: str
    id: str
    routes: tuple[Route, ...]

    # A route is itself, whatever its settings: two routes alike are still two routes
    # (aggregation groups are kept per route).
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @classmethod
    def from_config(cls, config: config_route.Route) -> Route:
        """The tree whose root is `config` (a checked config: the root has a receiver)."""
        return _compile(config, None, "route", None)

    @property
    def matchers_text(self) -> str:
        """The matchers as Alertmanager prints them: `{a="b",c=~"d"}`."""
        return "{" + ",".join(format_matcher(m) for m in self.matchers) + "}"

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether this route's own matchers match (a missing label reads as "")."""
        return all(m.matches(labels.get(m.name, "")) for m in self.matchers)

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes that take an alert with `labels`, in tree order (empty only when this
        route itself does not match, which never happens at the root)."""
        if not self.matches(labels):
            return []
        found: list[Route] = []
        for child in self.routes:
            taken = child.match(labels)
            found += taken
            if taken and not child.continue_:
                break
        return found or [self]

    def group_labels(self, labels: Labels) -> Labels:
        """The labels that key an alert's aggregation group on this route."""
        return labels if self.group_by == "all" else labels.keep(self.group_by)

    def walk(self) -> Iterator[Route]:
        """This route and every route below it, depth first."""
        yield self
        for child in self.routes:
            yield from child.walk()

    def options_text(self) -> str:
        """Grouping and timers, as `alertd routes test` shows them."""
        group_by = "['...']" if self.group_by == "all" else "[" + ", ".join(self.group_by) + "]"
        text = (f"group_by {group_by}, group_wait {format_duration(self.group_wait)}, "
                f"group_interval {format_duration(self.group_interval)}, "
                f"repeat_interval {format_duration(self.repeat_interval)}")
        if self.mute_time_intervals:
            text += ", mute_time_intervals [" + ", ".join(self.mute_time_intervals) + "]"
        if self.active_time_intervals:
            text += ", active_time_intervals [" + ", ".join(self.active_time_intervals) + "]"
        return text

    def explain(self, labels: Mapping[str, str]) -> list[str]:
        """One line per route tried for `labels`, indented by depth: whether it matched (or
        which matcher failed, and on what value), which routes were not tried because an
        earlier sibling matched without `continue`, and the receiver of each match."""
        lines: list[str] = []
        self._explain(labels, 0, lines)
        return lines

    def _explain(self, labels: Mapping[str, str], depth: int, lines: list[str]) -> list[Route]:
        pad = "  " * depth
        name = f"{self.path} {self.matchers_text}"
        failed = next((m for m in self.matchers if not m.matches(labels.get(m.name, ""))), None)
        if failed is not None:
            value = (f'{failed.name}="{labels[failed.name]}"' if failed.name in labels
                     else f"{failed.name} is not set")
            lines.append(f"{pad}{name}: no match: {format_matcher(failed)} fails ({value})")
            return []
        how = "matches" if self.matchers else "matches (no matchers)"
        if depth == 0:
            how = "the root route takes every alert"
        if self.continue_:
            how += ", continue: true"
        if not self.routes:
            lines.append(f'{pad}{name}: {how} -> receiver "{self.receiver}"')
            return [self]
        lines.append(f"{pad}{name}: {how}")
        found: list[Route] = []
        for i, child in enumerate(self.routes):
            taken = child._explain(labels, depth + 1, lines)
            found += taken
            if taken and not child.continue_:
                rest = self.routes[i + 1:]
                if rest:
                    skipped = ", ".join(r.path for r in rest)
                    lines.append(f"{pad}  not tried: {skipped} ({child.path} matched without "
                                 "continue)")
                break
        if not found:
            lines.append(f'{pad}  no route below {self.path} matches: it takes the alert '
                         f'-> receiver "{self.receiver}"')
            found = [self]
        return found


def _compile(config: config_route.Route, parent: Route | None, path: str,
             position: int | None) -> Route:
    matchers = tuple(config.compiled_matchers())
    text = "{" + ",".join(format_matcher(m) for m in matchers) + "}"
    key = text if parent is None else f"{parent.key}/{text}"
    # A route is built before its children (which inherit from it), then rebuilt with them.
    node = Route(
        path=path,
        matchers=matchers,
        continue_=config.continue_,
        receiver=config.receiver or (parent.receiver if parent is not None else ""),
        group_by=_group_by(config.group_by, parent),
        group_wait=_timer(config.group_wait, parent, "group_wait", config_route.DEFAULT_GROUP_WAIT),
        group_interval=_timer(config.group_interval, parent, "group_interval",
                              config_route.DEFAULT_GROUP_INTERVAL),
        repeat_interval=_timer(config.repeat_interval, parent, "repeat_interval",
                               config_route.DEFAULT_REPEAT_INTERVAL),
        mute_time_intervals=tuple(config.mute_time_intervals),
        active_time_intervals=tuple(config.active_time_intervals),
        key=key,
        id=key if position is None else f"{key}/{position}",
        routes=(),
        notify_resolved_after_mute=(
            config.notify_resolved_after_mute if config.notify_resolved_after_mute is not None
            else parent.notify_resolved_after_mute if parent is not None else False),
    )
    children = tuple(_compile(child, node, f"{path}.routes[{i}]", i)
                     for i, child in enumerate(config.routes))
    return replace(node, routes=children)


def _group_by(value: list[str] | None, parent: Route | None) -> GroupBy:
    # As in Alertmanager, a missing or empty list inherits the parent's grouping.
    if not value:
        return parent.group_by if parent is not None else ()
    return "all" if value == ["..."] else tuple(value)


def _timer(value: float | None, parent: Route | None, name: str, default: float) -> float:
    if value is not None:
        return value
    return float(getattr(parent, name)) if parent is not None else default


def with_fallback(root: Route, alertname: str, receiver: str) -> Route:
    """The tree with a first route that takes every `alertname` alert to `receiver`.

    alertd's own AlertdNotificationsFailing goes there rather than down the tree, where it
    could land on the very receiver that fails."""
    matcher = LabelMatcher("alertname", "=", alertname)
    key = f'{root.key}/{{alertname="{alertname}"}}'
    fallback = replace(root, path="notify.fallback_receiver", matchers=(matcher,),
                       continue_=False, receiver=receiver,
                       group_by=("alertname", "receiver", "integration"),
                       mute_time_intervals=(), active_time_intervals=(), key=key,
                       id=f"{key}/fallback", routes=())
    return replace(root, routes=(fallback, *root.routes))
