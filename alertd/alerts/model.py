"""An alert as Alertmanager knows it: labels, annotations and an activity range."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from alertd.model import Labels


class LazyAnnotations(Mapping[str, str]):
    """Annotations rendered on first read: rule alerts change value at every evaluation,
    while their annotations are read only when someone looks (a notification, the API)."""

    __slots__ = ("_render", "_values")

    def __init__(self, render: Callable[[], Mapping[str, str]]) -> None:
        self._render: Callable[[], Mapping[str, str]] | None = render
        self._values: Mapping[str, str] = {}

    def _get(self) -> Mapping[str, str]:
        if self._render is not None:
            self._values, self._render = dict(self._render()), None
        return self._values

    def __getitem__(self, key: str) -> str:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


@dataclass(frozen=True, slots=True)
class Alert:
    labels: Labels
    annotations: Mapping[str, str]
    starts_at: float
    # When the alert ends (or ended). For alerts posted without an end, Alertmanager's
    # resolve_timeout after the last update, with `timeout` set.
    ends_at: float | None
    updated_at: float
    generator_url: str = ""
    timeout: bool = False
    source: str = "api"  # "api", or "rule" for alertd's own rules
    # The value the rule's expression had at its last evaluation (rules only): what pages
    # show as "the value that fired". Not part of an alert's identity or state.
    value: float | None = field(default=None, compare=False)
    fingerprint: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", self.labels.fingerprint())

    def resolved(self, now: float) -> bool:
        return self.ends_at is not None and self.ends_at <= now

    def merge(self, other: Alert, now: float) -> Alert:
        """Alertmanager's Alert.Merge: the younger update wins, the earliest start is kept,
        and an explicit end beats a timeout."""
        if other.updated_at < self.updated_at:
            return other.merge(self, now)
        res = other
        if self.starts_at < other.starts_at:
            res = replace(res, starts_at=self.starts_at)
        mine, theirs = _end(self), _end(other)
        if other.resolved(now):
            # The latest explicit end wins when both are resolved.
            if self.resolved(now) and mine > theirs:
                res = replace(res, ends_at=self.ends_at)
        elif mine > theirs and not self.timeout:
            res = replace(res, ends_at=self.ends_at)
        return res

    def overlaps(self, old: Alert) -> bool:
        """Whether this update falls in the activity range of `old` (then they merge,
        otherwise the update replaces it), as Alertmanager's alert provider decides."""
        end, old_end = _end(self), _end(old)
        return (old.starts_at < end < old_end) or (old.starts_at < self.starts_at < old_end)


def _end(alert: Alert) -> float:
    return alert.ends_at if alert.ends_at is not None else float("inf")
