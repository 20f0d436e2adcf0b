"""Inhibition with Alertmanager's semantics.

A rule inhibits a target alert when the target matches its `target_matchers` and some
firing alert (the source) matches its `source_matchers` and has the same value as the
target for every label in `equal` (a label missing on both sides counts as equal, as it
reads as "" on both). When the target matches the source side too, sources that also match
the target side are passed over, as Alertmanager does, so that alerts matching both sides
(the target itself among them) never inhibit each other.

Rules are also generated from alert rules (`suppresses_inputs`, alertd.dispatch.suppress): a
composite's firing instances hold back the pages of the instances it was built from.
Those differ in two ways. Source and target may be tied by every label they both carry
(`shared`) rather than by a list of labels, as PromQL joins without `on(...)`. And they
only ever hold back a firing target: the resolution of an input that was paged before the
composite fired is always told, whatever the route's `notify_resolved_after_mute` says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from alertd.config import route as config_route
from alertd.model import LabelMatcher, Labels

__all__ = ["InhibitRule", "Inhibition", "InhibitionIndex", "Inhibitor", "WithGenerated"]


@dataclass(frozen=True)
class InhibitRule:
    source_matchers: tuple[LabelMatcher, ...]
    target_matchers: tuple[LabelMatcher, ...]
    equal: tuple[str, ...]
    index: int = 0  # its position in `inhibit_rules`, to say which rule inhibited
    # Generated rules only: the alert rule that generated it, and, when source and target
    # are tied by every label both carry, the labels left out of that comparison.
    generated_by: str | None = None
    shared: frozenset[str] | None = None

    @classmethod
    def from_config(cls, config: config_route.InhibitRule, index: int = 0) -> InhibitRule:
        return cls(tuple(config.compiled_source()), tuple(config.compiled_target()),
                   tuple(config.equal), index)

    def source_matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels.get(m.name, "")) for m in self.source_matchers)

    def target_matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels.get(m.name, "")) for m in self.target_matchers)

    def equal_values(self, labels: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(labels.get(name, "") for name in self.equal)

    def tied(self, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
        """For a `shared` rule: source and target agree on every label both carry."""
        if self.shared is None:
            return True
        for name, value in source.items():
            if name in self.shared:
                continue
            theirs = target.get(name)
            if theirs is not None and theirs != value:
                return False
        return True


@dataclass(frozen=True)
class Inhibition:
    """Why an alert is inhibited: the rule (by position) and the firing source alert."""

    rule: int
    source: Labels


class Inhibitor:
    """The inhibition rules of a config (and any generated ones)."""

    def __init__(self, rules: Iterable[config_route.InhibitRule | InhibitRule]) -> None:
        self.rules: tuple[InhibitRule, ...] = tuple(
            rule if isinstance(rule, InhibitRule) else InhibitRule.from_config(rule, i)
            for i, rule in enumerate(rules))

    def index(self, firing: Iterable[Mapping[str, str]]) -> InhibitionIndex:
        """The firing alerts indexed for many questions about the same moment."""
        return InhibitionIndex(self.rules, firing if self.rules else ())

    def inhibited_by(self, target: Mapping[str, str],
                     firing: Iterable[Mapping[str, str]]) -> list[Labels]:
        """The firing alerts that inhibit `target` (none: it is not inhibited)."""
        return self.index(firing).inhibited_by(target)


class WithGenerated:
    """The config's inhibitions (looked up at each question: a reload replaces them) and
    those generated from the alert rules, asked as one."""

    def __init__(self, configured: Callable[[], Inhibitor],
                 generated: Callable[[], Sequence[InhibitRule]]) -> None:
        self.configured = configured
        self.generated = generated

    @property
    def rules(self) -> tuple[InhibitRule, ...]:
        return (*self.configured().rules, *self.generated())

    def index(self, firing: Iterable[Mapping[str, str]]) -> InhibitionIndex:
        rules = self.rules
        return InhibitionIndex(rules, firing if rules else ())

    def inhibited_by(self, target: Mapping[str, str],
                     firing: Iterable[Mapping[str, str]]) -> list[Labels]:
        return self.index(firing).inhibited_by(target)


class InhibitionIndex:
    """Per rule, the firing alerts that match its source side, keyed by their `equal`
    values, so that each question costs one lookup per rule."""

    def __init__(self, rules: Sequence[InhibitRule],
                 firing: Iterable[Mapping[str, str]]) -> None:
        self._rules = tuple(rules)
        self._sources: list[dict[tuple[str, ...], list[Labels]]] = [{} for _ in self._rules]
        # Generated rules hold back firing targets only: which alerts fire, for them.
        self._firing: set[Labels] | None = (
            set() if any(r.generated_by is not None for r in self._rules) else None)
        for alert in firing:
            labels = alert if isinstance(alert, Labels) else Labels(alert)
            if self._firing is not None:
                self._firing.add(labels)
            for rule, sources in zip(self._rules, self._sources, strict=True):
                if rule.source_matches(labels):
                    sources.setdefault(rule.equal_values(labels), []).append(labels)

    def inhibitions(self, target: Mapping[str, str]) -> list[Inhibition]:
        """Every (rule, source) pair that inhibits `target`, by rule then source order."""
        return list(self._inhibitions(target))

    def _inhibitions(self, target: Mapping[str, str]) -> Iterator[Inhibition]:
        for rule, sources in zip(self._rules, self._sources, strict=True):
            if not rule.target_matches(target):
                continue
            if rule.generated_by is not None and not self._fires(target):
                continue  # a resolution: always told
            both_sides = rule.source_matches(target)
            for source in sources.get(rule.equal_values(target), ()):
                if not (both_sides and rule.target_matches(source)) \
                        and rule.tied(source, target):
                    yield Inhibition(rule.index, source)

    def _fires(self, target: Mapping[str, str]) -> bool:
        assert self._firing is not None
        return (target if isinstance(target, Labels) else Labels(target)) in self._firing

    def inhibited_by(self, target: Mapping[str, str]) -> list[Labels]:
        """The distinct source alerts that inhibit `target`, in the order found."""
        if not self._rules:  # asked for every alert of every flush
            return []
        return list(dict.fromkeys(i.source for i in self.inhibitions(target)))

    def is_inhibited(self, target: Mapping[str, str]) -> bool:
        return next(self._inhibitions(target), None) is not None
