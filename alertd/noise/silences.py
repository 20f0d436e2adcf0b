"""Silences as the history shows them: their lifecycle events give each one's active
interval, and `silenced` events say which alerts each one muted and when.

A silence is active over [starts_at, min(ends_at, expired at)), with the latest start and
end its lifecycle events give. A silence that muted alerts but whose lifecycle is not in
the history read (made before it) is taken as active from the first `silenced` event that
names it to the `until` those events give (the latest end of the silences they name).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from alertd.noise.event import Event
from alertd.noise.inputs import CURRENT, LONG_RUNNING

_EXPIRED = ("expired", "expired_on_resolve")


@dataclass(slots=True)
class SilenceRecord:
    id: str
    starts_at: float
    ends_at: float
    expired_at: float | None = None
    by: str = ""
    comment: str = ""
    matchers: Any = ()
    owner: str | None = None  # the owner its equality matchers name, if any
    known: bool = False  # a lifecycle event was read (else inferred from `silenced` events)
    matched: set[int] = field(default_factory=set)  # periods in which it muted an alert

    @property
    def stop(self) -> float:
        return self.ends_at if self.expired_at is None else min(self.ends_at, self.expired_at)

    def active_at(self, at: float) -> bool:
        return self.starts_at <= at < self.stop


def _time(details: Mapping[str, Any], key: str, default: float) -> float:
    value = details.get(key)
    return float(value) if isinstance(value, int | float) else default


class SilenceBook:
    """The silences that matter to the report: those active at some time from the start
    of the previous period on (older ones are dropped by `prune`)."""

    def __init__(self) -> None:
        self._by_id: dict[str, SilenceRecord] = {}

    def lifecycle(self, e: Event) -> None:
        d = e.details
        sid = str(d.get("id", ""))
        if not sid:
            return
        record = self._by_id.get(sid)
        if record is None or not record.known:
            record = self._by_id[sid] = SilenceRecord(
                sid, _time(d, "starts_at", e.at), _time(d, "ends_at", math.inf),
                matched=record.matched if record is not None else set())
        record.known = True
        record.starts_at = _time(d, "starts_at", record.starts_at)
        record.ends_at = _time(d, "ends_at", record.ends_at)
        record.by = str(d.get("by", record.by))
        record.comment = str(d.get("comment", record.comment))
        record.matchers = d.get("matchers", record.matchers)
        record.owner = e.owner
        if d.get("action") in _EXPIRED and record.expired_at is None:
            record.expired_at = e.at

    def muted(self, ids: list[str], at: float, until: object, period: int | None) -> None:
        """A `silenced` event at `at` named these silences."""
        end = float(until) if isinstance(until, int | float) else math.inf
        for sid in ids:
            record = self._by_id.get(sid)
            if record is None:
                record = self._by_id[sid] = SilenceRecord(sid, at, end)
            elif not record.known:  # inferred: widened by each event naming it
                record.starts_at = min(record.starts_at, at)
                record.ends_at = max(record.ends_at, end)
            if period is not None:
                record.matched.add(period)

    def interval(self, sid: str) -> tuple[float, float] | None:
        record = self._by_id.get(sid)
        return None if record is None else (record.starts_at, record.stop)

    def commented(self, sid: str) -> bool:
        """Whether a person made it with a reason: known, with a non-empty comment."""
        record = self._by_id.get(sid)
        return record is not None and record.known and bool(record.comment.strip())

    def prune(self, before: float) -> None:
        """Forget the silences that ended before `before`."""
        for sid in [s for s, r in self._by_id.items() if r.stop < before]:
            del self._by_id[sid]

    def long_running(self, end: float, owner: str | None) -> list[SilenceRecord]:
        """Known silences active at `end` and for more than 7 days by then, oldest first."""
        return sorted((r for r in self._relevant(owner)
                       if r.active_at(end) and end - r.starts_at > LONG_RUNNING),
                      key=lambda r: (r.starts_at, r.id))

    def matched_nothing(self, start: float, end: float,
                        owner: str | None) -> list[SilenceRecord]:
        """Known silences active during [start, end) that muted no alert in it."""
        return sorted((r for r in self._relevant(owner, matched_counts=False)
                       if r.starts_at < end and r.stop > start and CURRENT not in r.matched),
                      key=lambda r: (r.starts_at, r.id))

    def _relevant(self, owner: str | None, *,
                  matched_counts: bool = True) -> Iterator[SilenceRecord]:
        # With an owner, a silence is the owner's when its matchers name the owner, or
        # when it muted one of the owner's alerts (the only `silenced` events read).
        for r in self._by_id.values():
            if not r.known:
                continue
            if owner is None or r.owner == owner or (matched_counts and CURRENT in r.matched):
                yield r
