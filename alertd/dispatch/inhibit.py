"""Inhibition with Alertmanager's semantics.

A rule inhibits a target alert when the target matches its `target_matchers` and some
firing alert (the source) matches its `source_matchers` and has the same value as the
target for every label in `equal` (a label missing on both sides counts as equal, as it
reads as "" on both). When the target matches the source side too, sources that also match
the target side are passed over, as Alertmanager does, so that alerts matching both sides
(the target itself among them) never inhibit each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from alertd.config import routing
from alertd.model import LabelMatcher, Labels

__all__ = ["InhibitRule", "Inhibition", "InhibitionIndex", "Inhibitor"]


@dataclass(frozen=True)
class InhibitRule:
    source_matchers: tuple[LabelMatcher, ...]
    target_matchers: tuple[LabelMatcher, ...]
    equal: tuple[str, ...]
    index: int = 0  # its position in `inhibit_rules`, to say which rule inhibited

    @classmethod
    def from_config(cls, config: routing.InhibitRule, index: int = 0) -> InhibitRule:
        return cls(tuple(config.compiled_source()), tuple(config.compiled_target()),
                   tuple(config.equal), index)

    def source_matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels.get(m.name, "")) for m in self.source_matchers)

    def target_matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels.get(m.name, "")) for m in self.target_matchers)

    def equal_values(self, labels: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(labels.get(name, "") for name in self.equal)


@dataclass(frozen=True)
class Inhibition:
    """Why an alert is inhibited: the rule (by position) and the firing source alert."""

    rule: int
    source: Labels


class Inhibitor:
    """The inhibition rules of a config."""

    def __init__(self, rules: Iterable[routing.InhibitRule | InhibitRule]) -> None:
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


class InhibitionIndex:
    """Per rule, the firing alerts that match its source side, keyed by their `equal`
    values, so that each question costs one lookup per rule."""

    def __init__(self, rules: Sequence[InhibitRule],
                 firing: Iterable[Mapping[str, str]]) -> None:
        self._rules = tuple(rules)
        self._sources: list[dict[tuple[str, ...], list[Labels]]] = [{} for _ in self._rules]
        for alert in firing:
            labels = alert if isinstance(alert, Labels) else Labels(alert)
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
            both_sides = rule.source_matches(target)
            for source in sources.get(rule.equal_values(target), ()):
                if not (both_sides and rule.target_matches(source)):
                    yield Inhibition(rule.index, source)

    def inhibited_by(self, target: Mapping[str, str]) -> list[Labels]:
        """The distinct source alerts that inhibit `target`, in the order found."""
        if not self._rules:  # asked for every alert of every flush
            return []
        return list(dict.fromkeys(i.source for i in self.inhibitions(target)))

    def is_inhibited(self, target: Mapping[str, str]) -> bool:
        return next(self._inhibitions(target), None) is not None
