"""`route` and `inhibit_rules`: the routing tree and the inhibition rules, as
Alertmanager 0.25 reads them."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field, field_validator

from alertd.config.amtypes import AMDuration, LabelMap, LabelName, RegexMap
from alertd.config.matchers import MatcherText, compile_matchers
from alertd.config.types import LABEL_NAME, Model, NonEmptyStr, raise_problems
from alertd.model import LabelMatcher

__all__ = [
    "DEFAULT_GROUP_INTERVAL",
    "DEFAULT_GROUP_WAIT",
    "DEFAULT_REPEAT_INTERVAL",
    "InhibitRule",
    "Route",
]

DEFAULT_GROUP_WAIT = 30.0
DEFAULT_GROUP_INTERVAL = 300.0
DEFAULT_REPEAT_INTERVAL = 4 * 3600.0


class Route(Model):
    """A node of the routing tree. Options left out (None) are inherited from the parent;
    the root's defaults are group_wait 30s, group_interval 5m and repeat_interval 4h."""

    receiver: str | None = None
    group_by: list[str] | None = None
    continue_: bool = Field(default=False, alias="continue")
    matchers: list[MatcherText] = []
    match: LabelMap = {}
    match_re: RegexMap = {}
    group_wait: AMDuration | None = None
    group_interval: AMDuration | None = None
    repeat_interval: AMDuration | None = None
    mute_time_intervals: list[NonEmptyStr] = []
    active_time_intervals: list[NonEmptyStr] = []
    routes: list[Route] = []
    # alertd's own (inherited; never written to Alertmanager YAML): tell a receiver that an
    # alert it was paged about resolved, even if a silence or an inhibition holds it now.
    notify_resolved_after_mute: bool | None = None

    @field_validator("group_by")
    @classmethod
    def _check_group_by(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        problems = []
        if "..." in value and len(value) > 1:
            problems.append("'...' (group by every label) cannot be combined with other labels")
        seen: set[str] = set()
        for name in value:
            if name != "..." and not LABEL_NAME.fullmatch(name):
                problems.append(f'"{name}" is not a valid label name')
            elif name in seen:
                problems.append(f'label "{name}" is listed twice')
            seen.add(name)
        raise_problems(problems)
        return value

    @field_validator("group_interval", "repeat_interval")
    @classmethod
    def _not_zero(cls, value: float | None) -> float | None:
        if value == 0:
            raise ValueError("must be longer than 0s")
        return value

    def compiled_matchers(self) -> list[LabelMatcher]:
        """`match`, `match_re` and `matchers` together, in Alertmanager's order."""
        return compile_matchers(self.matchers, self.match, self.match_re)

    def walk(self, path: str = "route") -> Iterator[tuple[str, Route]]:
        """This route and every route below it, depth first, with their key paths."""
        yield path, self
        for i, child in enumerate(self.routes):
            yield from child.walk(f"{path}.routes[{i}]")


class InhibitRule(Model):
    """Mutes alerts matching the target side while an alert matching the source side fires
    and both have the same values for the `equal` labels."""

    source_matchers: list[MatcherText] = []
    target_matchers: list[MatcherText] = []
    source_match: LabelMap = {}
    source_match_re: RegexMap = {}
    target_match: LabelMap = {}
    target_match_re: RegexMap = {}
    equal: list[LabelName] = []

    def compiled_source(self) -> list[LabelMatcher]:
        return compile_matchers(self.source_matchers, self.source_match, self.source_match_re)

    def compiled_target(self) -> list[LabelMatcher]:
        return compile_matchers(self.target_matchers, self.target_match, self.target_match_re)
